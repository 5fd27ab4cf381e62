// Embeddings stored at fp32 / fp16 / 8 bits / 1 bit (hand-derived values) and the pentachoron CV at each precision:
// equal to pentachoronCV at fp32, identical at every precision for embeddings every scheme stores exactly.
import { describe, expect, it } from 'vitest';

import { Matrix, createRng, pentachoronCV } from '@geolip/geometry';

import { EMBEDDING_PRECISIONS, quantizationCv, quantizeEmbeddings } from '../src/index.js';

/** N Gaussian rows of width D, unit-normalized. */
function sphereRows(n: number, d: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const out = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let sq = 0;
    for (let j = 0; j < d; j++) sq += (out[r * d + j] = rng.normal()) ** 2;
    for (let j = 0; j < d; j++) out[r * d + j]! /= Math.sqrt(sq);
  }
  return out;
}

describe('quantizeEmbeddings', () => {
  it('hand-derived: fp16 of 1/3, int8 absmax rounding, sign bits / √D, each row renormalized', () => {
    // fp16: 1/3 → 0.333251953125 (0x3555); with a 0 beside it the row renormalizes to [1, 0].
    expect(Array.from(quantizeEmbeddings([1 / 3, 0], 2, 'fp16'))).toEqual([1, 0]);
    const h = quantizeEmbeddings([1 / 3, 1], 2, 'fp16');
    const n = Math.hypot(0.333251953125, 1);
    expect(h[0]).toBeCloseTo(0.333251953125 / n, 15);
    // int8, absmax 1: 0.5 → round(63.5) = 64, −1 → −127, 0.25 → round(31.75) = 32; then unit norm.
    const q = quantizeEmbeddings([0.5, -1, 0.25], 3, 'int8');
    const qn = Math.hypot(64, 127, 32);
    expect(Array.from(q).map((v) => v * qn)).toEqual([64, -127, 32].map((v) => expect.closeTo(v, 12)));
    // binary: sign with sign(0) = +1, over √D.
    expect(Array.from(quantizeEmbeddings([0.5, -1, 0, 0.1], 4, 'binary'))).toEqual([0.5, -0.5, 0.5, 0.5]);
    // A zero row stays zero; fp32 rounds to float32.
    expect(Array.from(quantizeEmbeddings([0, 0], 2, 'int8'))).toEqual([0, 0]);
    expect(quantizeEmbeddings([0.1, 0], 2, 'fp32')[0]).toBe(1);
  });

  it('errors name the function and argument', () => {
    expect(() => quantizeEmbeddings([1, 2, 3], 2, 'fp32')).toThrow(/quantizeEmbeddings: 'rows'/);
    expect(() => quantizeEmbeddings([1, 2], 0, 'fp32')).toThrow(/quantizeEmbeddings: 'dim'/);
    expect(() => quantizeEmbeddings([1, 2], 2, 'int4' as never)).toThrow(
      /quantizeEmbeddings: 'precision' must be one of 'fp32', 'fp16', 'int8', 'binary', got "int4"/,
    );
    expect(() => quantizationCv([1, 2, 3], 2)).toThrow(/quantizationCv: 'rows'/);
  });
});

describe('quantizationCv', () => {
  it('fp32 is pentachoronCV of the rows; the four precisions are close on S^15', () => {
    const rows = sphereRows(256, 16, 3);
    const r = quantizationCv(rows, 16);
    expect(Object.keys(r.cv)).toEqual([...EMBEDDING_PRECISIONS]);
    const direct = pentachoronCV(new Matrix(256, 16, Float64Array.from(rows, Math.fround)), { seed: 0 }).cv;
    expect(r.cv.fp32).toBeCloseTo(direct, 6); // fround, then renormalized: within float32 rounding
    expect(Math.abs(r.cv.fp16 - r.cv.fp32)).toBeLessThan(1e-3);
    expect(Math.abs(r.cv.int8 - r.cv.fp32)).toBeLessThan(0.01);
    const values = Object.values(r.cv);
    expect(r.spread).toBeCloseTo(Math.max(...values) - Math.min(...values), 15);
    expect(r.relativeSpread).toBeCloseTo(r.spread / r.cv.fp32, 15);
  });

  it('rows on the corners of the ±1/√D cube are stored exactly by every scheme: four equal CVs, spread 0', () => {
    const rng = createRng(5);
    const d = 16;
    const rows = Float64Array.from({ length: 64 * d }, () => (rng.uniform() < 0.5 ? -0.25 : 0.25));
    const r = quantizationCv(rows, d);
    expect(r.cv.fp16).toBe(r.cv.fp32);
    expect(r.cv.int8).toBe(r.cv.fp32);
    expect(r.cv.binary).toBe(r.cv.fp32);
    expect(r.spread).toBe(0);
    expect(Number.isFinite(r.cv.fp32)).toBe(true);
  });
});
