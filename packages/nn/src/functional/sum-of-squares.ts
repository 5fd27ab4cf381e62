import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { describeValue } from '@geolip/geometry/checks';

import { hasKernel } from '../kernels/index.js';
import { KERNELS } from '../kernels/names.js';

/** tfjs-webgpu's `AddN` binds one storage buffer per input, and a shader stage gets 8 (output included). */
const ADD_N_GROUP = 7;

/**
 * `[]` Σ_tensors Σ x², a new scalar tensor (0 for an empty list): the squared global norm of a set of gradients.
 *
 * On a backend with the `GeolipSumSquares` kernel (webgpu after `initBackend` from `@geolip/nn/backend`, unless
 * `GEOLIP_WEBGPU_SUM_SQUARES=0` or `GEOLIP_WEBGPU_FUSED=0`) the tensors are summed up to 7 per dispatch (about
 * P/7 + P/49 + 1 dispatches for P tensors); elsewhere, and for non-float32 tensors, by the composed ops: one
 * square and one sum per tensor, then `addN` in groups of 7. Same values to float32 rounding (the order of the
 * additions differs). Not differentiable on the kernel path.
 */
export function sumOfSquares(tensors: readonly tf.Tensor[]): tf.Scalar {
  const op = 'sumOfSquares';
  if (!Array.isArray(tensors))
    throw new InvalidArgumentError(op, 'tensors', `must be an array of tf.Tensors, got ${describeValue(tensors)}`);
  tensors.forEach((t, i) => {
    if (!(t instanceof tf.Tensor))
      throw new InvalidArgumentError(op, `tensors[${i}]`, `must be a tf.Tensor, got ${describeValue(t)}`);
  });
  // Empty tensors add nothing (and tfjs-wasm's sum of an empty tensor reads uninitialized memory).
  const live = tensors.filter((t) => t.size > 0);
  if (live.length === 0) return tf.scalar(0);
  if (hasKernel(KERNELS.sumSquares) && live.every((t) => t.dtype === 'float32')) {
    return tf.engine().runKernel(KERNELS.sumSquares, live as unknown as tf.NamedTensorMap) as tf.Scalar;
  }
  return tf.tidy(() => {
    let level = live.map((t) => tf.sum(tf.square(t)));
    // Sum in groups of at most 7, so this path also runs on a webgpu backend without @geolip/nn's AddN patch.
    while (level.length > 1) {
      const next: tf.Tensor[] = [];
      for (let i = 0; i < level.length; i += ADD_N_GROUP)
        next.push(level.length - i === 1 ? level[i]! : tf.addN(level.slice(i, i + ADD_N_GROUP)));
      level = next;
    }
    return level[0] as tf.Scalar;
  });
}
