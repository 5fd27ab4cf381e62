import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, createRng, normalize, sampleSphere } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { anchorUtilisation, anchorUtilisationAsync, utilisationFromCounts } from '../../src/diagnostics/index.js';

/** The axis anchors ±e₁, ±e₂ in D = 2 (A = 4). */
const axes = (): tf.Tensor2D =>
  tf.tensor2d([
    [1, 0],
    [0, 1],
    [-1, 0],
    [0, -1],
  ]);

/** Brute-force definitions, independent of the implementation's sorted Gini formula. */
function bruteForce(counts: readonly number[]): { entropy: number; gini: number; active: number } {
  const a = counts.length;
  const total = counts.reduce((s, c) => s + c, 0);
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log(c / total);
  let diff = 0;
  for (const x of counts) for (const y of counts) diff += Math.abs(x - y);
  return { entropy: (100 * h) / Math.log(a), gini: diff / (2 * a * total), active: counts.filter((c) => c > 0).length };
}

function leakFree<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe('anchorUtilisation', () => {
  it('gives active 1, entropy 0 and gini (A − 1)/A when every point is nearest anchor 0', () => {
    const e = tf.tensor2d([
      [1, 0],
      [0.9, 0.1],
      [1, -0.2],
      [3, 0.5],
    ]);
    const anchors = axes();
    const u = leakFree(() => anchorUtilisation(e, anchors));
    expect(Array.from(u.counts)).toEqual([4, 0, 0, 0]);
    expect(u.active).toBe(1);
    expect(u.rows).toBe(4);
    expect(u.nonFiniteRows).toBe(0);
    expect(u.entropy).toBe(0);
    expect(u.gini).toBeCloseTo(3 / 4, 12); // standard (population) Gini: maximum (A − 1)/A, not rescaled to 1
  });

  it('gives entropy 100 % and gini 0 for an even histogram', () => {
    const e = tf.tensor2d([
      [1, 0.1],
      [1, -0.1],
      [0.1, 1],
      [-0.1, 1],
      [-1, 0.1],
      [-1, -0.1],
      [0.1, -1],
      [-0.1, -1],
    ]);
    const u = anchorUtilisation(e, axes());
    expect(Array.from(u.counts)).toEqual([2, 2, 2, 2]);
    expect(u.active).toBe(4);
    expect(u.entropy).toBeCloseTo(100, 10);
    expect(u.gini).toBe(0);
  });

  it('gives the hand-computed entropy and gini for counts [3, 1, 0, 0]', () => {
    const e = tf.tensor2d([
      [1, 0],
      [1, 0.3],
      [1, -0.3],
      [0.2, 1],
    ]);
    const u = anchorUtilisation(e, axes());
    expect(Array.from(u.counts)).toEqual([3, 1, 0, 0]);
    expect(u.active).toBe(2);
    // H = −(¾ ln ¾ + ¼ ln ¼) = 0.562335…, / ln 4 → 40.564 %; Gini = Σ|cᵢ − cⱼ| / (2·4·4) = 20/32.
    expect(u.entropy).toBeCloseTo((100 * -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))) / Math.log(4), 10);
    expect(u.entropy).toBeCloseTo(40.564, 3);
    expect(u.gini).toBeCloseTo(0.625, 12);
  });

  it('normalizes the anchors (raw norms do not change the nearest anchor)', () => {
    // Raw dot products would pick anchor 1 (1 vs 5); cosines pick anchor 0 (0.894 vs 0.447).
    const e = tf.tensor2d([[1, 0.5]]);
    const anchors = tf.tensor2d([
      [1, 0],
      [0, 10],
    ]);
    expect(Array.from(anchorUtilisation(e, anchors).counts)).toEqual([1, 0]);
  });

  it('accepts an object with normalizedAnchors(), and disposes only what it creates', () => {
    const v = tf.variable(
      tf.tensor2d([
        [2, 0],
        [0, 2],
        [-2, 0],
        [0, -2],
      ]),
    );
    const fresh = { normalizedAnchors: () => normalize(v) as tf.Tensor2D };
    const cached = tf.keep(normalize(v) as tf.Tensor2D);
    const holder = { normalizedAnchors: () => cached };
    const e = tf.tensor2d([
      [0, 1],
      [0.1, 1],
      [-1, 0],
    ]);
    for (const source of [fresh, holder]) {
      const u = leakFree(() => anchorUtilisation(e, source));
      expect(Array.from(u.counts)).toEqual([0, 2, 1, 0]);
    }
    expect(cached.isDisposed).toBe(false);
  });

  it('leaves NaN/Inf rows out and reports them, without changing the other rows', () => {
    const rows = sampleSphere(40, 8, { seed: 1 }).arraySync();
    const anchors = sampleSphere(6, 8, { seed: 2 });
    const clean = anchorUtilisation(tf.tensor2d(rows), anchors);
    const bad = [
      ...rows.slice(0, 7),
      [NaN, ...rows[0]!.slice(1)],
      ...rows.slice(7, 20),
      Array(8).fill(Infinity),
      ...rows.slice(20),
    ];
    const u = anchorUtilisation(tf.tensor2d(bad), anchors);
    expect(u.nonFiniteRows).toBe(2);
    expect(u.rows).toBe(40);
    expect(u).toEqual({ ...clean, nonFiniteRows: 2 });
    const none = anchorUtilisation(tf.tensor2d([[NaN, 0, 0, 0, 0, 0, 0, 0]]), anchors);
    expect(none.active).toBe(0);
    expect(Number.isNaN(none.entropy) && Number.isNaN(none.gini)).toBe(true);
  });

  it('gives the same counts for every block size, sync and async, and leaks no tensors', async () => {
    const e = sampleSphere(300, 16, { seed: 3 });
    const anchors = sampleSphere(32, 16, { seed: 4 });
    const reference = anchorUtilisation(e, anchors);
    expect(reference.rows).toBe(300);
    expect(reference.counts.reduce((s, c) => s + c, 0)).toBe(300);
    const expected = bruteForce(Array.from(reference.counts));
    expect(reference.entropy).toBeCloseTo(expected.entropy, 10);
    expect(reference.gini).toBeCloseTo(expected.gini, 12);
    for (const blockRows of [1, 7, 64, 1000])
      expect(leakFree(() => anchorUtilisation(e, anchors, { blockRows }))).toEqual(reference);
    const before = tf.memory().numTensors;
    expect(await anchorUtilisationAsync(e, anchors, { blockRows: 50 })).toEqual(reference);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('checks shapes and arguments, naming them', async () => {
    const e = tf.tensor2d([[1, 0, 0]]);
    expect(() =>
      anchorUtilisation(
        e,
        tf.tensor2d([
          [1, 0],
          [0, 1],
        ]),
      ),
    ).toThrow(ShapeError);
    expect(() =>
      anchorUtilisation(
        e,
        tf.tensor2d([
          [1, 0],
          [0, 1],
        ]),
      ),
    ).toThrow(/anchorUtilisation: 'anchors' must have shape \[A, D=3\], got \[2, 2\]/);
    expect(() => anchorUtilisation(e, tf.tensor2d([[1, 0, 0]]))).toThrow(
      /anchorUtilisation: 'anchors' must have shape \[A, D=3\] with A ≥ 2, got \[1, 3\]/,
    );
    expect(() => anchorUtilisation(tf.tensor1d([1, 0, 0]) as never, tf.eye(3) as tf.Tensor2D)).toThrow(
      /anchorUtilisation: 'embeddings' must have shape \[N, D\], got \[3\]/,
    );
    expect(() => anchorUtilisation(e, tf.eye(3) as tf.Tensor2D, { blockRows: 0 })).toThrow(
      /anchorUtilisation: 'blockRows' must be an integer >= 1/,
    );
    expect(() => anchorUtilisation(e, 'x' as never)).toThrow(InvalidArgumentError);
    await expect(
      anchorUtilisationAsync(
        e,
        tf.tensor2d([
          [1, 0],
          [0, 1],
        ]),
      ),
    ).rejects.toThrow(/anchorUtilisationAsync: 'anchors'/);
  });

  it('doc example', () => {
    const e = tf.tensor2d([
      [1, 0],
      [0.9, 0.1],
      [1, 0.2],
      [0.7, -0.1],
    ]);
    const anchors = tf.tensor2d([
      [1, 0],
      [0, 1],
      [-1, 0],
    ]);
    const u = anchorUtilisation(e, anchors);
    expect(Array.from(u.counts)).toEqual([4, 0, 0]);
    expect({ rows: u.rows, nonFiniteRows: u.nonFiniteRows, active: u.active, entropy: u.entropy }).toEqual({
      rows: 4,
      nonFiniteRows: 0,
      active: 1,
      entropy: 0,
    });
    expect(u.gini).toBeCloseTo(2 / 3, 12);
  });
});

