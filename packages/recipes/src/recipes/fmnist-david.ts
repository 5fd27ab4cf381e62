// Recipe `fmnist-david` (issue 8, recipe 2; issue 20: the Basin-k12 preset, the learned structure, the baselines):
// GeoFractalDavid (spec §11) with its contrastive basin loss (§11.2) on fixed feature vectors of Fashion-MNIST: the raw
// pixels, or a features file per split (e.g. a trained Dual-Stream ViT's embeddings). The last `valRows` training rows
// choose the model (and the baselines' step and k); the test split is measured once, at the end. Reports the fused and
// per-scale accuracies, the learned structure per evaluation (α, fusion and geo weights, the Cantor prototypes) and a
// linear probe and a cosine k-NN on the same rows.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import {
  GEO_FRACTAL_DAVID_BASIN_K12,
  GEO_FRACTAL_DAVID_TYPE,
  GeoFractalDavid,
  basinLoss,
  fitKnnClassifier,
  fitLinearProbe,
} from '@geolip/vision';
import type { CantorMode, GeoFractalDavidConfig, GeoFractalDavidScaleStructure } from '@geolip/vision';
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
import type { CheckpointBlock, DataBlock, HostWeight, OptimizerBlock, RecipeRun, TrainableModel } from '@geolip/train';
import { readModelMetadata, readSafetensors, toFloat32, writeModelMetadata, writeSafetensors } from '@geolip/io';

import { readEmbeddingsFile } from './embeddings.js';
import { readConfigObject, trainingKeys } from './config-blocks.js';
import { machine } from './text-heads.js';

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

/** The baselines on the same rows (`baselines`); `false` turns one off. */
interface FmnistDavidBaselines {
  /** Softmax regression, full-batch Adam; the validation split picks the step (`fitLinearProbe`). */
  linearProbe: false | { steps: number; lr: number; l2: number; evalEvery: number };
  /** Cosine k-NN over the training rows; the validation split picks k among `ks` (`fitKnnClassifier`). */
  knn: false | { ks: number[] };
}

/** The validated config of {@link fmnistDavid} (paths absolute). */
export interface FmnistDavidConfig extends DataBlock, CheckpointBlock, Required<OptimizerBlock> {
  /** The model preset the `model` fields override (`FMNIST_DAVID_PRESETS`). */
  preset: FmnistDavidPreset;
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
  /**
   * The last `valRows` of the (limited) training rows are the validation split: the same 5,000 images fmnist-vit
   * holds out, so a network whose embeddings are the features never trained on them.
   */
  valRows: number;
  /** Which weights are tested and written: the best validation accuracy (`'best'`) or the last step's. */
  select: 'best' | 'last';
  baselines: FmnistDavidBaselines;
  /** Use only the first N training / test rows (tests and smoke runs); 0 = all. */
  trainLimit: number;
  testLimit: number;
  /** Evaluate on the validation split (and record the structure) every N steps; 0 = once per epoch. */
  evalEvery: number;
  seed: number;
  checkpointEvery: number;
}

/** The model presets of `preset`. */
type FmnistDavidPreset = 'fmnist-small' | 'basin-k12';

/**
 * The model presets: `fmnist-small` (the recipe's first runs: k = 5 at [64, 128, 256], the canonical staircase,
 * [INFER] sizes that run 10 epochs in minutes on 2 cores) and `basin-k12` (the card's run,
 * `GEO_FRACTAL_DAVID_BASIN_K12` of `@geolip/vision`: k = 12 at [384, 512, 768, 1024, 1280], the author's
 * batch-position staircase).
 */
export const FMNIST_DAVID_PRESETS: Readonly<Record<FmnistDavidPreset, Readonly<FmnistDavidModelConfig>>> =
  Object.freeze({
    'fmnist-small': Object.freeze({
      k: 5,
      scales: [64, 128, 256],
      cantorMode: 'feature',
      levels: 12,
      alphaInit: 0.5,
      tau: 0.25,
    }),
    'basin-k12': Object.freeze({
      k: GEO_FRACTAL_DAVID_BASIN_K12.k,
      scales: [...GEO_FRACTAL_DAVID_BASIN_K12.scales],
      cantorMode: GEO_FRACTAL_DAVID_BASIN_K12.cantorMode,
      levels: GEO_FRACTAL_DAVID_BASIN_K12.levels,
      alphaInit: GEO_FRACTAL_DAVID_BASIN_K12.alphaInit,
      tau: GEO_FRACTAL_DAVID_BASIN_K12.tau,
    }),
  });

