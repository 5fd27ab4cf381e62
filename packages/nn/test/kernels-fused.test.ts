// The fused code paths of functional/ (kernel dispatch, custom gradients, attributes), run through the
// plain-JS reference kernels on this backend and compared with the composed tfjs ops. The WGSL programs
// implement the same kernels; tools/perf/webgpu-parity.mjs checks them against cpu on a GPU machine.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  KERNELS,
  TransformerEncoderLayer,
  adamwStep,
  biasGelu,
  composedLayerNorm,
  gelu,
  hasKernel,
  layerNorm,
  registerReferenceKernels,
  unregisterReferenceKernels,
} from '../src/index.js';

function close(a: tf.Tensor, b: tf.Tensor, tol = 1e-5): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  expect(worst).toBeLessThan(tol);
}

const rand = (shape: number[], seed: number, scale = 1) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);

describe('fused kernels (reference implementations) against the composed ops', () => {
  beforeAll(() => registerReferenceKernels());
  afterAll(() => unregisterReferenceKernels());
  afterEach(() => tf.disposeVariables());

  it('are registered and picked', () => {
    for (const name of Object.values(KERNELS)) expect(hasKernel(name)).toBe(true);
  });

  for (const shape of [
    [3, 5, 7],
    [4, 130],
    [2, 64],
  ]) {
    it(`layerNorm forward and gradients match at ${JSON.stringify(shape)}`, () => {
      const d = shape[shape.length - 1]!;
      const x = rand(shape, 1, 3);
      const g = tf.add(1, rand([d], 2, 0.3)) as tf.Tensor1D;
      const b = rand([d], 3) as tf.Tensor1D;
      const w = rand(shape, 4);
      close(layerNorm(x, g, b), composedLayerNorm(x, g, b));
      const loss = (fn: typeof layerNorm) => (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(tf.mul(fn(xi, gi as tf.Tensor1D, bi as tf.Tensor1D), w));
      const fused = tf.grads(loss(layerNorm))([x, g, b]);
      const ref = tf.grads(loss(composedLayerNorm))([x, g, b]);
      for (let i = 0; i < 3; i++) close(fused[i]!, ref[i]!, 2e-5);
    });
  }

  it('layerNorm honours eps (a constant row normalizes to zero, not NaN)', () => {
    const x = tf.ones([2, 8]);
    const y = layerNorm(x, tf.ones([8]) as tf.Tensor1D, tf.zeros([8]) as tf.Tensor1D, 1e-3);
    expect(Array.from(y.dataSync()).every((v) => v === 0)).toBe(true);
  });

  for (const approximate of ['none', 'tanh'] as const) {
    it(`biasGelu (${approximate}) forward and gradients match`, () => {
      const x = rand([6, 5, 33], 5, 2);
      const b = rand([33], 6) as tf.Tensor1D;
      const w = rand([6, 5, 33], 7);
      const composed = (xi: tf.Tensor, bi: tf.Tensor) => gelu(tf.add(xi, bi), approximate);
      close(biasGelu(x, b, approximate), composed(x, b));
      const fused = tf.grads((xi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(tf.mul(biasGelu(xi, bi as tf.Tensor1D, approximate), w)),
      )([x, b]);
      const ref = tf.grads((xi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(composed(xi, bi), w)))([x, b]);
      close(fused[0]!, ref[0]!, 2e-5);
      close(fused[1]!, ref[1]!, 2e-5);
    });
  }

  it('biasGelu matches hand values: gelu(0) = 0, gelu(1) = 0.8413447, gelu(-1) = -0.1586553', () => {
    const y = biasGelu(tf.tensor2d([[0, 1, -1]]), tf.zeros([3]) as tf.Tensor1D).dataSync();
    expect(y[0]).toBeCloseTo(0, 7);
    expect(y[1]).toBeCloseTo(0.8413447, 6);
    expect(y[2]).toBeCloseTo(-0.1586553, 6);
  });

  it('adamwStep matches the composed update over several steps', () => {
    const p0 = rand([5, 7], 8);
    let fused = { p: p0, m: tf.zeros([5, 7]), v: tf.zeros([5, 7]) };
    let ref = { p: p0, m: tf.zeros([5, 7]), v: tf.zeros([5, 7]) };
    for (let t = 1; t <= 4; t++) {
      const g = rand([5, 7], 10 + t);
      const s = {
        beta1: 0.9,
        beta2: 0.999,
        stepSize: 1e-2 / (1 - 0.9 ** t),
        sqrtBc2: Math.sqrt(1 - 0.999 ** t),
        epsilon: 1e-8,
        decay: 1 - 1e-2 * 0.01,
      };
      fused = adamwStep(fused.p, g, fused.m, fused.v, s);
      unregisterReferenceKernels();
      ref = adamwStep(ref.p, g, ref.m, ref.v, s);
      registerReferenceKernels();
    }
    close(fused.m, ref.m, 1e-6);
    close(fused.v, ref.v, 1e-6);
    close(fused.p, ref.p, 1e-6);
  });

  it('a transformer layer gives the same output and gradients with and without the fused kernels', () => {
    const layer = new TransformerEncoderLayer(32, 4, 64, { seed: 3 });
    const x = rand([2, 5, 32], 20) as tf.Tensor3D;
    const mask = tf.tensor2d([
      [1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0],
    ]);
    const run = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(layer.forward(x, { keyPaddingMask: mask }))) as tf.Scalar,
      );
      return { value, grads };
    };
    const fused = run();
    unregisterReferenceKernels();
    const ref = run();
    registerReferenceKernels();
    close(fused.value, ref.value, 1e-5);
    for (const name of Object.keys(ref.grads)) close(fused.grads[name]!, ref.grads[name]!, 5e-5);
    layer.dispose();
  });
});
