// Linear, LayerNorm, Embedding, PositionEmbedding, sinusoidalEmbedding, FeedForward, maskedMeanPool:
// hand-derived values, names and counts, gradients (cpu and wasm), errors, memory.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';

import {
  Embedding,
  FeedForward,
  LayerNorm,
  Linear,
  PositionEmbedding,
  maskedMeanPool,
  sinusoidalEmbedding,
} from '../../src/index.js';
import { embeddingTableGradient } from '../../src/layers/embedding.js';

const ids2d = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');

describe('Linear', () => {
  it('has PyTorch names, layouts and count, and computes x·Wᵀ + b in PyTorch terms', () => {
    const fc = new Linear(3, 2, { seed: 1 });
    expect(fc.paramCount()).toBe(8);
    const sd = fc.stateDict();
    expect(Object.keys(sd)).toEqual(['weight', 'bias']);
    expect(sd.weight!.shape).toEqual([2, 3]); // PyTorch [out, in]
    fc.loadStateDict({
      weight: tf.tensor2d([
        [1, 2, 3],
        [0, -1, 1],
      ]),
      bias: tf.tensor1d([0.5, -0.5]),
    });
    expectTensorClose(
      fc.forward(
        tf.tensor2d([
          [1, 1, 1],
          [2, 0, -1],
        ]),
      ),
      [
        [6.5, -0.5],
        [-0.5, -1.5],
      ],
    );
    tf.dispose(Object.values(sd));
    fc.dispose();
  });

  it('initializes weight and bias in U(±1/√in), reproducibly per seed', () => {
    const a = new Linear(16, 8, { seed: 3 });
    const b = new Linear(16, 8, { seed: 3 });
    const w = a.weight.dataSync();
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...Array.from(a.bias!.dataSync(), Math.abs))).toBeLessThanOrEqual(0.25);
    expectTensorClose(a.weight, b.weight, { atol: 0, rtol: 0 });
    a.dispose();
    b.dispose();
  });

  it('keeps leading axes and works without bias', () => {
    const fc = new Linear(4, 5, { bias: false });
    expect(fc.paramCount()).toBe(20);
    expect(Object.keys(fc.getWeights())).toEqual(['weight']);
    const y = fc.forward(tf.ones([2, 3, 4]));
    expect(y.shape).toEqual([2, 3, 5]);
    fc.dispose();
  });

  it('throws typed errors naming the argument', () => {
    const fc = new Linear(4, 5);
    expect(() => fc.forward(tf.ones([2, 3]))).toThrow(ShapeError);
    expect(() => fc.forward(tf.ones([2, 3]))).toThrow(
      /Linear\.forward: 'x' must have shape \[\.\.\., 4\], got \[2, 3\]/,
    );
    expect(() => fc.forward(tf.ones([2, 4], 'int32'))).toThrow(/Linear\.forward: 'x' must have dtype float32/);
    expect(() => new Linear(0, 3)).toThrow(/Linear: 'inDim' must be an integer >= 1, got 0/);
    expect(() => new Linear(2, 3, { bias: 'yes' as unknown as boolean })).toThrow(InvalidArgumentError);
    fc.dispose();
    expect(() => fc.forward(tf.ones([1, 4]))).toThrow(/disposed/);
  });
});

