// chunkedAddN (src/kernels/add-n.ts): the grouping wrapper registered for webgpu's AddN, exercised here around the
// active backend's own AddN with small group sizes, against a plain running sum.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { chunkedAddN } from '../src/kernels/add-n.js';

function run(n: number, maxInputs: number): { got: number[]; want: number[]; leaked: number } {
  const stock = tf.getKernel('AddN', tf.getBackend())!.kernelFunc;
  const kernel = chunkedAddN(stock, maxInputs);
  const xs = Array.from({ length: n }, (_, i) => tf.tensor1d([i + 1, (i + 1) * 0.5, -(i % 3)]));
  const before = tf.memory().numTensors;
  const backendBefore = tf.engine().backend.numDataIds();
  const info = kernel({
    inputs: xs as unknown as tf.NamedTensorInfoMap,
    backend: tf.backend(),
    attrs: {},
  }) as tf.TensorInfo;
  const out = tf.engine().makeTensorFromTensorInfo(info);
  const got = Array.from(out.dataSync());
  const leaked = tf.engine().backend.numDataIds() - backendBefore - 1;
  out.dispose();
  const want = [0, 0, 0];
  for (const x of xs) x.dataSync().forEach((v, j) => (want[j]! += v));
  tf.dispose(xs);
  expect(tf.memory().numTensors).toBe(before - n);
  return { got, want, leaked };
}

describe('chunkedAddN', () => {
  it.each([
    [1, 2],
    [2, 2],
    [7, 7],
    [8, 7],
    [59, 7],
    [10, 3],
    [9, 2],
  ])('%i inputs in groups of at most %i: equals the running sum and frees the partial sums', (n, max) => {
    const { got, want, leaked } = run(n, max);
    got.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 4));
    expect(leaked).toBe(0);
  });

  it('calls the wrapped kernel with at most maxInputs inputs', () => {
    const sizes: number[] = [];
    const stock = tf.getKernel('AddN', tf.getBackend())!.kernelFunc;
    const spy: tf.KernelFunc = (args) => {
      sizes.push((args.inputs as unknown as unknown[]).length);
      return stock(args);
    };
    const xs = Array.from({ length: 20 }, () => tf.ones([2]));
    const info = chunkedAddN(
      spy,
      4,
    )({ inputs: xs as unknown as tf.NamedTensorInfoMap, backend: tf.backend(), attrs: {} }) as tf.TensorInfo;
    const out = tf.engine().makeTensorFromTensorInfo(info);
    expect(Array.from(out.dataSync())).toEqual([20, 20]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(sizes).toEqual([4, 4, 4, 4, 4, 4, 2]); // 20 → 5 partial sums → 2 → 1
    tf.dispose([out, ...xs]);
  });

  it('refuses maxInputs < 2', () => {
    expect(() => chunkedAddN(tf.getKernel('AddN', tf.getBackend())!.kernelFunc, 1)).toThrow(/maxInputs/);
  });
});
