// Parity of the wasm UnsortedSegmentSum kernel (src/kernels/wasm/unsorted-segment-sum.ts) with the cpu
// backend, including the gradient of tf.gather (the reason it exists). Runs on the wasm project only.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '@geolip/geometry';
import { registeredKernels } from '../src/backend.js';

const onWasm = process.env.GEOLIP_BACKEND === 'wasm';
const FUZZ_RUNS = Number(process.env.GEOLIP_FUZZ_RUNS ?? 20);

async function on<T>(backend: string, f: () => T): Promise<T> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return tf.tidy(f as () => tf.TensorContainer) as T;
  } finally {
    await tf.setBackend(before);
  }
}

function maxRelErr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
  return m;
}

describe.skipIf(!onWasm)('wasm UnsortedSegmentSum kernel', () => {
  it('is registered by initBackend', () => {
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
    expect(registeredKernels().some((k) => k.name === 'UnsortedSegmentSum' && k.backend === 'wasm')).toBe(true);
  });

  it('hand case from the tfjs docs: [1,2,3,4] by ids [1,2,0,1], 3 segments -> [3,5,2]', () => {
    const y = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([1, 2, 0, 1], 'int32'), 3);
    expect(y.shape).toEqual([3]);
    expect(Array.from(y.dataSync())).toEqual([3, 5, 2]);
  });

  it('rank 2 input: rows summed per segment; empty segments are zero; out-of-range ids are dropped', () => {
    const x = tf.tensor2d([
      [1, 2],
      [10, 20],
      [100, 200],
      [1000, 2000],
    ]);
    const y = tf.unsortedSegmentSum(x, tf.tensor1d([3, 0, 3, 7], 'int32'), 5);
    expect(y.shape).toEqual([5, 2]);
    expect(Array.from(y.dataSync())).toEqual([10, 20, 0, 0, 0, 0, 101, 202, 0, 0]);
  });

  it('int32 input stays int32 and sums exactly', () => {
    const y = tf.unsortedSegmentSum(tf.tensor1d([5, -7, 9], 'int32'), tf.tensor1d([0, 0, 1], 'int32'), 2);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([-2, 9]);
  });

  it('rejects a negative numSegments and a float32 segmentIds with InvalidArgumentError', () => {
    const kernel = tf.getKernel('UnsortedSegmentSum', 'wasm')!.kernelFunc;
    const x = tf.tensor1d([1, 2]);
    const ids = tf.tensor1d([0, 1], 'int32');
    const backend = tf.backend();
    expect(() => kernel({ inputs: { x, segmentIds: ids }, backend, attrs: { numSegments: -1 } })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      kernel({ inputs: { x, segmentIds: tf.tensor1d([0, 1]) }, backend, attrs: { numSegments: 2 } }),
    ).toThrow(InvalidArgumentError);
  });

  it('matches cpu on an embedding-gradient-sized case (many repeated ids)', async () => {
    const rows = 2048;
    const dim = 64;
    const vocab = 120;
    const xData = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i * 0.37) * 3);
    const ids = Int32Array.from({ length: rows }, (_, i) => (i * 7919) % vocab);
    const run = () =>
      tf
        .unsortedSegmentSum(tf.tensor2d(xData, [rows, dim]), tf.tensor1d(ids, 'int32'), vocab)
        .dataSync()
        .slice();
    const w = await on('wasm', run);
    const c = await on('cpu', run);
    expect(w.length).toBe(vocab * dim);
    expect(maxRelErr(w, c)).toBeLessThan(1e-5);
  });

  it("tf.gather's gradient works on wasm, with repeated indices, and matches cpu", async () => {
    const table = Float32Array.from({ length: 6 * 3 }, (_, i) => i * 0.5 - 2);
    const idx = Int32Array.from([4, 0, 4, 4, 2, 0]);
    const grad = () => {
      const g = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(tf.gather(t, tf.tensor1d(idx, 'int32')), tf.reshape(tf.range(1, 19), [6, 3]))),
      );
      return g(tf.tensor2d(table, [6, 3]))
        .dataSync()
        .slice();
    };
    const w = await on('wasm', grad);
    const c = await on('cpu', grad);
    expect(maxRelErr(w, c)).toBeLessThan(1e-5);
    // Row 4 was gathered at positions 0, 2, 3: its gradient is the sum of those weight rows.
    expect(Array.from(w.slice(12, 15))).toEqual([1 + 7 + 10, 2 + 8 + 11, 3 + 9 + 12]);
    // Rows 1, 3, 5 were never gathered.
    expect(Array.from(w.slice(3, 6))).toEqual([0, 0, 0]);
    // The plain sum: tf.grad(t => tf.gather(t, idx).sum()) counts each row's uses.
    const counts = await on('wasm', () =>
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d(idx, 'int32'))))(tf.zeros([6, 3]))
        .dataSync()
        .slice(),
    );
    expect(Array.from(counts)).toEqual([2, 2, 2, 0, 0, 0, 1, 1, 1, 0, 0, 0, 3, 3, 3, 0, 0, 0]);
  });

  it('gather gradient along axis 1 (batch of embeddings) matches cpu', async () => {
    const params = Float32Array.from({ length: 2 * 5 * 4 }, (_, i) => Math.cos(i));
    const idx = Int32Array.from([1, 1, 3, 0, 1]);
    const grad = () =>
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tf.tensor1d(idx, 'int32'), 1))))(
          tf.tensor3d(params, [2, 5, 4]),
        )
        .dataSync()
        .slice();
    const w = await on('wasm', grad);
    const c = await on('cpu', grad);
    expect(maxRelErr(w, c)).toBeLessThan(1e-5);
  });

  it('property: random shapes and ids (including out of range) match cpu', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 1e6 }),
        async (rows, innerRank, numSegments, seed) => {
          const inner = [2, 3, 1].slice(0, innerRank);
          const size = rows * inner.reduce((p, s) => p * s, 1);
          let s = seed;
          const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
          const xData = Float32Array.from({ length: size }, () => (next() / 2 ** 31 - 1) * 100);
          const ids = Int32Array.from({ length: rows }, () => (next() % (numSegments + 3)) - 1); // -1 .. numSegments+1
          const run = () => {
            const y = tf.unsortedSegmentSum(tf.tensor(xData, [rows, ...inner]), tf.tensor1d(ids, 'int32'), numSegments);
            return { shape: y.shape, data: y.dataSync().slice() };
          };
          const w = await on('wasm', run);
          const c = await on('cpu', run);
          expect(w.shape).toEqual(c.shape);
          expect(maxRelErr(w.data, c.data)).toBeLessThan(1e-5);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
