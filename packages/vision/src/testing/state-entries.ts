import * as tf from '@tensorflow/tfjs-core';
import type { SafetensorEntry } from '@geolip/io';
import type { Module } from '@geolip/nn';

/**
 * A module's `stateDict()` as F32 safetensors entries (PyTorch names and layout), the tensors read and disposed:
 * what `writeSafetensors` takes to write a test weights file.
 */
export function float32StateEntries(model: Module): Record<string, SafetensorEntry> {
  const state = model.stateDict();
  const tensors = Object.fromEntries(
    Object.entries(state).map(([k, t]) => [
      k,
      { dtype: 'F32' as const, shape: t.shape, data: t.dataSync() as Float32Array },
    ]),
  );
  tf.dispose(Object.values(state));
  return tensors;
}
