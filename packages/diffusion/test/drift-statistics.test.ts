// driftStatistics: the near-binding fraction, the structural / semantic split at 0.29154 and the drift histogram on
// hand-picked drifts, the bin edges, and a model at init (every anchor at the clamp's 4.47e-4 rad).
import { describe, expect, it } from 'vitest';

import { DRIFT_HISTOGRAM_EDGES, GlfmModel, driftStatistics, modelDrift } from '../src/index.js';
import { tinyConfig } from './helpers.js';

describe('driftStatistics', () => {
  it('hand-picked drifts: near 0.29154, structural / semantic split, histogram bins', () => {
    const s = driftStatistics([0.1, 0.3, 0.5, 1.2]);
    expect(s.count).toBe(4);
    expect(s.nearBinding).toBe(0.25); // only 0.3 (|0.3 − 0.29154| = 0.00846)
    expect(s.structural).toEqual({ fraction: 0.25, mean: 0.1 });
    expect(s.semantic.fraction).toBe(0.75);
    expect(s.semantic.mean).toBeCloseTo((0.3 + 0.5 + 1.2) / 3, 14);
    // 0.1 → [0.10, 0.15) bin 2; 0.3 → [0.30, 0.35) bin 6; 0.5 → bin 10; 1.2 → the ≥ 1.0 bin 20.
    const expected = new Array<number>(21).fill(0);
    for (const i of [2, 6, 10, 20]) expected[i] = 0.25;
    expect(s.histogram).toEqual(expected);
  });

  it('edges 0, 0.05, …, 1.0; a drift on an edge goes to the bin above; 0.29154 itself is semantic', () => {
    expect(DRIFT_HISTOGRAM_EDGES.length).toBe(21);
    expect(DRIFT_HISTOGRAM_EDGES[0]).toBe(0);
    expect(DRIFT_HISTOGRAM_EDGES[1]).toBe(0.05);
    expect(DRIFT_HISTOGRAM_EDGES[6]).toBe(0.3);
    expect(DRIFT_HISTOGRAM_EDGES[20]).toBe(1);
    const s = driftStatistics([0.05, 0.29154, 1.0, Number.NaN]);
    expect(s.count).toBe(3); // NaN left out
    expect(s.histogram[1]).toBeCloseTo(1 / 3, 15);
    expect(s.histogram[5]).toBeCloseTo(1 / 3, 15); // 0.29154 ∈ [0.25, 0.30)
    expect(s.histogram[20]).toBeCloseTo(1 / 3, 15);
    expect(s.structural.fraction).toBeCloseTo(1 / 3, 15);
    expect(s.semantic.fraction).toBeCloseTo(2 / 3, 15);
    expect(s.nearBinding).toBeCloseTo(1 / 3, 15);
    // Options: a split at 0.5 and a wider band.
    const o = driftStatistics([0.1, 0.3, 0.5, 1.2], { split: 0.5, window: 0.25 });
    expect(o.structural.fraction).toBe(0.5);
    expect(o.nearBinding).toBe(0.75); // 0.1 (|Δ| 0.19), 0.3 and 0.5 (0.208); not 1.2
  });

  it('fractions sum to 1 on any finite drifts; empty input gives NaN', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 1.6;
    for (let trial = 0; trial < 20; trial++) {
      const d = Array.from({ length: 1 + trial * 7 }, rand);
      const s = driftStatistics(d);
      expect(s.histogram.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(s.structural.fraction + s.semantic.fraction).toBeCloseTo(1, 12);
    }
    const e = driftStatistics([]);
    expect([e.count, e.nearBinding, e.structural.fraction]).toEqual([0, NaN, NaN]);
  });

  it('a model at init: every anchor in the first bin, all structural, none near 0.29154', () => {
    const model = new GlfmModel(tinyConfig('v4', { imageSize: 8 }));
    const s = driftStatistics(modelDrift(model).all.drift);
    expect(s.count).toBe(2 * 2 * 4); // coarse + fine, 2 patches × 4 anchors each
    expect(s.histogram[0]).toBe(1);
    expect(s.structural.fraction).toBe(1);
    expect(s.nearBinding).toBe(0);
    model.dispose();
  });

  it('errors name the function and argument', () => {
    expect(() => driftStatistics(3 as never)).toThrow(/driftStatistics: 'drift'/);
    expect(() => driftStatistics([0.1], { split: Number.NaN })).toThrow(/driftStatistics: 'options.split'/);
  });
});
