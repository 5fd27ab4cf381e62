import { readFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, NonFiniteError } from '@geolip/geometry';
import { type SafetensorInput, writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CaptionEncoder,
  calibrationRanges,
  cosineSimilarity,
  cosineSimilarityPairwise,
  Embeddings,
  quantizeEmbeddings,
  SentenceEmbedder,
} from '../src/index.js';
import type { CaptionEncoderConfig, EncodeProgress } from '../src/index.js';

interface Fixture {
  dim: number;
  calibration: number[][];
  x: number[][];
  int8: number[][];
  uint8: number[][];
  binary: number[][];
  ubinary: number[][];
  cosine: number[][];
  cosineInt8: number[][];
  cosineBinary: number[][];
}
// numpy, from sentence-transformers' quantize_embeddings formulas: fixtures/gen_quantize_fixture.py.
const FX = JSON.parse(readFileSync(new URL('./fixtures/quantize.json', import.meta.url), 'utf8')) as Fixture;
const rowsOf = (rows: number[][]) => new Embeddings(Float32Array.from(rows.flat()), rows[0]!.length);

function expectMatrixClose(got: number[][], want: number[][], atol: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - want[i]![j]!)).toBeLessThanOrEqual(atol)));
}

describe('quantizeEmbeddings (sentence-transformers semantics)', () => {
  const x = rowsOf(FX.x);
  const calibration = rowsOf(FX.calibration);

  it('int8 and uint8 with ranges calibrated on a separate set match numpy exactly', () => {
    const int8 = quantizeEmbeddings(x, 'int8', { calibration });
    expect(int8.data).toBeInstanceOf(Int8Array);
    expect(int8.toArray()).toEqual(FX.int8);
    const uint8 = quantizeEmbeddings(x, 'uint8', { ranges: calibrationRanges(calibration) });
    expect(uint8.data).toBeInstanceOf(Uint8Array);
    expect(uint8.toArray()).toEqual(FX.uint8);
    // The calibration minimum maps to −128; the maximum to 127, or 126 where (max − min) / step rounds just below
    // 255 in float64 (numpy truncates the same way: the fixture holds both).
    expect(Array.from(int8.row(0))).toEqual(new Array(FX.dim).fill(-128));
    expect(Array.from(int8.row(1)).every((v) => v === 127 || v === 126)).toBe(true);
  });

  it('binary and ubinary pack the sign bits MSB-first like numpy.packbits (13 dims → 2 bytes)', () => {
    const binary = quantizeEmbeddings(x, 'binary');
    expect(binary.shape).toEqual([FX.x.length, 2]);
    expect(binary.embeddingDim).toBe(13);
    expect(binary.toArray()).toEqual(FX.binary);
    expect(quantizeEmbeddings(x, 'ubinary').toArray()).toEqual(FX.ubinary);
  });

  it('hand-derived: one row with the range [−1, 1] per dimension', () => {
    const e = new Embeddings(Float32Array.from([-1, 0, 1, 0.5, -0.25, 2, -2, 1e-9, -1e-9]), 9);
    const ranges = { min: new Array(9).fill(-1), max: new Array(9).fill(1) };
    // (x + 1) / (2/255) − 128: −1 → −128, 0 → −0.5 → 0 (trunc), 1 → 127, 0.5 → 63.75 → 63, −0.25 → −32.125 → −32;
    // 2 and −2 are outside the range and clamp (numpy would wrap them).
    expect(Array.from(quantizeEmbeddings(e, 'int8', { ranges }).data)).toEqual([
      -128, 0, 127, 63, -32, 127, -128, 0, 0,
    ]);
    // Signs of x > 0: 0 0 1 1 0 1 0 1 | 0 → 0b00110101 = 53, then 0b00000000.
    expect(Array.from(quantizeEmbeddings(e, 'ubinary').data)).toEqual([53, 0]);
    expect(Array.from(quantizeEmbeddings(e, 'binary').data)).toEqual([53 - 128, -128]);
  });

  it('refuses what it cannot quantise, naming the argument', () => {
    const x = rowsOf(FX.x);
    expect(() => quantizeEmbeddings(x, 'int4' as never)).toThrow(/quantizeEmbeddings: 'precision' must be one of/);
    expect(() => quantizeEmbeddings(quantizeEmbeddings(x, 'int8'), 'binary')).toThrow(
      /quantizeEmbeddings: 'embeddings' must be float32 to quantise, got int8/,
    );
    expect(() => quantizeEmbeddings(x, 'int8', { ranges: { min: [0], max: [1] } })).toThrow(
      /'options\.ranges\.min' must hold 13 values, got 1/,
    );
    const bad = new Embeddings(Float32Array.from([0, NaN]), 2);
    expect(() => quantizeEmbeddings(bad, 'binary')).toThrow(NonFiniteError);
    expect(() => calibrationRanges(new Embeddings(new Float32Array(0), 3))).toThrow(InvalidArgumentError);
  });
});

