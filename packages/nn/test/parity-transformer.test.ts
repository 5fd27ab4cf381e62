// Forward AND gradient parity of the transformer blocks against PyTorch
// (fixtures/gen_transformer_fixtures.py → fixtures/transformer.safetensors, generated on a machine
// with torch; float64 on CPU, stored F32). Skipped until that file exists.
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
  toTorchLayout,
} from '../src/index.js';
import type { Module } from '../src/index.js';
import { disposeAll, fixtureExists, loadTransformerFixture } from './helpers/transformer-fixture.js';
import type { TransformerFixture } from './helpers/transformer-fixture.js';

const FILE = 'transformer.safetensors';
const present = fixtureExists(FILE);

// float32 (tfjs) against float64 PyTorch rounded to float32.
const OUT_TOL = { rtol: 1e-5, atol: 1e-5 };
// Gradients: the same bound (observed to hold on cpu and wasm with the torch 2.11 fixture).
const GRAD_TOL = { rtol: 1e-5, atol: 1e-5 };

type Inputs = Record<string, tf.Tensor>;

interface Case {
  name: string;
  build?: (c: Record<string, unknown>) => Module;
  forward: (m: Module | null, i: Inputs) => tf.Tensor;
  /** Float inputs whose gradients the fixture holds. */
  gradInputs: string[];
  /** Other outputs to compare: fixture key suffix → function. */
  extra?: Record<string, (m: Module | null, i: Inputs) => tf.Tensor>;
}

const masks = (i: Inputs) => ({ keyPaddingMask: i.key_padding_mask });

const CASES: Case[] = [
  {
    name: 'linear',
    build: (c) => new Linear(c.in as number, c.out as number),
    forward: (m, i) => (m as Linear).forward(i.x!),
    gradInputs: ['x'],
  },
  {
    name: 'layer_norm',
    build: (c) => new LayerNorm(c.dim as number),
    forward: (m, i) => (m as LayerNorm).forward(i.x!),
    gradInputs: ['x'],
  },
  {
    name: 'embedding',
    build: (c) => new Embedding(c.num as number, c.dim as number, { paddingIdx: c.paddingIdx as number }),
    forward: (m, i) => (m as Embedding).forward(i.ids!),
    gradInputs: [],
  },
  {
    name: 'ffn_tanh',
    build: (c) => new FeedForward(c.dim as number, c.hiddenDim as number, { activation: 'gelu_tanh' }),
    forward: (m, i) => (m as FeedForward).forward(i.x!),
    gradInputs: ['x'],
  },
  {
    name: 'mha_self',
    build: (c) => new MultiHeadAttention(c.dim as number, c.heads as number),
    forward: (m, i) => (m as MultiHeadAttention).forward(i.query as tf.Tensor3D, masks(i)),
    gradInputs: ['query'],
    extra: {
      weights: (m, i) =>
        (m as MultiHeadAttention).forward(i.query as tf.Tensor3D, { ...masks(i), needWeights: true }).weights,
    },
  },
  {
    name: 'mha_cross',
    build: (c) =>
      new MultiHeadAttention(c.dim as number, c.heads as number, { kdim: c.kdim as number, vdim: c.vdim as number }),
    forward: (m, i) =>
      (m as MultiHeadAttention).forward(i.query as tf.Tensor3D, i.key as tf.Tensor3D, i.value as tf.Tensor3D, masks(i)),
    gradInputs: ['query', 'key', 'value'],
    extra: {
      weights: (m, i) =>
        (m as MultiHeadAttention).forward(i.query as tf.Tensor3D, i.key as tf.Tensor3D, i.value as tf.Tensor3D, {
          ...masks(i),
          needWeights: true,
        }).weights,
    },
  },
  ...(['layer_prenorm', 'layer_postnorm'] as const).map((name): Case => ({
    name,
    build: (c) =>
      new TransformerEncoderLayer(c.dim as number, c.heads as number, c.ffDim as number, {
        normFirst: c.normFirst as boolean,
      }),
    forward: (m, i) => (m as TransformerEncoderLayer).forward(i.x as tf.Tensor3D, masks(i)),
    gradInputs: ['x'],
  })),
  {
    name: 'encoder',
    build: (c) =>
      new TransformerEncoder({
        vocabSize: c.vocabSize as number,
        maxPositions: c.maxPositions as number,
        dModel: c.dModel as number,
        heads: c.heads as number,
        ffDim: c.ffDim as number,
        layers: c.layers as number,
        finalNorm: c.finalNorm as boolean,
        paddingIdx: c.paddingIdx as number,
      }),
    forward: (m, i) => (m as TransformerEncoder).forward(i.ids as tf.Tensor2D, i.attention_mask),
    gradInputs: [],
    extra: {
      pooled: (m, i) =>
        maskedMeanPool((m as TransformerEncoder).forward(i.ids as tf.Tensor2D, i.attention_mask), i.attention_mask!),
    },
  },
  { name: 'pool', forward: (_m, i) => maskedMeanPool(i.x as tf.Tensor3D, i.mask!), gradInputs: ['x'] },
];

