// Fréchet distance (the FID formula): hand-derived Gaussians, the scipy reference (test/fixtures/frechet.json from
// test/fixtures/generate/frechet.py: pytorch-fid's sqrtm(Σ₁Σ₂) form), properties, and the argument errors.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { featureStatistics, frechetDistance, frechetDistanceFromFeatures } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
interface Case {
  name: string;
  dim: number;
  x: number[];
  y: number[];
  meanX: number[];
  covX: number[];
  distance: number;
  distanceSymmetric: number;
}
const fx = JSON.parse(readFileSync(resolve(here, 'fixtures/frechet.json'), 'utf8')) as { cases: Case[] };

describe('frechetDistance', () => {
  it('hand-derived: equal covariances leave ‖μ₁ − μ₂‖²; Σ₁ = I, Σ₂ = 4I in 2-D give 9 + 2 + 8 − 8 = 11', () => {
    const I = [1, 0, 0, 1];
    expect(frechetDistance({ mean: [0, 0], covariance: I }, { mean: [3, 4], covariance: I })).toBeCloseTo(25, 12);
    expect(frechetDistance({ mean: [0, 0], covariance: I }, { mean: [3, 0], covariance: [4, 0, 0, 4] })).toBeCloseTo(
      11,
      12,
    );
    // 1-D: (μ₁ − μ₂)² + (σ₁ − σ₂)²: means 1 apart, variances 1 and 9 → 1 + (1 − 3)² = 5.
    expect(frechetDistance({ mean: [0], covariance: [1] }, { mean: [1], covariance: [9] })).toBeCloseTo(5, 12);
    // Commuting diagonal covariances: Σ (√a_i − √b_i)²: (1 − 2)² + (3 − 1)² = 5.
    expect(
      frechetDistance({ mean: [0, 0], covariance: [1, 0, 0, 9] }, { mean: [0, 0], covariance: [4, 0, 0, 1] }),
    ).toBeCloseTo(5, 12);
    // A point mass against N(0, Σ): tr Σ.
    expect(
      frechetDistance({ mean: [0, 0], covariance: [0, 0, 0, 0] }, { mean: [0, 0], covariance: [2, 1, 1, 3] }),
    ).toBeCloseTo(5, 12);
  });

  it('matches scipy (pytorch-fid formula) to 1e-8 relative, and the symmetric eigh form to 1e-10', () => {
    expect(fx.cases.length).toBe(6);
    for (const c of fx.cases) {
      const got = frechetDistanceFromFeatures(c.x, c.y, c.dim);
      const scale = Math.max(1, Math.abs(c.distance));
      expect(Math.abs(got - c.distance) / scale, c.name).toBeLessThan(1e-8);
      // A singular Σ₁ (8 rows in 12-D) has eigenvalues of order ±1e-15 whose square roots (~3e-8) differ between
      // eigensolvers: 1e-8 there, 1e-10 elsewhere.
      const tol = c.name.includes('rank-deficient') ? 1e-8 : 1e-10;
      expect(Math.abs(got - c.distanceSymmetric) / scale, c.name).toBeLessThan(tol);
      const s = featureStatistics(c.x, c.dim);
      expect(s.count).toBe(c.x.length / c.dim);
      s.mean.forEach((v, i) => expect(Math.abs(v - c.meanX[i]!), `${c.name} mean`).toBeLessThan(1e-12));
      s.covariance.forEach((v, i) =>
        expect(Math.abs(v - c.covX[i]!), `${c.name} cov`).toBeLessThan(1e-10 * Math.max(1, Math.abs(c.covX[i]!))),
      );
    }
    expect(Math.abs(frechetDistanceFromFeatures(fx.cases[5]!.x, fx.cases[5]!.y, 5))).toBeLessThan(1e-10); // identical
  });

  it('is symmetric, ≥ 0 up to round-off, and grows as the square of a mean shift', () => {
    const c = fx.cases[1]!;
    const ab = frechetDistanceFromFeatures(c.x, c.y, c.dim);
    const ba = frechetDistanceFromFeatures(c.y, c.x, c.dim);
    expect(Math.abs(ab - ba) / ab).toBeLessThan(1e-10);
    const a = featureStatistics(c.x, c.dim);
    const shifted = (t: number) => ({ mean: a.mean.map((v, i) => v + (i === 0 ? t : 0)), covariance: a.covariance });
    expect(frechetDistance(a, shifted(2))).toBeCloseTo(4, 8);
    expect(frechetDistance(a, shifted(0.5))).toBeCloseTo(0.25, 8);
  });

  it('featureStatistics: hand-derived mean and unbiased covariance', () => {
    // Rows (0, 0), (2, 0), (0, 2), (2, 2): mean (1, 1); Σ = diag(4/3, 4/3) (squared deviations 4 per axis / (N − 1)).
    const s = featureStatistics([0, 0, 2, 0, 0, 2, 2, 2], 2);
    expect(Array.from(s.mean)).toEqual([1, 1]);
    expect(Array.from(s.covariance)).toEqual([4 / 3, 0, 0, 4 / 3]);
  });

  it('errors name the function and the argument', () => {
    expect(() => featureStatistics([1, 2, 3], 2)).toThrow(InvalidArgumentError);
    expect(() => featureStatistics([1, 2, 3], 2)).toThrow(/featureStatistics: 'features' must hold N ≥ 2 rows/);
    expect(() => featureStatistics([1, 2], 2)).toThrow(/'features' must hold N ≥ 2 rows of dim = 2/);
    expect(() => featureStatistics([1, 2], 0)).toThrow(/featureStatistics: 'dim' must be a positive integer/);
    expect(() => featureStatistics([1, NaN, 3, 4], 2)).toThrow(NonFiniteError);
    expect(() => frechetDistanceFromFeatures([1, 2, 3, 4], [1, 2, 3], 2)).toThrow(
      /frechetDistanceFromFeatures: 'y' must hold N ≥ 2 rows/,
    );
    const one = { mean: [0], covariance: [1] };
    expect(() => frechetDistance(one, { mean: [0, 0], covariance: [1, 0, 0, 1] })).toThrow(ShapeError);
    expect(() => frechetDistance(one, { mean: [0, 0], covariance: [1, 0, 0, 1] })).toThrow(/frechetDistance: 'b.mean'/);
    expect(() => frechetDistance(one, { mean: [0], covariance: [1, 2] })).toThrow(/frechetDistance: 'b.covariance'/);
    expect(() => frechetDistance(one, null as never)).toThrow(/frechetDistance: 'b' must be \{ mean, covariance \}/);
    expect(() => frechetDistance({ mean: [Infinity], covariance: [1] }, one)).toThrow(NonFiniteError);
  });
});
