/**
 * `AddN` over any number of inputs for backends whose kernel binds every input at once. tfjs-backend-webgpu 4.22
 * makes one shader with one storage buffer per input: with more than 7 inputs (8 storage buffers per shader
 * stage, the WebGPU default limit, output included) the pipeline fails validation and the sum is never computed
 * (seen as "The number of storage buffers (59) in the Compute stage exceeds the maximum per-stage limit (8)" when
 * summing 59 squared gradient norms). This wrapper sums groups of at most `maxInputs` with the backend's own kernel,
 * then sums the partial sums, freeing them.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Wraps a backend's `AddN` kernel function so it never receives more than `maxInputs` (≥ 2) inputs. */
export function chunkedAddN(original: tf.KernelFunc, maxInputs: number): tf.KernelFunc {
  if (!Number.isInteger(maxInputs) || maxInputs < 2)
    throw new RangeError(`chunkedAddN: maxInputs must be an integer >= 2, got ${maxInputs}`);
  return (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    if (inputs.length <= maxInputs) return original(args);
    const backend = args.backend as tf.KernelBackend;
    const temps: tf.TensorInfo[] = [];
    let level = inputs;
    while (level.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += maxInputs) {
        const group = level.slice(i, i + maxInputs);
        if (group.length === 1) {
          next.push(group[0]!);
          continue;
        }
        const partial = original({ ...args, inputs: group as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
        temps.push(partial);
        next.push(partial);
      }
      level = next;
    }
    const result = original({ ...args, inputs: level as unknown as tf.NamedTensorInfoMap });
    for (const t of temps) backend.disposeData(t.dataId);
    return result;
  };
}
