#!/usr/bin/env node
// Writes the CaptionBERT-shaped encoder (6 pre-norm layers, d=384, 6 heads, FFN 1536, vocab 30,522,
// learned positions 8192, masked mean pooling, head 384->384->GELU->LN->768, L2-normalised) as an ONNX
// model (IR 8, opset 17) with a hand-written protobuf encoder: no python onnx, no torch.
//
// Usage:
//   node tools/perf/peers/onnx/export-encoder.mjs [--seed 0] [--weights in.safetensors]
//        [--out tools/perf/peers/.cache/encoder.onnx] [--weights-out <out>.safetensors | --no-weights-out]
//
// Inputs:  input_ids int64 [batch, seq], attention_mask int64 [batch, seq] (1 = real token); seq <= 8192.
// Output:  embedding float32 [batch, 768], unit L2 norm.
// Weights: PyTorch names and layout (Linear weight [out, in]); the ONNX initializers keep those names for
// embeddings / biases / LayerNorms and store Linear weights transposed to [in, out] under `<name>_T`.
// Without --weights the weights are seeded random (weights.mjs); they are also written next to the model
// as safetensors (PyTorch layout) so that the numpy reference and torch can load the very same numbers.
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DT, GraphBuilder, attr, graphProto, modelProto, valueInfo } from './proto.mjs';
import {
  ENCODER,
  EXPECTED_PARAMS,
  checkWeights,
  encoderSpec,
  initWeights,
  readSafetensors,
  writeSafetensors,
} from './weights.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const CACHE = resolve(HERE, '..', '.cache');

function transpose2d(data, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Builds the ModelProto bytes of the encoder from PyTorch-layout weights (Map name -> {shape, data}). */
export function buildEncoderModel(w, cfg = ENCODER) {
  checkWeights(w, cfg);
  const { d, heads, layers, lnEps } = cfg;
  const dh = d / heads;
  const g = new GraphBuilder();
  const scalars = new Map();
  const sc = (v) => {
    if (!scalars.has(v)) scalars.set(v, g.constF32([v], [], 'scalar'));
    return scalars.get(v);
  };
  const param = (name) => g.init(name, DT.FLOAT, w.get(name).shape, w.get(name).data);
  const paramT = (name) => {
    const { shape, data } = w.get(name);
    return g.init(`${name}_T`, DT.FLOAT, [shape[1], shape[0]], transpose2d(data, shape[0], shape[1]));
  };
  const linear = (x, prefix) => g.op('Add', [g.op('MatMul', [x, paramT(`${prefix}.weight`)]), param(`${prefix}.bias`)]);
  const layerNorm = (x, prefix) =>
    g.op(
      'LayerNormalization',
      [x, param(`${prefix}.weight`), param(`${prefix}.bias`)],
      [attr.i('axis', -1), attr.f('epsilon', lnEps)],
    );
  // exact GELU written in the pattern onnxruntime fuses: 0.5 * x * (1 + erf(x / sqrt(2)))
  const gelu = (x) =>
    g.op('Mul', [g.op('Mul', [x, g.op('Add', [g.op('Erf', [g.op('Div', [x, sc(Math.SQRT2)])]), sc(1)])]), sc(0.5)]);

  const ids = 'input_ids';
  const mask = 'attention_mask';
  // embeddings
  const tok = g.op('Gather', [param('token_emb.weight'), ids], [attr.i('axis', 0)]);
  const seqLen = g.op('Shape', [ids], [attr.i('start', 1), attr.i('end', 2)]);
  const pos = g.op('Slice', [param('pos_emb.weight'), g.constI64([0]), seqLen, g.constI64([0])]);
  let x = g.op('Add', [tok, pos]);
  // key-padding bias [B,1,1,L]: 0 for real tokens, -1e9 for padding
  const maskF = g.op('Cast', [mask], [attr.i('to', DT.FLOAT)]);
  const keyBias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [maskF, sc(1)]), sc(1e9)]), g.constI64([1, 2])]);
  const headsShape = g.constI64([0, 0, heads, dh]);
  const modelShape = g.constI64([0, 0, d]);
  const splitSizes = g.constI64([d, d, d]);

  for (let i = 0; i < layers; i++) {
    const p = `layers.${i}`;
    // self-attention block (pre-norm)
    const h = layerNorm(x, `${p}.norm1`);
    const qkv = g.op('Add', [
      g.op('MatMul', [h, paramT(`${p}.self_attn.in_proj_weight`)]),
      param(`${p}.self_attn.in_proj_bias`),
    ]);
    const [q, k, v] = g.op('Split', [qkv, splitSizes], [attr.i('axis', 2)], { nOut: 3 });
    const qh = g.op('Mul', [
      g.op('Transpose', [g.op('Reshape', [q, headsShape])], [attr.ints('perm', [0, 2, 1, 3])]),
      sc(1 / Math.sqrt(dh)),
    ]);
    const khT = g.op('Transpose', [g.op('Reshape', [k, headsShape])], [attr.ints('perm', [0, 2, 3, 1])]);
    const vh = g.op('Transpose', [g.op('Reshape', [v, headsShape])], [attr.ints('perm', [0, 2, 1, 3])]);
    const scores = g.op('Add', [g.op('MatMul', [qh, khT]), keyBias]);
    const probs = g.op('Softmax', [scores], [attr.i('axis', -1)]);
    const ctx = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [probs, vh])], [attr.ints('perm', [0, 2, 1, 3])]),
      modelShape,
    ]);
    x = g.op('Add', [x, linear(ctx, `${p}.self_attn.out_proj`)]);
    // feed-forward block (pre-norm)
    const h2 = layerNorm(x, `${p}.norm2`);
    x = g.op('Add', [x, linear(gelu(linear(h2, `${p}.linear1`)), `${p}.linear2`)]);
  }
  x = layerNorm(x, 'norm');
  // masked mean pooling: sum(x * m) / max(sum(m), 1)
  const m3 = g.op('Unsqueeze', [maskF, g.constI64([2])]);
  const axis1 = g.constI64([1]);
  const summed = g.op('ReduceSum', [g.op('Mul', [x, m3]), axis1], [attr.i('keepdims', 0)]);
  const count = g.op('Max', [g.op('ReduceSum', [m3, axis1], [attr.i('keepdims', 0)]), sc(1)]);
  const pooled = g.op('Div', [summed, count]);
  // head: Linear -> GELU -> LayerNorm -> Linear, then L2 normalise
  const y = linear(layerNorm(gelu(linear(pooled, 'head.0')), 'head.2'), 'head.3');
  const norm = g.op('Max', [
    g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [y, y]), axis1], [attr.i('keepdims', 1)])]),
    sc(1e-12),
  ]);
  g.op('Div', [y, norm], [], { out: 'embedding' });

  const graph = graphProto({
    name: 'captionbert_encoder',
    nodes: g.nodes,
    initializers: g.inits,
    inputs: [valueInfo(ids, DT.INT64, ['batch', 'seq']), valueInfo(mask, DT.INT64, ['batch', 'seq'])],
    outputs: [valueInfo('embedding', DT.FLOAT, ['batch', cfg.out])],
    doc: 'CaptionBERT-shaped encoder: 6 pre-norm layers d=384 h=6 ffn=1536 GELU(erf), LN eps 1e-5, masked mean pool, head, L2 norm',
  });
  return modelProto({ graph, opset: 17, irVersion: 8, doc: 'geolip perf: CaptionBERT-shaped encoder' });
}