describe('LayerNorm', () => {
  it('normalizes [1, 2, 3] to [−1.2247, 0, 1.2247] (biased variance, eps 1e-5)', () => {
    const ln = new LayerNorm(3);
    const s = Math.sqrt(2 / 3 + 1e-5);
    expectTensorClose(ln.forward(tf.tensor2d([[1, 2, 3]])), [[-1 / s, 0, 1 / s]]);
    expect(Object.keys(ln.getWeights())).toEqual(['weight', 'bias']);
    expect(ln.paramCount()).toBe(6);
    ln.dispose();
  });

  it('applies the affine and maps a constant row to the bias', () => {
    const ln = new LayerNorm(2, { eps: 1e-6 });
    ln.loadStateDict({ weight: tf.tensor1d([2, 3]), bias: tf.tensor1d([1, -1]) });
    const n = 2 / Math.sqrt(4 + 1e-6); // row [0, 4]: mean 2, variance 4
    expectTensorClose(
      ln.forward(
        tf.tensor2d([
          [0, 4],
          [5, 5],
        ]),
      ),
      [
        [2 * -n + 1, 3 * n - 1],
        [1, -1],
      ],
    );
    ln.dispose();
  });

  it('throws on a wrong last size', () => {
    const ln = new LayerNorm(3);
    expect(() => ln.forward(tf.ones([2, 4]))).toThrow(
      /LayerNorm\.forward: 'x' must have shape \[\.\.\., 3\], got \[2, 4\]/,
    );
    expect(() => new LayerNorm(3, { eps: 0 })).toThrow(/'eps'/);
    ln.dispose();
  });
});

describe('Embedding', () => {
  it('looks rows up, zeroes the padding row at init, and has the PyTorch name', () => {
    const emb = new Embedding(6, 4, { paddingIdx: 0, seed: 2 });
    expect(Object.keys(emb.getWeights())).toEqual(['weight']);
    expect(emb.paramCount()).toBe(24);
    const w = emb.weight.arraySync();
    expect(w[0]).toEqual([0, 0, 0, 0]);
    const y = emb.forward(
      ids2d([
        [3, 1, 0],
        [5, 5, 2],
      ]),
    );
    expect(y.shape).toEqual([2, 3, 4]);
    expectTensorClose(y, [
      [w[3]!, w[1]!, w[0]!],
      [w[5]!, w[5]!, w[2]!],
    ]);
    emb.dispose();
  });

  it('draws N(0, 1) (sample moments)', () => {
    const emb = new Embedding(500, 40, { seed: 5 });
    const { mean, variance } = tf.moments(emb.weight);
    expect(Math.abs(mean.dataSync()[0]!)).toBeLessThan(0.02);
    expect(Math.abs(variance.dataSync()[0]! - 1)).toBeLessThan(0.03);
    tf.dispose([mean, variance]);
    emb.dispose();
  });

  it('differentiates on this backend: sums of dy per id, zero for the padding row', () => {
    const emb = new Embedding(5, 2, { paddingIdx: 0 });
    const ids = ids2d([
      [1, 1, 0],
      [3, 1, 0],
    ]);
    const dyWeights = tf.tensor3d([
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [
        [7, 8],
        [9, 10],
        [11, 12],
      ],
    ]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(emb.forward(ids), dyWeights)) as tf.Scalar, [emb.weight]);
    expectTensorClose(grads[emb.weight.name]!, [
      [0, 0],
      [1 + 3 + 9, 2 + 4 + 10],
      [0, 0],
      [7, 8],
      [0, 0],
    ]);
    tf.dispose([ids, dyWeights, ...Object.values(grads)]);
    emb.dispose();
  });

  it('computes the same table gradient through the chunked one-hot path and the segment-sum path', () => {
    const dy = tf.randomNormal([23, 3], 0, 1, 'float32', 7) as tf.Tensor2D;
    const ids = tf.tensor1d([4, 0, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 1, 1, 2, 3, 5, 8, 9, 4], 'int32');
    // Reference from plain JS.
    const d = dy.arraySync();
    const idv = Array.from(ids.dataSync());
    const ref = Array.from({ length: 10 }, () => [0, 0, 0]);
    idv.forEach((id, n) => d[n]!.forEach((v, j) => (ref[id]![j]! += v)));
    ref[4] = [0, 0, 0]; // padding row
    const oneHot = embeddingTableGradient(dy, ids, 10, 4, { forceOneHot: true, chunkElements: 50 }); // chunks of 5 ids
    expectTensorClose(oneHot, ref);
    const auto = embeddingTableGradient(dy, ids, 10, 4);
    expectTensorClose(auto, ref);
    tf.dispose([dy, ids, oneHot, auto]);
  });

  it('rejects non-int32 ids and a padding index out of range', () => {
    const emb = new Embedding(5, 2);
    expect(() => emb.forward(tf.tensor2d([[1, 2]]))).toThrow(/Embedding\.forward: 'ids' must have dtype int32/);
    expect(() => new Embedding(5, 2, { paddingIdx: 5 })).toThrow(
      /Embedding: 'paddingIdx' must be an integer in \[0, 4\], got 5/,
    );
    emb.dispose();
  });
});

