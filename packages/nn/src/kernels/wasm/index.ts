/**
 * wasm kernel fixes for `@tensorflow/tfjs-backend-wasm` 4.22 (issue #6):
 *
 * - `BatchMatMul`: transposed and batched matmuls on XNNPACK instead of tfjs-wasm's naive loop
 *   (`./batch-mat-mul.ts`; parity test `test/kernels-wasm-batch-matmul.test.ts`).
 * - `UnsortedSegmentSum`: missing in tfjs-wasm, so `tf.gather` had no gradient there
 *   (`./unsorted-segment-sum.ts`; parity test `test/kernels-wasm-segment-sum.test.ts`).
 * - `Einsum`: missing in tfjs-wasm (`./einsum.ts`; parity test `test/kernels-wasm-einsum.test.ts`).
 *
 * Multithreading in Node is set up by `initBackend` in `@geolip/geometry/backend` (`wasmThreads`).
 */
import type { KernelRegistration } from '../index.js';
import { registerWasmBatchMatMul } from './batch-mat-mul.js';
import { registerWasmEinsum } from './einsum.js';
import { registerWasmUnsortedSegmentSum } from './unsorted-segment-sum.js';

/**
 * Registers the wasm kernel fixes with tfjs's kernel registry (idempotent). Needs
 * `@tensorflow/tfjs-backend-wasm` to be imported already (`initBackend` does it); registers nothing
 * otherwise. Returns what is registered.
 */
export function registerWasmKernels(): KernelRegistration[] {
  const out: KernelRegistration[] = [];
  for (const r of [registerWasmBatchMatMul(), registerWasmUnsortedSegmentSum(), registerWasmEinsum()])
    if (r) out.push(r);
  return out;
}
