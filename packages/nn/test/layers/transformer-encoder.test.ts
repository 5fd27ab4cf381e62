// TransformerEncoderLayer and TransformerEncoder: spec §10 parameter counts, names, state-dict round
// trip, padding and batching properties, gradients on this backend, errors, memory.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';

import {
  LayerNorm,
  Linear,
  ModuleList,
  TransformerEncoder,
  TransformerEncoderLayer,
  gelu,
  maskedMeanPool,
} from '../../src/index.js';

// Parameter counts of card-size models are shapes, the same on every backend; building a 25M-parameter model
// (random init) is slow, so these run once, on the cpu project.
const ONCE = process.env.GEOLIP_BACKEND === 'wasm';

const small = (seed = 0) =>
  new TransformerEncoder({ vocabSize: 30, maxPositions: 10, dModel: 16, heads: 4, ffDim: 32, layers: 2, seed });
const ids2d = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');

describe('TransformerEncoderLayer', () => {
  it('has 1,774,464 parameters at d = 384, 6 heads, FFN 1536 (spec §10), under PyTorch names', () => {
    const layer = new TransformerEncoderLayer(384, 6, 1536);
    expect(layer.paramCount()).toBe(1_774_464);
    expect(Object.keys(layer.getWeights())).toEqual([
      'self_attn.in_proj_weight',
      'self_attn.in_proj_bias',
      'self_attn.out_proj.weight',
      'self_attn.out_proj.bias',
      'linear1.weight',
      'linear1.bias',
      'linear2.weight',
      'linear2.bias',
      'norm1.weight',
      'norm1.bias',
      'norm2.weight',
      'norm2.bias',
    ]);
    layer.dispose();
  });

  it('composes pre-norm and post-norm residuals from its sub-blocks', () => {
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const mask = tf.tensor2d([
      [1, 1, 1, 1, 0],
      [1, 1, 0, 0, 0],
    ]);
    for (const normFirst of [true, false]) {
      const l = new TransformerEncoderLayer(8, 2, 16, { normFirst, seed: 3 });
      const sa = (h: tf.Tensor3D) => l.selfAttn.forward(h, { keyPaddingMask: mask });
      const ff = (h: tf.Tensor3D) => l.linear2.forward(gelu(l.linear1.forward(h)));
      let ref: tf.Tensor3D;
      if (normFirst) {
        const h = tf.add(x, sa(l.norm1.forward(x))) as tf.Tensor3D;
        ref = tf.add(h, ff(l.norm2.forward(h)));
      } else {
        const h = l.norm1.forward(tf.add(x, sa(x)) as tf.Tensor3D);
        ref = l.norm2.forward(tf.add(h, ff(h)) as tf.Tensor3D);
      }
      expectTensorClose(l.forward(x, { keyPaddingMask: mask }), ref);
      l.dispose();
    }
  });

  it('checks its input and mask with its own name', () => {
    const l = new TransformerEncoderLayer(8, 2, 16);
    expect(() => l.forward(tf.ones([2, 5, 4]) as tf.Tensor3D)).toThrow(
      /TransformerEncoderLayer\.forward: 'x' must have shape \[B, L, 8\], got \[2, 5, 4\]/,
    );
    expect(() => l.forward(tf.ones([2, 5, 8]) as tf.Tensor3D, { keyPaddingMask: tf.ones([2, 6]) })).toThrow(
      /TransformerEncoderLayer\.forward: 'keyPaddingMask' must have shape \[B=2, L=5\], got \[2, 6\]/,
    );
    expect(() => new TransformerEncoderLayer(8, 3, 16)).toThrow(InvalidArgumentError);
    l.dispose();
  });
});