describe('PositionEmbedding', () => {
  it('returns the first L rows and adds them to [B, L, D]', () => {
    const pos = new PositionEmbedding(8, 3, { seed: 4 });
    expect(Object.keys(pos.getWeights())).toEqual(['weight']);
    const w = pos.weight.arraySync();
    expectTensorClose(pos.forward(2), [w[0]!, w[1]!]);
    const x = tf.ones([2, 2, 3]) as tf.Tensor3D;
    const y = pos.addTo(x).arraySync();
    expectTensorClose(
      y[1]![1]!,
      w[1]!.map((v) => v + 1),
    );
    pos.dispose();
  });

  it('says clearly when L exceeds maxLen', () => {
    const pos = new PositionEmbedding(4, 3);
    expect(() => pos.forward(5)).toThrow(
      /PositionEmbedding\.forward: 'length' must be an integer in \[1, 4\] \(maxLen\), got 5/,
    );
    expect(() => pos.addTo(tf.zeros([1, 5, 3]) as tf.Tensor3D)).toThrow(
      /'x' must have shape \[B, L, 3\], got \[1, 5, 3\] \(L must be at most maxLen=4\)/,
    );
    expect(() => pos.addTo(tf.zeros([1, 2, 4]) as tf.Tensor3D)).toThrow(ShapeError);
    pos.dispose();
  });

  it('is differentiable on this backend (slice, no gather)', () => {
    const pos = new PositionEmbedding(4, 2);
    const { grads } = tf.variableGrads(() => tf.sum(pos.forward(3)) as tf.Scalar, [pos.weight]);
    expectTensorClose(grads[pos.weight.name]!, [
      [1, 1],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
    tf.dispose(Object.values(grads));
    pos.dispose();
  });
});

describe('sinusoidalEmbedding', () => {
  it('is [sin | cos] with ω_i = 10000^(−i/h)', () => {
    const e = sinusoidalEmbedding(tf.tensor1d([0, 1, 2]), 4);
    // h = 2: ω = [1, 0.01]
    expectTensorClose(e, [
      [0, 0, 1, 1],
      [Math.sin(1), Math.sin(0.01), Math.cos(1), Math.cos(0.01)],
      [Math.sin(2), Math.sin(0.02), Math.cos(2), Math.cos(0.02)],
    ]);
  });

  it('pads odd widths with a zero column, swaps halves with cosFirst, accepts int32', () => {
    expectTensorClose(sinusoidalEmbedding(tf.tensor1d([1]), 5), [
      [Math.sin(1), Math.sin(0.01), Math.cos(1), Math.cos(0.01), 0],
    ]);
    expectTensorClose(sinusoidalEmbedding(tf.tensor1d([1], 'int32'), 4, { cosFirst: true, maxPeriod: 100 }), [
      [Math.cos(1), Math.cos(0.1), Math.sin(1), Math.sin(0.1)],
    ]);
  });

  it('validates its arguments', () => {
    expect(() => sinusoidalEmbedding(tf.ones([2, 1]) as unknown as tf.Tensor1D, 4)).toThrow(
      /sinusoidalEmbedding: 't' must have shape \[B\], got \[2, 1\]/,
    );
    expect(() => sinusoidalEmbedding(tf.ones([2]) as tf.Tensor1D, 1)).toThrow(/'dim' must be an integer >= 2/);
  });
});

describe('FeedForward', () => {
  it('has linear1/linear2 names and the spec count at 384 → 1536', () => {
    const ffn = new FeedForward(384, 1536);
    expect(ffn.paramCount()).toBe(591_360 + 590_208);
    expect(Object.keys(ffn.getWeights())).toEqual(['linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias']);
    ffn.dispose();
  });

  it('computes linear2(act(linear1(x))) for each activation', () => {
    const x = tf.tensor2d([
      [1, -2],
      [0.5, 3],
    ]);
    for (const activation of ['gelu', 'gelu_tanh', 'relu'] as const) {
      const ffn = new FeedForward(2, 3, { activation, seed: 9 });
      const h = ffn.linear1.forward(x);
      const a =
        activation === 'relu'
          ? tf.relu(h)
          : activation === 'gelu'
            ? tf.mul(tf.mul(0.5, h), tf.add(1, tf.erf(tf.div(h, Math.SQRT2))))
            : tf.mul(
                tf.mul(0.5, h),
                tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(h, tf.mul(0.044715, tf.pow(h, 3)))))),
              );
      expectTensorClose(ffn.forward(x), ffn.linear2.forward(a));
      ffn.dispose();
    }
  });

  it('rejects an unknown activation', () => {
    expect(() => new FeedForward(2, 3, { activation: 'swish' as 'relu' })).toThrow(
      /FeedForward: 'activation' must be one of 'gelu', 'gelu_tanh', 'relu', got "swish"/,
    );
  });
});

