// The fused attention path of functional/attention.ts (kernel dispatch, the custom gradient, the masks), run
// through the plain-JS reference kernels on this backend and compared with the composed tfjs ops. The WGSL
// programs implement the same kernels; tools/device/gpu-suite.mjs checks them against cpu on the GPU machine and
// tools/perf/nn/attention-webgpu.mjs locally through lavapipe.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  KERNELS,
  MultiHeadAttention,
  hasKernel,
  registerReferenceKernels,
  scaledDotProductAttention,
  unregisterReferenceKernels,
} from '../src/index.js';
import type { ScaledDotProductAttentionOptions } from '../src/index.js';

function close(a: tf.Tensor, b: tf.Tensor, tol = 1e-5): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  expect(worst).toBeLessThan(tol);
}

const rand = (shape: number[], seed: number, scale = 1) =>
  tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale) as tf.Tensor3D;

/** Output and the gradients of q, k, v under a fixed weighting, with the kernels on (`fused`) or off. */
function run(fused: boolean, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: ScaledDotProductAttentionOptions) {
  if (!fused) unregisterReferenceKernels();
  try {
    const y = scaledDotProductAttention(q, k, v, opts);
    const w = rand(y.shape, 99);
    const grads = tf.grads((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor) =>
      tf.sum(tf.mul(scaledDotProductAttention(qi as tf.Tensor3D, ki as tf.Tensor3D, vi as tf.Tensor3D, opts), w)),
    )([q, k, v]);
    return { y, grads };
  } finally {
    if (!fused) registerReferenceKernels();
  }
}

function expectParity(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: ScaledDotProductAttentionOptions): void {
  const fused = run(true, q, k, v, opts);
  const ref = run(false, q, k, v, opts);
  close(fused.y, ref.y);
  for (let i = 0; i < 3; i++) close(fused.grads[i]!, ref.grads[i]!, 2e-5);
}

