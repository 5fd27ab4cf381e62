// Recipe `fmnist-vit`: the Dual-Stream ViT of @geolip/vision on Fashion-MNIST with the card's loss stack, or a plain
// ViT of about the same size trained the same way (issue 8, recipe 1). Reports test accuracy, the geo stream's own
// accuracy and the geometry diagnostics (anchors' `scan`: active anchors, CV, per-class CV).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { formatScan, scanAsync, anchorCVLoss, spreadLoss } from '@geolip/anchors';
import type { Rng } from '@geolip/geometry';
import { DUAL_STREAM_AUTOGRAD, DUAL_STREAM_V1, DualStreamViT, ViTEncoder } from '@geolip/vision';
import type { DualStreamViTConfig, ViTEncoderConfig } from '@geolip/vision';
import { FASHION_MNIST_CLASSES, batches, loadFashionMnist } from '@geolip/vision/io';
import type { ImageBatch, ImageBatchStream } from '@geolip/vision/io';
import { Linear, Module } from '@geolip/nn';

import { bceWithLabelSmoothing } from '../losses/classification.js';
import { cvLossTerm, geoDiversityLoss } from '../losses/geometric.js';
import { infoNCE } from '../losses/info-nce.js';
import { warmupCosine } from '../loop/schedule.js';
import { train } from '../loop/train.js';
import type { StepContext, TrainableModel } from '../loop/train.js';
import { writeFileAtomic } from '../io/write-atomic.js';
import { RecipeConfigError, configReader, isObject } from './config.js';
import type { Recipe, RecipeIo, RecipeRunOptions } from './types.js';

/** Weights of the loss stack (dual-stream v6 card, spec §8.10). The plain ViT uses `bce` and `infoNCE` only. */
export interface FmnistLossWeights {
  bce: number;
  infoNCE: number;
  geoBce: number;
  geoDiversity: number;
  cv: number;
  anchorCv: number;
  cm: number;
  spread: number;
}

const LOSS_DEFAULTS: FmnistLossWeights = { bce: 1, infoNCE: 0.1, geoBce: 0.3, geoDiversity: 0.5, cv: 0.1, anchorCv: 0.05, cm: 0.1, spread: 0.001 };

/** The Dual-Stream ViT for 28×28×1 (the v1 topology at patch 4: 49 tokens). */
export const FMNIST_DUAL_STREAM: Readonly<DualStreamViTConfig> = Object.freeze({ ...DUAL_STREAM_V1, imageSize: 28, channels: 1 });

/** The plain ViT beside it: 8 pre-norm layers at 256 (close to the dual-stream's parameter count), 128-d output. */
export const FMNIST_PLAIN_VIT: Readonly<ViTEncoderConfig> = Object.freeze({
  imageSize: 28,
  patchSize: 4,
  channels: 1,
  dModel: 256,
  heads: 8,
  ffDim: 1024,
  layers: 8,
  outDim: 128,
} as ViTEncoderConfig);

export interface FmnistVitConfig {
  model: 'dual-stream' | 'vit';
  data: string;
  epochs: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  clipNorm: number;
  smoothing: number;
  temperature: number;
  cvTarget: number;
  autograd: boolean;
  loss: FmnistLossWeights;
  /** Use only the first N training / test images (tests and smoke runs); 0 = all. */
  trainLimit: number;
  testLimit: number;
  evalEvery: number;
  seed: number;
  checkpointEvery: number;
  /** Overrides of the model config (e.g. `{ "dualBlocks": 1 }` for a smoke run). */
  modelConfig: Record<string, number>;
}

const R = configReader('fmnist-vit');
const KEYS = ['model', 'data', 'epochs', 'batchSize', 'lr', 'warmupSteps', 'weightDecay', 'clipNorm', 'smoothing', 'temperature', 'cvTarget', 'autograd', 'loss', 'trainLimit', 'testLimit', 'evalEvery', 'seed', 'checkpointEvery', 'modelConfig'];

