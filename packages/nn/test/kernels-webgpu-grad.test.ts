// The Sum/Mean gradient that @geolip/nn installs for webgpu (broadcast on the device instead of a host-made
// tf.ones), checked against tfjs's own gradients on this backend. The webgpu run is in tools/device/gpu-suite.mjs.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { reductionGrad } from '../src/kernels/webgpu/index.js';

describe('reductionGrad', () => {
  const cases: [number[], number | number[]][] = [
    [[3, 4, 5], 1],
    [
      [3, 4, 5],
      [0, 2],
    ],
    [[2, 3], -1],
    [[6], 0],
    [
      [2, 3, 4, 5],
      [1, 2, 3],
    ],
  ];
  for (const mean of [false, true]) {
    for (const [shape, axis] of cases) {
      it(`${mean ? 'mean' : 'sum'} over ${JSON.stringify(axis)} of ${JSON.stringify(shape)} equals tfjs's gradient`, () => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
        const reduce = (t: tf.Tensor) => (mean ? tf.mean(t, axis) : tf.sum(t, axis));
        const y = reduce(x);
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 2);
        const expected = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reduce(t), dy)))(x);
        const got = reductionGrad(dy, x, axis, mean);
        expect(got.shape).toEqual(x.shape);
        const a = got.dataSync();
        const b = expected.dataSync();
        for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 6);
      });
    }
  }

  it('a hand case: d/dx sum(x, 1) of [2, 3] with dy = [1, 2] is [[1, 1, 1], [2, 2, 2]]', () => {
    const g = reductionGrad(tf.tensor1d([1, 2]), tf.zeros([2, 3]), 1, false);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 1, 2, 2, 2]);
    const m = reductionGrad(tf.tensor1d([3, 6]), tf.zeros([2, 3]), 1, true);
    expect(Array.from(m.dataSync())).toEqual([1, 1, 1, 2, 2, 2]);
  });
});
