/**
 * `UnsortedSegmentSum` for the wasm backend.
 *
 * What it fixes: tfjs-backend-wasm 4.22 has no `UnsortedSegmentSum` kernel, so on wasm
 * `tf.unsortedSegmentSum` throws, and so does the gradient of `tf.gather` (its gradient is a segment
 * sum of `dy` over the gathered indices): token and position embeddings cannot be trained on wasm
 * without it.
 *
 * How: a JS loop over the input read from the wasm heap; sums of float32 inputs are accumulated in
 * float64 and rounded once; int32 inputs wrap like int32. Semantics match tfjs's cpu kernel: output
 * `[numSegments, ...x.shape.slice(segmentIds.rank)]`, zeros for empty segments, ids outside
 * `[0, numSegments)` ignored.
 *
 * Parity test: `test/kernels-wasm-segment-sum.test.ts` (hand cases, repeated and out-of-range ids,
 * rank-2 ids, int32, `tf.gather`'s gradient with repeated indices, and a property test), against the
 * cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';

import type { KernelRegistration } from '../index.js';
import { asWasmBackend } from './wasm-internals.js';

const OP = 'unsortedSegmentSum (wasm)';

/** The registration this module makes. */
export const unsortedSegmentSumRegistration: KernelRegistration = {
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

/** The kernel function (exported for tests). */
export const unsortedSegmentSumKernel: tf.KernelConfig['kernelFunc'] = ({ inputs, backend, attrs }) => {
  const x = inputs['x'] as tf.TensorInfo | undefined;
  const segmentIds = inputs['segmentIds'] as tf.TensorInfo | undefined;
  const numSegments = attrs?.['numSegments'];
  if (x === undefined || segmentIds === undefined) throw new InvalidArgumentError(OP, 'inputs', "needs 'x' and 'segmentIds'");
  if (typeof numSegments !== 'number' || !Number.isInteger(numSegments) || numSegments < 0) {
    throw new InvalidArgumentError(OP, 'numSegments', `must be a non-negative integer, got ${String(numSegments)}`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new InvalidArgumentError(OP, 'x', `must be float32 or int32, got ${x.dtype}`);
  if (segmentIds.dtype !== 'int32') throw new InvalidArgumentError(OP, 'segmentIds', `must be int32, got ${segmentIds.dtype}`);
  const idRank = segmentIds.shape.length;
  if (idRank > x.shape.length || segmentIds.shape.some((s, i) => s !== x.shape[i])) {
    throw new InvalidArgumentError(OP, 'segmentIds', `shape [${segmentIds.shape.join(', ')}] must be a prefix of x's shape [${x.shape.join(', ')}]`);
  }
  const wasm = asWasmBackend(backend, OP);
  const rows = segmentIds.shape.reduce((p, s) => p * s, 1);
  const inner = x.shape.slice(idRank).reduce((p, s) => p * s, 1);
  const outShape = [numSegments, ...x.shape.slice(idRank)];
  const ids = wasm.readSync(segmentIds.dataId) as Int32Array;
  const xs = wasm.readSync(x.dataId) as Float32Array | Int32Array;

  let result: Float32Array | Int32Array;
  if (x.dtype === 'float32') {
    const acc = new Float64Array(numSegments * inner);
    for (let r = 0; r < rows; r++) {
      const s = ids[r]!;
      if (s < 0 || s >= numSegments) continue;
      const src = r * inner;
      const dst = s * inner;
      for (let j = 0; j < inner; j++) acc[dst + j]! += xs[src + j]!;
    }
    result = Float32Array.from(acc);
  } else {
    const acc = new Int32Array(numSegments * inner);
    for (let r = 0; r < rows; r++) {
      const s = ids[r]!;
      if (s < 0 || s >= numSegments) continue;
      const src = r * inner;
      const dst = s * inner;
      for (let j = 0; j < inner; j++) acc[dst + j] = (acc[dst + j]! + xs[src + j]!) | 0;
    }
    result = acc;
  }
  return wasm.makeOutput(outShape, x.dtype, undefined, result);
};
