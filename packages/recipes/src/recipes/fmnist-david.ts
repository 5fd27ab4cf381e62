// Recipe `fmnist-david` (issue 8, recipe 2): GeoFractalDavid (spec §11) with its contrastive basin loss (§11.2) on
// fixed feature vectors of Fashion-MNIST: the raw pixels, or a features file per split (e.g. a trained Dual-Stream
// ViT's embeddings). Reports the test accuracy of the fused logits and of every scale.
import { join, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { GEO_FRACTAL_DAVID_TYPE, GeoFractalDavid, basinLoss } from '@geolip/vision';
import type { CantorMode, GeoFractalDavidConfig } from '@geolip/vision';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from '@geolip/vision/io';

import {
  RecipeConfigError,
  configReader,
  defineRecipe,
  isObject,
  optimizerOptions,
  readCheckpointBlock,
  readDataBlock,
  readOptimizerBlock,
  readWeightsAsync,
  show,
  train,
} from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import type { CheckpointBlock, DataBlock, OptimizerBlock, RecipeRun, TrainableModel } from '@geolip/train';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';

import { readEmbeddingsFile } from './embeddings.js';
import { readConfigObject, trainingKeys } from './config-blocks.js';

const NAME = 'fmnist-david';
const R = configReader(NAME);

/** The model options of the config (`model`); `featureDim` comes from the features, `numClasses` is 10. */
interface FmnistDavidModelConfig {
  k: number;
  scales: number[];
  cantorMode: CantorMode;
  levels: number;
  alphaInit: number;
  tau: number;
}

/** Weights of {@link basinLoss} (`loss`). */
interface FmnistDavidLossConfig {
  temperature: number;
  coherence: number;
  separation: number;
  margin: number;
  discretization: number;
}

/** The validated config of {@link fmnistDavid} (paths absolute). */
export interface FmnistDavidConfig extends DataBlock, CheckpointBlock, Required<OptimizerBlock> {
  /** `'pixels'`, or one features file per split (rows in Fashion-MNIST order). */
  features: 'pixels' | { train: string; test: string };
  /** Subtract the training rows' per-column mean before the model (which L2-normalizes every row itself). */
  center: boolean;
  data: string;
  epochs: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  clipNorm: number;
  /** Learning-rate multipliers of the card's groups: scale heads 1, fusion weights `fusion`, Cantor stairs `stairs`. */
  lrScale: { fusion: number; stairs: number };
  model: FmnistDavidModelConfig;
  loss: FmnistDavidLossConfig;
  /** Use only the first N training / test rows (tests and smoke runs); 0 = all. */
  trainLimit: number;
  testLimit: number;
  evalEvery: number;
  seed: number;
  checkpointEvery: number;
}

export const FMNIST_DAVID_MODEL: Readonly<FmnistDavidModelConfig> = Object.freeze({
  k: 5,
  scales: [64, 128, 256],
  cantorMode: 'feature',
  levels: 12,
  alphaInit: 0.5,
  tau: 0.25,
});

const LOSS_DEFAULTS: FmnistDavidLossConfig = {
  temperature: 0.1,
  coherence: 0.5,
  separation: 0.1,
  margin: 0.3,
  discretization: 0.01,
};

const OPTIMIZER: OptimizerBlock = { lr: 2e-3, warmupSteps: 100, weightDecay: 0.01, clipNorm: 1 };
const KEYS = [
  'features',
  'center',
  ...trainingKeys(OPTIMIZER),
  'lrScale',
  'model',
  'loss',
  'evalEvery',
  'seed',
  'checkpointEvery',
];

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. Throws a one-line error naming the
 * field.
 */
export function parseFmnistDavidConfig(raw: unknown, configDir: string): FmnistDavidConfig {
  const o = readConfigObject(R, raw, KEYS);

  let features: FmnistDavidConfig['features'];
  const f = o.features ?? 'pixels';
  if (f === 'pixels') features = 'pixels';
  else if (isObject(f)) {
    R.keys(f, ['train', 'test'], 'features');
    features = {
      train: resolve(configDir, R.str(f, 'train', 'features')),
      test: resolve(configDir, R.str(f, 'test', 'features')),
    };
  } else {
    return R.fail(`'features' must be 'pixels' or {"train": file, "test": file}, got ${show(f)}`);
  }

  const m = R.object(o, 'model') ?? {};
  R.keys(m, Object.keys(FMNIST_DAVID_MODEL), 'model');
  const k = R.num(m, 'k', 'int>0', FMNIST_DAVID_MODEL.k, 'model');
  const scalesRaw = m.scales ?? FMNIST_DAVID_MODEL.scales;
  if (!Array.isArray(scalesRaw) || scalesRaw.length === 0)
    R.fail(`'model.scales' must be a non-empty array of widths, got ${show(scalesRaw)}`);
  const scales = (scalesRaw as unknown[]).map((s, i) => {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < k + 1)
      R.fail(`'model.scales[${i}]' must be an integer >= k + 1 = ${k + 1}, got ${show(s)}`);
    return s as number;
  });
  const model: FmnistDavidModelConfig = {
    k,
    scales,
    cantorMode: R.choice(
      m,
      'cantorMode',
      ['feature', 'batch-position'] as const,
      FMNIST_DAVID_MODEL.cantorMode,
      'model',
    ),
    levels: R.num(m, 'levels', 'int>0', FMNIST_DAVID_MODEL.levels, 'model'),
    alphaInit: R.num(m, 'alphaInit', 'number', FMNIST_DAVID_MODEL.alphaInit, 'model'),
    tau: R.num(m, 'tau', '>0', FMNIST_DAVID_MODEL.tau, 'model'),
  };

  const l = R.object(o, 'loss') ?? {};
  R.keys(l, Object.keys(LOSS_DEFAULTS), 'loss');
  const loss = {
    temperature: R.num(l, 'temperature', '>0', LOSS_DEFAULTS.temperature, 'loss'),
    coherence: R.num(l, 'coherence', '>=0', LOSS_DEFAULTS.coherence, 'loss'),
    separation: R.num(l, 'separation', '>=0', LOSS_DEFAULTS.separation, 'loss'),
    margin: R.num(l, 'margin', '>=0', LOSS_DEFAULTS.margin, 'loss'),
    discretization: R.num(l, 'discretization', '>=0', LOSS_DEFAULTS.discretization, 'loss'),
  };
  const g = R.object(o, 'lrScale') ?? {};
  R.keys(g, ['fusion', 'stairs'], 'lrScale');

  return {
    features,
    center: R.bool(o, 'center', true),
    ...readDataBlock(R, o, FASHION_MNIST_DIR, configDir),
    epochs: R.num(o, 'epochs', 'int>0', 10),
    batchSize: R.num(o, 'batchSize', 'int>0', 256),
    ...(readOptimizerBlock(R, o, OPTIMIZER) as Required<OptimizerBlock>),
    lrScale: { fusion: R.num(g, 'fusion', '>=0', 0.5, 'lrScale'), stairs: R.num(g, 'stairs', '>=0', 0.1, 'lrScale') },
    model,
    loss,
    evalEvery: R.num(o, 'evalEvery', 'int>0', 500),
    seed: R.num(o, 'seed', 'int>=0', 0),
    ...readCheckpointBlock(R, o, 500),
  };
}

