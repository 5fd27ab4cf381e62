// Drift and the within-band fraction on hand-built anchors, the model's drift at init and after moving
// anchors by known angles, the gate value (v1/v2 only) and the reconstruction cosine.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import {
  BINDING_CONSTANT,
  GlfmModel,
  analyzeDrift,
  analyzeGlfm,
  analyzeGlfmAsync,
  gateValue,
  modelDrift,
  reconstructionCosine,
} from '../src/index.js';
import { tinyConfig } from './helpers.js';

/** Rotates unit vector e_i toward e_j by `angle` in a D-dim space. */
function rotated(d: number, i: number, j: number, angle: number): number[] {
  const v = new Array<number>(d).fill(0);
  v[i] = Math.cos(angle);
  v[j] = Math.sin(angle);
  return v;
}

describe('analyzeDrift', () => {
  it('per-anchor radians and the fraction within ±0.05 of 0.29154', () => {
    const d = 16;
    const angles = [0.29154, 0.25, 0.33, 0.2, 1.0];
    const home = tf.tensor2d(angles.map((_, i) => rotated(d, i, i + 8, 0)));
    const current = tf.tensor2d(angles.map((a, i) => rotated(d, i, i + 8, a)));
    const { drift, summary } = analyzeDrift(home, current);
    angles.forEach((a, i) => expect(drift[i]).toBeCloseTo(a, 5));
    // within (strict): 0.29154, 0.25 (|Δ| = 0.0415), 0.33 (0.0385) → 3 of 5.
    expect(summary.nearBinding).toBeCloseTo(3 / 5, 12);
    expect(summary.max).toBeCloseTo(1.0, 5);
    expect(summary.mean).toBeCloseTo(angles.reduce((s, a) => s + a, 0) / 5, 5);
    expect(analyzeDrift(home, current, { window: 0.1 }).summary.nearBinding).toBeCloseTo(4 / 5, 12);
    expect(BINDING_CONSTANT).toBe(0.29154);
  });
});

describe('model analysis', () => {
  it('drift ≈ 4.47e-4 (the clamp) at init; after moving relay anchors by known angles it reads them back', () => {
    const model = new GlfmModel(tinyConfig('v1'));
    const init = modelDrift(model);
    expect(init.all.drift.length).toBe(2 * 4);
    init.all.drift.forEach((a) => expect(a).toBeLessThan(2e-3));
    expect(init.all.summary.nearBinding).toBe(0);
    // Rotate each anchor a in its patch toward a direction orthogonal to it by angle θ_a.
    const pc = model.relay!.constellation;
    const home = pc.home.arraySync();
    const angles = [0.29, 0.3, 0.5, 0.1, 0.27, 0.31, 0.0, 0.6];
    const moved = home.map((patch, p) =>
      patch.map((h, a) => {
        // Gram-Schmidt an orthogonal unit vector u from e_0 (or e_1).
        const e = new Array<number>(16).fill(0);
        e[Math.abs(h[0]!) > 0.9 ? 1 : 0] = 1;
        const dot = e.reduce((s, v, k) => s + v * h[k]!, 0);
        const u = e.map((v, k) => v - dot * h[k]!);
        const n = Math.hypot(...u);
        const th = angles[p * 4 + a]!;
        return h.map((v, k) => Math.cos(th) * v + Math.sin(th) * (u[k]! / n));
      }),
    );
    pc.anchors.assign(tf.tensor3d(moved));
    const after = modelDrift(model);
    angles.forEach((th, i) => expect(after.constellations.relay!.drift[i]).toBeCloseTo(Math.max(th, 4.47e-4), 3));
    expect(after.all.summary.nearBinding).toBeCloseTo(4 / 8, 12); // 0.29, 0.30, 0.27, 0.31
    model.dispose();
  });

  it.each(['v1', 'v2', 'v3', 'v4'] as const)(
    'analyzeGlfmAsync (what webgpu in Node needs) equals analyzeGlfm for %s and leaks no tensor',
    async (variant) => {
      const model = new GlfmModel(tinyConfig(variant));
      const pc = Object.values(model.constellations())[0]!;
      pc.anchors.assign(tf.tidy(() => tf.add(pc.anchors, tf.randomNormal(pc.anchors.shape, 0, 0.1, 'float32', 3))));
      const c = model.config;
      const x = tf.randomNormal([3, c.imageSize, c.imageSize, c.channels], 0, 1, 'float32', 4) as tf.Tensor4D;
      const t = tf.tensor1d([0.1, 0.5, 0.9]);
      const labels = tf.tensor1d([0, 1, 2], 'int32');
      const before = tf.memory().numTensors;
      const sync = analyzeGlfm(model, { x, t, labels });
      const async = await analyzeGlfmAsync(model, { x, t, labels });
      expect(tf.memory().numTensors).toBe(before);
      expect(async.gate).toBe(sync.gate);
      expect(Array.from(async.drift.all.drift)).toEqual(Array.from(sync.drift.all.drift));
      expect(async.drift.all.summary).toEqual(sync.drift.all.summary);
      expect(Object.keys(async.drift.constellations)).toEqual(Object.keys(sync.drift.constellations));
      expect(async.reconstructionCosine).toBe(sync.reconstructionCosine);
      expect(async.drift.all.summary.mean).toBeGreaterThan(1e-2); // the anchors moved
      tf.dispose([x, t, labels]);
      model.dispose();
    },
  );

  it('gate: σ(−3) for v1 and v2, null for v3 and v4; v4 has coarse and fine constellations', () => {
    for (const v of ['v1', 'v2', 'v3', 'v4'] as const) {
      const model = new GlfmModel(tinyConfig(v, { imageSize: 8 }));
      const a = analyzeGlfm(model);
      if (v === 'v1' || v === 'v2') expect(a.gate).toBeCloseTo(0.0474259, 6);
      else expect(a.gate).toBeNull();
      expect(gateValue(model)).toBe(a.gate);
      expect(Object.keys(a.drift.constellations)).toEqual(v === 'v4' ? ['coarse', 'fine'] : ['relay']);
      expect(Number.isNaN(a.reconstructionCosine)).toBe(true);
      model.dispose();
    }
  });

  it('reconstruction cosine: ≈ 1 for v1 at init (small gate), within [−1, 1] for v3 and v4; 0 when the gate is large and the relay opposes', () => {
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const t = tf.tensor1d([0.3, 0.6]);
    const y = tf.tensor1d([0, 1], 'int32');
    const v1 = new GlfmModel(tinyConfig('v1', { imageSize: 8 }));
    expect(reconstructionCosine(v1, x, t, y)).toBeGreaterThan(0.9);
    v1.dispose();
    for (const v of ['v3', 'v4'] as const) {
      const m = new GlfmModel(tinyConfig(v, { imageSize: 8 }));
      const c = analyzeGlfm(m, { x, t, labels: y }).reconstructionCosine;
      expect(c).toBeGreaterThanOrEqual(-1);
      expect(c).toBeLessThanOrEqual(1);
      m.dispose();
    }
  });
});