/** The default preset's model (`fmnist-small`). */
export const FMNIST_DAVID_MODEL: Readonly<FmnistDavidModelConfig> = FMNIST_DAVID_PRESETS['fmnist-small'];

const LOSS_DEFAULTS: FmnistDavidLossConfig = {
  temperature: 0.1,
  coherence: 0.5,
  separation: 0.1,
  margin: 0.3,
  discretization: 0.01,
};

const PROBE_DEFAULTS = { steps: 500, lr: 0.05, l2: 0, evalEvery: 10 };
const KNN_KS = [1, 3, 5, 7, 9, 11, 15, 21, 31, 51];

const OPTIMIZER: OptimizerBlock = { lr: 2e-3, warmupSteps: 100, weightDecay: 0.01, clipNorm: 1 };
const KEYS = [
  'preset',
  'features',
  'center',
  ...trainingKeys(OPTIMIZER),
  'lrScale',
  'model',
  'loss',
  'valRows',
  'select',
  'baselines',
  'evalEvery',
  'seed',
  'checkpointEvery',
];

/** `baselines.<key>`: `false`, `true` (the defaults) or an object of the fields in `defaults`. */
function readBaseline<T extends Record<string, number | number[]>>(
  b: Record<string, unknown>,
  key: string,
  read: (o: Record<string, unknown>) => T,
): false | T {
  const v = b[key] ?? true;
  if (v === false) return false;
  if (v === true) return read({});
  if (!isObject(v)) return R.fail(`'baselines.${key}' must be true, false or an object, got ${show(v)}`);
  return read(v);
}

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. Throws a one-line error naming the
 * field.
 */