describe('cosineSimilarity', () => {
  it('matches numpy for float32 and int8 rows; binary rows compare as their ±1 sign vectors', () => {
    const x = rowsOf(FX.x);
    expectMatrixClose(cosineSimilarity(x), FX.cosine, 1e-6);
    expectMatrixClose(cosineSimilarity(FX.x), FX.cosine, 1e-6); // plain number[][] rows
    expectMatrixClose(
      cosineSimilarity(quantizeEmbeddings(x, 'int8', { calibration: rowsOf(FX.calibration) })),
      FX.cosineInt8,
      1e-12,
    );
    // 1 − 2·hamming/13 equals the cosine of the sign vectors; padding bits do not count.
    expectMatrixClose(cosineSimilarity(quantizeEmbeddings(x, 'binary')), FX.cosineBinary, 1e-12);
    expectMatrixClose(cosineSimilarity(quantizeEmbeddings(x, 'ubinary')), FX.cosineBinary, 1e-12);
  });

  it('is a.length × b.length, symmetric, 1 on the diagonal of unit rows; a zero row gives 0', () => {
    const a = [
      [1, 0],
      [0, 2],
      [0, 0],
    ];
    const s = cosineSimilarity(a, [
      [1, 1],
      [-3, 0],
    ]);
    expectMatrixClose(
      s,
      [
        [Math.SQRT1_2, -1],
        [Math.SQRT1_2, 0],
        [0, 0],
      ],
      1e-12,
    );
  });

  it('pairwise is the diagonal of the matrix, for every precision', () => {
    const x = rowsOf(FX.x);
    const y = rowsOf(FX.calibration.slice(0, FX.x.length));
    for (const p of ['float32', 'int8', 'binary'] as const) {
      const qx = quantizeEmbeddings(x, p, { calibration: y });
      const qy = quantizeEmbeddings(y, p, { calibration: y });
      expect(cosineSimilarityPairwise(qx, qy)).toEqual(cosineSimilarity(qx, qy).map((r, i) => r[i]));
    }
    expect(() => cosineSimilarityPairwise(x, FX.x.slice(0, 1))).toThrow(/'b' must hold 6 rows as 'a' does, got 1/);
  });

  it('refuses rows it cannot compare', () => {
    const x = rowsOf(FX.x);
    expect(() => cosineSimilarity(x, quantizeEmbeddings(x, 'binary'))).toThrow(
      /cannot compare binary rows with float32/,
    );
    expect(() => cosineSimilarity(quantizeEmbeddings(x, 'binary'), quantizeEmbeddings(x, 'ubinary'))).toThrow(
      InvalidArgumentError,
    );
    expect(() => cosineSimilarity([[1, 2]], [[1, 2, 3]])).toThrow(/'b' rows must have width 2 as in 'a', got 3/);
    expect(() => cosineSimilarity([[1, 2], [1]])).toThrow(/'a\[1\]' must have width 2 as row 0, got 1/);
  });
});

const CONFIG: CaptionEncoderConfig = {
  vocabSize: 30522,
  maxPositions: 16,
  dModel: 16,
  heads: 2,
  ffDim: 32,
  layers: 1,
  outDim: 8,
};