describe('scaledDotProductAttention: fused (reference kernels) against the composed ops', () => {
  beforeAll(() => registerReferenceKernels());
  afterAll(() => unregisterReferenceKernels());
  afterEach(() => tf.disposeVariables());

  it('takes the fused path when the kernels are registered, and leaks no tensor', async () => {
    expect(hasKernel(KERNELS.attention)).toBe(true);
    const q = rand([1, 3, 4], 1);
    const profile = await tf.profile(() => scaledDotProductAttention(q, q, q, { heads: 2 }));
    expect(profile.kernelNames).toContain(KERNELS.attention);
    const before = tf.memory().numTensors;
    const y = scaledDotProductAttention(q, q, q, { heads: 2 });
    expect(tf.memory().numTensors).toBe(before + 1);
    y.dispose();
  });

  it('self-attention without masks: output and gradients of q, k, v', () => {
    const x = rand([2, 5, 8], 1);
    expectParity(rand([2, 5, 8], 2), rand([2, 5, 8], 3), x, { heads: 2 });
  });

  it('self-attention with a key padding mask, one row fully padded', () => {
    const mask = tf.tensor2d([
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
      [0, 0, 0, 0, 0],
    ]);
    expectParity(rand([3, 5, 8], 4), rand([3, 5, 8], 5), rand([3, 5, 8], 6), { heads: 4, keyPaddingMask: mask });
  });

  it('a bool key padding mask gives what the float mask gives', () => {
    const q = rand([2, 4, 6], 7);
    const m = [
      [true, true, false, true],
      [false, true, true, true],
    ];
    const a = scaledDotProductAttention(q, q, q, { heads: 3, keyPaddingMask: tf.tensor2d(m, undefined, 'bool') });
    const b = scaledDotProductAttention(q, q, q, {
      heads: 3,
      keyPaddingMask: tf.tensor2d(m.map((r) => r.map(Number))),
    });
    close(a, b, 1e-7);
  });

  it('cross attention (Lq ≠ Lk, dv ≠ d) with both masks, attnMask [Lq, Lk] with −Infinity', () => {
    const am = tf.tensor2d([
      [0, -Infinity, 0.5, 0, 0, -2, 0],
      [0, 0, 0, 0, 0, 0, 0],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
    ]);
    const kpm = tf.tensor2d([
      [1, 1, 1, 1, 1, 0, 0],
      [1, 0, 1, 1, 1, 1, 1],
    ]);
    expectParity(rand([2, 3, 8], 8), rand([2, 7, 8], 9), rand([2, 7, 12], 10), {
      heads: 4,
      keyPaddingMask: kpm,
      attnMask: am,
    });
  });

  it('cross attention with a per-batch attnMask [B, Lq, Lk]', () => {
    const am = rand([2, 4, 6], 11, 2);
    expectParity(rand([2, 4, 6], 12), rand([2, 6, 6], 13), rand([2, 6, 3], 14), { heads: 3, attnMask: am });
  });

  it('more rows and keys than one 64-wide tile of the WGSL programs (Lq 70, Lk 130)', () => {
    expectParity(rand([1, 70, 4], 15), rand([1, 130, 4], 16), rand([1, 130, 4], 17), { heads: 1 });
  });

  it('matches a hand-checked case: one head of width 1', () => {
    // scores of query 0: [2·0, 2·1] = [0, 2] (scale 1/√1); of query 1: [0, 0] → the plain average.
    const q = tf.tensor3d([[[2], [0]]]);
    const k = tf.tensor3d([[[0], [1]]]);
    const v = tf.tensor3d([[[1], [3]]]);
    const e2 = Math.exp(2);
    const y = scaledDotProductAttention(q, k, v, { heads: 1 }).dataSync();
    expect(y[0]).toBeCloseTo((1 + 3 * e2) / (1 + e2), 6);
    expect(y[1]).toBeCloseTo(2, 6);
    // Padding the second key leaves only the first value; padding both gives the plain average again.
    const one = scaledDotProductAttention(q, k, v, { heads: 1, keyPaddingMask: tf.tensor2d([[1, 0]]) }).dataSync();
    expect(Array.from(one)).toEqual([1, 1]);
    const none = scaledDotProductAttention(q, k, v, { heads: 1, keyPaddingMask: tf.tensor2d([[0, 0]]) }).dataSync();
    expect(Array.from(none)).toEqual([2, 2]);
    // d(Σ out)/dv = Σ_queries weights: query 0 gives [1, e²]/(1 + e²), query 1 gives [½, ½].
    const dv = tf.grad((vi: tf.Tensor) => tf.sum(scaledDotProductAttention(q, k, vi as tf.Tensor3D, { heads: 1 })))(v);
    const g = dv.dataSync();
    expect(g[0]).toBeCloseTo(1 / (1 + e2) + 0.5, 6);
    expect(g[1]).toBeCloseTo(e2 / (1 + e2) + 0.5, 6);
  });

  it('MultiHeadAttention gives the same output and parameter gradients with and without the kernels', () => {
    const mha = new MultiHeadAttention(24, 4, { kdim: 16, vdim: 20, seed: 2 });
    const q = rand([2, 5, 24], 18);
    const k = rand([2, 6, 16], 19);
    const v = rand([2, 6, 20], 20);
    const kpm = tf.tensor2d([
      [1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1, 1],
    ]);
    const go = () => tf.variableGrads(() => tf.sum(tf.square(mha.forward(q, k, v, { keyPaddingMask: kpm }))));
    const fused = go();
    unregisterReferenceKernels();
    const ref = go();
    registerReferenceKernels();
    close(fused.value, ref.value);
    for (const name of Object.keys(ref.grads)) close(fused.grads[name]!, ref.grads[name]!, 5e-5);
    // needWeights keeps the composed path and gives the same output.
    close(
      mha.forward(q, k, v, { keyPaddingMask: kpm, needWeights: true }).output,
      mha.forward(q, k, v, { keyPaddingMask: kpm }),
    );
    mha.dispose();
  });

  it('names the function and the argument in its errors', () => {
    const q = rand([2, 5, 8], 1);
    expect(() => scaledDotProductAttention(q, rand([2, 5, 6], 2), q, { heads: 2 })).toThrow(
      /scaledDotProductAttention: 'k' must have shape \[B=2, Lk, 8\]|scaledDotProductAttention: 'k'/,
    );
    expect(() => scaledDotProductAttention(q, q, rand([3, 5, 8], 2), { heads: 2 })).toThrow(
      /scaledDotProductAttention: 'v'/,
    );
    expect(() => scaledDotProductAttention(q, q, q, { heads: 3 })).toThrow(/scaledDotProductAttention: 'heads'/);
    expect(() => scaledDotProductAttention(q, q, q, { heads: 2, attnMask: tf.zeros([5, 4]) })).toThrow(
      /scaledDotProductAttention: 'attnMask'/,
    );
    expect(() => scaledDotProductAttention(q, q, q, { heads: 2, keyPaddingMask: tf.ones([2, 4]) })).toThrow(
      /scaledDotProductAttention: 'keyPaddingMask'/,
    );
  });
});
