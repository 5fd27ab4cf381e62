import type * as tf from '@tensorflow/tfjs-core';

/** One parameter copied to the host: what `writeSafetensors` and `saveCheckpoint` take. */
export interface HostWeight {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

/**
 * Copies float32 variables to the host with asynchronous reads (the only kind tfjs-webgpu supports in Node),
 * keeping their names.
 */
export async function readWeightsAsync(weights: Record<string, tf.Tensor>): Promise<Record<string, HostWeight>> {
  const out: Record<string, HostWeight> = {};
  for (const [name, w] of Object.entries(weights))
    out[name] = { dtype: 'F32', shape: [...w.shape], data: (await w.data()) as Float32Array };
  return out;
}
