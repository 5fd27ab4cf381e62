// AdamW's per-parameter learning-rate multiplier (`lrScale`, the card's parameter groups).
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { AdamW } from '../../src/loop/index.js';

describe('AdamW lrScale', () => {
  it('scales the step and the decay of each parameter: first step = lr·scale·sign(g) (Adam, bias-corrected)', () => {
    const names = ['full', 'half', 'frozen'] as const;
    const params = Object.fromEntries(
      names.map((n) => [n, tf.variable(tf.tensor2d([[1, -2]]), true, `lr-scale-${n}`)]),
    );
    const scale = { full: 1, half: 0.5, frozen: 0 };
    const opt = new AdamW(params, { lr: 0.1, weightDecay: 0.5, lrScale: (n) => scale[n as keyof typeof scale] });
    const grads = Object.fromEntries(names.map((n) => [n, tf.tensor2d([[3, -4]])]));
    opt.step(grads);
    // p ← p·(1 − lr·s·λ) − lr·s·m̂/(√v̂ + ε), with m̂/√v̂ = sign(g) after one step.
    for (const n of names) {
      const s = scale[n];
      const want = [1 * (1 - 0.1 * s * 0.5) - 0.1 * s, -2 * (1 - 0.1 * s * 0.5) + 0.1 * s];
      const got = Array.from(params[n]!.dataSync());
      expect(got[0]).toBeCloseTo(want[0]!, 6);
      expect(got[1]).toBeCloseTo(want[1]!, 6);
    }
    expect(Array.from(params.frozen!.dataSync())).toEqual([1, -2]);
    opt.dispose();
    tf.dispose([...Object.values(params), ...Object.values(grads)]);
  });

  it('refuses a negative or non-finite multiplier, naming the parameter', () => {
    const w = tf.variable(tf.zeros([2, 2]), true, 'lr-scale-bad');
    expect(() => new AdamW({ w }, { lrScale: () => -1 })).toThrow(InvalidArgumentError);
    expect(() => new AdamW({ w }, { lrScale: () => NaN })).toThrow(/lrScale\('w'\)/);
    w.dispose();
  });
});