export function parseFmnistVitConfig(raw: unknown, configDir: string): FmnistVitConfig {
  if (!isObject(raw)) R.fail('must be a JSON object');
  const o = raw as Record<string, unknown>;
  R.keys(o, KEYS);
  const l = R.object(o, 'loss') ?? {};
  R.keys(l, Object.keys(LOSS_DEFAULTS), 'loss');
  const loss = Object.fromEntries(Object.entries(LOSS_DEFAULTS).map(([k, v]) => [k, R.num(l, k, '>=0', v, 'loss')])) as unknown as FmnistLossWeights;
  const mc = R.object(o, 'modelConfig') ?? {};
  const modelConfig: Record<string, number> = {};
  for (const k of Object.keys(mc)) modelConfig[k] = R.num(mc, k, 'int>0', 0, 'modelConfig');
  if (o.autograd !== undefined && typeof o.autograd !== 'boolean') R.fail(`'autograd' must be true or false`);
  return {
    model: R.choice(o, 'model', ['dual-stream', 'vit'] as const, 'dual-stream'),
    data: resolve(configDir, R.optStr(o, 'data') ?? '/usr/share/datasets/fashion-mnist'),
    epochs: R.num(o, 'epochs', 'int>0', 10),
    batchSize: R.num(o, 'batchSize', 'int>0', 256),
    lr: R.num(o, 'lr', '>0', 1e-3),
    warmupSteps: R.num(o, 'warmupSteps', 'int>=0', 200),
    weightDecay: R.num(o, 'weightDecay', '>=0', 0.05),
    clipNorm: R.num(o, 'clipNorm', '>0', 1),
    smoothing: R.num(o, 'smoothing', '>=0', 0.1),
    temperature: R.num(o, 'temperature', '>0', 0.07),
    cvTarget: R.num(o, 'cvTarget', '>0', 0.2),
    autograd: (o.autograd as boolean | undefined) ?? true,
    loss,
    trainLimit: R.num(o, 'trainLimit', 'int>=0', 0),
    testLimit: R.num(o, 'testLimit', 'int>=0', 0),
    evalEvery: R.num(o, 'evalEvery', 'int>0', 1000),
    seed: R.num(o, 'seed', 'int>=0', 0),
    checkpointEvery: R.num(o, 'checkpointEvery', 'int>0', 1000),
    modelConfig,
  };
}

/** The plain ViT with a linear classifier on its 128-d sphere embedding. */
class PlainVit extends Module {
  readonly encoder: ViTEncoder;
  readonly classifier: Linear;
  constructor(config: ViTEncoderConfig, seed: number) {
    super();
    this.encoder = this.addModule('encoder', new ViTEncoder(config, { seed }));
    this.classifier = this.addModule('classifier', new Linear(config.outDim, 10, { seed: seed + 1 }));
  }
  forward(images: tf.Tensor4D): { logits: tf.Tensor2D; emb: tf.Tensor2D } {
    return tf.tidy(() => {
      const emb = this.encoder.forward(images) as tf.Tensor2D;
      return { logits: this.classifier.forward(emb), emb } as never;
    });
  }
}

type Net = { kind: 'dual-stream'; model: DualStreamViT } | { kind: 'vit'; model: PlainVit };

class Trainer implements TrainableModel<ImageBatch> {
  constructor(
    readonly net: Net,
    private readonly cfg: FmnistVitConfig,
  ) {}

  getWeights(): Record<string, tf.Variable> {
    return this.net.model.getWeights();
  }

  loss(batch: ImageBatch, ctx: StepContext): tf.Scalar {
    const { cfg } = this;
    const w = cfg.loss;
    return tf.tidy(() => {
      const images = tf.tensor4d(batch.images, batch.shape);
      const view2 = tf.reverse(images, 2) as tf.Tensor4D; // the second view of InfoNCE: the mirror image [INFER]
      const labels = tf.tensor1d(batch.labels, 'int32');
      const oneHot = tf.cast(tf.oneHot(labels, 10), 'float32') as tf.Tensor2D;
      const terms: tf.Tensor[] = [];
      if (this.net.kind === 'vit') {
        const a = this.net.model.forward(images);
        terms.push(tf.mul(w.bce, bceWithLabelSmoothing(a.logits, oneHot, { smoothing: cfg.smoothing })));
        if (w.infoNCE > 0) terms.push(tf.mul(w.infoNCE, infoNCE(a.emb, this.net.model.forward(view2).emb, { temperature: cfg.temperature }).loss));
        return tf.addN(terms) as tf.Scalar;
      }
      const m = this.net.model;
      const opts = { training: true, ...(cfg.autograd ? { autograd: DUAL_STREAM_AUTOGRAD } : {}) };
      const a = m.forward(images, opts);
      terms.push(tf.mul(w.bce, bceWithLabelSmoothing(a.logits, oneHot, { smoothing: cfg.smoothing })));
      if (w.geoBce > 0) terms.push(tf.mul(w.geoBce, bceWithLabelSmoothing(a.geoLogits, oneHot, { smoothing: cfg.smoothing })));
      if (w.infoNCE > 0) terms.push(tf.mul(w.infoNCE, infoNCE(a.emb, m.forward(view2, opts).emb, { temperature: cfg.temperature }).loss));
      if (w.geoDiversity > 0) terms.push(tf.mul(w.geoDiversity, geoDiversityLoss(a.geoEmb, batch.labels)));
      if (w.cv > 0) terms.push(tf.mul(w.cv, cvLossTerm(a.emb, cfg.cvTarget, { rng: ctx.rng })));
      if (w.anchorCv > 0) terms.push(tf.mul(w.anchorCv, anchorCVLoss(m.constellation, cfg.cvTarget, { rng: ctx.rng })));
      if (w.cm > 0) terms.push(tf.mul(w.cm, tf.mean(tf.relu(tf.neg(a.cmVolumeSquared))))); // CM validity: penalize V² < 0
      if (w.spread > 0) terms.push(tf.mul(w.spread, spreadLoss(m.constellation)));
      return tf.addN(terms) as tf.Scalar;
    });
  }
}