describe('TransformerEncoder', () => {
  it.skipIf(ONCE)(
    'has 25,513,728 parameters in the CaptionBERT-8192 configuration, 25,958,016 with the §10.1 head',
    () => {
      const enc = new TransformerEncoder({
        vocabSize: 30_522,
        maxPositions: 8192,
        dModel: 384,
        heads: 6,
        ffDim: 1536,
        layers: 6,
      });
      expect(enc.paramCount()).toBe(11_720_448 + 3_145_728 + 768 + 10_646_784);
      expect(enc.paramCount()).toBe(25_513_728);
      // Head: Linear(384, 384) → GELU → LN(384) → Linear(384, 768), built from this package's blocks.
      const head = new ModuleList<Linear | LayerNorm>([new Linear(384, 384), new LayerNorm(384), new Linear(384, 768)]);
      expect(head.paramCount()).toBe(147_840 + 768 + 295_680);
      expect(enc.paramCount() + head.paramCount()).toBe(25_958_016);
      enc.dispose();
      head.dispose();
    },
  );

  it('names its parameters token_emb, pos_emb, layers.{i}, norm', () => {
    const enc = small();
    const names = Object.keys(enc.getWeights());
    expect(names.slice(0, 2)).toEqual(['token_emb.weight', 'pos_emb.weight']);
    expect(names[2]).toBe('layers.0.self_attn.in_proj_weight');
    expect(names).toContain('layers.1.norm2.bias');
    expect(names.slice(-2)).toEqual(['norm.weight', 'norm.bias']);
    expect(names).toHaveLength(2 + 2 * 12 + 2);
    enc.dispose();
  });

  it('round-trips through stateDict/loadStateDict (PyTorch layouts)', () => {
    const a = small(1);
    const b = small(2);
    const ids = ids2d([
      [5, 6, 7, 0],
      [9, 2, 0, 0],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 1, 0],
      [1, 1, 0, 0],
    ]);
    const sd = a.stateDict();
    expect(sd['layers.0.self_attn.in_proj_weight']!.shape).toEqual([48, 16]);
    expect(sd['layers.0.linear1.weight']!.shape).toEqual([32, 16]);
    b.loadStateDict(sd);
    expectTensorClose(b.forward(ids, mask), a.forward(ids, mask), { atol: 0, rtol: 0 });
    tf.dispose(Object.values(sd));
    a.dispose();
    b.dispose();
  });

  it('is forward = encodeEmbeddings(embed(ids)) and embed = token + position rows', () => {
    const enc = small(3);
    const ids = ids2d([[5, 6, 7]]);
    const e = enc.embed(ids);
    const tok = enc.tokenEmb!.weight.arraySync();
    const pos = enc.posEmb!.weight.arraySync();
    expectTensorClose(e, [[5, 6, 7].map((id, l) => tok[id]!.map((v, j) => v + pos[l]![j]!))]);
    expectTensorClose(enc.forward(ids), enc.encodeEmbeddings(e));
    enc.dispose();
  });

  it('does not let padded tokens change the real positions, and batching equals one row at a time', () => {
    const enc = small(4);
    const mask = tf.tensor2d([
      [1, 1, 1, 1],
      [1, 1, 0, 0],
    ]);
    const a = enc.forward(
      ids2d([
        [3, 4, 5, 6],
        [7, 8, 0, 0],
      ]),
      mask,
    );
    const b = enc.forward(
      ids2d([
        [3, 4, 5, 6],
        [7, 8, 29, 13],
      ]),
      mask,
    );
    expectTensorClose(tf.slice(a, [1, 0, 0], [1, 2, 16]), tf.slice(b, [1, 0, 0], [1, 2, 16]));
    const alone = enc.forward(ids2d([[7, 8]]));
    expectTensorClose(tf.slice(a, [1, 0, 0], [1, 2, 16]), alone);
    const pooled = maskedMeanPool(a, mask);
    expectTensorClose(tf.slice(pooled, [1, 0], [1, 16]), tf.mean(alone, 1));
    enc.dispose();
  });

  it('trains: gradients reach every parameter on this backend (embedding gradient included)', () => {
    const enc = small(5);
    const ids = ids2d([
      [3, 4, 3, 0],
      [7, 8, 0, 0],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 1, 0],
      [1, 1, 0, 0],
    ]);
    const vars = enc.getWeights();
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(maskedMeanPool(enc.forward(ids, mask), mask))) as tf.Scalar,
      Object.values(vars),
    );
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    for (const [name, v] of Object.entries(vars)) {
      const data = grads[v.name]!.dataSync();
      expect(Array.from(data).every(Number.isFinite), name).toBe(true);
      expect(
        Array.from(data).some((x) => x !== 0),
        name,
      ).toBe(true);
    }
    const tokenGrad = (grads[vars['token_emb.weight']!.name] as tf.Tensor2D).arraySync();
    expect(tokenGrad[0]!.every((x) => x === 0)).toBe(true); // padding row
    expect(tokenGrad[1]!.every((x) => x === 0)).toBe(true); // never used
    tf.dispose([value, ...Object.values(grads)]);
    enc.dispose();
  });

  it('runs on embeddings only (no vocabulary), e.g. ViT patches', () => {
    const enc = new TransformerEncoder({ dModel: 8, heads: 2, ffDim: 16, layers: 1, finalNorm: false });
    expect(Object.keys(enc.getWeights())[0]).toBe('layers.0.self_attn.in_proj_weight');
    expect(enc.encodeEmbeddings(tf.ones([2, 3, 8]) as tf.Tensor3D).shape).toEqual([2, 3, 8]);
    expect(() => enc.forward(ids2d([[1, 2]]))).toThrow(/TransformerEncoder\.forward: 'ids' needs a token table/);
    enc.dispose();
  });

  it('throws typed errors naming the argument', () => {
    const enc = small();
    expect(() => enc.forward(ids2d([Array.from({ length: 11 }, () => 1)]))).toThrow(
      /TransformerEncoder\.forward: 'ids' must have shape \[B, L\], got \[1, 11\] \(L must be at most maxPositions=10\)/,
    );
    expect(() => enc.forward(tf.tensor2d([[1, 2]]))).toThrow(/'ids' must have dtype int32/);
    expect(() => enc.forward(tf.tensor1d([1, 2], 'int32') as unknown as tf.Tensor2D)).toThrow(ShapeError);
    expect(() => enc.forward(ids2d([[1, 2]]), tf.ones([1, 3]))).toThrow(
      /'attentionMask' must have shape \[B=1, L=2\], got \[1, 3\]/,
    );
    expect(() => enc.encodeEmbeddings(tf.ones([1, 2, 8]) as tf.Tensor3D)).toThrow(
      /TransformerEncoder\.encodeEmbeddings: 'x' must have shape \[B, L, 16\], got \[1, 2, 8\]/,
    );
    expect(
      () => new TransformerEncoder({ vocabSize: 5, dModel: 8, heads: 2, ffDim: 8, layers: 1, paddingIdx: 7 }),
    ).toThrow(/'paddingIdx'/);
    enc.dispose();
    expect(() => enc.forward(ids2d([[1, 2]]))).toThrow(/disposed/);
  });

  it('returns one tensor and leaks none', () => {
    const enc = small();
    const ids = ids2d([[1, 2, 3]]);
    const mask = tf.ones([1, 3], 'int32');
    const before = tf.memory().numTensors;
    const y = enc.forward(ids, mask);
    expect(tf.memory().numTensors).toBe(before + 1);
    y.dispose();
    const n = tf.memory().numTensors;
    enc.dispose();
    expect(tf.memory().numTensors).toBe(n - (2 + 2 * 12 + 2));
    tf.dispose([ids, mask]);
  });
});