/** One split's features `[n, dim]` (float32, host) and labels. */
interface Split {
  x: Float32Array;
  labels: Uint8Array;
  n: number;
  dim: number;
}

/** Loads both splits' labels and features, applies the limits, validates row counts. */
async function loadSplits(cfg: FmnistDavidConfig): Promise<{ train: Split; test: Split; source: string }> {
  const sets = {
    train: await loadFashionMnist('train', { dir: cfg.data }),
    test: await loadFashionMnist('test', { dir: cfg.data }),
  };
  const limit = (n: number, lim: number) => (lim > 0 ? Math.min(lim, n) : n);
  const out = {} as { train: Split; test: Split };
  let dim = -1;
  for (const split of ['train', 'test'] as const) {
    const set = sets[split];
    const n = limit(set.n, split === 'train' ? cfg.trainLimit : cfg.testLimit);
    let x: Float32Array;
    let d: number;
    if (cfg.features === 'pixels') {
      d = 784;
      x = new Float32Array(n * d);
      for (let i = 0; i < n * d; i++) x[i] = set.images[i]! / 255;
    } else {
      const field = `features.${split}`;
      const file = readEmbeddingsFile(NAME, field, cfg.features[split]);
      if (file.rows !== set.n) {
        throw new RecipeConfigError(
          NAME,
          `'${field}' ${file.path} has ${file.rows.toLocaleString('en-US')} rows, ` +
            `the Fashion-MNIST ${split} split in ${cfg.data} has ` +
            `${set.n.toLocaleString('en-US')} images (one row per image, in Fashion-MNIST order)`,
        );
      }
      if (dim >= 0 && file.cols !== dim)
        throw new RecipeConfigError(NAME, `'${field}' has width ${file.cols}, 'features.train' has ${dim}`);
      d = file.cols;
      x = file.data.subarray(0, n * d);
    }
    dim = d;
    out[split] = { x, labels: set.labels.subarray(0, n), n, dim: d };
  }
  if (cfg.center) {
    // Per-column mean of the training rows, subtracted from both splits (copies: a file's buffer is left as read).
    const { n, dim: d } = out.train;
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += out.train.x[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j]! /= n;
    for (const s of [out.train, out.test]) {
      const y = new Float32Array(s.n * d);
      for (let i = 0; i < s.n; i++) for (let j = 0; j < d; j++) y[i * d + j] = s.x[i * d + j]! - mean[j]!;
      s.x = y;
    }
  }
  const source = cfg.features === 'pixels' ? 'pixels' : `files ${cfg.features.train}, ${cfg.features.test}`;
  return { ...out, source };
}