describe('SentenceEmbedder.encode and similarity', () => {
  let embedder: SentenceEmbedder;
  const texts = ['a dog runs on the beach', '', 'two men are playing chess in the park today', 'hi', 'a cat'];

  beforeAll(async () => {
    const model = new CaptionEncoder(CONFIG, { seed: 5 });
    const sd = model.stateDict();
    const tensors: Record<string, SafetensorInput> = {};
    for (const [k, v] of Object.entries(sd))
      tensors[k] = { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
    tf.dispose(Object.values(sd));
    model.dispose();
    const bytes = writeSafetensors(tensors, {
      'geolip.model': 'caption-encoder',
      'geolip.config': JSON.stringify(CONFIG),
      'geolip.maxLength': '12',
    });
    embedder = await SentenceEmbedder.fromWeights(bytes, { batchSize: 128 });
  });
  afterAll(() => embedder.dispose());

  it('gives the rows of embed(), in order, whatever the batch size of the call', async () => {
    const flat = await embedder.embed(texts);
    const e = await embedder.encode(texts, { batchSize: 2 });
    expect(e).toBeInstanceOf(Embeddings);
    expect(e.shape).toEqual([5, 8]);
    expect(e.precision).toBe('float32');
    for (let i = 0; i < 5; i++)
      Array.from(e.row(i)).forEach((v, k) => expect(Math.abs(v - flat[i * 8 + k]!)).toBeLessThan(1e-6));
    expect(e.rows).toHaveLength(5);
    expect(e.toArray()[4]).toEqual(Array.from(e.row(4)));
  });

  it('takes a single string as one row', async () => {
    const one = await embedder.encode('a cat');
    const many = await embedder.encode(texts);
    expect(one.shape).toEqual([1, 8]);
    Array.from(one.row(0)).forEach((v, k) => expect(Math.abs(v - many.row(4)[k]!)).toBeLessThan(1e-6));
  });

  it('reports progress after each batch of the call', async () => {
    const seen: EncodeProgress[] = [];
    await embedder.encode(texts, { batchSize: 2, onProgress: (p) => seen.push(p) });
    expect(seen).toEqual([
      { done: 2, total: 5 },
      { done: 4, total: 5 },
      { done: 5, total: 5 },
    ]);
  });

  it('truncates to the first truncateDim dimensions, then normalises (or not)', async () => {
    const full = await embedder.encode(texts);
    const kept = await embedder.encode(texts, { truncateDim: 3, normalize: false });
    const unit = await embedder.encode(texts, { truncateDim: 3 });
    expect(unit.shape).toEqual([5, 3]);
    for (let i = 0; i < 5; i++) {
      const head = Array.from(full.row(i).subarray(0, 3));
      expect(Array.from(kept.row(i))).toEqual(head.map((v) => Math.fround(v)));
      const r = Math.hypot(...head);
      Array.from(unit.row(i)).forEach((v, k) => expect(Math.abs(v - head[k]! / r)).toBeLessThan(1e-6));
    }
  });

  it('quantises as quantizeEmbeddings does, and similarity is the cosine matrix', async () => {
    const full = await embedder.encode(texts);
    const calibration = await embedder.encode(['a calibration set', 'of a few sentences', 'and one more']);
    const int8 = await embedder.encode(texts, { precision: 'int8', calibration });
    expect(int8.toArray()).toEqual(quantizeEmbeddings(full, 'int8', { calibration }).toArray());
    const bin = await embedder.encode(texts, { precision: 'binary' });
    expect(bin.shape).toEqual([5, 1]);
    const s = embedder.similarity(full);
    expect(s).toHaveLength(5);
    for (let i = 0; i < 5; i++) expect(Math.abs(s[i]![i]! - 1)).toBeLessThan(1e-5);
    expect(embedder.similarity(full, full.rows.slice(0, 2) as Float32Array[])).toEqual(s.map((r) => r.slice(0, 2)));
  });

  it('refuses bad arguments, naming them', async () => {
    await expect(embedder.encode(42 as never)).rejects.toThrow(/encode: 'sentences' must be an array of strings/);
    await expect(embedder.encode(['a', 7 as never])).rejects.toThrow(/encode: 'sentences\[1\]' must be a string/);
    await expect(embedder.encode(texts, { batchSize: 0 })).rejects.toThrow(/'options\.batchSize' must be a positive/);
    await expect(embedder.encode(texts, { truncateDim: 9 })).rejects.toThrow(
      /'options\.truncateDim' must be an integer in \[1, 8\]/,
    );
    await expect(embedder.encode(texts, { precision: 'fp16' as never })).rejects.toThrow(
      /'options\.precision' must be one of/,
    );
    await expect(embedder.encode(texts, { onProgress: 1 as never })).rejects.toThrow(
      /'options\.onProgress' must be a function/,
    );
  });
});
