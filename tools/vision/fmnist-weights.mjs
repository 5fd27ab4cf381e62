#!/usr/bin/env node
// Makes `packages/vision/weights/fmnist-dual-stream.safetensors` (the Fashion-MNIST model bundled with @geolip/vision)
// from a `geolip-train run fmnist-vit` output, and measures it.
//
//   npm run build
//   node tools/vision/fmnist-weights.mjs make --model <model.safetensors> --embeddings <embeddings-train.safetensors> \
//     --result <result.json> [--data /usr/share/datasets/fashion-mnist] [--out packages/vision/weights/fmnist-dual-stream.safetensors]
//   node tools/vision/fmnist-weights.mjs eval [--weights <file>] [--limit 10000] [--backend wasm] [--compare N]
//
// make: every tensor → F16 (PyTorch layout, names unchanged); metadata: the source's `geolip.model` and
//   `geolip.config`, plus `geolip.classes` (the 10 class names), `geolip.testAccuracy` (the fp32 run's, from
//   result.json), `geolip.anchorLabels` (per anchor: the majority class, its share and the count of the 60,000
//   training-split images whose nearest anchor it is, from the run's own train embeddings) and `geolip.source`.
// eval: accuracy of the shipped file on the first `limit` test images, and the agreement of its nearest anchor's label
//   with the true class. With --compare N, the first N images again on the cpu backend (slow: about 1 s an image on
//   one core): label agreement and the largest probability difference. Writes JSON to stdout. On the GPU machine (webgpu through Dawn):
//   node tools/device/pack.mjs tools/vision/fmnist-weights.mjs --out .device/fw; there
//   bash .device/fw/run.sh eval --backend webgpu --data <unpacked IDX dir> --compare 100
// The model used (H100, no mastery queue, 14 epochs): results/vision/fmnist-long/nomastery/ (the model file itself
// came back in two parts, `model-dual-stream.safetensors.part-0{0,1}`: `cat` them).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { float32ToFloat16Bits, readSafetensors, toFloat32, writeSafetensors } from '@geolip/geometry';
import { initBackend } from '@geolip/geometry/backend';
import { FashionMnistClassifier } from '@geolip/vision';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '@geolip/vision/io';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_OUT = join(root, 'packages/vision/weights/fmnist-dual-stream.safetensors');
const [command, ...rest] = process.argv.slice(2);
const { values: args } = parseArgs({
  args: rest,
  options: {
    model: { type: 'string' },
    embeddings: { type: 'string' },
    result: { type: 'string' },
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    out: { type: 'string', default: DEFAULT_OUT },
    weights: { type: 'string', default: DEFAULT_OUT },
    limit: { type: 'string', default: '10000' },
    backend: { type: 'string', default: 'wasm' },
    compare: { type: 'string', default: '0' },
  },
});

function need(name) {
  if (!args[name]) throw new Error(`fmnist-weights ${command}: --${name} is required`);
  return args[name];
}

/** Per anchor: majority class, share and count among the rows whose nearest anchor it is. */
function anchorLabels(anchors, A, D, emb, labels) {
  const unit = new Float32Array(A * D);
  for (let a = 0; a < A; a++) {
    let n = 0;
    for (let d = 0; d < D; d++) n += anchors[a * D + d] ** 2;
    n = Math.sqrt(n);
    for (let d = 0; d < D; d++) unit[a * D + d] = anchors[a * D + d] / n;
  }
  const counts = Array.from({ length: A }, () => new Array(FASHION_MNIST_CLASSES.length).fill(0));
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    let bestCos = -Infinity;
    for (let a = 0; a < A; a++) {
      let c = 0;
      for (let d = 0; d < D; d++) c += emb[i * D + d] * unit[a * D + d];
      if (c > bestCos) [best, bestCos] = [a, c];
    }
    counts[best][labels[i]]++;
  }
  return counts.map((row) => {
    const count = row.reduce((s, v) => s + v, 0);
    const label = count === 0 ? -1 : row.indexOf(Math.max(...row));
    return { label, share: count === 0 ? 0 : Math.round((row[label] / count) * 1e4) / 1e4, count };
  });
}

