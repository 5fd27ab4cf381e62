/**
 * cpu kernel fixes for `@tensorflow/tfjs-backend-cpu` 4.22:
 *
 * - `UnsortedSegmentSum`: the stock kernel runs one masked sum per segment (O(numSegments · N)); the
 *   gradient of a token embedding's `tf.gather` over a 30,522-row vocabulary took ~40 s per training step.
 *   Replaced by the one-pass loop of `../segment-sum.ts` (test `test/kernels-cpu-segment-sum.test.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';

import type { KernelRegistration } from '../index.js';
import { makeUnsortedSegmentSumKernel } from '../segment-sum.js';

/** The registration this module makes. */
const cpuUnsortedSegmentSumRegistration: KernelRegistration = {
  name: 'UnsortedSegmentSum',
  backend: 'cpu',
  description: 'UnsortedSegmentSum in one pass (the stock cpu kernel is O(numSegments · N)): the gradient of tf.gather',
};

interface CpuBackendLike {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** The kernel function (exported for tests). */
export const cpuUnsortedSegmentSumKernel: tf.KernelConfig['kernelFunc'] = makeUnsortedSegmentSumKernel(
  'unsortedSegmentSum (cpu)',
  {
    read: (backend, dataId) => (backend as unknown as CpuBackendLike).readSync(dataId) as Float32Array | Int32Array,
    output: (backend, shape, dtype, values) =>
      (backend as unknown as CpuBackendLike).makeTensorInfo(shape, dtype, values),
  },
);

let installed = false;

/** Replaces the cpu backend's `UnsortedSegmentSum` (idempotent). Returns what is registered. */
export function registerCpuKernels(): KernelRegistration[] {
  if (tf.findBackendFactory('cpu') === null) return [];
  if (!installed) {
    if (tf.getKernel('UnsortedSegmentSum', 'cpu') !== undefined) tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'cpu',
      kernelFunc: cpuUnsortedSegmentSumKernel,
    });
    installed = true;
  }
  return [cpuUnsortedSegmentSumRegistration];
}
