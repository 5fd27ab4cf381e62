import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { Matrix } from '../../src/linalg/matrix.js';
import { createRng } from '../../src/random/rng.js';
import {
  cayleyMengerDeterminant,
  cayleyMengerPrefactor,
  simplexValidity,
  simplexVolume,
  simplexVolumeSquared,
} from '../../src/simplex/index.js';
import { expectTensorClose } from '../../src/testing/index.js';
import fixture from '../fixtures/sphere-simplex.json';

/** Regular 4-simplex with unit edges, built in R^4 from the standard construction. */
function regularPentachoron(): number[][] {
  // Vertices of the standard simplex in R^5 (e_i / √2 has unit edges), then they live in a 4-flat.
  return [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? Math.SQRT1_2 : 0)));
}

describe('cayleyMengerPrefactor', () => {
  it('matches the spec table', () => {
    expect(cayleyMengerPrefactor(1)).toBe(1 / 2);
    expect(cayleyMengerPrefactor(2)).toBe(-1 / 16);
    expect(cayleyMengerPrefactor(3)).toBe(1 / 288);
    expect(cayleyMengerPrefactor(4)).toBe(-1 / 9216);
    expect(() => cayleyMengerPrefactor(0)).toThrow(/cayleyMengerPrefactor: 'k'/);
  });
});

describe('simplex volume, hand-derived (spec §1.4)', () => {
  it('regular 4-simplex with unit edges: V² = 5/9216, V = √5/96', () => {
    expect(simplexVolumeSquared(regularPentachoron())).toBeCloseTo(5 / 9216, 15);
    expect(simplexVolume(regularPentachoron())).toBeCloseTo(Math.sqrt(5) / 96, 14);
  });
  it('five orthonormal vectors: V = √5/24', () => {
    const e = [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? 1 : 0)));
    expect(simplexVolume(e)).toBeCloseTo(Math.sqrt(5) / 24, 14);
    expect(simplexVolume(Matrix.fromArray(e))).toBeCloseTo(Math.sqrt(5) / 24, 14);
  });
  it('segment, triangle, tetrahedron', () => {
    expect(
      simplexVolume([
        [0, 0, 0],
        [3, 4, 0],
      ]),
    ).toBeCloseTo(5, 12);
    expect(
      cayleyMengerDeterminant([
        [0, 0],
        [1, 0],
        [0, 1],
      ]),
    ).toBeCloseTo(-4, 12);
    expect(
      simplexVolume([
        [0, 0],
        [1, 0],
        [0, 1],
      ]),
    ).toBeCloseTo(0.5, 12);
    expect(
      simplexVolume([
        [0, 0, 0],
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]),
    ).toBeCloseTo(1 / 6, 12);
  });
  it('a repeated point gives V² = 0 and is invalid', () => {
    const p = [
      [1, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 1, 0],
      [0, 0, 0, 1, 0],
    ];
    expect(Math.abs(simplexVolumeSquared(p))).toBeLessThan(1e-18);
    expect(simplexVolume(p)).toBe(0);
    expect(simplexValidity([p]).fraction).toBe(0);
  });
  it('volume scales like s^k and is invariant under rotation and translation', () => {
    const rng = createRng(3);
    const p = Array.from({ length: 5 }, () => Array.from({ length: 6 }, () => rng.normal()));
    const v = simplexVolume(p);
    expect(simplexVolume(p.map((r) => r.map((x) => 2.5 * x)))).toBeCloseTo(v * 2.5 ** 4, 10);
    const moved = p.map((r) => [r[1]! + 3, -r[0]! - 1, ...r.slice(2)]); // rotation by 90° in a plane, then shift
    expect(simplexVolume(moved)).toBeCloseTo(v, 12);
  });
});

