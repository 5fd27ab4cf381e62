import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { averagePrecision, bestThreshold, classificationAt, rocAuc, spearman } from '../src/index.js';

// 25 runs by default keeps this file well under a second; GEOLIP_FUZZ_RUNS=1000 (say) for a deeper search.
const RUNS = Number(process.env.GEOLIP_FUZZ_RUNS ?? 25);
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
            if (labels[i] === 1 && labels[j] === 0)
              u += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
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
        expect(
          averagePrecision(
            labels.map((y, i) => y * 10 + i * 1e-3),
            labels,
          ),
        ).toBeCloseTo(1, 12);
        const rho = spearman(scores, labels);
        if (!Number.isNaN(rho)) expect(spearman(labels, scores)).toBeCloseTo(rho, 12);
      }),
      { numRuns: RUNS },
    );
  });
  it('bestThreshold, rocAuc and averagePrecision are O(n log n): element reads counted, no clock', () => {
    // Counting reads of the inputs instead of timing them: an O(n²) sweep would read ~n² = 4·10⁸ times; a sort plus
    // linear sweeps reads O(n log n). Deterministic, so it cannot fail on a busy machine.
    const n = 10_000;
    const raw = Float64Array.from({ length: n }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const labels = Uint8Array.from({ length: n }, (_, i) => (raw[i]! + Math.cos(i) * 0.5 > 0 ? 1 : 0));
    let reads = 0;
    const scores = new Proxy(raw, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as unknown as Float64Array;
    const bound = 40 * n * Math.log2(n); // ≈ 5.3·10⁶, 19× below n²
    for (const metric of [
      () => bestThreshold(scores, labels),
      () => rocAuc(scores, labels),
      () => averagePrecision(scores, labels),
    ]) {
      reads = 0;
      metric();
      expect(reads).toBeGreaterThanOrEqual(n);
      expect(reads).toBeLessThan(bound);
    }
    // and the 200k case of the former timing test still gives consistent results
    const big = Float64Array.from({ length: 200_000 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const bigLabels = Uint8Array.from({ length: big.length }, (_, i) => (big[i]! + Math.cos(i) * 0.5 > 0 ? 1 : 0));
    const best = bestThreshold(big, bigLabels);
    expect(classificationAt(big, bigLabels, best.threshold).f1).toBe(best.f1);
  });
});
