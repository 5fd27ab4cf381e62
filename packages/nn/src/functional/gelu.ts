import * as tf from '@tensorflow/tfjs-core';

import { hasKernel } from '../kernels/index.js';
import { KERNELS } from '../kernels/names.js';

/** `'none'`: the exact erf form (PyTorch's default); `'tanh'`: the tanh approximation. */
export type GeluApproximation = 'none' | 'tanh';

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU(x) = x·Φ(x) with Φ the standard normal CDF: `0.5·x·(1 + erf(x/√2))` (PyTorch `nn.GELU()`), or the
 * tanh approximation `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (PyTorch `approximate='tanh'`).
 * Elementwise, any shape, float32.
 */
export function gelu<T extends tf.Tensor>(x: T, approximate: GeluApproximation = 'none'): T {
  return tf.tidy(() => {
    if (approximate === 'tanh') {
      const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner))) as T;
    }
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, SQRT1_2)))) as T;
  });
}

/**
 * `gelu(x + bias)` with `bias` `[D]` broadcast over the last axis of `x` `[..., D]`. One dispatch forward
 * and two backward on a backend with the fused `GeolipBiasGelu` kernels (webgpu after `initBackend` from
 * `@geolip/nn/backend`); the composed ops elsewhere.
 */
export function biasGelu<T extends tf.Tensor>(x: T, bias: tf.Tensor1D, approximate: GeluApproximation = 'none'): T {
  if (hasKernel(KERNELS.biasGelu)) return fusedBiasGelu(x, bias, approximate) as T;
  return tf.tidy(() => gelu(tf.add(x, bias) as T, approximate));
}

function fusedBiasGelu(x: tf.Tensor, bias: tf.Tensor1D, approximate: GeluApproximation): tf.Tensor {
  const attrs = { approximate } as unknown as tf.NamedAttrMap;
  const f = tf.customGrad(((xi: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi, b]);
    const value = tf.engine().runKernel(KERNELS.biasGelu, { x: xi, bias: b }, attrs) as tf.Tensor;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, bs] = saved as [tf.Tensor, tf.Tensor];
        const dx = tf.engine().runKernel(KERNELS.biasGeluGrad, { dy, x: xs, bias: bs }, attrs) as tf.Tensor;
        const dbias = tf.sum(tf.reshape(dx, [-1, bs.shape[0]!]), 0);
        return [dx, dbias];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor;
  return f(x, bias);
}
