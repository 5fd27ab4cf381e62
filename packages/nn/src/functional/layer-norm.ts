import * as tf from '@tensorflow/tfjs-core';

import { hasKernel } from '../kernels/index.js';
import { KERNELS } from '../kernels/names.js';

/**
 * Layer normalization over the last axis (PyTorch `F.layer_norm(x, [D], weight, bias, eps)`):
 * `(x − mean) / √(var + eps) · gamma + beta`, with the biased variance.
 *
 * On a backend with the fused `GeolipLayerNorm` kernels (webgpu after `initBackend` from
 * `@geolip/nn/backend`) the forward pass is one dispatch and the backward four; elsewhere the composed
 * tfjs ops run. Both give the same values (parity-tested).
 *
 * @param x - `[..., D]` float32.
 * @param gamma - `[D]` scale.
 * @param beta - `[D]` shift.
 * @param eps - default `1e-5` (PyTorch's default).
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): T {
  if (hasKernel(KERNELS.layerNorm)) return fusedLayerNorm(x, gamma, beta, eps) as T;
  return composedLayerNorm(x, gamma, beta, eps);
}

/** The composed tfjs ops: the reference every fused path is tested against. */
export function composedLayerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): T {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const { mean, variance } = tf.moments(x, axis, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, gamma), beta) as T;
  });
}

function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi, g]);
    const value = tf
      .engine()
      .runKernel(KERNELS.layerNorm, { x: xi, gamma: g, beta: b }, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs] = saved as [tf.Tensor, tf.Tensor];
        const d = xs.shape[xs.rank - 1]!;
        const stats = tf
          .engine()
          .runKernel(KERNELS.layerNormStats, { x: xs }, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const dx = tf.engine().runKernel(KERNELS.layerNormGradX, { dy, x: xs, gamma: gs, stats }) as tf.Tensor;
        const dgamma = tf.engine().runKernel(KERNELS.layerNormGradGamma, { dy, x: xs, stats }) as tf.Tensor;
        const dbeta = tf.sum(tf.reshape(dy, [-1, d]), 0);
        return [dx, dgamma, dbeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor;
  return f(x, gamma, beta);
}
