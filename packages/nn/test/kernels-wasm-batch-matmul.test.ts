// Parity of the wasm BatchMatMul replacement (src/kernels/wasm/batch-mat-mul.ts) with the cpu backend.
// Runs on the wasm project only (on cpu there is nothing to compare).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { registeredKernels } from '../src/backend.js';
import { registerWasmKernels } from '../src/kernels/wasm/index.js';

const onWasm = process.env.GEOLIP_BACKEND === 'wasm';
const FUZZ_RUNS = Number(process.env.GEOLIP_FUZZ_RUNS ?? 20);

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((p, s) => p * s, 1);
}

/** matMul on `backend` from plain data; returns shape and values (and, if asked, Σ|a||b| per entry). */
async function matMulOn(
  backend: string,
  aShape: number[],
  aData: Float32Array,
  bShape: number[],
  bData: Float32Array,
  tA: boolean,
  tB: boolean,
  abs = false,
) {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return tf.tidy(() => {
      const a = tf.tensor(aData, aShape);
      const b = tf.tensor(bData, bShape);
      const c = tf.matMul(a, b, tA, tB);
      const scale = abs ? tf.matMul(tf.abs(a), tf.abs(b), tA, tB).dataSync().slice() : undefined;
      return { shape: c.shape, data: c.dataSync().slice() as Float32Array, scale: scale as Float32Array | undefined };
    });
  } finally {
    await tf.setBackend(before);
  }
}

/**
 * Relative error of a dot product: max over entries of |x - y| / Σ_k |a_k b_k| (the scale float32
 * rounding works at; plain |y| is not, since a sum can cancel to ~0), with the scale at least 1e-30.
 */
function maxRelErr(x: Float32Array, y: Float32Array, scale: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!) / Math.max(scale[i]!, 1e-30));
  return m;
}

function maxRelErrPlain(x: Float32Array, y: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
  return m;
}

async function expectParity(aShape: number[], bShape: number[], tA: boolean, tB: boolean, seed = 1) {
  const aData = values(sizeOf(aShape), seed);
  const bData = values(sizeOf(bShape), seed + 101);
  const w = await matMulOn('wasm', aShape, aData, bShape, bData, tA, tB);
  const c = await matMulOn('cpu', aShape, aData, bShape, bData, tA, tB, true);
  expect(w.shape).toEqual(c.shape);
  expect(maxRelErr(w.data, c.data, c.scale!)).toBeLessThan(1e-5);
}

const COMBOS: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

/** Stored operand shapes for logical [..., M, K]·[..., K, N] under the transpose flags. */
function stored(
  batchA: number[],
  batchB: number[],
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
): [number[], number[]] {
  return [
    [...batchA, ...(tA ? [k, m] : [m, k])],
    [...batchB, ...(tB ? [n, k] : [k, n])],
  ];
}

