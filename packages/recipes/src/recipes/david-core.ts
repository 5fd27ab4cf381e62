// GeoFractalDavid (spec §11) trained on fixed feature rows with its contrastive basin loss (§11.2), shared by the
// recipes that have such rows (fmnist-david: Fashion-MNIST pixels or embeddings; coco-david: the soup's consensus
// features): the model presets and config blocks, the training loop with its evaluation on a validation split (the
// learned structure per evaluation, the selection of the best weights), the test split measured once, and a linear
// probe and a cosine k-NN on the same rows.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
import type {
  CantorMode,
  GeoFractalDavidConfig,
  GeoFractalDavidScaleStructure,
  KnnClassifier,
  LinearProbe,
} from '@geolip/vision';
import { isObject, optimizerOptions, readWeightsAsync, show, train } from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import type {
  CheckpointBlock,
  ConfigReader,
  HostWeight,
  OptimizerBlock,
  RecipeRun,
  TrainableModel,
} from '@geolip/train';
import { readModelMetadata, readSafetensors, toFloat32, writeModelMetadata, writeSafetensors } from '@geolip/io';

import { machine, recipeCommand } from './text-heads.js';

/** The model options of a config (`model`); `featureDim` comes from the features, `numClasses` from the labels. */
export interface DavidModelConfig {
  k: number;
  scales: number[];
  cantorMode: CantorMode;
  levels: number;
  alphaInit: number;
  tau: number;
}

/** Weights of {@link basinLoss} (`loss`). */
interface DavidLossConfig {
  temperature: number;
  coherence: number;
  separation: number;
  margin: number;
  discretization: number;
}

/** The baselines on the same rows (`baselines`); `false` turns one off. */
interface DavidBaselines {
  /** Softmax regression, full-batch Adam; the validation split picks the step (`fitLinearProbe`). */
  linearProbe: false | { steps: number; lr: number; l2: number; evalEvery: number };
  /** Cosine k-NN over the training rows; the validation split picks k among `ks` (`fitKnnClassifier`). */
  knn: false | { ks: number[] };
}

/** The model presets of `preset`. */
export type DavidPreset = 'fmnist-small' | 'basin-k12';

/**
 * The model presets: `fmnist-small` (the recipe's first runs: k = 5 at [64, 128, 256], the canonical staircase,
 * [INFER] sizes that run 10 epochs in minutes on 2 cores) and `basin-k12` (the card's run,
 * `GEO_FRACTAL_DAVID_BASIN_K12` of `@geolip/vision`: k = 12 at [384, 512, 768, 1024, 1280], the author's
 * batch-position staircase).
 */