/** Accuracy of the main (and geo) classifier on a split, in batches; also returns the embeddings for `scan`. */
async function evaluate(net: Net, images: Uint8Array, labels: Uint8Array, n: number, batch: number): Promise<{ acc: number; geoAcc: number; emb: Float32Array }> {
  let hits = 0;
  let geoHits = 0;
  const emb = new Float32Array(n * 128);
  for (let s = 0; s < n; s += batch) {
    const b = Math.min(batch, n - s);
    const x = tf.tidy(() => tf.div(tf.tensor4d(Float32Array.from(images.subarray(s * 784, (s + b) * 784)), [b, 28, 28, 1]), 255) as tf.Tensor4D);
    const out = tf.tidy(() => {
      if (net.kind === 'vit') {
        const o = net.model.forward(x);
        return [tf.argMax(o.logits, 1), tf.argMax(o.logits, 1), o.emb];
      }
      const o = net.model.forward(x);
      return [tf.argMax(o.logits, 1), tf.argMax(o.geoLogits, 1), o.emb];
    });
    const [p, g, e] = await Promise.all(out.map((t) => t.data()));
    for (let i = 0; i < b; i++) {
      if (p![i] === labels[s + i]) hits++;
      if (g![i] === labels[s + i]) geoHits++;
    }
    emb.set((e as Float32Array).subarray(0, b * 128), s * 128);
    tf.dispose([x, ...out]);
  }
  return { acc: hits / n, geoAcc: geoHits / n, emb };
}

