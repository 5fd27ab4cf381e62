// Relay retention at depth (the card's "99.4% vs 7.4% for attention", [INFER] measurement): retentionCurve on
// hand-derived stacks, relayRetention's properties (a closed gate keeps the signal exactly), and the errors.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { InvalidArgumentError, ShapeError, relayRetention, retentionCurve } from '../src/index.js';

describe('retentionCurve', () => {
  it('hand cases: scaling keeps 1, negation gives −1, adding an orthogonal vector gives 1/√2 then 1/√5', () => {
    const x = tf.tensor3d([[[1, 0]]]);
    expect(retentionCurve(x, [(h) => tf.mul(h, 2), (h) => tf.mul(h, 0.5)])).toEqual([1, 1]);
    expect(retentionCurve(x, [(h) => tf.neg(h)])[0]).toBeCloseTo(-1, 7);
    const e2 = tf.tensor1d([0, 1]);
    const add: (h: tf.Tensor3D) => tf.Tensor3D = (h) => tf.add(h, e2);
    const r = retentionCurve(x, [add, add]);
    expect(r[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(r[1]).toBeCloseTo(1 / Math.sqrt(5), 6); // [1, 2]
    tf.dispose([x, e2]);
  });

  it('averages over tokens; a zero-norm token counts as 0', () => {
    // token 1: [1, 0] → [1, 0] (cos 1); token 2: [0, 1] → [1, 0] after the layer (cos 0); token 3: 0 → 0 (0).
    const x = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
        [0, 0],
      ],
    ]);
    const mask = tf.tensor3d([
      [
        [1, 0],
        [0, 0],
        [1, 1],
      ],
    ]);
    const shift = tf.tensor3d([
      [
        [0, 0],
        [1, 0],
        [0, 0],
      ],
    ]);
    const layer = (h: tf.Tensor3D): tf.Tensor3D => tf.add(tf.mul(h, mask), shift);
    expect(retentionCurve(x, [layer])[0]).toBeCloseTo(1 / 3, 6);
    tf.dispose([x, mask, shift]);
  });

  it('errors name the function and argument', () => {
    expect(() => retentionCurve(tf.zeros([2, 2]) as unknown as tf.Tensor3D, [])).toThrow(ShapeError);
    const x = tf.ones([1, 2, 4]) as tf.Tensor3D;
    expect(() => retentionCurve(x, [(h) => tf.slice(h, [0, 0, 0], [1, 2, 2])])).toThrow(
      /retentionCurve: 'layers\[0\]' must keep the shape \[1, 2, 4\]/,
    );
    x.dispose();
  });
});

describe('relayRetention', () => {
  const small = { depth: 4, dim: 32, tokens: 8, batch: 2, heads: 4, anchorsPerPatch: 4, seed: 0 };

  it('a closed gate (σ(−30) ≈ 1e-13) keeps the signal: relay retention 1 at every depth', () => {
    const r = relayRetention({ ...small, gateInit: -30 });
    expect(r.relay).toHaveLength(4);
    for (const v of r.relay) expect(v).toBeCloseTo(1, 6);
  });

  it('curves of length depth in [−1, 1], seeded; the gated relay keeps more than attention in its place', () => {
    const before = tf.memory().numTensors;
    const a = relayRetention(small);
    expect(tf.memory().numTensors).toBe(before);
    const b = relayRetention(small);
    expect(a).toEqual(b);
    for (const k of ['relay', 'attention', 'attentionResidual'] as const) {
      expect(a[k]).toHaveLength(4);
      for (const v of a[k]) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-6);
    }
    // σ(−3)·‖Relay‖ is small against ‖x‖: each relay layer turns the signal by little.
    expect(a.relay[3]!).toBeGreaterThan(0.95);
    expect(a.relay[3]!).toBeGreaterThan(a.attention[3]!);
    expect(a.relay[3]!).toBeGreaterThan(a.attentionResidual[3]!);
  });

  it('errors name the argument', () => {
    expect(() => relayRetention({ depth: 0 })).toThrow(/relayRetention: 'depth' must be an integer >= 1/);
    expect(() => relayRetention({ dim: 40 })).toThrow(/'dim' must be a multiple of patchDim \(16\)/);
    expect(() => relayRetention({ dim: 32, heads: 5 })).toThrow(InvalidArgumentError);
  });
});
