import { Matrix, NonFiniteError, ShapeError, linalg, procrustes, whitenedProcrustes } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';
import {
  ConsensusStatistics,
  applyProjector,
  buildConsensus,
  fitProjectorsFromStatistics,
  loadConsensus,
  saveConsensus,
} from '../../src/consensus/index.js';
import { gaussian, gaussianSource, orthogonal } from '../helpers.js';

function unitRows(m: Matrix): Matrix {
  const d = m.cols;
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += m.data[i * d + j]! ** 2;
    for (let j = 0; j < d; j++) m.data[i * d + j] = m.data[i * d + j]! / Math.sqrt(s);
  }
  return m;
}

function meanCosine(a: Matrix, b: Matrix): number {
  const d = a.cols;
  let total = 0;
  for (let i = 0; i < a.rows; i++) {
    let dot = 0,
      na = 0,
      nb = 0;
    for (let j = 0; j < d; j++) {
      dot += a.data[i * d + j]! * b.data[i * d + j]!;
      na += a.data[i * d + j]! ** 2;
      nb += b.data[i * d + j]! ** 2;
    }
    total += dot / Math.sqrt(na * nb);
  }
  return total / a.rows;
}

/** One base set [N, 32] on the sphere, rotated per expert, noised, and embedded at widths 32/48/64. */
function syntheticExperts(n = 400, widths = [32, 48, 64], noise = 0.01, seed = 7) {
  const r = gaussianSource(seed);
  const base = unitRows(gaussian(r, n, 32));
  const experts = widths.map((w, e) => {
    const rotated = linalg.matmul(base, orthogonal(r, 32));
    const padded = new Matrix(n, w);
    for (let i = 0; i < n; i++) for (let j = 0; j < 32; j++) padded.data[i * w + j] = rotated.data[i * 32 + j]!;
    const embedded = linalg.matmul(padded, orthogonal(r, w));
    const noisy = gaussian(r, n, w, noise);
    for (let i = 0; i < noisy.data.length; i++) noisy.data[i] = noisy.data[i]! + embedded.data[i]! + 0.3 * (e + 1);
    return { name: `expert${e}`, features: noisy };
  });
  return { base, experts };
}

