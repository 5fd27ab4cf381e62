// STS-B dev Spearman of the shipped geolip-text student on onnxruntime-node, with the fp32 graph and the q8 graph
// (`weightType: 'int8'`: what `geolip-export text --variants q8` writes as onnx/model_quantized.onnx: MatMul weights
// and the token embedding int8 with per-column / per-row scales, DequantizeLinear in the graph). Both graphs are built
// in memory from packages/text/weights/geolip-text.safetensors, run in this one process with the same tokenizer,
// threads and batch; the embed times alternate between the two (median of 3 passes over the 3,000 dev sentences).
// Never reads a test split.
// Usage (from the repository root, after `npm run build`):
//   node tools/text/q8-stsb.mjs [data dir, default ../shared/data] [out, default results/text/q8-stsb.json]
import os from 'node:os';

import { writeFileAtomic } from '@geolip/io/node';
import { pearson, spearman } from '@geolip/metrics';
import { captionEncoderOnnxFromFile, loadBertUncasedTokenizer } from '@geolip/text';
import { loadStsb } from '@geolip/text/data';
import { OrtSentenceEmbedder, onnxRuntimeVersion } from '@geolip/text/ort';

import { machineInfo } from '../perf/machine.mjs';

const dataDir = process.argv[2] ?? '../shared/data';
const out = process.argv[3] ?? 'results/text/q8-stsb.json';
const weights = 'packages/text/weights/geolip-text.safetensors';
const threads = Math.min(2, os.cpus().length);
const batch = 64;

const dev = await loadStsb(`${dataDir}/stsb`, 'dev');
const a = dev.pairs.map((p) => p.a);
const b = dev.pairs.map((p) => p.b);
const gold = dev.pairs.map((p) => p.score);
const tokenizer = await loadBertUncasedTokenizer();

const variants = {};
for (const [name, weightType] of [
  ['fp32', 'float32'],
  ['q8', 'int8'],
]) {
  const m = await captionEncoderOnnxFromFile(weights, { weightType });
  const model = await OrtSentenceEmbedder.fromOnnx(m.onnx, tokenizer, {
    maxLength: m.maxLength,
    params: m.params,
    name: `geolip-text ${name}`,
    normalize: false, // the graph normalizes
    threads,
    batchSize: batch,
  });
  variants[name] = { model, onnxBytes: m.onnx.byteLength, times: [] };
}

const rows = {};
for (const [name, v] of Object.entries(variants)) {
  const ea = await v.model.encode(a);
  const eb = await v.model.encode(b);
  const scores = v.model.similarityPairwise(ea, eb);
  rows[name] = { ea, eb, scores };
}
// alternate the timed passes, so load on the shared machine affects both alike
const all = [...a, ...b];
for (let r = 0; r < 3; r++)
  for (const v of Object.values(variants)) {
    const t0 = performance.now();
    await v.model.embed(all);
    v.times.push((performance.now() - t0) / 1000);
  }

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const cosines = [];
for (const side of ['ea', 'eb'])
  for (let i = 0; i < rows.fp32[side].length; i++) {
    const p = rows.fp32[side].row(i);
    const q = rows.q8[side].row(i);
    let c = 0;
    for (let k = 0; k < p.length; k++) c += p[k] * q[k];
    cosines.push(c);
  }
cosines.sort((x, y) => x - y);

const r4 = (x) => Math.round(x * 1e4) / 1e4;
const result = {
  task: 'STS-B dev (1500 pairs), Spearman / Pearson ×100 of the cosine of the two embeddings against the gold scores',
  command: `node tools/text/q8-stsb.mjs ${process.argv[2] ?? '../shared/data'} ${out}`,
  date: new Date().toISOString(),
  model: { name: 'geolip-text', weights: `${weights} (F16)`, dim: 100, params: variants.fp32.model.params },
  runtime: { onnxruntime_node: onnxRuntimeVersion(), device: 'cpu', threads, batch },
  q8: 'weights-only int8: MatMul weights per output column, token embedding per row, symmetric (scale max|w|/127, zero point 0); activations, biases, norms and positions stay float32',
  machine: { ...machineInfo(), loadavg_1_5_15: os.loadavg().map((x) => Math.round(x * 100) / 100) },
  rows: Object.entries(variants).map(([name, v]) => ({
    variant: name,
    file: name === 'fp32' ? 'onnx/model.onnx' : 'onnx/model_quantized.onnx',
    onnx_mb: Math.round(v.onnxBytes / 1e4) / 100,
    spearman: r4(spearman(rows[name].scores, gold) * 100),
    pearson: r4(pearson(rows[name].scores, gold) * 100),
    embed_3000_sentences_s_median: Math.round(median(v.times) * 1000) / 1000,
    embed_times_s: v.times.map((t) => Math.round(t * 1000) / 1000),
  })),
  q8_vs_fp32_cosine: {
    sentences: cosines.length,
    min: r4(cosines[0]),
    median: r4(cosines[Math.floor(cosines.length / 2)]),
    mean: r4(cosines.reduce((s, x) => s + x, 0) / cosines.length),
  },
};
for (const v of Object.values(variants)) v.model.dispose();
await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.rows.map(({ embed_times_s: _, ...r }) => r)));
console.log(JSON.stringify(result.q8_vs_fp32_cosine));
