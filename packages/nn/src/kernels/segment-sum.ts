/**
 * `UnsortedSegmentSum` as one loop over the rows, for backends whose kernel is missing (wasm) or
 * quadratic (cpu: tfjs-backend-cpu 4.22 runs one masked sum per segment, O(numSegments · N), so the
 * gradient of a 30,522-row `tf.gather` took tens of seconds per step).
 *
 * Semantics match tfjs's cpu kernel: output `[numSegments, ...x.shape.slice(segmentIds.rank)]`, zeros for
 * empty segments, ids outside `[0, numSegments)` ignored. Sums of float32 inputs are accumulated in
 * float64 and rounded once; int32 inputs wrap like int32.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';

/** How a backend reads an input and makes the output. */
export interface SegmentSumBackendAccess {
  read(backend: tf.KernelBackend, dataId: tf.DataId): Float32Array | Int32Array;
  output(
    backend: tf.KernelBackend,
    shape: number[],
    dtype: tf.DataType,
    values: Float32Array | Int32Array,
  ): tf.TensorInfo;
}

/** The kernel function of `UnsortedSegmentSum` for one backend (`op` names it in errors). */
export function makeUnsortedSegmentSumKernel(
  op: string,
  access: SegmentSumBackendAccess,
): tf.KernelConfig['kernelFunc'] {
  return ({ inputs, backend, attrs }) => {
    const x = inputs['x'] as tf.TensorInfo | undefined;
    const segmentIds = inputs['segmentIds'] as tf.TensorInfo | undefined;
    const numSegments = attrs?.['numSegments'];
    if (x === undefined || segmentIds === undefined)
      throw new InvalidArgumentError(op, 'inputs', "needs 'x' and 'segmentIds'");
    if (typeof numSegments !== 'number' || !Number.isInteger(numSegments) || numSegments < 0) {
      throw new InvalidArgumentError(op, 'numSegments', `must be a non-negative integer, got ${String(numSegments)}`);
    }
    if (x.dtype !== 'float32' && x.dtype !== 'int32')
      throw new InvalidArgumentError(op, 'x', `must be float32 or int32, got ${x.dtype}`);
    if (segmentIds.dtype !== 'int32')
      throw new InvalidArgumentError(op, 'segmentIds', `must be int32, got ${segmentIds.dtype}`);
    const idRank = segmentIds.shape.length;
    if (idRank > x.shape.length || segmentIds.shape.some((s, i) => s !== x.shape[i])) {
      throw new InvalidArgumentError(
        op,
        'segmentIds',
        `shape [${segmentIds.shape.join(', ')}] must be a prefix of x's shape [${x.shape.join(', ')}]`,
      );
    }
    const b = backend as tf.KernelBackend;
    const rows = segmentIds.shape.reduce((p, s) => p * s, 1);
    const inner = x.shape.slice(idRank).reduce((p, s) => p * s, 1);
    const outShape = [numSegments, ...x.shape.slice(idRank)];
    const ids = access.read(b, segmentIds.dataId) as Int32Array;
    const xs = access.read(b, x.dataId);

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
    return access.output(b, outShape, x.dtype, result);
  };
}
