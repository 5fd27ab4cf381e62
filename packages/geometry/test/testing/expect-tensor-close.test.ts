import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { Matrix } from '../../src/linalg/matrix.js';
import { expectTensorClose } from '../../src/testing/index.js';

describe('expectTensorClose', () => {
  it('passes within |a − e| <= atol + rtol·|e| and fails just outside', () => {
    expectTensorClose([1.0, 100.0], [1.0 + 9e-4, 100.1], { atol: 1e-3, rtol: 1e-3 });
    expect(() => expectTensorClose([100.2], [100.0], { atol: 1e-3, rtol: 1e-3 })).toThrow(
      /1 of 1 entries differ.*first at flat index 0: actual 100.2, expected 100/,
    );
  });
  it('treats NaN as equal only with equalNaN, and Inf by sign', () => {
    expect(() => expectTensorClose([NaN], [NaN])).toThrow(/differ/);
    expectTensorClose([NaN], [NaN], { equalNaN: true });
    expectTensorClose([Infinity], [Infinity]);
    expect(() => expectTensorClose([Infinity], [-Infinity], { atol: 1e300 })).toThrow(/differ/);
    expect(() => expectTensorClose([1e308], [Infinity], { atol: 1e300 })).toThrow(/differ/);
  });
  it('compares tensors, matrices, nested arrays and checks shapes', () => {
    expectTensorClose(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      [
        [1, 2],
        [3, 4],
      ],
    );
    expectTensorClose(Matrix.fromArray([[1, 2]]), [[1, 2 + 1e-13]]);
    expect(() =>
      expectTensorClose(
        tf.tensor2d([
          [1, 2],
          [3, 4],
        ]),
        [[1, 2, 3, 4]],
      ),
    ).toThrow(/shapes differ: actual \[2, 2\], expected \[1, 4\]/);
  });
  it('uses float64 defaults only when both sides are float64', () => {
    expect(() => expectTensorClose(Matrix.fromArray([[1]]), [1 + 1e-9])).toThrow(/differ/);
    expectTensorClose(tf.tensor1d([1]), [1 + 1e-6]);
  });
});