export const DAVID_PRESETS: Readonly<Record<DavidPreset, Readonly<DavidModelConfig>>> = Object.freeze({
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

const DAVID_LOSS_DEFAULTS: DavidLossConfig = {
  temperature: 0.1,
  coherence: 0.5,
  separation: 0.1,
  margin: 0.3,
  discretization: 0.01,
};

const PROBE_DEFAULTS = { steps: 500, lr: 0.05, l2: 0, evalEvery: 10 };
const KNN_KS = [1, 3, 5, 7, 9, 11, 15, 21, 31, 51];

/** `baselines.<key>`: `false`, `true` (the defaults) or an object of the fields in `defaults`. */
function readBaseline<T extends Record<string, number | number[]>>(
  R: ConfigReader,
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

/** The training fields every David recipe reads the same way (its config extends this). */
export interface DavidTrainingConfig extends CheckpointBlock, Required<OptimizerBlock> {
  /** The model preset the `model` fields override ({@link DAVID_PRESETS}). */
  preset: DavidPreset;
  epochs: number;
  batchSize: number;
  /** Learning-rate multipliers of the card's groups: scale heads 1, fusion weights `fusion`, Cantor stairs `stairs`. */
  lrScale: { fusion: number; stairs: number };
  model: DavidModelConfig;
  loss: DavidLossConfig;
  /** Which weights are tested and written: the best validation accuracy (`'best'`) or the last step's. */
  select: 'best' | 'last';
  baselines: DavidBaselines;
  /** Evaluate on the validation split (and record the structure) every N steps; 0 = once per epoch. */
  evalEvery: number;
  seed: number;
}

/** The config keys {@link readDavidBlocks} reads (beside the optimizer block, `epochs`, `batchSize`, checkpoints). */
export const DAVID_BLOCK_KEYS = ['preset', 'lrScale', 'model', 'loss', 'select', 'baselines', 'evalEvery', 'seed'];

/**
 * Reads `preset`, `model`, `loss`, `lrScale`, `select`, `baselines`, `evalEvery` and `seed` of a David recipe's
 * config, naming the field in every error (through `R`).
 */
export function readDavidBlocks(
  R: ConfigReader,
  o: Record<string, unknown>,
  defaultPreset: DavidPreset = 'fmnist-small',
): Pick<DavidTrainingConfig, 'preset' | 'model' | 'loss' | 'lrScale' | 'select' | 'baselines' | 'evalEvery' | 'seed'> {
  const preset = R.choice(o, 'preset', Object.keys(DAVID_PRESETS) as DavidPreset[], defaultPreset);
  const base = DAVID_PRESETS[preset];
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
  const model: DavidModelConfig = {
    k,
    scales,
    cantorMode: R.choice(m, 'cantorMode', ['feature', 'batch-position'] as const, base.cantorMode, 'model'),
    levels: R.num(m, 'levels', 'int>0', base.levels, 'model'),
    alphaInit: R.num(m, 'alphaInit', 'number', base.alphaInit, 'model'),
    tau: R.num(m, 'tau', '>0', base.tau, 'model'),
  };

  const L = DAVID_LOSS_DEFAULTS;
  const l = R.object(o, 'loss') ?? {};
  R.keys(l, Object.keys(L), 'loss');
  const loss = {
    temperature: R.num(l, 'temperature', '>0', L.temperature, 'loss'),
    coherence: R.num(l, 'coherence', '>=0', L.coherence, 'loss'),
    separation: R.num(l, 'separation', '>=0', L.separation, 'loss'),
    margin: R.num(l, 'margin', '>=0', L.margin, 'loss'),
    discretization: R.num(l, 'discretization', '>=0', L.discretization, 'loss'),
  };
  const g = R.object(o, 'lrScale') ?? {};
  R.keys(g, ['fusion', 'stairs'], 'lrScale');

  const b = R.object(o, 'baselines') ?? {};
  R.keys(b, ['linearProbe', 'knn'], 'baselines');
  const baselines: DavidBaselines = {
    linearProbe: readBaseline(R, b, 'linearProbe', (p) => {
      R.keys(p, Object.keys(PROBE_DEFAULTS), 'baselines.linearProbe');
      return {
        steps: R.num(p, 'steps', 'int>0', PROBE_DEFAULTS.steps, 'baselines.linearProbe'),
        lr: R.num(p, 'lr', '>0', PROBE_DEFAULTS.lr, 'baselines.linearProbe'),
        l2: R.num(p, 'l2', '>=0', PROBE_DEFAULTS.l2, 'baselines.linearProbe'),
        evalEvery: R.num(p, 'evalEvery', 'int>0', PROBE_DEFAULTS.evalEvery, 'baselines.linearProbe'),
      };
    }),
    knn: readBaseline(R, b, 'knn', (p) => {
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
    model,
    loss,
    lrScale: { fusion: R.num(g, 'fusion', '>=0', 0.5, 'lrScale'), stairs: R.num(g, 'stairs', '>=0', 0.1, 'lrScale') },
    select: R.choice(o, 'select', ['best', 'last'] as const, 'best'),
    baselines,
    evalEvery: R.num(o, 'evalEvery', 'int>=0', 0),
    seed: R.num(o, 'seed', 'int>=0', 0),
  };
}

/** One split's features `[n, dim]` (float32, host) and class labels. */
export interface DavidSplit {
  x: Float32Array;
  labels: Uint8Array;
  n: number;
  dim: number;
}

/** Rows [from, to) of a split (views, no copy). */
export const rowsOf = (s: DavidSplit, from: number, to: number): DavidSplit => ({
  x: s.x.subarray(from * s.dim, to * s.dim),
  labels: s.labels.subarray(from, to),
  n: to - from,
  dim: s.dim,
});

/** Rows `idx` of a split as a `[B, dim]` tensor. */
function gatherRows(s: DavidSplit, idx: ArrayLike<number>): tf.Tensor2D {
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
  s: DavidSplit,
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
    private readonly data: DavidSplit,
    private readonly weights: DavidLossConfig,
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
  recipe: string,
  file: string,
  weights: Record<string, HostWeight>,
  config: GeoFractalDavidConfig,
  selection: Omit<Selected, 'weights'> & { mode: 'best' | 'last' },
): Promise<void> {
  await writeFileAtomic(
    file,
    writeSafetensors(
      weights,
      writeModelMetadata({ type: GEO_FRACTAL_DAVID_TYPE, config, extra: { recipe, selection } }),
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

/** `[n·C]` fused logits of rows `x` (`[n·dim]`), in batches of `batch` (the model's per-class scores). */
export async function davidScores(
  model: GeoFractalDavid,
  x: Float32Array,
  dim: number,
  batch = 1000,
): Promise<Float32Array> {
  const n = x.length / dim;
  const C = model.config.numClasses;
  const out = new Float32Array(n * C);
  const all: DavidSplit = { x, labels: new Uint8Array(n), n, dim };
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const idx = Int32Array.from({ length: b }, (_, i) => start + i);
    const logits = tf.tidy(() => model.forward(gatherRows(all, idx)).logits);
    out.set((await logits.data()) as Float32Array, start * C);
    logits.dispose();
  }
  return out;
}

/** What {@link trainDavid}'s `inspect` sees: the selected model and the fitted baselines (null when turned off). */
export interface DavidFit {
  model: GeoFractalDavid;
  probe: LinearProbe | null;
  knn: KnnClassifier | null;
}

/** The fields of a David result.json that {@link trainDavid} measures, in the order they are written. */
export interface DavidOutcome {
  /** `recipe`, `command`, `date`, `machine`, `preset`: the head of result.json. */
  head: Record<string, unknown>;
  /** `featureDim` … `backend`: the body of result.json. */
  body: Record<string, unknown> & { testAccuracy: number; valAccuracy: number };
  /** The model file written (the selected weights). */
  modelFile: string;
  metricsFile: string;
}

/**
 * Trains GeoFractalDavid on `splits.train` with the basin loss and AdamW in the card's three learning-rate groups,
 * evaluates on `splits.val` (and records the learned structure) at initialization and every `evalEvery` steps (once
 * per epoch by default), keeps the best validation accuracy's weights (`select: 'best'`), measures `splits.test` once
 * on them, and fits a linear probe and a cosine k-NN on the same rows (each chosen on `splits.val`). Writes
 * `<out>/david.safetensors`, `metrics.jsonl` and the checkpoints. `inspect` runs on the selected model and the fitted
 * baselines before they are released; its value is returned as `extra`.
 * @returns `{ aborted: true, code }` after an interrupted run (75), else the measured result fields.
 */
export async function trainDavid<X = undefined>(args: {
  job: RecipeRun;
  cfg: DavidTrainingConfig;
  splits: { train: DavidSplit; val: DavidSplit; test: DavidSplit };
  numClasses: number;
  /** What the rows are, for the first line (e.g. `features files, centered`). */
  source: string;
  /** The recipe's own config fields (compared on --resume with the training fields). */
  checkpointConfig: Record<string, unknown>;
  inspect?: (fit: DavidFit) => Promise<X>;
}): Promise<{ aborted: true; code: number } | { aborted: false; outcome: DavidOutcome; extra: X | undefined }> {
  const { job, cfg, numClasses } = args;
  const { train: trainSet, val: valSet, test: testSet } = args.splits;
  const { io, options } = job;
  const name = job.name;
  const { perEpoch, batch } = epochBatches(trainSet.n, cfg.batchSize, cfg.seed);
  const totalSteps = perEpoch * cfg.epochs;
  const evalEvery = cfg.evalEvery > 0 ? cfg.evalEvery : perEpoch;

  const files = await job.stage();
  const { metricsFile } = files;
  const modelFile = join(options.out, 'david.safetensors');
  const modelConfig: GeoFractalDavidConfig = { featureDim: trainSet.dim, numClasses, ...cfg.model };
  const model = new GeoFractalDavid(modelConfig, { seed: cfg.seed });
  const groups = model.parameterGroups();
  const lrScale = (p: string) =>
    groups.fusion.includes(p) ? cfg.lrScale.fusion : groups.stairs.includes(p) ? cfg.lrScale.stairs : 1;
  const widest = Math.max(...cfg.model.scales);
  io.stdout.write(
    `${name}: GeoFractalDavid (${cfg.preset}) F=${trainSet.dim} (${args.source}), ` +
      `k=${cfg.model.k}, scales [${cfg.model.scales.join(', ')}]` +
      `${widest > trainSet.dim ? ` (wider than F: the projections expand)` : ''}, ${numClasses} classes, ` +
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
      await writeModel(name, modelFile, weights, modelConfig, {
        mode: 'best',
        step,
        epoch: rec.epoch,
        valAccuracy: v.acc,
      });
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
      config: {
        recipe: name,
        ...JSON.parse(JSON.stringify({ ...args.checkpointConfig, ...cfg, baselines: undefined, select: undefined })),
      },
      progress: true,
    });
    if (summary.aborted) return { aborted: true, code: job.interrupted(summary, totalSteps) };
    const trainSeconds = (Date.now() - t0) / 1000;

    // The selected weights (the best validation accuracy, or the last step's), then the test split, once.
    const last = { step: summary.step, epoch: summary.step / perEpoch };
    if (cfg.select === 'best' && selected !== undefined && selected.step !== summary.step) {
      const dict = Object.fromEntries(
        Object.entries(selected.weights).map(([p, w]) => [p, tf.tensor(w.data, w.shape, 'float32')]),
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
    await writeModel(name, modelFile, weights, modelConfig, selection);

    // The baselines on the same rows (as the model's input; each L2-normalizes them as the model does).
    const asFeatures = (s: DavidSplit) => ({ x: s.x, labels: s.labels });
    let linearProbe: Record<string, unknown> | undefined;
    let probe: LinearProbe | null = null;
    if (cfg.baselines.linearProbe) {
      const t = Date.now();
      probe = await fitLinearProbe(asFeatures(trainSet), asFeatures(valSet), {
        dim: trainSet.dim,
        classes: numClasses,
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
    let knnFit: KnnClassifier | null = null;
    if (cfg.baselines.knn) {
      const t = Date.now();
      knnFit = await fitKnnClassifier(asFeatures(trainSet), asFeatures(valSet), {
        dim: trainSet.dim,
        classes: numClasses,
        ks: cfg.baselines.knn.ks.some((k) => k <= trainSet.n)
          ? cfg.baselines.knn.ks.filter((k) => k <= trainSet.n)
          : [1],
      });
      knn = {
        metric: 'cosine',
        k: knnFit.k,
        valAccuracy: knnFit.valAccuracy,
        testAccuracy: await knnFit.accuracy(asFeatures(testSet)),
        validation: knnFit.validation,
        seconds: (Date.now() - t) / 1000,
      };
    }
    const extra = args.inspect ? await args.inspect({ model, probe, knn: knnFit }) : undefined;

    const initial = records[0];
    const head = {
      recipe: name,
      command: recipeCommand(name, options),
      date: started.toISOString(),
      machine: machine(),
      preset: cfg.preset,
      seed: cfg.seed,
    };
    const body = {
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
    };
    const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
    io.stdout.write(
      `\n${name}: test accuracy ${pct(final.acc)} ` +
        `(${testSet.n} test rows; selected step ${selectedStep}, val ${pct(selectedRecord.valAccuracy)}; ` +
        `${summary.step} steps, ${trainSeconds.toFixed(0)} s)\n`,
    );
    io.stdout.write(`per scale: ${body.scaleAccuracies.map((s) => `${s.scale}: ${pct(s.accuracy)}`).join(', ')}\n`);
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
    return { aborted: false, outcome: { head, body, modelFile, metricsFile }, extra };
  } finally {
    model.dispose();
  }
}
