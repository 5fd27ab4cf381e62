// text-consensus at the card's size (issue 22): the student's maxPositions and outDim, the lift of the consensus
// targets into a wider output, the card config's parameter count, and the defaults of the shipped student unchanged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { Matrix, createRng, pentachoronCV } from '@geolip/geometry';
import { CAPTION_BERT_CONFIG, captionEncoderParamCount } from '@geolip/text';
import { RecipeConfigError, mseLoss, train } from '@geolip/train';
import { describe, expect, it } from 'vitest';

import { _internal, liftTargets, parseTextConsensusConfig, studentTraining } from '../src/recipes/text-consensus.js';

const CARD_CONFIG = join(__dirname, '../../../results/text/caption-card/config.json');
const VOCAB = 30522;

/** `n` seeded random unit rows of width `k`. */
function unitRows(n: number, k: number, seed: number): Matrix {
  const rng = createRng(seed);
  const m = new Matrix(n, k);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < k; j++) norm += (m.data[i * k + j] = rng.normal()) ** 2;
    for (let j = 0; j < k; j++) m.data[i * k + j]! /= Math.sqrt(norm);
  }
  return m;
}

/** A tokenized corpus of `n` rows, row i holding `lengths[i % lengths.length]` ids ([CLS] … [SEP]). */
function corpus(n: number, lengths: number[]) {
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + lengths[i % lengths.length]!;
  const ids = new Int32Array(offsets[n]!);
  for (let i = 0; i < n; i++)
    for (let j = offsets[i]!; j < offsets[i + 1]!; j++)
      ids[j] = j === offsets[i] ? 101 : j === offsets[i + 1]! - 1 ? 102 : 1000 + ((i * 7 + j) % 500);
  return { ids, offsets };
}

function expectConfigError(fn: () => unknown, path: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(RecipeConfigError);
  expect((caught as RecipeConfigError).path).toBe(path);
  expect((caught as Error).message).toMatch(message);
}

describe('liftTargets: the k-wide consensus in a wider student output', () => {
  const k = 100;
  const n = 40;
  const t = unitRows(n, k, 3);

  it('zero-pads: the first k columns are the targets, the others 0; norms and pairwise cosines are unchanged', () => {
    const base = tf.tensor2d(Float32Array.from(t.data), [n, k]);
    const lifted = liftTargets(base, 768);
    expect(lifted.shape).toEqual([n, 768]);
    const l = lifted.dataSync();
    const b = base.dataSync();
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 768; j++) expect(l[i * 768 + j]).toBe(j < k ? b[i * k + j] : 0);
    }
    // Norms: the diagonal of the Gram matrix; pairwise cosines: its off-diagonal (unit rows).
    const gramBase = tf.matMul(base, base, false, true).dataSync();
    const gramLifted = tf.matMul(lifted, lifted, false, true).dataSync();
    for (let i = 0; i < n * n; i++) expect(gramLifted[i]).toBeCloseTo(gramBase[i]!, 6);
    for (let i = 0; i < n; i++) expect(gramLifted[i * n + i]).toBeCloseTo(1, 5);
    // Pentachoron volumes are distances only: the CV the CV term compares with is the consensus's own.
    const cvBase = pentachoronCV(base, { seed: 1 }).cv;
    const cvLifted = pentachoronCV(lifted, { seed: 1 }).cv;
    expect(cvLifted).toBeCloseTo(cvBase, 6);
    tf.dispose([base, lifted]);
  });

  it('keeps MSE at (2 − 2cos)/outDim for unit rows, as against a 768-d consensus', () => {
    const base = tf.tensor2d(Float32Array.from(t.data), [n, k]);
    const s = tf.tensor2d(Float32Array.from(unitRows(n, 768, 4).data), [n, 768]);
    const lifted = liftTargets(base, 768);
    const mse = mseLoss(s, lifted).dataSync()[0]!;
    const cos = tf.sum(tf.mul(s, lifted), 1).dataSync();
    const want = Array.from(cos).reduce((a, c) => a + (2 - 2 * c), 0) / n / 768;
    expect(mse).toBeCloseTo(want, 6);
    tf.dispose([base, s, lifted]);
  });

  it('returns the targets themselves at outDim = k and refuses outDim < k by field', () => {
    const base = tf.tensor2d(Float32Array.from(t.data), [n, k]);
    expect(liftTargets(base, k)).toBe(base);
    expectConfigError(() => liftTargets(base, 64), 'student.outDim', /'student.outDim' \(64\) must be >= .* 100/);
    base.dispose();
  });
});