/** Rows `idx` of a split as a `[B, dim]` tensor. */
function gatherRows(s: Split, idx: ArrayLike<number>): tf.Tensor2D {
  const b = idx.length;
  const buf = new Float32Array(b * s.dim);
  for (let r = 0; r < b; r++) buf.set(s.x.subarray(idx[r]! * s.dim, (idx[r]! + 1) * s.dim), r * s.dim);
  return tf.tensor2d(buf, [b, s.dim]);
}

/** Fused and per-scale accuracy of `model` on the first `n` rows of a split. */
async function evaluate(
  model: GeoFractalDavid,
  s: Split,
  n: number,
  batch = 1000,
): Promise<{ acc: number; scaleAcc: number[] }> {
  const S = model.config.scales.length;
  let hits = 0;
  const scaleHits = new Array<number>(S).fill(0);
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const idx = Int32Array.from({ length: b }, (_, i) => start + i);
    const preds = tf.tidy(() => {
      const x = gatherRows(s, idx);
      const out = model.forward(x);
      return tf.stack([tf.argMax(out.logits, 1), ...out.scaleLogits.map((l) => tf.argMax(l, 1))]);
    });
    const p = await preds.data();
    preds.dispose();
    for (let i = 0; i < b; i++) {
      const y = s.labels[start + i];
      if (p[i] === y) hits++;
      for (let k = 0; k < S; k++) if (p[(k + 1) * b + i] === y) scaleHits[k]!++;
    }
  }
  return { acc: hits / n, scaleAcc: scaleHits.map((h) => h / n) };
}

/** A batch: row indices of the training split. */
class Trainer implements TrainableModel<Int32Array> {
  constructor(
    readonly model: GeoFractalDavid,
    private readonly data: Split,
    private readonly weights: FmnistDavidLossConfig,
  ) {}

  getWeights(): Record<string, tf.Variable> {
    return this.model.getWeights();
  }

  loss(batch: Int32Array): tf.Scalar {
    return tf.tidy(() => {
      const x = gatherRows(this.data, batch);
      const labels = tf.tensor1d(
        Int32Array.from(batch, (i) => this.data.labels[i]!),
        'int32',
      );
      return basinLoss(this.model, this.model.forward(x), labels, this.weights).loss;
    });
  }

  /** No decay on the prototypes, the Cantor values, the mixing weights and every rank ≤ 1 parameter [INFER]. */
  noWeightDecay(name: string): boolean {
    const w = this.model.getWeights()[name]!;
    return w.rank <= 1 || name.endsWith('class_prototypes');
  }
}

/** The shuffled epoch order: step s takes rows perm_e[(s mod E)·B …], perm_e seeded by (seed, epoch). */
function epochBatches(
  n: number,
  batchSize: number,
  seed: number,
): { perEpoch: number; batch: (step: number) => Int32Array } {
  const perEpoch = Math.floor(n / batchSize);
  let cached: { epoch: number; perm: Int32Array } | undefined;
  return {
    perEpoch,
    batch(step: number): Int32Array {
      const epoch = Math.floor(step / perEpoch);
      if (cached?.epoch !== epoch) {
        const rng = createRng(seed * 100_003 + epoch);
        const perm = Int32Array.from({ length: n }, (_, i) => i);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(rng.uniform() * (i + 1));
          [perm[i], perm[j]] = [perm[j]!, perm[i]!];
        }
        cached = { epoch, perm };
      }
      const start = (step % perEpoch) * batchSize;
      return cached.perm.slice(start, start + batchSize);
    },
  };
}

