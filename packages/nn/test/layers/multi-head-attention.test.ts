// MultiHeadAttention: hand cases, names and layouts, masking policy, forms, gradients, errors.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';

import { MultiHeadAttention } from '../../src/index.js';

const rand = (shape: [number, number, number], seed: number) =>
  tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor3D;

/** In-projections and output projection set to identities, biases zero. */
function identityAttention(d: number, heads: number): MultiHeadAttention {
  const mha = new MultiHeadAttention(d, heads);
  const eye = tf.eye(d);
  mha.loadStateDict({
    in_proj_weight: tf.concat([eye, eye, eye], 0),
    in_proj_bias: tf.zeros([3 * d]),
    'out_proj.weight': eye,
    'out_proj.bias': tf.zeros([d]),
  });
  return mha;
}

describe('MultiHeadAttention', () => {
  it('passes the value through when there is one key (identity projections)', () => {
    const mha = identityAttention(4, 2);
    const query = rand([2, 3, 4], 1);
    const kv = tf.tensor3d([[[1, 2, 3, 4]], [[-1, 0, 5, 2]]]);
    const out = mha.forward(query, kv);
    expectTensorClose(out, tf.tile(kv, [1, 3, 1]));
    mha.dispose();
  });

  it('averages the values when all scores tie (zero query)', () => {
    const mha = identityAttention(2, 1);
    const q = tf.zeros([1, 1, 2]) as tf.Tensor3D;
    const kv = tf.tensor3d([
      [
        [1, 0],
        [3, 4],
      ],
    ]);
    expectTensorClose(mha.forward(q, kv), [[[2, 2]]]);
    mha.dispose();
  });

  it('has PyTorch names, shapes and count (packed)', () => {
    const mha = new MultiHeadAttention(8, 2);
    const sd = mha.stateDict();
    expect(Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.shape]))).toEqual({
      in_proj_weight: [24, 8],
      in_proj_bias: [24],
      'out_proj.weight': [8, 8],
      'out_proj.bias': [8],
    });
    expect(mha.paramCount()).toBe(4 * 64 + 4 * 8);
    expect(Array.from(sd.in_proj_bias!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(sd['out_proj.bias']!.dataSync()).every((v) => v === 0)).toBe(true);
    const bound = Math.sqrt(6 / (8 + 24));
    expect(Math.max(...Array.from(sd.in_proj_weight!.dataSync(), Math.abs))).toBeLessThanOrEqual(bound);
    tf.dispose(Object.values(sd));
    mha.dispose();
  });

  it('uses q/k/v_proj_weight when kdim or vdim differ from d', () => {
    const mha = new MultiHeadAttention(8, 2, { kdim: 5, vdim: 3 });
    const sd = mha.stateDict();
    expect(Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.shape]))).toEqual({
      q_proj_weight: [8, 8],
      k_proj_weight: [8, 5],
      v_proj_weight: [8, 3],
      in_proj_bias: [24],
      'out_proj.weight': [8, 8],
      'out_proj.bias': [8],
    });
    const out = mha.forward(rand([2, 4, 8], 1), rand([2, 6, 5], 2), rand([2, 6, 3], 3));
    expect(out.shape).toEqual([2, 4, 8]);
    expect(() => mha.forward(rand([2, 4, 8], 1))).toThrow(
      /'key' must have shape \[B, Lk, 5\] \(kdim ≠ d: key is required\)/,
    );
    tf.dispose(Object.values(sd));
    mha.dispose();
  });

  it('without bias has no in_proj_bias and no out_proj.bias', () => {
    const mha = new MultiHeadAttention(8, 2, { bias: false });
    expect(Object.keys(mha.getWeights())).toEqual(['in_proj_weight', 'out_proj.weight']);
    expect(mha.forward(rand([1, 2, 8], 4)).shape).toEqual([1, 2, 8]);
    mha.dispose();
  });

  it('gives the same result in every self-attention form and on the key === value path', () => {
    const mha = new MultiHeadAttention(8, 2, { seed: 3 });
    mha.loadStateDict({ ...mha.stateDict(), in_proj_bias: tf.randomNormal([24], 0, 1, 'float32', 9) });
    const x = rand([2, 5, 8], 5);
    const mask = tf.tensor2d([
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    const ref = mha.forward(x, x.clone(), x.clone(), { keyPaddingMask: mask }); // three separate projections
    expectTensorClose(mha.forward(x, { keyPaddingMask: mask }), ref);
    expectTensorClose(mha.forward(x, null, null, { keyPaddingMask: mask }), ref);
    expectTensorClose(mha.forward(x, x, undefined, { keyPaddingMask: mask }), ref);
    const kv = x.clone();
    expectTensorClose(mha.forward(x, kv, kv, { keyPaddingMask: mask }), ref); // key === value path
    mha.dispose();
  });

  it('ignores padded keys entirely (keyPaddingMask 1 = real, 0 = pad)', () => {
    const mha = new MultiHeadAttention(8, 2, { seed: 1 });
    const q = rand([1, 3, 8], 1);
    const k = rand([1, 4, 8], 2);
    const k2 = tf.concat([tf.slice(k, [0, 0, 0], [1, 2, 8]), tf.mul(100, rand([1, 2, 8], 3))], 1) as tf.Tensor3D;
    const mask = tf.tensor2d([[1, 1, 0, 0]], [1, 4], 'int32');
    expectTensorClose(mha.forward(q, k, k, { keyPaddingMask: mask }), mha.forward(q, k2, k2, { keyPaddingMask: mask }));
    const { weights } = mha.forward(q, k, k, { keyPaddingMask: mask, needWeights: true });
    const w = weights.arraySync()[0]!;
    for (const row of w) {
      expect(row[2]).toBe(0);
      expect(row[3]).toBe(0);
      expect(row[0]! + row[1]!).toBeCloseTo(1, 6);
    }
    mha.dispose();
  });

  it('gives a fully padded row the exact uniform average of the values (PyTorch: NaN)', () => {
    const mha = new MultiHeadAttention(4, 2, { seed: 2 });
    const x = rand([2, 3, 4], 7);
    const mask = tf.tensor2d(
      [
        [0, 0, 0],
        [1, 0, 1],
      ],
      [2, 3],
      'bool',
    );
    const { output, weights } = mha.forward(x, { keyPaddingMask: mask, needWeights: true });
    expectTensorClose(tf.slice(weights, [0, 0, 0], [1, 3, 3]), tf.fill([1, 3, 3], 1 / 3), { atol: 0, rtol: 1e-7 });
    expect(Array.from(output.dataSync()).every(Number.isFinite)).toBe(true);
    mha.dispose();
  });

  it('adds attnMask; −Infinity is clamped, so a causal mask works', () => {
    const mha = new MultiHeadAttention(4, 1, { seed: 4 });
    const x = rand([1, 3, 4], 8);
    const causal = tf.tensor2d([
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, 0, 0],
    ]);
    const { weights } = mha.forward(x, { attnMask: causal, needWeights: true });
    const w = weights.arraySync()[0]!;
    expect(w[0]).toEqual([1, 0, 0]);
    expect(w[1]![2]).toBe(0);
    const perBatch = mha.forward(x, { attnMask: tf.expandDims(causal, 0), needWeights: true }).weights;
    expectTensorClose(perBatch, weights);
    mha.dispose();
  });

  it('is differentiable in the inputs and every parameter on this backend', () => {
    const mha = new MultiHeadAttention(8, 2, { kdim: 6, vdim: 6, seed: 5 });
    const q = rand([2, 3, 8], 1);
    const kv = rand([2, 4, 6], 2);
    const mask = tf.tensor2d([
      [1, 1, 1, 0],
      [1, 0, 0, 0],
    ]);
    const vars = Object.values(mha.getWeights());
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.square(mha.forward(q, kv, kv, { keyPaddingMask: mask }))) as tf.Scalar,
      vars,
    );
    for (const v of vars) {
      const g = grads[v.name]!;
      expect(g.shape).toEqual(v.shape);
      expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    }
    const [gq, gkv] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(mha.forward(a as tf.Tensor3D, b as tf.Tensor3D, undefined, { keyPaddingMask: mask })),
    )([q, kv]);
    // Padded keys get no gradient.
    expect(Array.from(tf.slice(gkv!, [0, 3, 0], [1, 1, 6]).dataSync()).every((v) => v === 0)).toBe(true);
    expect(gq!.shape).toEqual([2, 3, 8]);
    mha.dispose();
  });

  it('throws typed errors naming the argument', () => {
    const mha = new MultiHeadAttention(8, 2);
    const x = rand([2, 3, 8], 1);
    const op = /^MultiHeadAttention\.forward: /;
    expect(() => mha.forward(rand([2, 3, 4], 1))).toThrow(/'query' must have shape \[B, Lq, 8\], got \[2, 3, 4\]/);
    expect(() => mha.forward(x, rand([3, 5, 8], 2))).toThrow(/'key' must have shape \[2, Lk, 8\], got \[3, 5, 8\]/);
    expect(() => mha.forward(x, rand([2, 5, 8], 2), rand([2, 4, 8], 3))).toThrow(
      /'value' must have shape \[2, 5, 8\], got \[2, 4, 8\]/,
    );
    expect(() => mha.forward(x, { keyPaddingMask: tf.ones([2, 4]) })).toThrow(
      /'keyPaddingMask' must have shape \[B=2, Lk=3\], got \[2, 4\]/,
    );
    expect(() => mha.forward(x, { attnMask: tf.ones([3, 4]) })).toThrow(
      /'attnMask' must have shape \[Lq=3, Lk=3\] or \[B=2, Lq=3, Lk=3\], got \[3, 4\]/,
    );
    expect(() => mha.forward(x, { attnMask: tf.ones([3, 3], 'bool') })).toThrow(/'attnMask' must have dtype float32/);
    expect(() => mha.forward(x, 3 as unknown as tf.Tensor3D)).toThrow(
      /'key' must be a tf.Tensor, null or an options object/,
    );
    expect(() => mha.forward(x, { keyPaddingMask: tf.ones([2, 4]) })).toThrow(op);
    expect(() => mha.forward(x, rand([3, 5, 8], 2))).toThrow(ShapeError);
    expect(() => new MultiHeadAttention(8, 3)).toThrow(/MultiHeadAttention: 'heads' must divide dim=8, got 3/);
    mha.dispose();
  });

  it('returns one tensor and leaks none', () => {
    const mha = new MultiHeadAttention(8, 2);
    const x = rand([2, 3, 8], 1);
    const mask = tf.ones([2, 3]);
    const before = tf.memory().numTensors;
    const y = mha.forward(x, { keyPaddingMask: mask });
    expect(tf.memory().numTensors).toBe(before + 1);
    const r = mha.forward(x, { needWeights: true });
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([y, r.output, r.weights, x, mask]);
    mha.dispose();
  });
});
