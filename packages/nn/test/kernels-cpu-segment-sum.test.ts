// The cpu backend's UnsortedSegmentSum replacement (src/kernels/cpu/index.ts): hand cases, the gradient of
// tf.gather with repeated indices, and a property test against a one-hot matmul reference. cpu project only.
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { registeredKernels } from '../src/backend.js';
import { cpuUnsortedSegmentSumKernel } from '../src/kernels/cpu/index.js';

const onCpu = process.env.GEOLIP_BACKEND === 'cpu';
const FUZZ_RUNS = Number(process.env.GEOLIP_FUZZ_RUNS ?? 20);

describe.skipIf(!onCpu)('cpu UnsortedSegmentSum kernel', () => {
  it('replaces the stock kernel through initBackend', () => {
    expect(tf.getKernel('UnsortedSegmentSum', 'cpu')?.kernelFunc).toBe(cpuUnsortedSegmentSumKernel);
    expect(registeredKernels().some((k) => k.name === 'UnsortedSegmentSum' && k.backend === 'cpu')).toBe(true);
  });

  it('hand cases: 1-D, rows, out-of-range ids ignored, int32', () => {
    const a = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([1, 2, 0, 1], 'int32'), 3);
    expect(Array.from(a.dataSync())).toEqual([3, 5, 2]);
    const b = tf.unsortedSegmentSum(
      tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      tf.tensor1d([0, 0, 5], 'int32'),
      2,
    );
    expect(b.shape).toEqual([2, 2]);
    expect(Array.from(b.dataSync())).toEqual([4, 6, 0, 0]);
    const c = tf.unsortedSegmentSum(tf.tensor1d([7, 8, 9], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2);
    expect(c.dtype).toBe('int32');
    expect(Array.from(c.dataSync())).toEqual([9, 15]);
    tf.dispose([a, b, c]);
  });

  it('gives tf.gather its gradient: rows gathered twice get twice the upstream gradient', () => {
    const table = tf.variable(tf.zeros([5, 2]));
    const { grads } = tf.variableGrads(
      () =>
        tf.sum(
          tf.mul(
            tf.gather(table, tf.tensor1d([3, 1, 3], 'int32')),
            tf.tensor2d([
              [1, 2],
              [3, 4],
              [5, 6],
            ]),
          ),
        ),
      [table],
    );
    expect(Array.from(grads[table.name]!.dataSync())).toEqual([0, 0, 3, 4, 0, 0, 6, 8, 0, 0]);
    tf.dispose([table, ...Object.values(grads)]);
  });

  it('equals onehot(ids)ᵀ · x (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 2, max: 30 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        (n, segs, inner, seed) => {
          tf.tidy(() => {
            const x = tf.randomNormal([n, inner], 0, 1, 'float32', seed);
            const ids = tf.randomUniform([n], 0, segs, 'int32', seed + 1) as tf.Tensor1D;
            const got = tf.unsortedSegmentSum(x, ids, segs).dataSync();
            const want = tf.matMul(tf.oneHot(ids, segs), x, true, false).dataSync();
            for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
          });
        },
      ),
      { numRuns: FUZZ_RUNS, seed: 7 },
    );
  });
});
