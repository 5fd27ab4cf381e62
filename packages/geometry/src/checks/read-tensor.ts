import * as tf from '@tensorflow/tfjs-core';

import { BackendError } from '../errors.js';

/**
 * `tensor.dataSync()` with a clear error where the backend cannot read synchronously: tfjs's webgpu
 * backend in Node throws "OffscreenCanvas is not defined" from `readSync`. The error names the public
 * function and the argument, and says what to do instead (`hint`: an `…Async` variant, or an async conversion).
 */
export function readTensorSync(
  op: string,
  argument: string,
  tensor: tf.Tensor,
  hint = 'convert it first with `await Matrix.fromTensorAsync(tensor)`',
): tf.TypedArray {
  try {
    return tensor.dataSync() as tf.TypedArray;
  } catch (e) {
    throw new BackendError(
      op,
      `cannot read '${argument}' synchronously on the '${tf.getBackend()}' backend ` +
        `(${e instanceof Error ? e.message : String(e)}); ${hint}`,
    );
  }
}