describe('text-consensus student options', () => {
  it('leaves the defaults of the shipped student as they were (no maxPositions / outDim stored)', () => {
    const cfg = parseTextConsensusConfig({}, '/');
    expect(cfg.student).toEqual({ dModel: 256, heads: 4, ffDim: 1024, layers: 4, maxLength: 64 });
    expect(JSON.parse(JSON.stringify(cfg.student))).toEqual(cfg.student);
    // The shipped run: 64 positions, out = the consensus width, 11,081,572 parameters (packages/text/README.md).
    const shipped = parseTextConsensusConfig(
      { student: { dModel: 256, heads: 4, ffDim: 1024, layers: 4, maxLength: 64 }, steps: 6179, warmupSteps: 400 },
      '/',
    );
    const t = studentTraining(shipped, corpus(8, [5]), unitRows(8, 100, 1), Int32Array.from([0, 1, 2, 3]), VOCAB, 0.3);
    expect(t.config).toMatchObject({ maxPositions: 64, outDim: 100, dModel: 256, layers: 4 });
    expect(t.encoder.paramCount()).toBe(11_081_572);
    t.encoder.dispose();
    t.targets.dispose();
  });

  it('builds the card config at 25,958,016 parameters: 8,192 positions, sentences cut at 512 tokens, 768 out', () => {
    const cfg = parseTextConsensusConfig(JSON.parse(readFileSync(CARD_CONFIG, 'utf8')), '/');
    expect(cfg.student).toEqual({
      dModel: 384,
      heads: 6,
      ffDim: 1536,
      layers: 6,
      maxLength: 512,
      maxPositions: 8192,
      outDim: 768,
    });
    // The card's loss stack and optimiser.
    expect(cfg).toMatchObject({
      batchSize: 128,
      lr: 3e-4,
      weightDecay: 0.01,
      warmupSteps: 1000,
      clipNorm: 1,
      temperature: 0.07,
      mseWeight: 1,
      cvWeight: 0.1,
      cvTarget: 0.084,
    });
    const t = studentTraining(cfg, corpus(8, [5]), unitRows(8, 100, 1), Int32Array.from([0, 1, 2, 3]), VOCAB, 0.084);
    expect(t.config).toEqual({ ...CAPTION_BERT_CONFIG });
    expect(captionEncoderParamCount(t.config)).toBe(25_958_016);
    expect(t.encoder.paramCount()).toBe(25_958_016);
    t.encoder.dispose();
    t.targets.dispose();
  });

  it('refuses outDim < the consensus width and maxPositions < maxLength, naming the field', () => {
    expectConfigError(
      () => parseTextConsensusConfig({ student: { outDim: 50 }, consensus: { targetDim: 100 } }, '/'),
      'student.outDim',
      /'student.outDim' \(50\) must be >= the consensus width 100/,
    );
    // Without consensus.targetDim the width is known at the student stage.
    const cfg = parseTextConsensusConfig({ student: { dModel: 16, heads: 2, ffDim: 32, layers: 1, outDim: 64 } }, '/');
    expectConfigError(
      () => studentTraining(cfg, corpus(8, [5]), unitRows(8, 100, 1), Int32Array.from([0, 1, 2, 3]), VOCAB, 0.3),
      'student.outDim',
      /'student.outDim' \(64\) must be >= the consensus width 100/,
    );
    expectConfigError(
      () => parseTextConsensusConfig({ student: { maxLength: 512, maxPositions: 256 } }, '/'),
      'student.maxPositions',
      /'student.maxPositions' \(256\) must be >= 'student.maxLength' \(512\)/,
    );
  });

  it('pads a batch to its longest sentence, not to maxLength 512', () => {
    const tok = corpus(4, [5, 13, 7, 9]);
    const b = _internal.padBatch(tok, [0, 1, 2, 3], 512);
    expect(b.shape).toEqual([4, 16]); // 13 tokens, rounded up to a multiple of 8
    expect(_internal.padBatch(tok, [0, 2], 512).shape).toEqual([2, 8]);
  });

  it('trains a student whose output is wider than the consensus (the targets lifted)', async () => {
    const cfg = parseTextConsensusConfig(
      {
        student: { dModel: 16, heads: 2, ffDim: 32, layers: 1, maxLength: 16, maxPositions: 32, outDim: 24 },
        steps: 3,
        batchSize: 8,
        warmupSteps: 1,
        cvWeight: 0.1,
        cvTarget: 0.084,
      },
      '/',
    );
    const rows = Int32Array.from({ length: 16 }, (_, i) => i);
    const t = studentTraining(cfg, corpus(16, [5, 9, 12]), unitRows(16, 10, 2), rows, VOCAB, 0.084);
    expect(t.config).toMatchObject({ maxPositions: 32, outDim: 24 });
    const summary = await train({ ...t.options, steps: 3 });
    expect(summary.step).toBe(3);
    expect(Number.isFinite(summary.lastLoss)).toBe(true);
    const emb = t.student.embedRows([0, 1]);
    expect(emb.shape).toEqual([2, 24]);
    tf.dispose(emb);
    t.encoder.dispose();
    t.targets.dispose();
  });
});
