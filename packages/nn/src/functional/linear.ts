import * as tf from '@tensorflow/tfjs-core';

/**
 * `x·W + b` over the last axis.
 *
 * @param x - `[..., in]`.
 * @param weight - `[in, out]` (the transpose of PyTorch's `nn.Linear.weight`, so no transposed matmul runs).
 * @param bias - `[out]`, optional.
 * @returns `[..., out]`.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  return tf.tidy(() => {
    const inDim = weight.shape[0];
    const lead = x.shape.slice(0, -1);
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, inDim]) as tf.Tensor2D);
    let y: tf.Tensor = tf.matMul(flat, weight);
    if (bias) y = tf.add(y, bias);
    return x.rank === 2 ? y : tf.reshape(y, [...lead, weight.shape[1]]);
  });
}
