import { InvalidArgumentError, linalg, Matrix } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { initializeAnchors, repelAnchors } from '../src/anchor-init.js';

/** initializeAnchors is float64 JavaScript (no tfjs op): the large case runs once, on the cpu project. */
const ONCE = process.env.GEOLIP_BACKEND === 'wasm';

/** Min and max off-diagonal cosine of unit rows. */
function offDiagonalRange(m: Matrix): { min: number; max: number } {
  const s = linalg.matmulTransposeB(m, m);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.rows; j++) {
      if (i === j) continue;
      min = Math.min(min, s.get(i, j));
      max = Math.max(max, s.get(i, j));
    }
  }
  return { min, max };
}

function maxRowNormError(m: Matrix): number {
  let worst = 0;
  for (let i = 0; i < m.rows; i++) {
    let sq = 0;
    for (let j = 0; j < m.cols; j++) sq += m.get(i, j) ** 2;
    worst = Math.max(worst, Math.abs(Math.sqrt(sq) - 1));
  }
  return worst;
}

describe('initializeAnchors', () => {
  it('orthogonal gives orthonormal rows when K <= D', () => {
    const v = initializeAnchors(32, 48, { init: 'orthogonal', seed: 3 });
    const gram = linalg.matmulTransposeB(v, v);
    for (let i = 0; i < 32; i++)
      for (let j = 0; j < 32; j++) expect(Math.abs(gram.get(i, j) - (i === j ? 1 : 0))).toBeLessThan(1e-12);
  });

  it('orthogonal with K > D: the first D rows are orthonormal, every row is unit', () => {
    const v = initializeAnchors(20, 8, { init: 'orthogonal', seed: 1 });
    const head = new Matrix(8, 8, v.data.slice(0, 64));
    const gram = linalg.matmulTransposeB(head, head);
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++) expect(Math.abs(gram.get(i, j) - (i === j ? 1 : 0))).toBeLessThan(1e-12);
    expect(maxRowNormError(v)).toBeLessThan(1e-12);
  });

  it('xavier gives unit rows', () => {
    expect(maxRowNormError(initializeAnchors(50, 10, { init: 'xavier', seed: 2 }))).toBeLessThan(1e-12);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = initializeAnchors(16, 8, { seed: 5, repulsionSteps: 20 });
    const b = initializeAnchors(16, 8, { seed: 5, repulsionSteps: 20 });
    const c = initializeAnchors(16, 8, { seed: 6, repulsionSteps: 20 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });

  it.skipIf(ONCE)(
    'repulsion for K > D (256 × 128) leaves no pair closer than the orthogonal start, max cos ≈ 0.09 (spec §4.1)',
    () => {
      const start = initializeAnchors(256, 128, { init: 'orthogonal', seed: 0 });
      const repelled = initializeAnchors(256, 128, { init: 'repulsion', seed: 0 });
      const before = offDiagonalRange(start);
      const after = offDiagonalRange(repelled);
      expect(after.max).toBeLessThanOrEqual(before.max);
      expect(after.max).toBeGreaterThan(0.06); // spec: ≈ 0.09 in the author's numpy check
      expect(after.max).toBeLessThan(0.12);
      expect(maxRowNormError(repelled)).toBeLessThan(1e-12);
    },
  );

  it('repulsion for K <= D (64 × 128) ends with pairwise cos in about [−0.08, 0.02] (spec §4.1)', () => {
    const { min, max } = offDiagonalRange(initializeAnchors(64, 128, { seed: 0 }));
    expect(min).toBeGreaterThan(-0.11);
    expect(min).toBeLessThan(-0.05);
    expect(max).toBeGreaterThan(0);
    expect(max).toBeLessThan(0.05);
  });

  it('repelAnchors never moves fixed rows', () => {
    const v = initializeAnchors(12, 4, { init: 'xavier', seed: 4 });
    const out = repelAnchors(v, { steps: 10, fixedRows: 5 });
    expect(Array.from(out.data.subarray(0, 20))).toEqual(Array.from(v.data.subarray(0, 20)));
    expect(Array.from(out.data.subarray(20))).not.toEqual(Array.from(v.data.subarray(20)));
  });

  it('repelAnchors from orthonormal rows (K ≤ D) does not depend on rounding noise: cosines within 1e-12 are ties', () => {
    // Every cosine of the orthogonal start is 0 up to rounding; an ulp-sized change of the start (what another
    // JavaScript engine's Math.sin / Math.cos give) must not change which anchor each one steps away from.
    for (const [k, d] of [
      [6, 8],
      [10, 10],
      [16, 100],
    ] as const) {
      const start = initializeAnchors(k, d, { init: 'orthogonal', seed: 4 });
      const nudged = start.clone();
      for (let i = 0; i < nudged.data.length; i += 3) nudged.data[i]! *= 1 + 2 ** -50;
      const a = repelAnchors(start);
      const b = repelAnchors(nudged);
      let worst = 0;
      a.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.data[i]!))));
      expect(worst).toBeLessThan(1e-12);
      // The first step is the tie-break: anchor 0 steps away from anchor 1, every other anchor from anchor 0.
      const one = repelAnchors(start, { steps: 1 });
      for (let i = 1; i < k; i++) {
        for (let c = 0; c < d; c++) {
          const raw = start.get(i, c) - 0.05 * start.get(0, c);
          expect(one.get(i, c)).toBeCloseTo(raw / Math.sqrt(1 + 0.05 ** 2), 12);
        }
      }
    }
  });

  it('throws typed errors for bad arguments', () => {
    expect(() => initializeAnchors(1, 4)).toThrow(InvalidArgumentError);
    expect(() => initializeAnchors(1, 4)).toThrow(/initializeAnchors: 'count' must be an integer >= 2, got 1/);
    expect(() => initializeAnchors(4, 4, { init: 'uniform' as never })).toThrow(/'init' must be one of/);
    expect(() => initializeAnchors(4, 4, { repulsionStrength: 1 })).toThrow(/'repulsionStrength'/);
    expect(() => initializeAnchors(4, 4, { repulsionSteps: -1 })).toThrow(/'repulsionSteps'/);
  });
});