async function make() {
  const src = readSafetensors(readFileSync(need('model')), { copy: true });
  if (src.metadata['geolip.model'] !== 'dual-stream') throw new Error(`--model: geolip.model is ${src.metadata['geolip.model']}, not dual-stream`);
  const config = JSON.parse(src.metadata['geolip.config']);
  const result = JSON.parse(readFileSync(need('result'), 'utf8'));
  const embFile = readSafetensors(readFileSync(need('embeddings'))).tensors.embeddings;
  const train = await loadFashionMnist('train', { dir: args.data });
  const [rows, D] = embFile.shape;
  if (rows !== train.n || D !== config.outDim) throw new Error(`--embeddings: shape [${embFile.shape}] is not [${train.n}, ${config.outDim}]`);
  const anchorsEntry = src.tensors['constellation.anchors'];
  const labels = anchorLabels(toFloat32(anchorsEntry), config.anchors, D, toFloat32(embFile), train.labels);
  const tensors = {};
  for (const [name, e] of Object.entries(src.tensors)) {
    tensors[name] = { dtype: 'F16', shape: e.shape, data: Uint16Array.from(toFloat32(e), float32ToFloat16Bits) };
  }
  const meta = {
    'geolip.model': 'dual-stream',
    'geolip.config': src.metadata['geolip.config'],
    'geolip.classes': JSON.stringify(FASHION_MNIST_CLASSES),
    'geolip.testAccuracy': String(result.testAccuracy),
    'geolip.anchorLabels': JSON.stringify(labels),
    'geolip.source': `geolip-train run fmnist-vit (dual-stream, ${result.epochs} epochs, ${result.steps} steps, no mastery queue; H100 webgpu); fp16`,
  };
  const tmp = `${args.out}.tmp-${process.pid}`;
  writeFileSync(tmp, writeSafetensors(tensors, meta));
  renameSync(tmp, args.out);
  const used = labels.filter((l) => l.count > 0);
  const pure = used.reduce((s, l) => s + l.share * l.count, 0) / train.n;
  process.stdout.write(`${JSON.stringify({ out: args.out, anchors: labels.length, used: used.length, purity: pure }, null, 1)}\n`);
}

async function evaluate() {
  const info = await initBackend({ prefer: [args.backend], log: () => {} });
  const limit = Number(args.limit);
  const test = await loadFashionMnist('test', { dir: args.data });
  const n = Math.min(limit, test.n);
  const clf = await FashionMnistClassifier.fromWeights(args.weights);
  const t0 = performance.now();
  const preds = await clf.classify(test.images.subarray(0, n * 784), { topAnchors: 1, batchSize: 250 });
  const seconds = (performance.now() - t0) / 1000;
  let hits = 0;
  let anchorHits = 0;
  preds.forEach((p, i) => {
    if (p.label === test.labels[i]) hits++;
    if (p.nearestAnchors[0].label?.label === test.labels[i]) anchorHits++;
  });
  const report = {
    weights: relative(root, resolve(args.weights)),
    images: n,
    accuracy: hits / n,
    nearestAnchorLabelAccuracy: anchorHits / n,
    fp32Accuracy: Number(clf.metadata['geolip.testAccuracy']),
    backend: info.name,
    ...(info.adapter ? { adapter: info.adapter } : {}),
    seconds,
  };
  process.stderr.write(`fmnist-weights eval: ${n} images on ${info.name} in ${seconds.toFixed(1)} s, accuracy ${report.accuracy}\n`);
  const m = Math.min(Number(args.compare), n);
  if (m > 0) {
    // A second model on cpu: the first one's weights live on the first backend (webgpu cannot read them back
    // synchronously, which a cpu kernel would need).
    await initBackend({ prefer: ['cpu'], log: () => {} });
    const cpuClf = await FashionMnistClassifier.fromWeights(args.weights);
    const ref = await cpuClf.classify(test.images.subarray(0, m * 784), { topAnchors: 1, batchSize: 250 });
    cpuClf.dispose();
    let same = 0;
    let worst = 0;
    ref.forEach((r, i) => {
      if (r.label === preds[i].label) same++;
      r.probabilities.forEach((v, c) => (worst = Math.max(worst, Math.abs(v - preds[i].probabilities[c]))));
    });
    report.againstCpu = { images: m, sameLabel: same / m, maxProbabilityDiff: worst };
  }
  clf.dispose();
  process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
}

if (command === 'make') await make();
else if (command === 'eval') await evaluate();
else {
  process.stderr.write('usage: node tools/vision/fmnist-weights.mjs make|eval [options] (see the header)\n');
  process.exit(2);
}