function runCase(fx: TransformerFixture, c: Case): void {
  const module = c.build ? c.build(fx.config[c.name]!) : null;
  const inputs = fx.group(c.name, 'input');
  try {
    if (module) {
      const params = fx.group(c.name, 'param');
      module.loadStateDict(params);
      disposeAll(params);
    }
    // Forward outputs.
    for (const [key, fn] of [['output', c.forward] as const, ...Object.entries(c.extra ?? {})]) {
      const expected = fx.tensor(`${c.name}/${key}`);
      const actual = tf.tidy(() => fn(module, inputs));
      try {
        expectTensorClose(actual, expected, OUT_TOL);
      } catch (e) {
        throw new Error(`${c.name}/${key}: ${(e as Error).message}`);
      } finally {
        tf.dispose([actual, expected]);
      }
    }
    // Gradients of sum(output * R) w.r.t. every parameter and the float inputs.
    const R = fx.tensor(`${c.name}/loss_weight`);
    const inputVars = Object.fromEntries(c.gradInputs.map((n) => [n, tf.variable(inputs[n]!)]));
    const params = module ? module.namedParameters() : [];
    const varList = [...params.map(([, v]) => v), ...Object.values(inputVars)];
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(c.forward(module, { ...inputs, ...inputVars }), R)) as tf.Scalar,
      varList,
    );
    try {
      for (const [name, v, layout] of params) {
        const g = tf.tidy(() => toTorchLayout(grads[v.name]!, layout));
        const expected = fx.tensor(`${c.name}/grad/${name}`);
        try {
          expectTensorClose(g, expected, GRAD_TOL);
        } catch (e) {
          throw new Error(`${c.name}/grad/${name}: ${(e as Error).message}`);
        } finally {
          tf.dispose([g, expected]);
        }
      }
      for (const [name, v] of Object.entries(inputVars)) {
        const expected = fx.tensor(`${c.name}/grad_input/${name}`);
        try {
          expectTensorClose(grads[v.name]!, expected, GRAD_TOL);
        } catch (e) {
          throw new Error(`${c.name}/grad_input/${name}: ${(e as Error).message}`);
        } finally {
          expected.dispose();
        }
      }
    } finally {
      tf.dispose([value, R, ...Object.values(grads), ...Object.values(inputVars)]);
    }
  } finally {
    disposeAll(inputs);
    module?.dispose();
  }
}

describe.skipIf(!present)(
  `transformer blocks match PyTorch (fixtures/${FILE}; generate it with fixtures/gen_transformer_fixtures.py on a machine with torch)`,
  () => {
    const fx = present ? loadTransformerFixture(FILE) : (null as unknown as TransformerFixture);

    it('records its provenance', () => {
      expect(fx.metadata.source).toMatch(/PyTorch/);
      expect(fx.metadata.torch).toBeTruthy();
    });

    for (const c of CASES) {
      it(`${c.name}: forward and gradients`, () => runCase(fx, c));
    }

    it('sinusoidal embedding (even and odd widths)', () => {
      const t = fx.tensor('sinusoidal/input/t') as tf.Tensor1D;
      const tol = { rtol: 1e-4, atol: 3e-4 }; // arguments up to 999 rad in float32
      for (const [key, dim] of [
        ['output', 16],
        ['output_odd', 9],
      ] as const) {
        const expected = fx.tensor(`sinusoidal/${key}`);
        const actual = sinusoidalEmbedding(t, dim);
        expectTensorClose(actual, expected, tol);
        tf.dispose([actual, expected]);
      }
      t.dispose();
    });
  },
);