describe('buildConsensus', () => {
  const { base, experts } = syntheticExperts();
  const result = buildConsensus(experts);

  it('recovers the base set from experts of different widths', () => {
    expect(result.targets.shape).toEqual([400, 32]);
    expect(result.experts).toEqual(['expert0', 'expert1', 'expert2']);
    expect(result.projectors.map((p) => p.linear.shape)).toEqual([
      [32, 32],
      [48, 32],
      [64, 32],
    ]);
    const aligned = procrustes(result.targets, base).aligned;
    expect(meanCosine(aligned, base)).toBeGreaterThan(0.99);
    for (const c of result.diagnostics.cosineToConsensus) expect(c).toBeGreaterThan(0.99);
    for (const c of result.diagnostics.gpaCosineToConsensus) expect(c).toBeGreaterThan(0.99);
    expect(result.diagnostics.equidistance).toBeLessThan(0.01);
    expect(result.diagnostics.effectiveDimension).toBeGreaterThan(20);
    expect(Number.isFinite(result.diagnostics.consensusCV)).toBe(true);
  });

  it('projectors map raw features to the targets (normalize(x·L + b), mean, normalize)', () => {
    const sum = new Matrix(400, 32);
    result.projectors.forEach((p, e) => {
      const z = applyProjector(p, experts[e]!.features);
      for (let i = 0; i < z.data.length; i++) sum.data[i] = sum.data[i]! + z.data[i]!;
    });
    unitRows(sum);
    for (let i = 0; i < sum.data.length; i++)
      expect(Math.abs(sum.data[i]! - result.targets.data[i]!)).toBeLessThan(1e-12);
  });

  it('PCA to targetDim', () => {
    const small = buildConsensus(experts, { targetDim: 16, width: 32 });
    expect(small.targets.shape).toEqual([400, 16]);
    expect(small.calibrationTargets.shape).toEqual([400, 16]);
    expect(small.diagnostics.pcaExplainedVarianceRatio).toBeGreaterThan(0.4);
    expect(small.diagnostics.pcaExplainedVarianceRatio).toBeLessThan(1);
    for (const c of small.diagnostics.cosineToConsensus) expect(c).toBeGreaterThan(0.98);
  });

  it('different N → ShapeError naming the expert', () => {
    const bad = [experts[0]!, { name: 'short', features: gaussian(gaussianSource(1), 300, 48) }];
    expect(() => buildConsensus(bad)).toThrow(ShapeError);
    expect(() => buildConsensus(bad)).toThrow(/short/);
  });

  it('NaN → NonFiniteError naming the expert', () => {
    const f = experts[2]!.features.clone();
    f.data[17] = NaN;
    const bad = [experts[0]!, { name: 'broken', features: f }];
    expect(() => buildConsensus(bad)).toThrow(NonFiniteError);
    expect(() => buildConsensus(bad)).toThrow(/broken/);
  });

  it('rejects fewer than 2 experts and bad options', () => {
    expect(() => buildConsensus([experts[0]!])).toThrow(/at least 2/);
    expect(() => buildConsensus(experts, { width: 40 })).toThrow(/width/);
    expect(() => buildConsensus(experts, { targetDim: 33 })).toThrow(/targetDim/);
  });

  it('save/load round trip is exact', () => {
    const loaded = loadConsensus(saveConsensus(result));
    expect(loaded.experts).toEqual(result.experts);
    expect(loaded.config).toEqual(result.config);
    expect(loaded.diagnostics).toEqual(result.diagnostics);
    expect(Array.from(loaded.targets.data)).toEqual(Array.from(result.targets.data));
    loaded.projectors.forEach((p, e) => {
      const q = result.projectors[e]!;
      expect(p.name).toBe(q.name);
      expect(p.linear.shape).toEqual(q.linear.shape);
      expect(Array.from(p.linear.data)).toEqual(Array.from(q.linear.data));
      expect(Array.from(p.bias)).toEqual(Array.from(q.bias));
    });
  });

  it('targets saved as F32 or F16 come back within their rounding (projectors stay F64)', () => {
    const t = result.targets.data;
    for (const [dtype, tol] of [
      ['F32', 6e-8],
      ['F16', 4.9e-4],
    ] as const) {
      const loaded = loadConsensus(saveConsensus(result, { targetsDtype: dtype }));
      let worst = 0;
      for (let i = 0; i < t.length; i++) worst = Math.max(worst, Math.abs(loaded.targets.data[i]! - t[i]!));
      expect(worst).toBeGreaterThan(0);
      expect(worst).toBeLessThanOrEqual(tol); // half an ulp at |x| <= 1: 2^-24 (F32), 2^-11 (F16)
      expect(Array.from(loaded.projectors[0]!.linear.data)).toEqual(Array.from(result.projectors[0]!.linear.data));
    }
    expect(saveConsensus(result, { targetsDtype: 'F16' }).length).toBeLessThan(saveConsensus(result).length);
  });

  it('streaming statistics: shard by shard equals all at once (1e-10) and the in-memory fit', () => {
    const y = result.calibrationTargets;
    const spec = experts.map((e) => ({ name: e.name, dim: e.features.cols }));
    const rows = (m: Matrix, a: number, b: number) => new Matrix(b - a, m.cols, m.data.slice(a * m.cols, b * m.cols));
    const batch = (a: number, b: number) => Object.fromEntries(experts.map((e) => [e.name, rows(e.features, a, b)]));

    const all = new ConsensusStatistics(spec, 32).update(batch(0, 400), y);
    const bounds = [0, 57, 130, 260, 400];
    const shards = bounds
      .slice(1)
      .map((b, s) => new ConsensusStatistics(spec, 32).update(batch(bounds[s]!, b), rows(y, bounds[s]!, b)));
    const merged = ConsensusStatistics.fromJSON(JSON.parse(JSON.stringify(shards[3]!)));
    merged.merge(shards[1]!).merge(shards[0]!).merge(shards[2]!);
    expect(merged.count).toBe(400);

    const fromAll = fitProjectorsFromStatistics(all);
    const fromShards = fitProjectorsFromStatistics(merged);
    fromAll.forEach((p, e) => {
      const q = fromShards[e]!;
      for (let i = 0; i < p.linear.data.length; i++)
        expect(Math.abs(p.linear.data[i]! - q.linear.data[i]!)).toBeLessThan(1e-10);
      for (let j = 0; j < p.bias.length; j++) expect(Math.abs(p.bias[j]! - q.bias[j]!)).toBeLessThan(1e-10);
      // Same as geometry's whitenedProcrustes (rowNormalize: false) and buildConsensus's projector.
      const direct = whitenedProcrustes(experts[e]!.features, y, { rowNormalize: false });
      for (let i = 0; i < p.linear.data.length; i++)
        expect(Math.abs(p.linear.data[i]! - direct.linear.data[i]!)).toBeLessThan(1e-9);
      for (let i = 0; i < p.linear.data.length; i++)
        expect(Math.abs(p.linear.data[i]! - result.projectors[e]!.linear.data[i]!)).toBeLessThan(1e-9);
    });
  });
});