export function writeAtomic(path, buf) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, buf);
  renameSync(tmp, path);
}

function parseArgs(argv) {
  const a = { seed: 0, weights: null, out: join(CACHE, 'encoder.onnx'), weightsOut: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--seed') a.seed = Number(argv[++i]);
    else if (k === '--weights') a.weights = argv[++i];
    else if (k === '--out') a.out = resolve(argv[++i]);
    else if (k === '--weights-out') a.weightsOut = resolve(argv[++i]);
    else if (k === '--no-weights-out') a.weightsOut = null;
    else if (k === '--help' || k === '-h') {
      console.log(
        'node export-encoder.mjs [--seed 0] [--weights in.safetensors] [--out encoder.onnx] [--weights-out w.safetensors | --no-weights-out]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  if (a.weightsOut === undefined) a.weightsOut = a.out.replace(/\.onnx$/, '') + '.safetensors';
  return a;
}

/** Exports the model; returns { out, weightsOut, params, bytes }. */
export function exportEncoder({ seed = 0, weights = null, out = join(CACHE, 'encoder.onnx'), weightsOut = null } = {}) {
  const w = weights ? readSafetensors(weights) : initWeights(seed);
  checkWeights(w);
  const params = encoderSpec().reduce((n, [name]) => n + w.get(name).data.length, 0);
  if (params !== EXPECTED_PARAMS) throw new Error(`parameter count ${params} != ${EXPECTED_PARAMS}`);
  const model = buildEncoderModel(w);
  writeAtomic(out, model);
  if (weightsOut) writeSafetensors(weightsOut, w, { source: weights ?? `seeded random, seed ${seed}`, format: 'pt' });
  return { out, weightsOut, params, bytes: model.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const r = exportEncoder(args);
  console.log(
    `wrote ${r.out} (${(statSync(r.out).size / 2 ** 20).toFixed(1)} MiB, ${r.params.toLocaleString('en-US')} parameters = expected ${EXPECTED_PARAMS.toLocaleString('en-US')}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (r.weightsOut) console.log(`wrote ${r.weightsOut} (PyTorch names and layout, F32)`);
}
