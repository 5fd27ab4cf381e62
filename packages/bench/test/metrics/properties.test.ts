import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { averagePrecision, bestThreshold, classificationAt, rocAuc, spearman } from '../../src/metrics/index.js';

const RUNS = Number(process.env.GEOLIP_FUZZ_RUNS ?? 100);
// scores on a coarse grid so ties are frequent
const binaryData = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 1 })), { minLength: 2, maxLength: 40 })
  .filter((rows) => rows.some(([, y]) => y === 1) && rows.some(([, y]) => y === 0))
  .map((rows) => ({ scores: rows.map(([s]) => s / 4), labels: rows.map(([, y]) => y) }));

describe('metric properties (fast-check)', () => {
  it('rocAuc equals the pairwise Mann–Whitney count with ties as ½', () => {
    fc.assert(
      fc.property(binaryData, ({ scores, labels }) => {
        let u = 0;
        let n1 = 0;
        let n0 = 0;
        for (let i = 0; i < scores.length; i++) {
          if (labels[i] === 1) n1++;
          else n0++;
          for (let j = 0; j < scores.length; j++) {
            if (labels[i] === 1 && labels[j] === 0) u += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
          }
        }
        expect(Math.abs(rocAuc(scores, labels) - u / (n1 * n0))).toBeLessThan(1e-12);
      }),
      { numRuns: RUNS },
    );
  });
  it('bestThreshold matches brute force over every candidate cut, for f1 and accuracy', () => {
    fc.assert(
      fc.property(binaryData, ({ scores, labels }) => {
        const uniq = [...new Set(scores)].sort((a, b) => b - a);
        const cands = [Infinity, ...uniq.slice(1).map((w, i) => (uniq[i]! + w) / 2), -Infinity];
        for (const metric of ['f1', 'accuracy'] as const) {
          const best = Math.max(...cands.map((t) => classificationAt(scores, labels, t)[metric]));
          const got = bestThreshold(scores, labels, { metric });
          expect(Math.abs(got[metric] - best)).toBeLessThan(1e-12);
          const again = classificationAt(scores, labels, got.threshold);
          expect(again[metric]).toBe(got[metric]);
          // highest threshold among the optimal cuts
          const firstOptimal = cands.find((t) => Math.abs(classificationAt(scores, labels, t)[metric] - best) < 1e-12);
          expect(got.threshold).toBe(firstOptimal);
        }
      }),
      { numRuns: RUNS },
    );
  });
  it('AP is in (0, 1] and 1 for a perfect separation; spearman is symmetric', () => {
    fc.assert(
      fc.property(binaryData, ({ scores, labels }) => {
        const ap = averagePrecision(scores, labels);
        expect(ap).toBeGreaterThan(0);
        expect(ap).toBeLessThanOrEqual(1 + 1e-12);
        expect(averagePrecision(labels.map((y, i) => y * 10 + i * 1e-3), labels)).toBeCloseTo(1, 12);
        const rho = spearman(scores, labels);
        if (!Number.isNaN(rho)) expect(spearman(labels, scores)).toBeCloseTo(rho, 12);
      }),
      { numRuns: RUNS },
    );
  });
  it('bestThreshold is O(n log n): 200k scores well under a second', () => {
    const n = 200_000;
    const scores = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
    const labels = Uint8Array.from({ length: n }, (_, i) => (scores[i]! + Math.cos(i) * 0.5 > 0 ? 1 : 0));
    const t0 = performance.now();
    bestThreshold(scores, labels);
    rocAuc(scores, labels);
    averagePrecision(scores, labels);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