export function parseFmnistDavidConfig(raw: unknown, configDir: string): FmnistDavidConfig {
  const o = readConfigObject(R, raw, KEYS);
  const preset = R.choice(o, 'preset', Object.keys(FMNIST_DAVID_PRESETS) as FmnistDavidPreset[], 'fmnist-small');
  const base = FMNIST_DAVID_PRESETS[preset];

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
  R.keys(m, Object.keys(base), 'model');
  const k = R.num(m, 'k', 'int>0', base.k, 'model');
  const scalesRaw = m.scales ?? base.scales;
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
    cantorMode: R.choice(m, 'cantorMode', ['feature', 'batch-position'] as const, base.cantorMode, 'model'),
    levels: R.num(m, 'levels', 'int>0', base.levels, 'model'),
    alphaInit: R.num(m, 'alphaInit', 'number', base.alphaInit, 'model'),
    tau: R.num(m, 'tau', '>0', base.tau, 'model'),
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

  const b = R.object(o, 'baselines') ?? {};
  R.keys(b, ['linearProbe', 'knn'], 'baselines');
  const baselines: FmnistDavidBaselines = {
    linearProbe: readBaseline(b, 'linearProbe', (p) => {
      R.keys(p, Object.keys(PROBE_DEFAULTS), 'baselines.linearProbe');
      return {
        steps: R.num(p, 'steps', 'int>0', PROBE_DEFAULTS.steps, 'baselines.linearProbe'),
        lr: R.num(p, 'lr', '>0', PROBE_DEFAULTS.lr, 'baselines.linearProbe'),
        l2: R.num(p, 'l2', '>=0', PROBE_DEFAULTS.l2, 'baselines.linearProbe'),
        evalEvery: R.num(p, 'evalEvery', 'int>0', PROBE_DEFAULTS.evalEvery, 'baselines.linearProbe'),
      };
    }),
    knn: readBaseline(b, 'knn', (p) => {
      R.keys(p, ['ks'], 'baselines.knn');
      const ks = p.ks ?? KNN_KS;
      if (!Array.isArray(ks) || ks.length === 0)
        R.fail(`'baselines.knn.ks' must be a non-empty array of positive integers, got ${show(ks)}`);
      (ks as unknown[]).forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
          R.fail(`'baselines.knn.ks[${i}]' must be a positive integer, got ${show(v)}`);
      });
      return { ks: [...(ks as number[])] };
    }),
  };

  return {
    preset,
    features,
    center: R.bool(o, 'center', true),
    ...readDataBlock(R, o, FASHION_MNIST_DIR, configDir),
    epochs: R.num(o, 'epochs', 'int>0', 10),
    batchSize: R.num(o, 'batchSize', 'int>0', 256),
    ...(readOptimizerBlock(R, o, OPTIMIZER) as Required<OptimizerBlock>),
    lrScale: { fusion: R.num(g, 'fusion', '>=0', 0.5, 'lrScale'), stairs: R.num(g, 'stairs', '>=0', 0.1, 'lrScale') },
    model,
    loss,
    valRows: R.num(o, 'valRows', 'int>0', 5000),
    select: R.choice(o, 'select', ['best', 'last'] as const, 'best'),
    baselines,
    evalEvery: R.num(o, 'evalEvery', 'int>=0', 0),
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

/** Rows [from, to) of a split (views, no copy). */
const rowsOf = (s: Split, from: number, to: number): Split => ({
  x: s.x.subarray(from * s.dim, to * s.dim),
  labels: s.labels.subarray(from, to),
  n: to - from,
  dim: s.dim,
});

/**
 * Loads both files' labels and features, applies the limits, validates row counts, carves the validation split (the
 * last `valRows` of the limited training rows) and centers every split on the training rows' mean.
 */
async function loadSplits(cfg: FmnistDavidConfig): Promise<{ train: Split; val: Split; test: Split; source: string }> {
  const sets = {
    train: await loadFashionMnist('train', { dir: cfg.data }),
    test: await loadFashionMnist('test', { dir: cfg.data }),
  };
  const limit = (n: number, lim: number) => (lim > 0 ? Math.min(lim, n) : n);
  const out = {} as { train: Split; test: Split };
  let dim = -1;
  for (const split of ['train', 'test'] as const) {
    const set = sets[split];
    const lim = split === 'train' ? cfg.trainLimit : cfg.testLimit;
    const n = limit(set.n, lim);
    let x: Float32Array;
    let d: number;
    if (cfg.features === 'pixels') {
      d = 784;
      x = new Float32Array(n * d);
      for (let i = 0; i < n * d; i++) x[i] = set.images[i]! / 255;
    } else {
      const field = `features.${split}`;
      const file = readEmbeddingsFile(NAME, field, cfg.features[split]);
      // One row per image of the split; with a limit, a file of (at least) the first `n` images is enough (the
      // features of a partial `fmnist-embed` run, `rows`).
      if (file.rows !== set.n && !(lim > 0 && file.rows >= n)) {
        const limitKey = split === 'train' ? 'trainLimit' : 'testLimit';
        throw new RecipeConfigError(
          NAME,
          `'${field}' ${file.path} has ${file.rows.toLocaleString('en-US')} rows, ` +
            `the Fashion-MNIST ${split} split in ${cfg.data} has ` +
            `${set.n.toLocaleString('en-US')} images (one row per image, in Fashion-MNIST order` +
            (lim > 0 ? `; with '${limitKey}' ${lim}, at least the first ${n.toLocaleString('en-US')}` : '') +
            ')',
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
  const nAll = out.train.n;
  const nTrain = nAll - cfg.valRows;
  if (nTrain < cfg.batchSize) {
    throw new RecipeConfigError(
      `${NAME} config`,
      `'valRows' ${cfg.valRows} leaves ${Math.max(nTrain, 0)} of ${nAll} training rows, fewer than one batch of ` +
        `${cfg.batchSize}`,
      { path: 'valRows' },
    );
  }
  if (cfg.center) {
    // Per-column mean of the training rows (not the validation rows), subtracted from every split (copies: a file's
    // buffer is left as read).
    const d = dim;
    const mean = new Float64Array(d);
    for (let i = 0; i < nTrain; i++) for (let j = 0; j < d; j++) mean[j]! += out.train.x[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j]! /= nTrain;
    for (const s of [out.train, out.test]) {
      const y = new Float32Array(s.n * d);
      for (let i = 0; i < s.n; i++) for (let j = 0; j < d; j++) y[i * d + j] = s.x[i * d + j]! - mean[j]!;
      s.x = y;
    }
  }
  const source = cfg.features === 'pixels' ? 'pixels' : `files ${cfg.features.train}, ${cfg.features.test}`;
  return { train: rowsOf(out.train, 0, nTrain), val: rowsOf(out.train, nTrain, nAll), test: out.test, source };
}

/** Rows `idx` of a split as a `[B, dim]` tensor. */
function gatherRows(s: Split, idx: ArrayLike<number>): tf.Tensor2D {
  const b = idx.length;
  const buf = new Float32Array(b * s.dim);
  for (let r = 0; r < b; r++) buf.set(s.x.subarray(idx[r]! * s.dim, (idx[r]! + 1) * s.dim), r * s.dim);
  return tf.tensor2d(buf, [b, s.dim]);
}

/** Summary of the Cantor values κ the model gives a split's rows. */
interface KappaSummary {
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Mean q_mid of the first ternary digit (how often κ sits on the middle third). */
  qMid: number;
  /** `[C]` mean κ of the rows of each true class (to set beside the class prototypes π_c). */
  byClass: number[];
}

/** Fused and per-scale accuracy of `model` on the first `n` rows of a split, and its κ there. */
async function evaluate(
  model: GeoFractalDavid,
  s: Split,
  n: number,
  batch = 1000,
): Promise<{ acc: number; scaleAcc: number[]; kappa: KappaSummary }> {
  const S = model.config.scales.length;
  const C = model.config.numClasses;
  let hits = 0;
  const scaleHits = new Array<number>(S).fill(0);
  const kappa = new Float64Array(n);
  let qMid = 0;
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const idx = Int32Array.from({ length: b }, (_, i) => start + i);
    const [preds, values] = tf.tidy(() => {
      const out = model.forward(gatherRows(s, idx));
      return [
        tf.stack([tf.argMax(out.logits, 1), ...out.scaleLogits.map((l) => tf.argMax(l, 1))]),
        tf.stack([out.cantor, out.qMid]),
      ];
    });
    const p = await preds.data();
    const v = await values.data();
    tf.dispose([preds, values]);
    for (let i = 0; i < b; i++) {
      const y = s.labels[start + i];
      if (p[i] === y) hits++;
      for (let k = 0; k < S; k++) if (p[(k + 1) * b + i] === y) scaleHits[k]!++;
      kappa[start + i] = v[i]!;
      qMid += v[b + i]!;
    }
  }
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  const classSum = new Float64Array(C);
  const classCount = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    sum += kappa[i]!;
    min = Math.min(min, kappa[i]!);
    max = Math.max(max, kappa[i]!);
    classSum[s.labels[i]!]! += kappa[i]!;
    classCount[s.labels[i]!]!++;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (kappa[i]! - mean) ** 2;
  return {
    acc: hits / n,
    scaleAcc: scaleHits.map((h) => h / n),
    kappa: {
      mean,
      std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0,
      min,
      max,
      qMid: qMid / n,
      byClass: Array.from(classSum, (v, c) => (classCount[c]! > 0 ? v / classCount[c]! : NaN)),
    },
  };
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

/** One evaluation on the validation split: a `type: 'david'` line of metrics.jsonl, and `structure.perEpoch`. */
interface StructureRecord {
  type: 'david';
  step: number;
  /** step / steps per epoch (0 = at initialization). */
  epoch: number;
  valAccuracy: number;
  /** Per scale, in `model.scales` order. */
  scaleValAccuracies: number[];
  /** κ over the validation rows. */
  kappa: KappaSummary;
  /** α of the staircase (`GeoFractalDavid.structure`). */
  alpha: number;
  /** Per scale: fusion weight, softmax(geo_weights), the Cantor prototypes with every class's π. */
  scales: GeoFractalDavidScaleStructure[];
}

/** The model selected so far: its step and validation accuracy, its weights on the host. */
interface Selected {
  step: number;
  epoch: number;
  valAccuracy: number;
  weights: Record<string, HostWeight>;
}

/** Writes the model file: the weights, the metadata contract, and which step they are in `geolip.extra`. */
async function writeModel(
  file: string,
  weights: Record<string, HostWeight>,
  config: GeoFractalDavidConfig,
  selection: Omit<Selected, 'weights'> & { mode: 'best' | 'last' },
): Promise<void> {
  await writeFileAtomic(
    file,
    writeSafetensors(
      weights,
      writeModelMetadata({ type: GEO_FRACTAL_DAVID_TYPE, config, extra: { recipe: NAME, selection } }),
    ),
  );
}

/** The best model a previous (interrupted) run of this directory wrote, for `--resume`; undefined when none. */
function readSelected(file: string): Selected | undefined {
  if (!existsSync(file)) return undefined;
  const { tensors, metadata } = readSafetensors(new Uint8Array(readFileSync(file)), { copy: true });
  const sel = readModelMetadata(metadata).extra.selection as Partial<Selected> | undefined;
  if (typeof sel?.valAccuracy !== 'number' || typeof sel.step !== 'number') return undefined;
  const weights: Record<string, HostWeight> = {};
  for (const [name, t] of Object.entries(tensors))
    weights[name] = { dtype: 'F32', shape: [...t.shape], data: toFloat32(t) };
  return { step: sel.step, epoch: sel.epoch ?? 0, valAccuracy: sel.valAccuracy, weights };
}

/** The `type: 'david'` records of a metrics file, one per step (a resumed run's repeat wins), in step order. */
function structureRecords(metricsFile: string): StructureRecord[] {
  if (!existsSync(metricsFile)) return [];
  const bySteps = new Map<number, StructureRecord>();
  for (const line of readFileSync(metricsFile, 'utf8').split('\n')) {
    if (!line.includes('"type":"david"')) continue;
    const r = JSON.parse(line) as StructureRecord;
    bySteps.set(r.step, r);
  }
  return [...bySteps.values()].sort((a, b) => a.step - b.step);
}

async function run(cfg: FmnistDavidConfig, job: RecipeRun): Promise<number> {
  const { io, options } = job;
  const { train: trainSet, val: valSet, test: testSet, source } = await loadSplits(cfg);
  const { perEpoch, batch } = epochBatches(trainSet.n, cfg.batchSize, cfg.seed);
  const totalSteps = perEpoch * cfg.epochs;
  const evalEvery = cfg.evalEvery > 0 ? cfg.evalEvery : perEpoch;

  const files = await job.stage();
  const { metricsFile } = files;
  const modelFile = join(options.out, 'david.safetensors');
  const modelConfig: GeoFractalDavidConfig = { featureDim: trainSet.dim, numClasses: 10, ...cfg.model };
  const model = new GeoFractalDavid(modelConfig, { seed: cfg.seed });
  const groups = model.parameterGroups();
  const lrScale = (name: string) =>
    groups.fusion.includes(name) ? cfg.lrScale.fusion : groups.stairs.includes(name) ? cfg.lrScale.stairs : 1;
  const widest = Math.max(...cfg.model.scales);
  io.stdout.write(
    `${NAME}: GeoFractalDavid (${cfg.preset}) F=${trainSet.dim} ` +
      `(${source === 'pixels' ? 'pixels' : 'features files'}${cfg.center ? ', centered' : ''}), ` +
      `k=${cfg.model.k}, scales [${cfg.model.scales.join(', ')}]` +
      `${widest > trainSet.dim ? ` (wider than F: the projections expand)` : ''}, ` +
      `${model.paramCount().toLocaleString('en-US')} parameters; ${trainSet.n} train / ${valSet.n} val / ` +
      `${testSet.n} test rows, ${cfg.epochs} epochs = ${totalSteps} steps of ${cfg.batchSize}\n`,
  );

  mkdirSync(dirname(metricsFile), { recursive: true });
  let selected = options.resume ? readSelected(modelFile) : undefined;
  const record = async (step: number): Promise<Record<string, number>> => {
    const v = await evaluate(model, valSet, valSet.n);
    const structure = await model.structure({ values: true });
    const rec: StructureRecord = {
      type: 'david',
      step,
      epoch: step / perEpoch,
      valAccuracy: v.acc,
      scaleValAccuracies: v.scaleAcc,
      kappa: v.kappa,
      ...structure,
    };
    appendFileSync(metricsFile, `${JSON.stringify(rec)}\n`);
    if (cfg.select === 'best' && (selected === undefined || v.acc > selected.valAccuracy)) {
      const state = model.stateDict();
      const weights = await readWeightsAsync(state);
      tf.dispose(Object.values(state));
      selected = { step, epoch: rec.epoch, valAccuracy: v.acc, weights };
      await writeModel(modelFile, weights, modelConfig, { mode: 'best', step, epoch: rec.epoch, valAccuracy: v.acc });
    }
    return {
      val_acc: v.acc,
      ...Object.fromEntries(cfg.model.scales.map((s, i) => [`val_acc_${s}`, v.scaleAcc[i]!])),
      alpha: structure.alpha,
    };
  };

  const started = new Date();
  const t0 = Date.now();
  try {
    // The structure at initialization (step 0): the start of the α trajectory.
    if (!options.resume) await record(0);
    const summary = await train<Int32Array>({
      model: new Trainer(model, trainSet, cfg.loss),
      data: (step: number, _rng: Rng) => batch(step),
      steps: options.steps ?? totalSteps,
      ...optimizerOptions(cfg, totalSteps, { lrScale }),
      seed: cfg.seed,
      evalEvery,
      evaluate: record,
      ...job.trainOptions(files, cfg.checkpointEvery, 1),
      config: { recipe: NAME, ...JSON.parse(JSON.stringify({ ...cfg, baselines: undefined, select: undefined })) },
      progress: true,
    });
    if (summary.aborted) return job.interrupted(summary, totalSteps);
    const trainSeconds = (Date.now() - t0) / 1000;

    // The selected weights (the best validation accuracy, or the last step's), then the test split, once.
    const last = { step: summary.step, epoch: summary.step / perEpoch };
    if (cfg.select === 'best' && selected !== undefined && selected.step !== summary.step) {
      const dict = Object.fromEntries(
        Object.entries(selected.weights).map(([name, w]) => [name, tf.tensor(w.data, w.shape, 'float32')]),
      );
      model.loadStateDict(dict);
      tf.dispose(Object.values(dict));
    }
    const records = structureRecords(metricsFile);
    const chosen = cfg.select === 'best' && selected !== undefined ? selected : undefined;
    const selectedStep = chosen?.step ?? last.step;
    const selectedRecord = records.find((r) => r.step === selectedStep) ?? records[records.length - 1]!;
    const final = await evaluate(model, testSet, testSet.n);
    const trainAcc = await evaluate(model, trainSet, Math.min(trainSet.n, 10_000));
    const state = model.stateDict();
    const weights = await readWeightsAsync(state);
    tf.dispose(Object.values(state));
    const selection = {
      mode: cfg.select,
      step: selectedStep,
      epoch: selectedStep / perEpoch,
      valAccuracy: selectedRecord.valAccuracy,
    };
    await writeModel(modelFile, weights, modelConfig, selection);

    // The baselines on the same rows (centered as the model's input; each L2-normalizes them as the model does).
    const asFeatures = (s: Split) => ({ x: s.x, labels: s.labels });
    let linearProbe: Record<string, unknown> | undefined;
    if (cfg.baselines.linearProbe) {
      const t = Date.now();
      const probe = await fitLinearProbe(asFeatures(trainSet), asFeatures(valSet), {
        dim: trainSet.dim,
        classes: 10,
        ...cfg.baselines.linearProbe,
      });
      linearProbe = {
        valAccuracy: probe.valAccuracy,
        testAccuracy: probe.accuracy(asFeatures(testSet)),
        step: probe.step,
        ...cfg.baselines.linearProbe,
        seconds: (Date.now() - t) / 1000,
      };
    }
    let knn: Record<string, unknown> | undefined;
    if (cfg.baselines.knn) {
      const t = Date.now();
      const fit = await fitKnnClassifier(asFeatures(trainSet), asFeatures(valSet), {
        dim: trainSet.dim,
        classes: 10,
        ks: cfg.baselines.knn.ks.some((k) => k <= trainSet.n)
          ? cfg.baselines.knn.ks.filter((k) => k <= trainSet.n)
          : [1],
      });
      knn = {
        metric: 'cosine',
        k: fit.k,
        valAccuracy: fit.valAccuracy,
        testAccuracy: await fit.accuracy(asFeatures(testSet)),
        validation: fit.validation,
        seconds: (Date.now() - t) / 1000,
      };
    }

    const initial = records[0];
    const result = {
      recipe: NAME,
      command:
        `geolip-train run ${NAME} --config ${relative(process.cwd(), options.configPath)} ` +
        `--out ${relative(process.cwd(), options.out) || '.'}`,
      date: started.toISOString(),
      machine: machine(),
      preset: cfg.preset,
      features: cfg.features === 'pixels' ? 'pixels' : { train: cfg.features.train, test: cfg.features.test },
      centered: cfg.center,
      featureDim: trainSet.dim,
      model: modelConfig,
      params: model.paramCount(),
      epochs: cfg.epochs,
      steps: summary.step,
      batchSize: cfg.batchSize,
      trainRows: trainSet.n,
      valRows: valSet.n,
      testRows: testSet.n,
      selection,
      valAccuracy: selectedRecord.valAccuracy,
      testAccuracy: final.acc,
      scaleAccuracies: cfg.model.scales.map((scale, i) => ({
        scale,
        accuracy: final.scaleAcc[i]!,
        valAccuracy: selectedRecord.scaleValAccuracies[i]!,
      })),
      fusionWeights: selectedRecord.scales.map((s) => ({ scale: s.scale, weight: s.fusionWeight })),
      structure: {
        alpha: {
          initial: initial?.alpha ?? null,
          final: selectedRecord.alpha,
          change: initial ? selectedRecord.alpha - initial.alpha : null,
          trajectory: records.map((r) => ({ step: r.step, epoch: r.epoch, alpha: r.alpha })),
        },
        selected: { step: selectedRecord.step, kappa: selectedRecord.kappa, scales: selectedRecord.scales },
        perEpoch: records.map(({ type: _t, ...r }) => r),
      },
      baselines: { linearProbe: linearProbe ?? null, knn: knn ?? null },
      trainAccuracy10k: trainAcc.acc,
      trainSeconds,
      backend: tf.getBackend(),
      classes: FASHION_MNIST_CLASSES,
    };
    const resultFile = await job.writeResult(result);
    const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
    io.stdout.write(
      `\n${NAME}: test accuracy ${pct(final.acc)} ` +
        `(${testSet.n} test rows; selected step ${selectedStep}, val ${pct(selectedRecord.valAccuracy)}; ` +
        `${summary.step} steps, ${trainSeconds.toFixed(0)} s)\n`,
    );
    io.stdout.write(`per scale: ${result.scaleAccuracies.map((s) => `${s.scale}: ${pct(s.accuracy)}`).join(', ')}\n`);
    io.stdout.write(
      `alpha ${initial ? initial.alpha.toFixed(4) : '?'} -> ${selectedRecord.alpha.toFixed(4)}; ` +
        `geo weights (feature/cantor/crystal): ` +
        selectedRecord.scales
          .map(
            ({ scale, geoWeights: g }) =>
              `${scale}: ${[g.feature, g.cantor, g.crystal].map((w) => w.toFixed(3)).join('/')}`,
          )
          .join(', ') +
        '\n',
    );
    if (linearProbe || knn) {
      io.stdout.write(
        `baselines on the same rows: ` +
          [
            linearProbe ? `linear probe ${pct(linearProbe.testAccuracy as number)}` : '',
            knn ? `cosine k-NN (k = ${knn.k as number}) ${pct(knn.testAccuracy as number)}` : '',
          ]
            .filter(Boolean)
            .join(', ') +
          '\n',
      );
    }
    io.stdout.write(`wrote ${resultFile}, ${modelFile}, ${metricsFile}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}

/**
 * `geolip-train run fmnist-david`: GeoFractalDavid with the basin loss on Fashion-MNIST pixels or features files,
 * beside a linear probe and a cosine k-NN on the same rows.
 */
export const fmnistDavid = defineRecipe<FmnistDavidConfig>({
  name: NAME,
  description:
    'GeoFractalDavid (multi-scale basin classifier, contrastive basin loss; presets fmnist-small, basin-k12) on ' +
    'Fashion-MNIST pixels or precomputed features, beside a linear probe and a k-NN; accuracy and learned structure',
  help: `GeoFractalDavid with the basin loss on Fashion-MNIST pixels or features files; config
{"preset": "fmnist-small" | "basin-k12", "features": "pixels" | {"train", "test"}, "data", "epochs",
"batchSize", "lr", "model": {"k", "scales", ...}, "loss": {...}, "valRows", "select": "best" | "last",
"baselines": {"linearProbe", "knn"}, "trainLimit", "testLimit", "seed", ...}; writes <out>/result.json
(test and validation accuracy per scale, alpha and the learned structure per epoch, the baselines),
metrics.jsonl (a "david" record per evaluation), david.safetensors (the selected weights).`,
  parse: parseFmnistDavidConfig,
  run,
});