describe('utilisationFromCounts', () => {
  it('matches the brute-force entropy and Gini definitions on random histograms', () => {
    const rng = createRng(5);
    for (let trial = 0; trial < 50; trial++) {
      const a = 2 + rng.int(30);
      const counts = Array.from({ length: a }, () => (rng.uniform() < 0.3 ? 0 : rng.int(50)));
      if (!counts.some((c) => c > 0)) counts[0] = 1;
      const u = utilisationFromCounts(counts);
      const expected = bruteForce(counts);
      expect(u.active).toBe(expected.active);
      expect(u.entropy).toBeCloseTo(expected.entropy, 9);
      expect(u.gini).toBeCloseTo(expected.gini, 12);
      expect(u.rows).toBe(counts.reduce((s, c) => s + c, 0));
    }
  });

  it('doc examples and errors', () => {
    const one = utilisationFromCounts([4, 0, 0, 0]);
    expect([one.active, one.entropy, one.gini]).toEqual([1, 0, 0.75]);
    const even = utilisationFromCounts([2, 2, 2, 2]);
    expect([even.active, even.entropy, even.gini]).toEqual([4, 100, 0]);
    expect(() => utilisationFromCounts([3])).toThrow(/utilisationFromCounts: 'counts' must hold at least 2/);
    expect(() => utilisationFromCounts([3, -1])).toThrow(/'counts' must hold finite counts >= 0, got -1 at index 1/);
    expect(() => utilisationFromCounts(null as never)).toThrow(InvalidArgumentError);
  });
});
