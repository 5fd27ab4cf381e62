#!/usr/bin/env node
// Makes `packages/vision/weights/fmnist-dual-stream.safetensors` (the Fashion-MNIST model bundled with @geolip/vision)
// from a `geolip-train run fmnist-vit` output, and measures it.
//
//   npm run build
//   node tools/vision/fmnist-weights.mjs make --model <model.safetensors> --embeddings <embeddings-train.safetensors> \
//     --result <result.json> [--data /usr/share/datasets/fashion-mnist] [--out packages/vision/weights/fmnist-dual-stream.safetensors]
//   node tools/vision/fmnist-weights.mjs eval [--weights <file>] [--limit 10000] [--backend wasm] [--compare N]
//   node tools/vision/fmnist-weights.mjs embed [--weights <file>] --out-dir <dir> [--backend wasm] [--rows N] [--splits train,test]
//
// make: a thin caller of the recipe stage `geolip-train run fmnist-export` (exportFashionMnist of @geolip/recipes,
//   exportFashionMnistWeights of @geolip/vision): every tensor → F16 (PyTorch layout, names unchanged); metadata: the
//   source's `geolip.model` and `geolip.config`, plus `geolip.classes` (the 10 class names), `geolip.testAccuracy`
//   (the fp32 run's, from result.json), `geolip.anchorLabels` (per anchor: the majority class, its share and the count
//   of the 60,000 training-split images whose nearest anchor it is, from the run's own train embeddings) and
//   `geolip.source`.
// eval: accuracy of the shipped file on the first `limit` test images, and the agreement of its nearest anchor's label
//   with the true class. With --compare N, the first N images again on the cpu backend (slow: about 1 s an image on
//   one core): label agreement and the largest probability difference. Writes JSON to stdout. On the GPU machine (webgpu through Dawn):
//   node tools/device/pack.mjs tools/vision/fmnist-weights.mjs --out .device/fw; there
//   bash .device/fw/run.sh eval --backend webgpu --data <unpacked IDX dir> --compare 100
// embed: the shipped file's unit embeddings of every image, `<dir>/embeddings-{train,test}.safetensors` (tensor
//   'embeddings' [N, D] F32, Fashion-MNIST order): the features `geolip-train run fmnist-david` reads when the fp32
//   run's own embeddings files are not at hand (they are the F16 model's, so they differ from those in the last bits).
//   A thin caller of the recipe stage `geolip-train run fmnist-embed` (embedFashionMnist of @geolip/recipes); --weights
//   may be any Dual-Stream file FashionMnistClassifier loads (e.g. an fmnist-vit run's model.safetensors); --splits
//   test (or train) embeds one split, so two processes can share the work on two cores.
// The model used (H100, no mastery queue, 14 epochs): results/vision/fmnist-long/nomastery/ (the model file itself
// came back in two parts, `model-dual-stream.safetensors.part-0{0,1}`: `cat` them).
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { initBackend } from '@geolip/geometry/backend';
import {
  embedFashionMnist,
  exportFashionMnist,
  parseFmnistEmbedConfig,
  parseFmnistExportConfig,
} from '@geolip/recipes';
import { FashionMnistClassifier } from '@geolip/vision';
import { loadFashionMnist } from '@geolip/vision/io';

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
    'out-dir': { type: 'string' },
    rows: { type: 'string' },
    splits: { type: 'string', default: 'train,test' },
  },
});

function need(name) {
  if (!args[name]) throw new Error(`fmnist-weights ${command}: --${name} is required`);
  return args[name];
}

async function make() {
  // The export stage of the recipes: `geolip-train run fmnist-export` runs the same function.
  const cfg = parseFmnistExportConfig(
    { model: need('model'), embeddings: need('embeddings'), result: need('result'), data: args.data, file: args.out },
    process.cwd(),
  );
  const summary = await exportFashionMnist(cfg, cfg.file);
  process.stdout.write(`${JSON.stringify(summary, null, 1)}\n`);
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
  process.stderr.write(
    `fmnist-weights eval: ${n} images on ${info.name} in ${seconds.toFixed(1)} s, accuracy ${report.accuracy}\n`,
  );
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

async function embed() {
  // The recipe stage `geolip-train run fmnist-embed` runs the same function.
  const dir = resolve(need('out-dir'));
  const info = await initBackend({ prefer: [args.backend], log: () => {} });
  // --rows N: the first N images of each split only (a check of this command; fmnist-david needs every row).
  const rows = args.rows === undefined ? 0 : Number(args.rows);
  if (args.rows !== undefined && !(Number.isInteger(rows) && rows >= 1))
    throw new Error(`fmnist-weights embed: --rows must be a positive integer, got ${args.rows}`);
  const cfg = parseFmnistEmbedConfig(
    { weights: args.weights, data: args.data, splits: args.splits.split(','), rows },
    process.cwd(),
  );
  const files = await embedFashionMnist(cfg, dir, (split, done, total) =>
    process.stderr.write(`fmnist-weights embed: ${split} ${done}/${total}\r`),
  );
  for (const f of files)
    process.stderr.write(
      `\nfmnist-weights embed: ${f.file} [${f.rows}, ${f.dim}] in ${f.seconds.toFixed(1)} s on ${info.name}\n`,
    );
}

if (command === 'make') await make();
else if (command === 'embed') await embed();
else if (command === 'eval') await evaluate();
else {
  process.stderr.write('usage: node tools/vision/fmnist-weights.mjs make|eval|embed [options] (see the header)\n');
  process.exit(2);
}
