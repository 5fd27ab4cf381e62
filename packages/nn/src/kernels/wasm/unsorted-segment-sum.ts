/**
 * `UnsortedSegmentSum` for the wasm backend.
 *
 * What it fixes: tfjs-backend-wasm 4.22 has no `UnsortedSegmentSum` kernel, so on wasm
 * `tf.unsortedSegmentSum` throws, and so does the gradient of `tf.gather` (its gradient is a segment
 * sum of `dy` over the gathered indices): token and position embeddings cannot be trained on wasm
 * without it.
 *
 * How: the shared loop of `../segment-sum.ts` over the input read from the wasm heap.
 *
 * Parity test: `test/kernels-wasm-segment-sum.test.ts` (hand cases, repeated and out-of-range ids,
 * rank-2 ids, int32, `tf.gather`'s gradient with repeated indices, and a property test), against the
 * cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { KernelRegistration } from '../index.js';
import { makeUnsortedSegmentSumKernel } from '../segment-sum.js';
import { asWasmBackend } from './wasm-internals.js';

const OP = 'unsortedSegmentSum (wasm)';

/** The registration this module makes. */
const unsortedSegmentSumRegistration: KernelRegistration = {
  name: 'UnsortedSegmentSum',
  backend: 'wasm',
  description: 'UnsortedSegmentSum (missing in tfjs-wasm): tf.unsortedSegmentSum and the gradient of tf.gather',
};

/** Registers the kernel unless the wasm backend already has one (a future tfjs). Returns what is registered. */
export function registerWasmUnsortedSegmentSum(): KernelRegistration | undefined {
  if (tf.findBackendFactory('wasm') === null) return undefined;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumKernel });
  }
  return unsortedSegmentSumRegistration;
}

/** The kernel function. */
const unsortedSegmentSumKernel: tf.KernelConfig['kernelFunc'] = makeUnsortedSegmentSumKernel(OP, {
  read: (backend, dataId) => asWasmBackend(backend, OP).readSync(dataId) as Float32Array | Int32Array,
  output: (backend, shape, dtype, values) => asWasmBackend(backend, OP).makeOutput(shape, dtype, undefined, values),
});
