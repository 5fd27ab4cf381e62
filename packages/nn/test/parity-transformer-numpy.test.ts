// Forward parity of the transformer blocks against an independent float64 numpy reference
// (fixtures/gen_transformer_numpy.py → fixtures/transformer-numpy.safetensors, committed).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectTensorClose } from '@geolip/geometry/testing';

import {
  Embedding,
  FeedForward,
  LayerNorm,
  Linear,
  MultiHeadAttention,
  TransformerEncoder,
  TransformerEncoderLayer,
  maskedMeanPool,
  sinusoidalEmbedding,
} from '../src/index.js';
import type { Module } from '../src/index.js';
import { disposeAll, loadTransformerFixture } from './helpers/transformer-fixture.js';

const fx = loadTransformerFixture('transformer-numpy.safetensors');
// float32 (tfjs) vs float64 (numpy): 1e-5 relative and 1e-5 absolute.
const TOL = { rtol: 1e-5, atol: 1e-5 };

function load<M extends Module>(m: M, caseName: string): M {
  const params = fx.group(caseName, 'param');
  m.loadStateDict(params);
  disposeAll(params);
  return m;
}

function check(
  caseName: string,
  run: (inputs: Record<string, tf.Tensor>) => tf.Tensor,
  key = 'output',
  tol = TOL,
): void {
  const inputs = fx.group(caseName, 'input');
  const expected = fx.tensor(`${caseName}/${key}`);
  const actual = run(inputs);
  try {
    expectTensorClose(actual, expected, tol);
  } finally {
    tf.dispose([actual, expected]);
    disposeAll(inputs);
  }
}

describe('transformer blocks match the numpy float64 reference', () => {
  it('records its provenance', () => {
    expect(fx.metadata.source).toMatch(/numpy/);
  });

  it('Linear', () => {
    const c = fx.config.linear!;
    const m = load(new Linear(c.in as number, c.out as number), 'linear');
    check('linear', (i) => m.forward(i.x!));
    m.dispose();
  });

  it('LayerNorm (including a constant row)', () => {
    const m = load(new LayerNorm(fx.config.layer_norm!.dim as number), 'layer_norm');
    check('layer_norm', (i) => m.forward(i.x!));
    m.dispose();
  });

  it('Embedding with a padding row', () => {
    const c = fx.config.embedding!;
    const m = load(new Embedding(c.num as number, c.dim as number, { paddingIdx: 0 }), 'embedding');
    check('embedding', (i) => m.forward(i.ids!));
    m.dispose();
  });

  it('FeedForward (tanh GELU)', () => {
    const m = load(new FeedForward(32, 64, { activation: 'gelu_tanh' }), 'ffn_tanh');
    check('ffn_tanh', (i) => m.forward(i.x!));
    m.dispose();
  });

  it('MultiHeadAttention, self, key-padding mask: output and weights', () => {
    const m = load(new MultiHeadAttention(32, 4), 'mha_self');
    check('mha_self', (i) => m.forward(i.query as tf.Tensor3D, { keyPaddingMask: i.key_padding_mask }));
    check(
      'mha_self',
      (i) => m.forward(i.query as tf.Tensor3D, { keyPaddingMask: i.key_padding_mask, needWeights: true }).weights,
      'weights',
    );
    m.dispose();
  });

  it('MultiHeadAttention, cross, kdim 20 and vdim 12', () => {
    const m = load(new MultiHeadAttention(32, 4, { kdim: 20, vdim: 12 }), 'mha_cross');
    check('mha_cross', (i) =>
      m.forward(i.query as tf.Tensor3D, i.key as tf.Tensor3D, i.value as tf.Tensor3D, {
        keyPaddingMask: i.key_padding_mask,
      }),
    );
    check(
      'mha_cross',
      (i) =>
        m.forward(i.query as tf.Tensor3D, i.key as tf.Tensor3D, i.value as tf.Tensor3D, {
          keyPaddingMask: i.key_padding_mask,
          needWeights: true,
        }).weights,
      'weights',
    );
    m.dispose();
  });

  for (const [name, normFirst] of [
    ['layer_prenorm', true],
    ['layer_postnorm', false],
  ] as const) {
    it(`TransformerEncoderLayer (normFirst ${normFirst})`, () => {
      const m = load(new TransformerEncoderLayer(32, 4, 64, { normFirst }), name);
      check(name, (i) => m.forward(i.x as tf.Tensor3D, { keyPaddingMask: i.key_padding_mask }));
      m.dispose();
    });
  }

  it('TransformerEncoder (2 layers, final norm) and masked mean pooling of its output', () => {
    const c = fx.config.encoder!;
    const m = load(
      new TransformerEncoder({
        vocabSize: c.vocabSize as number,
        maxPositions: c.maxPositions as number,
        dModel: 32,
        heads: 4,
        ffDim: 64,
        layers: 2,
      }),
      'encoder',
    );
    check('encoder', (i) => m.forward(i.ids as tf.Tensor2D, i.attention_mask));
    check(
      'encoder',
      (i) => tf.tidy(() => maskedMeanPool(m.forward(i.ids as tf.Tensor2D, i.attention_mask), i.attention_mask!)),
      'pooled',
    );
    m.dispose();
  });

  it('maskedMeanPool (with an all-padding row)', () => {
    check('pool', (i) => maskedMeanPool(i.x as tf.Tensor3D, i.mask!));
  });

  it('sinusoidalEmbedding (even and odd widths)', () => {
    // t up to 999: sin/cos of arguments ~1e3 in float32 lose ~1e-4 absolute.
    const tol = { rtol: 1e-4, atol: 3e-4 };
    check('sinusoidal', (i) => sinusoidalEmbedding(i.t as tf.Tensor1D, 16), 'output', tol);
    check('sinusoidal', (i) => sinusoidalEmbedding(i.t as tf.Tensor1D, 9), 'output_odd', tol);
  });
});
