// Gradients reach every trainable weight of each variant (one variableGrads step: no missing or
// non-finite gradient, every one non-zero), and 8 Adam steps on a fixed tiny batch lower the loss.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { GlfmModel, flowMatchingLoss, gateValue } from '../src/index.js';
import { tinyConfig } from './helpers.js';

describe('training', () => {
  it.each(['v1', 'v2', 'v3', 'v4'] as const)(
    '%s: gradients to every weight, loss falls over 8 Adam steps',
    async (v) => {
      const model = new GlfmModel(tinyConfig(v, { imageSize: 8 }));
      const weights = model.getWeights();
      const vars = Object.values(weights);
      const x0 = tf.randomUniform([4, 8, 8, 1], -1, 1, 'float32', 11) as tf.Tensor4D;
      const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
      // Fixed noise and times: the objective is a fixed function of the weights.
      const noise = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 12) as tf.Tensor4D;
      const t = tf.tensor1d([0.2, 0.4, 0.6, 0.8]);
      const loss = (): tf.Scalar => flowMatchingLoss(model, x0, labels, { noise, t });

      const { value, grads } = tf.variableGrads(loss, vars);
      for (const [name, variable] of Object.entries(weights)) {
        const g = grads[variable.name];
        expect(g, `gradient of ${name}`).toBeDefined();
        const data = await g!.data();
        expect(data.every(Number.isFinite), `finite gradient of ${name}`).toBe(true);
        expect(
          data.some((d) => d !== 0),
          `non-zero gradient of ${name}`,
        ).toBe(true);
      }
      const first = (await value.data())[0]!;
      tf.dispose([value, ...Object.values(grads)]);

      const opt = tf.train.adam(3e-3);
      for (let i = 0; i < 8; i++) opt.minimize(loss, true, vars)?.dispose();
      const last = (await loss().data())[0]!;
      expect(last).toBeLessThan(first);
      if (v === 'v1' || v === 'v2') expect(gateValue(model)).not.toBeCloseTo(0.0474259, 6);
      opt.dispose();
      tf.dispose([x0, labels, noise, t]);
      model.dispose();
    },
  );
});
