#!/usr/bin/env node
// The card's "relay retention at depth 16: 99.4% vs 7.4% for attention" (issue 23), as @geolip/diffusion's
// relayRetention measures it ([INFER]: mean cosine between each token of a standard-normal signal and the same token
// after d stacked untrained layers; see the package README):
//
//   node tools/diffusion/relay-retention.mjs [--backend wasm] [--out results/diffusion/relay-retention.json]
//
// Writes the curves of the three stacks (gated relay, attention in its place, pre-LN attention residual) for the
// card's shapes (D = 256, 16 patches on S^15, 8×8 = 64 tokens, 4 sequences, 8 heads, 16 layers) and the machine.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@geolip/nn/backend';
import { relayRetention } from '@geolip/diffusion';
import { writeFileAtomic } from '@geolip/io/node';

import { machineInfo } from '../perf/machine.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: 'results/diffusion/relay-retention.json' },
    seed: { type: 'string', default: '0' },
  },
});
process.env.GEOLIP_BACKEND = values.backend;
await initBackend({ log: () => {} });
const options = {
  depth: 16,
  dim: 256,
  tokens: 64,
  batch: 4,
  heads: 8,
  patchDim: 16,
  anchorsPerPatch: 16,
  gateInit: -3,
};
const seed = Number(values.seed);
const t0 = Date.now();
const r = relayRetention({ ...options, seed });
const at = (curve) => curve[curve.length - 1];
const result = {
  measure:
    'retention(d) = mean over tokens of cos(x_0, x_d), x_d after d stacked untrained layers; x_0 ~ N(0, 1) [B, S, D]',
  options: { ...options, seed },
  atDepth16: { relay: at(r.relay), attention: at(r.attention), attentionResidual: at(r.attentionResidual) },
  card: { relay: 0.994, attention: 0.074 },
  curves: { relay: r.relay, attention: r.attention, attentionResidual: r.attentionResidual },
  stacks: {
    relay: 'x <- x + sigmoid(g) * ConstellationRelay(x), per token, g = -3',
    attention: "x <- MultiHeadAttention(x) (no residual: attention in the relay layer's place)",
    attentionResidual: 'x <- x + MultiHeadAttention(LayerNorm(x))',
  },
  backend: tf.getBackend(),
  seconds: (Date.now() - t0) / 1000,
  machine: machineInfo({ tfVersion: tf.version_core }),
  command: `node tools/diffusion/relay-retention.mjs --backend ${values.backend} --seed ${seed}`,
};
await writeFileAtomic(resolve(values.out), JSON.stringify(result, null, 1) + '\n');
console.log(
  `retention at depth 16: relay ${(100 * result.atDepth16.relay).toFixed(2)}%, attention ` +
    `${(100 * result.atDepth16.attention).toFixed(2)}%, pre-LN attention residual ` +
    `${(100 * result.atDepth16.attentionResidual).toFixed(2)}% (card: 99.4% vs 7.4%); wrote ${values.out}`,
);