describe.skipIf(!onWasm)('wasm BatchMatMul kernel (vs cpu)', () => {
  it('is registered by initBackend, and re-registering is a no-op', () => {
    expect(registeredKernels().some((k) => k.name === 'BatchMatMul' && k.backend === 'wasm')).toBe(true);
    const fn = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
    registerWasmKernels();
    registerWasmKernels();
    expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc).toBe(fn);
  });

  it('hand case: [[1,2],[3,4]] times its transpose, all four flag combinations', () => {
    const a = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(tf.matMul(a, a, false, true).dataSync())).toEqual([5, 11, 11, 25]);
    expect(Array.from(tf.matMul(a, a, true, false).dataSync())).toEqual([10, 14, 14, 20]);
    expect(Array.from(tf.matMul(a, a, true, true).dataSync())).toEqual([7, 15, 10, 22]);
    expect(Array.from(tf.matMul(a, a).dataSync())).toEqual([7, 10, 15, 22]);
  });

  for (const [tA, tB] of COMBOS) {
    const tag = `tA=${tA} tB=${tB}`;
    it(`rank 2, odd sizes, ${tag}`, async () => {
      const [as, bs] = stored([], [], 37, 53, 29, tA, tB);
      await expectParity(as, bs, tA, tB, 3);
    });
    it(`rank 3 times rank 2 (shared weights), ${tag}`, async () => {
      const [as, bs] = stored([5], [], 7, 24, 11, tA, tB);
      await expectParity(as, bs, tA, tB, 4);
    });
    it(`rank 3 batched, small items (original loop) and large items (XNNPACK per item), ${tag}`, async () => {
      const [as, bs] = stored([6], [6], 8, 16, 8, tA, tB);
      await expectParity(as, bs, tA, tB, 5);
      const [as2, bs2] = stored([3], [3], 96, 128, 80, tA, tB);
      await expectParity(as2, bs2, tA, tB, 6);
    });
    it(`rank 4 batched and broadcast over the batch, ${tag}`, async () => {
      const [as, bs] = stored([2, 3], [2, 3], 64, 96, 96, tA, tB);
      await expectParity(as, bs, tA, tB, 7);
      const [as2, bs2] = stored([1], [4], 96, 96, 64, tA, tB); // a broadcast over b's batch
      await expectParity(as2, bs2, tA, tB, 8);
      const [as3, bs3] = stored([2, 1], [1, 3], 5, 6, 7, tA, tB); // real broadcasting on both sides
      await expectParity(as3, bs3, tA, tB, 9);
    });
  }

  it('transformer shapes: FFN forward and both backward products', async () => {
    await expectParity([256, 384], [384, 1536], false, false, 10);
    await expectParity([256, 1536], [384, 1536], false, true, 11); // dx = dy·Wᵀ
    await expectParity([256, 384], [256, 1536], true, false, 12); // dW = xᵀ·dy
  });

  it('gradients of matMul agree with cpu', async () => {
    const aData = values(12 * 20, 13);
    const bData = values(20 * 9, 14);
    const grads = async (backend: string) => {
      const before = tf.getBackend();
      await tf.setBackend(backend);
      try {
        return tf.tidy(() => {
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b))));
          const [ga, gb] = g([tf.tensor2d(aData, [12, 20]), tf.tensor2d(bData, [20, 9])]);
          return [ga!.dataSync().slice() as Float32Array, gb!.dataSync().slice() as Float32Array];
        });
      } finally {
        await tf.setBackend(before);
      }
    };
    const w = await grads('wasm');
    const c = await grads('cpu');
    expect(maxRelErrPlain(w[0]!, c[0]!)).toBeLessThan(1e-5);
    expect(maxRelErrPlain(w[1]!, c[1]!)).toBeLessThan(1e-5);
  });

  it('int32 operands still go through the original kernel (which rejects them, as before)', () => {
    expect(() => tf.matMul(tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor2d([[1], [2]], [2, 1], 'int32'))).toThrow(
      /non-float32|float32/,
    );
  });

  it('mismatched inner dimensions throw tfjs’s error', () => {
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2]))).toThrow(/inner shapes/);
  });

  it('does not leak wasm memory or tensors', () => {
    const a = tf.ones([4, 16, 32]);
    const b = tf.ones([4, 64, 32]);
    tf.matMul(a, b, false, true).dispose();
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) tf.matMul(a, b, false, true).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
    a.dispose();
    b.dispose();
  });

  it('property: random shapes, batches and flags match cpu', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          batch: fc.oneof(
            fc.constant<number[]>([]),
            fc.tuple(fc.integer({ min: 1, max: 4 })).map((t) => [...t]),
          ),
          bBatched: fc.boolean(),
          m: fc.integer({ min: 1, max: 70 }),
          k: fc.integer({ min: 1, max: 70 }),
          n: fc.integer({ min: 1, max: 70 }),
          tA: fc.boolean(),
          tB: fc.boolean(),
          seed: fc.integer({ min: 1, max: 1e6 }),
        }),
        async ({ batch, bBatched, m, k, n, tA, tB, seed }) => {
          const [as, bs] = stored(batch, bBatched ? batch : [], m, k, n, tA, tB);
          await expectParity(as, bs, tA, tB, seed);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