async function run(cfg: FmnistDavidConfig, job: RecipeRun): Promise<number> {
  const { io, options } = job;
  const { train: trainSet, test: testSet, source } = await loadSplits(cfg);
  const { perEpoch, batch } = epochBatches(trainSet.n, cfg.batchSize, cfg.seed);
  if (perEpoch < 1) throw job.error(`${trainSet.n} training rows give no batch of ${cfg.batchSize} ('batchSize')`);
  const totalSteps = perEpoch * cfg.epochs;

  const files = await job.stage();
  const { metricsFile } = files;
  const modelConfig: GeoFractalDavidConfig = { featureDim: trainSet.dim, numClasses: 10, ...cfg.model };
  const model = new GeoFractalDavid(modelConfig, { seed: cfg.seed });
  const groups = model.parameterGroups();
  const lrScale = (name: string) =>
    groups.fusion.includes(name) ? cfg.lrScale.fusion : groups.stairs.includes(name) ? cfg.lrScale.stairs : 1;
  io.stdout.write(
    `${NAME}: GeoFractalDavid F=${trainSet.dim} ` +
      `(${source === 'pixels' ? 'pixels' : 'features files'}${cfg.center ? ', centered' : ''}), ` +
      `k=${cfg.model.k}, scales [${cfg.model.scales.join(', ')}], ` +
      `${model.paramCount().toLocaleString('en-US')} parameters; ${trainSet.n} train / ${testSet.n} test rows, ` +
      `${cfg.epochs} epochs = ${totalSteps} steps of ${cfg.batchSize}\n`,
  );

  const t0 = Date.now();
  try {
    const summary = await train<Int32Array>({
      model: new Trainer(model, trainSet, cfg.loss),
      data: (step: number, _rng: Rng) => batch(step),
      steps: options.steps ?? totalSteps,
      ...optimizerOptions(cfg, totalSteps, { lrScale }),
      seed: cfg.seed,
      evalEvery: cfg.evalEvery,
      evaluate: async () => {
        const r = await evaluate(model, testSet, Math.min(testSet.n, 2000));
        return { test_acc_2k: r.acc };
      },
      ...job.trainOptions(files, cfg.checkpointEvery, 1),
      config: { recipe: NAME, ...JSON.parse(JSON.stringify(cfg)) },
      progress: true,
    });
    if (summary.aborted) return job.interrupted(summary, totalSteps);
    const trainSeconds = (Date.now() - t0) / 1000;
    const final = await evaluate(model, testSet, testSet.n);
    const trainAcc = await evaluate(model, trainSet, Math.min(trainSet.n, 10_000));
    const fusionT = tf.softmax(model.fusionWeights);
    const fusion = Array.from(await fusionT.data());
    fusionT.dispose();
    const result = {
      recipe: NAME,
      features: cfg.features === 'pixels' ? 'pixels' : { train: cfg.features.train, test: cfg.features.test },
      centered: cfg.center,
      featureDim: trainSet.dim,
      model: modelConfig,
      params: model.paramCount(),
      epochs: cfg.epochs,
      steps: summary.step,
      batchSize: cfg.batchSize,
      trainRows: trainSet.n,
      testRows: testSet.n,
      testAccuracy: final.acc,
      scaleAccuracies: cfg.model.scales.map((scale, i) => ({ scale, accuracy: final.scaleAcc[i]! })),
      fusionWeights: cfg.model.scales.map((scale, i) => ({ scale, weight: fusion[i]! })),
      trainAccuracy10k: trainAcc.acc,
      trainSeconds,
      backend: tf.getBackend(),
      classes: FASHION_MNIST_CLASSES,
    };
    const state = model.stateDict();
    const weights = await readWeightsAsync(state);
    tf.dispose(Object.values(state));
    const modelFile = join(options.out, 'david.safetensors');
    await writeFileAtomic(
      modelFile,
      writeSafetensors(
        weights,
        writeModelMetadata({ type: GEO_FRACTAL_DAVID_TYPE, config: modelConfig, extra: { recipe: NAME } }),
      ),
    );
    const resultFile = await job.writeResult(result);
    const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
    io.stdout.write(
      `\n${NAME}: test accuracy ${pct(final.acc)} ` +
        `(${testSet.n} test rows, ${summary.step} steps, ${trainSeconds.toFixed(0)} s)\n`,
    );
    io.stdout.write(`per scale: ${result.scaleAccuracies.map((s) => `${s.scale}: ${pct(s.accuracy)}`).join(', ')}\n`);
    io.stdout.write(`wrote ${resultFile}, ${modelFile}, ${metricsFile}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}

/** `geolip-train run fmnist-david`: GeoFractalDavid with the basin loss on Fashion-MNIST pixels or features files. */
export const fmnistDavid = defineRecipe<FmnistDavidConfig>({
  name: NAME,
  description:
    'GeoFractalDavid (multi-scale basin classifier, contrastive basin loss) on Fashion-MNIST pixels ' +
    'or precomputed features; test accuracy per scale',
  help: `GeoFractalDavid with the basin loss on Fashion-MNIST pixels or features files; config
{"features": "pixels" | {"train", "test"}, "data", "epochs", "batchSize", "lr",
"model": {"k", "scales", ...}, "loss": {...}, "trainLimit", "testLimit", "seed", ...};
writes <out>/result.json (test accuracy, per-scale accuracy), david.safetensors.`,
  parse: parseFmnistDavidConfig,
  run,
});
