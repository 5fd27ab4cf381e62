// STS-B dev Spearman of the shipped geolip-text student at float32, int8, uint8, binary and ubinary embeddings
// (`encode(…, { precision })`, sentence-transformers' quantize_embeddings semantics), with the scores as
// `model.similarity` gives them: cosine for float32 / int8 / uint8, 1 − 2·hamming/d for the packed sign bits.
// int8 / uint8 ranges are calibrated on the STS-B train sentences (never the dev split being scored).
// Usage (from the repository root, after `npm run build`; GEOLIP_WASM_THREADS=1 on a shared machine):
//   node tools/text/quantized-stsb.mjs [data dir, default ../shared/data] [out, default results/text/quantized-stsb.json]
import { initBackend } from '@geolip/nn/backend';
import { writeFileAtomic } from '@geolip/io/node';
import { spearman, pearson } from '@geolip/metrics';
import { calibrationRanges, loadGeolipText } from '@geolip/text';
import { loadStsb } from '@geolip/text/data';
import * as tf from '@tensorflow/tfjs-core';

import { machineInfo } from '../perf/machine.mjs';

const dataDir = process.argv[2] ?? '../shared/data';
const out = process.argv[3] ?? 'results/text/quantized-stsb.json';

const info = await initBackend({ prefer: ['wasm'], log: (m) => console.error(m) });
const model = await loadGeolipText({ runtime: 'tfjs' }); // the recorded run: tfjs on wasm (ort is the default where installed)
const [train, dev] = await Promise.all([loadStsb(`${dataDir}/stsb`, 'train'), loadStsb(`${dataDir}/stsb`, 'dev')]);
const calibrationTexts = [...new Set(train.pairs.flatMap((p) => [p.a, p.b]))];
const started = performance.now();
console.error(`[quantized-stsb] calibrating on ${calibrationTexts.length} STS-B train sentences…`);
const calibration = await model.encode(calibrationTexts, { batchSize: 256 });
const ranges = calibrationRanges(calibration);
const gold = dev.pairs.map((p) => p.score);
const a = dev.pairs.map((p) => p.a);
const b = dev.pairs.map((p) => p.b);

const rows = [];
for (const precision of ['float32', 'int8', 'uint8', 'binary', 'ubinary']) {
  const ea = await model.encode(a, { precision, ranges });
  const eb = await model.encode(b, { precision, ranges });
  const scores = model.similarityPairwise(ea, eb); // row i against row i: the diagonal of similarity(ea, eb)
  const bytesPerEmbedding = ea.data.BYTES_PER_ELEMENT * ea.dim;
  rows.push({
    precision,
    spearman: Math.round(spearman(scores, gold) * 1e6) / 1e4,
    pearson: Math.round(pearson(scores, gold) * 1e6) / 1e4,
    bytesPerEmbedding,
  });
  console.error(`[quantized-stsb] ${precision}: Spearman ${rows.at(-1).spearman}`);
}
model.dispose();

const result = {
  task: 'STS-B dev (1500 pairs), Spearman / Pearson ×100 of the pair scores against the gold scores',
  command: `GEOLIP_WASM_THREADS=${process.env.GEOLIP_WASM_THREADS ?? ''} node tools/text/quantized-stsb.mjs ${dataDir} ${out}`,
  date: new Date().toISOString(),
  model: { name: model.name, dim: model.dim, weights: 'packages/text/weights/geolip-text.safetensors (F16)' },
  calibration: `int8 / uint8 ranges: per-dimension min and max over ${calibrationTexts.length} unique STS-B train sentences`,
  scores: 'float32 / int8 / uint8: cosine; binary / ubinary: 1 − 2·hamming/d (the cosine of the ±1 sign vectors)',
  machine: { ...machineInfo({ tfVersion: tf.version_core }), backend: info.name, wasm: info.wasm ?? null },
  seconds: Math.round((performance.now() - started) / 100) / 10,
  rows,
};
await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(rows));