describe('maskedMeanPool', () => {
  it('averages the real positions; an all-padding row gives zeros', () => {
    const x = tf.tensor3d([
      [
        [1, 2],
        [3, 4],
        [100, 100],
      ],
      [
        [5, 5],
        [7, 7],
        [9, 9],
      ],
    ]);
    expectTensorClose(
      maskedMeanPool(
        x,
        tf.tensor2d([
          [1, 1, 0],
          [0, 0, 0],
        ]),
      ),
      [
        [2, 3],
        [0, 0],
      ],
    );
    expectTensorClose(
      maskedMeanPool(
        x,
        tf.tensor2d(
          [
            [1, 0, 0],
            [1, 1, 1],
          ],
          [2, 3],
          'int32',
        ),
      ),
      [
        [1, 2],
        [7, 7],
      ],
    );
    expectTensorClose(
      maskedMeanPool(
        x,
        tf.tensor2d(
          [
            [true, true, true],
            [false, true, false],
          ],
          [2, 3],
          'bool',
        ),
      ),
      [
        [104 / 3, 106 / 3],
        [7, 7],
      ],
    );
  });

  it('passes gradient mask/count to x', () => {
    const x = tf.ones([1, 3, 2]) as tf.Tensor3D;
    const g = tf.grad((t: tf.Tensor) => tf.sum(maskedMeanPool(t as tf.Tensor3D, tf.tensor2d([[1, 1, 0]]))))(x);
    expectTensorClose(g, [
      [
        [0.5, 0.5],
        [0.5, 0.5],
        [0, 0],
      ],
    ]);
  });

  it('throws when the mask does not match', () => {
    expect(() => maskedMeanPool(tf.ones([2, 3, 4]) as tf.Tensor3D, tf.ones([2, 4]))).toThrow(
      /maskedMeanPool: 'mask' must have shape \[B=2, L=3\], got \[2, 4\]/,
    );
    expect(() => maskedMeanPool(tf.ones([2, 3]) as unknown as tf.Tensor3D, tf.ones([2, 3]))).toThrow(
      /maskedMeanPool: 'x' must have shape \[B, L, D\], got \[2, 3\]/,
    );
  });

  it('returns one tensor and leaks none', () => {
    const x = tf.ones([2, 3, 4]) as tf.Tensor3D;
    const m = tf.ones([2, 3], 'int32');
    const before = tf.memory().numTensors;
    const y = maskedMeanPool(x, m);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([x, m, y]);
  });
});