describe('fixture from numpy (bordered CM det via numpy.linalg.det)', () => {
  it('float64 path matches det, V² and volume for k = 1..6', () => {
    for (const s of fixture.simplices) {
      expect(cayleyMengerDeterminant(s.points)).toBeCloseTo(s.det, 9 - Math.ceil(Math.log10(Math.abs(s.det) + 1)));
      expectTensorClose([simplexVolumeSquared(s.points)], [s.v2], { rtol: 1e-9, atol: 1e-12 });
      expectTensorClose([simplexVolume(s.points)], [s.volume], { rtol: 1e-9, atol: 1e-12 });
    }
  });
  it('batched float64 equals single calls', () => {
    const ks = fixture.simplices.filter((s) => s.k === 3);
    const batch = cayleyMengerDeterminant(ks.map((s) => s.points));
    expect(batch).toBeInstanceOf(Float64Array);
    ks.forEach((s, i) => expect(batch[i]).toBe(cayleyMengerDeterminant(s.points)));
  });
  it('tensor path (float32, Gram form) matches numpy for every k', () => {
    for (const s of fixture.simplices) {
      const v2 = simplexVolumeSquared(tf.tensor2d(s.points));
      expect(v2.shape).toEqual([]);
      expectTensorClose(v2, [s.v2], { rtol: 2e-4, atol: 1e-6 });
      expectTensorClose(cayleyMengerDeterminant(tf.tensor2d(s.points)), [s.det], { rtol: 2e-4, atol: 1e-4 });
    }
  });
});

describe('tensor path', () => {
  it('handles [..., V, D] batches and equals the float64 path', () => {
    const rng = createRng(11);
    const arr = Array.from({ length: 6 }, () =>
      Array.from({ length: 5 }, () => Array.from({ length: 8 }, () => rng.normal())),
    );
    const vol = simplexVolume(tf.reshape(tf.tensor3d(arr), [2, 3, 5, 8]));
    expect(vol.shape).toEqual([2, 3]);
    expectTensorClose(vol, Array.from(simplexVolume(arr)), { rtol: 1e-4 });
  });
  it('gives 0 volume, finite gradient and invalid for a repeated point', () => {
    const p = tf.tensor3d([
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 1, 0],
      ],
    ]);
    expectTensorClose(simplexVolume(p), [0]);
    const g = tf.grad((x) => tf.sum(simplexVolume(x)))(p);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    expect(Array.from(simplexValidity(p).dataSync())).toEqual([0]);
  });
  it('gradient of the volume matches central finite differences (float64 path)', () => {
    const rng = createRng(5);
    const p = Array.from({ length: 4 }, () => Array.from({ length: 4 }, () => rng.normal()));
    const g = tf
      .grad((x) => simplexVolume(x) as tf.Scalar)(tf.tensor2d(p))
      .arraySync() as number[][];
    const h = 1e-6;
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const plus = p.map((r) => [...r]);
        const minus = p.map((r) => [...r]);
        plus[i]![j]! += h;
        minus[i]![j]! -= h;
        const fd = (simplexVolume(plus) - simplexVolume(minus)) / (2 * h);
        expect(g[i]![j]!).toBeCloseTo(fd, 3);
      }
    }
  });
  it('validity counts on a mixed batch', () => {
    const r = simplexValidity([
      [
        [0, 0],
        [1, 0],
        [0, 1],
      ],
      [
        [0, 0],
        [1, 1],
        [2, 2],
      ],
    ]);
    expect(r).toEqual({ valid: [true, false], count: 1, total: 2, fraction: 0.5 });
  });
});

describe('bad input', () => {
  it('too few points for a simplex', () => {
    expect(() => simplexVolume([[1, 2, 3]])).toThrow(
      /simplexVolume: 'points' must have shape \[\.\.\., V, D\] with V >= 2.*too few points/,
    );
    expect(() => simplexVolume(tf.zeros([4, 1, 3]))).toThrow(/simplexVolume: 'points'.*too few points/);
  });
  it('non-finite values in float64 input', () => {
    expect(() =>
      cayleyMengerDeterminant([
        [0, 0],
        [NaN, 1],
      ]),
    ).toThrow(/cayleyMengerDeterminant: 'points' has 1 non-finite/);
  });
  it('ragged arrays and wrong types', () => {
    expect(() => simplexVolume([[0, 0], [1]])).toThrow(/simplexVolume: 'points'/);
    expect(() => simplexVolume(tf.zeros([3]))).toThrow(/simplexVolume: 'points' must have shape \[\.\.\., V, D\]/);
    expect(() => simplexVolume(tf.zeros([2, 3], 'int32'))).toThrow(/simplexVolume: 'points' must have dtype float32/);
    expect(() => simplexVolume('x' as never)).toThrow(/simplexVolume: 'points' must be/);
    expect(() =>
      simplexVolume(
        [
          [0, 0],
          [1, 1],
        ],
        { threshold: -1 },
      ),
    ).toThrow(/simplexVolume: 'threshold'/);
  });
});