async function run(rawConfig: unknown, io: RecipeIo, options: RecipeRunOptions): Promise<number> {
  const cfg = parseFmnistVitConfig(rawConfig, dirname(options.configPath));
  const trainSet = await loadFashionMnist('train', { dir: cfg.data });
  const testSet = await loadFashionMnist('test', { dir: cfg.data });
  const nTrain = cfg.trainLimit > 0 ? Math.min(cfg.trainLimit, trainSet.n) : trainSet.n;
  const nTest = cfg.testLimit > 0 ? Math.min(cfg.testLimit, testSet.n) : testSet.n;
  const trainData = { ...trainSet, n: nTrain, images: trainSet.images.subarray(0, nTrain * 784), labels: trainSet.labels.subarray(0, nTrain) };
  const stream: ImageBatchStream = batches(trainData, { batchSize: cfg.batchSize, shuffle: true, seed: cfg.seed, epochs: cfg.epochs, dropLast: true, augment: { randomCrop: { padding: 2 }, flip: true } });
  const totalSteps = stream.length;
  if (totalSteps < 1) throw new RecipeConfigError(`fmnist-vit: ${nTrain} training images give no batch of ${cfg.batchSize}`);

  const net: Net =
    cfg.model === 'vit'
      ? { kind: 'vit', model: new PlainVit({ ...FMNIST_PLAIN_VIT, ...cfg.modelConfig } as ViTEncoderConfig, cfg.seed) }
      : { kind: 'dual-stream', model: new DualStreamViT({ ...FMNIST_DUAL_STREAM, ...cfg.modelConfig } as DualStreamViTConfig, { seed: cfg.seed }) };
  io.stdout.write(`fmnist-vit: ${cfg.model}, ${net.model.paramCount().toLocaleString('en-US')} parameters; ${nTrain} train / ${nTest} test images, ${cfg.epochs} epochs = ${totalSteps} steps of ${cfg.batchSize}\n`);

  // Sequential access to the stream (train() asks for steps in order; a resume starts a fresh cursor).
  let cursor: Iterator<ImageBatch> | undefined;
  let cursorStep = -1;
  const data = (step: number, _rng: Rng): ImageBatch => {
    if (cursor === undefined || step !== cursorStep + 1) {
      cursor = stream[Symbol.iterator]();
      for (let s = 0; s < step; s++) cursor.next();
    }
    cursorStep = step;
    return cursor.next().value as ImageBatch;
  };

  const ckDir = join(options.out, 'checkpoints');
  const metricsFile = join(options.out, 'metrics.jsonl');
  if (!options.resume && existsSync(join(ckDir, 'latest.json'))) throw new RecipeConfigError(`fmnist-vit: ${ckDir} already holds a checkpoint; pass --resume or another --out`);
  if (!options.resume) await rm(metricsFile, { force: true });
  const t0 = Date.now();
  try {
    const summary = await train<ImageBatch>({
      model: new Trainer(net, cfg),
      data,
      steps: options.steps ?? totalSteps,
      optimizer: { lr: cfg.lr, weightDecay: cfg.weightDecay },
      schedule: warmupCosine({ warmupSteps: Math.min(cfg.warmupSteps, totalSteps), totalSteps, peakLr: cfg.lr }),
      clipNorm: cfg.clipNorm,
      seed: cfg.seed,
      evalEvery: cfg.evalEvery,
      evaluate: async () => {
        const r = await evaluate(net, testSet.images, testSet.labels, Math.min(nTest, 2000), 500);
        return { test_acc_2k: r.acc, geo_acc_2k: r.geoAcc };
      },
      checkpoint: { dir: ckDir, every: cfg.checkpointEvery, keep: 1 },
      ...(options.resume ? { resumeFrom: ckDir } : {}),
      config: { recipe: 'fmnist-vit', ...JSON.parse(JSON.stringify(cfg)) },
      metricsFile,
      progress: true,
    });
    const trainSeconds = (Date.now() - t0) / 1000;
    const final = await evaluate(net, testSet.images, testSet.labels, nTest, 500);
    const emb = tf.tensor2d(final.emb, [nTest, 128]);
    const report = await scanAsync(emb, {
      labels: Array.from(testSet.labels.subarray(0, nTest)),
      ...(net.kind === 'dual-stream' ? { anchors: net.model.constellation } : {}),
      name: `${cfg.model} test embeddings`,
      seed: cfg.seed,
    });
    emb.dispose();
    const result = {
      model: cfg.model,
      params: net.model.paramCount(),
      steps: summary.step,
      epochs: cfg.epochs,
      trainImages: nTrain,
      testImages: nTest,
      testAccuracy: final.acc,
      ...(net.kind === 'dual-stream' ? { geoAccuracy: final.geoAcc } : {}),
      trainSeconds,
      classes: FASHION_MNIST_CLASSES,
      scan: report,
    };
    await writeFileAtomic(join(options.out, 'result.json'), JSON.stringify(result, null, 2) + '\n');
    io.stdout.write(`\nfmnist-vit: ${cfg.model} test accuracy ${(100 * final.acc).toFixed(2)}%` + (net.kind === 'dual-stream' ? `, geo stream alone ${(100 * final.geoAcc).toFixed(2)}%` : '') + ` (${nTest} test images, ${summary.step} steps, ${trainSeconds.toFixed(0)} s)\n`);
    io.stdout.write(formatScan(report) + '\n');
    io.stdout.write(`wrote ${join(options.out, 'result.json')}, ${metricsFile}\n`);
    return 0;
  } finally {
    net.model.dispose();
  }
}

/** `geolip-train run fmnist-vit`: Dual-Stream ViT (or a plain ViT) on Fashion-MNIST with the card's loss stack. */
export const fmnistVit: Recipe = {
  description: 'Dual-Stream ViT (or a plain ViT of about the same size) on Fashion-MNIST with the card loss stack; test accuracy and geometry diagnostics',
  run,
};
