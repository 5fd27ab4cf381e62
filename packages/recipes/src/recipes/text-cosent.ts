// Recipe `text-cosent`: fine-tunes a GeoLIP text encoder (by default the shipped student) with the CoSENT loss on
// STS-B train pairs (optionally pooled with SICK train's relatedness pairs, `train`), selects the model on a seeded
// validation slice of STS-B train, and scores the chosen model once on the held-out tasks (STS-B dev, SICK trial
// relatedness, MRPC train:dev) beside the un-fine-tuned encoder and the baselines named in `compare`. The STS-B,
// SICK and MRPC test splits are never read; nothing of STS-B dev, SICK trial or MRPC is trained on (SICK train is,
// when `train` names "sick").
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, Matrix, createRng, pentachoronCV } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { classificationAt, pearson, rocAuc, spearman } from '@geolip/metrics';
import { CAPTION_ENCODER_TYPE, ParaphraseThreshold, SentenceEmbedder, loadGeolipText, textModels } from '@geolip/text';
import type { CaptionEncoder, CaptionEncoderConfig } from '@geolip/text';
import { loadMrpc, loadSick, loadStsb, mrpcDevSplit } from '@geolip/text/data';
import type { PairDataset, PairExample } from '@geolip/text/data';
import { createGloveAvg, createUseLite } from '@geolip/text/experts';
import {
  configReader,
  cosentLoss,
  cvLossTerm,
  defineRecipe,
  mseLoss,
  optimizerOptions,
  readCheckpointBlock,
  readOptimizerBlock,
  readWeightsAsync,
  show,
  train,
} from '@geolip/train';
import type {
  CheckpointBlock,
  ConfigReader,
  OptimizerBlock,
  RecipeRun,
  StepContext,
  TrainableModel,
} from '@geolip/train';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { writeFileAtomic } from '@geolip/io/node';

import { readConfigObject } from './config-blocks.js';
import {
  cosines,
  embedCached,
  fileEncoderId,
  indexTexts,
  machine,
  recipeCommand,
  shippedEncoderId,
  x100,
} from './text-heads.js';
import type { Encoder } from './text-heads.js';

const NAME = 'text-cosent';

/** Baselines {@link textCosent} can score beside the fine-tuned model (`compare`). */
export const TEXT_COSENT_BASELINES = Object.freeze(['use-lite', 'glove-avg'] as const);
type Baseline = (typeof TEXT_COSENT_BASELINES)[number];

/** Training splits {@link textCosent} can mix (`train`): STS-B train (less the validation slice) and SICK train. */
export const TEXT_COSENT_TRAIN_SETS = Object.freeze(['stsb', 'sick'] as const);
export type TextCosentTrainSet = (typeof TEXT_COSENT_TRAIN_SETS)[number];

/** The validated config of {@link textCosent} (paths absolute). */
export interface TextCosentConfig extends OptimizerBlock, CheckpointBlock {
  /** Directory in the layout of `../shared/data` (stsb/, sick/, mrpc/). */
  data: string;
  /** The encoder fine-tuned: a shipped name of `@geolip/text` (default `geolip-text`) or a weights file. */
  encoder: TextEncoderSource;
  /**
   * The training splits whose pairs are pooled (default `["stsb"]`): `stsb` = STS-B train less the validation slice,
   * `sick` = SICK train relatedness (4,500 pairs) with its 1–5 scores rescaled to 0–5 ({@link mixTrainPairs}).
   */
  train: TextCosentTrainSet[];
  /** Fraction of STS-B train held out for model selection (seeded shuffle of the pairs), in (0, 1). */
  valFraction: number;
  valSeed: number;
  /** Passes over the training pairs (may be fractional: steps = ceil(epochs · pairs / batchSize)). */
  epochs: number;
  /** Pairs per step (2 × batchSize sentences in one forward pass). */
  batchSize: number;
  /** CoSENT λ. */
  scale: number;
  /** Weight of the anchor to the un-fine-tuned embeddings: weight · mean ‖s − s₀‖² (= 2 − 2 cos for unit rows). */
  anchorWeight: number;
  /** Weight of the pentachoron CV loss (CV − cvTarget)² on each step's embeddings. */
  cvWeight: number;
  cvTarget: number;
  /** Keep the token and position embeddings fixed. */
  freezeEmbeddings: boolean;
  /** Keep the first N transformer layers fixed (0 = none). */
  freezeLayers: number;
  /** Score the validation slice every N steps (and after the last); the best score's weights are kept. */
  evalEvery: number;
  /** Score the held-out tasks after training (off for smoke runs). */
  heldOut: boolean;
  /** Baselines scored beside the model on the held-out tasks. */
  compare: Baseline[];
  /** Use only the first N STS-B train pairs (before the validation carve-out) and of each held-out split; 0 = all. */
  limit: number;
  embedBatch: number;
  seed: number;
}

const DEFAULTS = {
  valFraction: 0.1,
  valSeed: 0,
  epochs: 1,
  batchSize: 32,
  scale: 20,
  anchorWeight: 0,
  cvWeight: 0,
  cvTarget: 0.084,
  freezeLayers: 0,
  evalEvery: 40,
  limit: 0,
  embedBatch: 128,
  seed: 0,
} as const;

const OPTIMIZER: OptimizerBlock = { lr: 5e-5, warmupSteps: 20, weightDecay: 0.01, clipNorm: 1 };
const KEYS = [
  'data',
  'encoder',
  ...Object.keys(DEFAULTS),
  'freezeEmbeddings',
  'heldOut',
  'compare',
  'train',
  'lr',
  'warmupSteps',
  'weightDecay',
  'clipNorm',
  'checkpointEvery',
];

const R = configReader(NAME);

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`.
 * @throws {RecipeConfigError} naming the field.
 */
export function parseTextCosentConfig(raw: unknown, configDir: string): TextCosentConfig {
  const o = readConfigObject(R, raw, KEYS);
  const encoder = readTextEncoderSource(R, o, configDir);
  const num = (key: keyof typeof DEFAULTS, kind: Parameters<typeof R.num>[2]) =>
    R.num(o, key, kind, DEFAULTS[key] as number);
  const valFraction = num('valFraction', '>0');
  if (!(valFraction < 1)) R.fail(`'valFraction' must be in (0, 1), got ${valFraction}`, 'valFraction');
  const bool = (key: string, fallback: boolean): boolean => {
    const v = o[key] ?? fallback;
    if (typeof v !== 'boolean') R.fail(`'${key}' must be a boolean, got ${show(v)}`, key);
    return v as boolean;
  };
  const compareRaw = o.compare ?? [];
  if (!Array.isArray(compareRaw))
    R.fail(`'compare' must be an array of ${TEXT_COSENT_BASELINES.join(', ')}, got ${show(compareRaw)}`, 'compare');
  const compare = (compareRaw as unknown[]).map((c, i) => {
    if (!(TEXT_COSENT_BASELINES as readonly unknown[]).includes(c))
      R.fail(`'compare[${i}]' must be one of ${TEXT_COSENT_BASELINES.join(', ')}, got ${show(c)}`, `compare[${i}]`);
    return c as Baseline;
  });
  const trainRaw = o.train ?? ['stsb'];
  if (!Array.isArray(trainRaw) || trainRaw.length === 0)
    R.fail(`'train' must be a non-empty array of ${TEXT_COSENT_TRAIN_SETS.join(', ')}, got ${show(trainRaw)}`, 'train');
  const trainSets = (trainRaw as unknown[]).map((t, i) => {
    if (!(TEXT_COSENT_TRAIN_SETS as readonly unknown[]).includes(t))
      R.fail(`'train[${i}]' must be one of ${TEXT_COSENT_TRAIN_SETS.join(', ')}, got ${show(t)}`, `train[${i}]`);
    return t as TextCosentTrainSet;
  });
  const cfg: TextCosentConfig = {
    data: resolve(configDir, R.optStr(o, 'data') ?? '../shared/data'),
    encoder,
    // In the fixed order stsb, sick (the order of the pooled pairs before the seeded shuffle), whatever the config's.
    train: TEXT_COSENT_TRAIN_SETS.filter((t) => trainSets.includes(t)),
    valFraction,
    valSeed: num('valSeed', 'int>=0'),
    epochs: num('epochs', '>0'),
    batchSize: num('batchSize', 'int>0'),
    scale: num('scale', '>0'),
    anchorWeight: num('anchorWeight', '>=0'),
    cvWeight: num('cvWeight', '>=0'),
    cvTarget: num('cvTarget', '>0'),
    freezeEmbeddings: bool('freezeEmbeddings', false),
    freezeLayers: num('freezeLayers', 'int>=0'),
    evalEvery: num('evalEvery', 'int>0'),
    heldOut: bool('heldOut', true),
    compare: [...new Set(compare)],
    limit: num('limit', 'int>=0'),
    embedBatch: num('embedBatch', 'int>0'),
    seed: num('seed', 'int>=0'),
    ...readOptimizerBlock(R, o, OPTIMIZER),
    ...readCheckpointBlock(R, o, 40),
  };
  if (cfg.batchSize < 2) R.fail(`'batchSize' must be >= 2 (CoSENT ranks pairs against each other)`, 'batchSize');
  return cfg;
}

/** SICK relatedness 1–5 → STS-B's 0–5: `(s − 1) · 5 / 4` (1 → 0, 3 → 2.5, 5 → 5). */
export const sickToStsbScale = (score: number): number => ((score - 1) * 5) / 4;

/**
 * The pooled training pairs of {@link textCosent}: the parts' pairs concatenated in the order given (the recipe
 * passes STS-B train's then SICK train's), SICK's scores mapped onto STS-B's 0–5 by {@link sickToStsbScale}
 * (STS-B's kept as they are). The recipe then draws every batch from one seeded permutation of the pooled pairs,
 * so a batch mixes the datasets in about their proportion of the pool; CoSENT ranks the pairs of a batch against
 * each other, so a STS-B pair and a SICK pair are compared on the common 0–5 scale.
 * @throws {InvalidArgumentError} a part whose task is not `stsb` or `sick`, or a pair without a score.
 */
export function mixTrainPairs(parts: readonly { task: string; pairs: readonly PairExample[] }[]): PairExample[] {
  const out: PairExample[] = [];
  parts.forEach((part, k) => {
    if (part.task !== 'stsb' && part.task !== 'sick')
      throw new InvalidArgumentError(
        'mixTrainPairs',
        `parts[${k}].task`,
        `must be stsb or sick, got ${show(part.task)}`,
      );
    part.pairs.forEach((p, i) => {
      if (typeof p.score !== 'number' || !Number.isFinite(p.score))
        throw new InvalidArgumentError('mixTrainPairs', `parts[${k}].pairs[${i}].score`, 'must be a finite number');
      out.push(part.task === 'sick' ? { ...p, score: sickToStsbScale(p.score) } : p);
    });
  });
  return out;
}

/** Word-piece ids of each text, tokenized once. */
type Tokenized = Int32Array[];

/** `[2B, L]` ids and mask of the texts `rows` (padded to the longest). */
function padRows(tok: Tokenized, rows: ArrayLike<number>): { ids: tf.Tensor2D; mask: tf.Tensor2D } {
  let len = 1;
  for (let i = 0; i < rows.length; i++) len = Math.max(len, tok[rows[i]!]!.length);
  const ids = new Int32Array(rows.length * len);
  const mask = new Float32Array(rows.length * len);
  for (let i = 0; i < rows.length; i++) {
    const t = tok[rows[i]!]!;
    ids.set(t, i * len);
    mask.fill(1, i * len, i * len + t.length);
  }
  return { ids: tf.tensor2d(ids, [rows.length, len], 'int32'), mask: tf.tensor2d(mask, [rows.length, len]) };
}

/** Embeddings `[N, dim]` of every text of `tok`, batched by length, without gradient. */
async function embedAll(encoder: CaptionEncoder, tok: Tokenized, batch: number): Promise<Float32Array> {
  const dim = encoder.outputDim;
  const out = new Float32Array(tok.length * dim);
  const order = Array.from(tok.keys()).sort((a, b) => tok[a]!.length - tok[b]!.length);
  for (let s = 0; s < order.length; s += batch) {
    const rows = order.slice(s, s + batch);
    const y = tf.tidy(() => {
      const { ids, mask } = padRows(tok, rows);
      return encoder.embed(ids, mask);
    });
    const data = (await y.data()) as Float32Array;
    y.dispose();
    rows.forEach((r, i) => out.set(data.subarray(i * dim, (i + 1) * dim), r * dim));
  }
  return out;
}

/** The fine-tuning problem: pairs as indices into tokenized texts, and their gold scores. */
interface PairSet {
  tok: Tokenized;
  texts: string[];
  a: Int32Array;
  b: Int32Array;
  scores: Float64Array;
}

function pairSet(pairs: readonly PairExample[], tokenize: (t: string) => Int32Array): PairSet {
  const { texts, a, b } = indexTexts(pairs);
  return { tok: texts.map(tokenize), texts, a, b, scores: Float64Array.from(pairs, (p) => p.score!) };
}

/** Cosine Spearman ×100 of `encoder` on a pair set. */
async function pairSpearman(encoder: CaptionEncoder, set: PairSet, batch: number): Promise<number> {
  const e = await embedAll(encoder, set.tok, batch);
  return x100(spearman(cosines(e, encoder.outputDim, set.a, set.b), set.scores));
}

/** The trained weights of the encoder (frozen ones left out) and the loss of a batch of training pairs. */
class CosentTrainer implements TrainableModel<Int32Array> {
  private readonly weights: Record<string, tf.Variable>;

  constructor(
    private readonly encoder: CaptionEncoder,
    private readonly set: PairSet,
    private readonly cfg: TextCosentConfig,
    private readonly anchor: tf.Tensor2D | null,
  ) {
    const all = encoder.getWeights();
    const frozen = (name: string): boolean => {
      if (cfg.freezeEmbeddings && /^encoder\.(token|pos)_emb\./.test(name)) return true;
      const m = /^encoder\.layers\.(\d+)\./.exec(name);
      return m !== null && Number(m[1]) < cfg.freezeLayers;
    };
    this.weights = Object.fromEntries(Object.entries(all).filter(([k]) => !frozen(k)));
  }

  getWeights(): Record<string, tf.Variable> {
    return this.weights;
  }

  paramCount(): number {
    return Object.values(this.weights).reduce((n, w) => n + w.size, 0);
  }

  loss(batch: Int32Array, ctx: StepContext): tf.Scalar {
    const { set, cfg } = this;
    const n = batch.length;
    const rows = new Int32Array(2 * n);
    batch.forEach((p, i) => {
      rows[i] = set.a[p]!;
      rows[n + i] = set.b[p]!;
    });
    const scores = Float64Array.from(batch, (p) => set.scores[p]!);
    return tf.tidy(() => {
      const { ids, mask } = padRows(set.tok, rows);
      const e = this.encoder.embed(ids, mask);
      const u = tf.slice(e, [0, 0], [n, -1]);
      const v = tf.slice(e, [n, 0], [n, -1]);
      let loss: tf.Scalar = cosentLoss(u, v, scores, { scale: cfg.scale });
      if (this.anchor && cfg.anchorWeight > 0) {
        const e0 = tf.gather(this.anchor, tf.tensor1d(rows, 'int32')) as tf.Tensor2D;
        loss = tf.add(loss, tf.mul(cfg.anchorWeight * e.shape[1], mseLoss(e, e0)));
      }
      if (cfg.cvWeight > 0) loss = tf.add(loss, tf.mul(cfg.cvWeight, cvLossTerm(e, cfg.cvTarget, { rng: ctx.rng })));
      return loss;
    });
  }
}

/** Steps of one epoch's seeded permutation: batch `step` of epoch ⌊step / perEpoch⌋ (a pure function of the step). */
function epochBatches(n: number, batch: number, seed: number): (step: number) => Int32Array {
  const perEpoch = Math.floor(n / batch);
  let epoch = -1;
  let perm: Int32Array = new Int32Array(0);
  return (step: number) => {
    const e = Math.floor(step / perEpoch);
    if (e !== epoch) {
      epoch = e;
      perm = Int32Array.from(createRng(seed * 7919 + e + 1).choose(n, n));
    }
    const k = step % perEpoch;
    return perm.slice(k * batch, (k + 1) * batch);
  };
}

/** The model file: safetensors with the `text/caption-encoder` metadata (`fromPretrained`, `SentenceEmbedder`). */
async function modelFile(
  encoder: CaptionEncoder,
  config: CaptionEncoderConfig,
  maxLength: number,
  extra: Record<string, unknown>,
): Promise<Uint8Array> {
  const state = encoder.stateDict();
  const weights = await readWeightsAsync(state);
  tf.dispose(Object.values(state));
  return writeSafetensors(
    weights,
    writeModelMetadata({
      type: CAPTION_ENCODER_TYPE,
      config,
      extra: { tokenizer: 'bert-base-uncased', maxLength, ...extra },
    }),
  );
}

/**
 * How far the chosen model moved from its base, on the validation sentences: the mean cosine between a sentence's
 * two embeddings, and the pentachoron CV (spec §2.1; 1,000 samples of the first 512 sentences, seed 0) of each.
 */
async function geometryOf(
  chosen: CaptionEncoder,
  base: CaptionEncoder,
  set: PairSet,
  batch: number,
): Promise<Record<string, unknown>> {
  const d = chosen.outputDim;
  const e1 = await embedAll(chosen, set.tok, batch);
  const e0 = await embedAll(base, set.tok, batch);
  const n = set.tok.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let k = 0; k < d; k++) c += e1[i * d + k]! * e0[i * d + k]!;
    sum += c;
  }
  const cv = (e: Float32Array) => {
    const m = Math.min(n, 512);
    return pentachoronCV(new Matrix(m, d, Float64Array.from(e.subarray(0, m * d))), { samples: 1000, seed: 0 }).cv;
  };
  return {
    sentences: `the ${n} sentences of the validation pairs`,
    meanCosineToBase: Math.round((sum / n) * 1e4) / 1e4,
    cv: Math.round(cv(e1) * 1e4) / 1e4,
    baseCv: Math.round(cv(e0) * 1e4) / 1e4,
  };
}

/**
 * Mean seconds per step over every call of a (possibly resumed) run, and the last step's loss, from its metrics file's
 * step records (a call that resumes a finished run runs no step).
 */
export function stepStats(metricsFile: string): { secondsPerStep: number | null; lastLoss: number | null } {
  let total = 0;
  let last = 0;
  let steps = 0;
  let lastLoss: number | null = null;
  const lines = existsSync(metricsFile) ? readFileSync(metricsFile, 'utf8').split('\n') : [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { type?: string; elapsedMs?: number; loss?: number };
    if (r.type !== 'step' || typeof r.elapsedMs !== 'number') continue;
    // elapsedMs counts from the start of each call: it drops when a resumed call begins.
    total += r.elapsedMs < last ? r.elapsedMs : r.elapsedMs - last;
    last = r.elapsedMs;
    steps += 1;
    lastLoss = r.loss ?? null;
  }
  return { secondsPerStep: steps === 0 ? null : Math.round((total / steps / 1000) * 100) / 100, lastLoss };
}

const limitPairs = (d: PairDataset, limit: number): PairExample[] => (limit > 0 ? d.pairs.slice(0, limit) : d.pairs);

/**
 * Scores an encoder on the held-out tasks: STS-B dev, SICK trial relatedness, MRPC train:dev (also the text-bank
 * recipe's A/B). Embeddings are cached under `<out>/embeddings/<key>-<split>`.
 */
export async function heldOutScores(
  cfg: { data: string; limit: number },
  job: RecipeRun,
  enc: Encoder,
  key: string,
): Promise<Record<string, unknown>> {
  const pair = async (split: string, pairs: PairExample[]) => {
    const ix = indexTexts(pairs);
    const e = await embedCached(job, enc, `${key}-${split}`, ix.texts);
    return cosines(e.data, enc.dim, ix.a, ix.b);
  };
  const stsb = limitPairs(await loadStsb(cfg.data, 'dev'), cfg.limit);
  const cS = await pair('stsb-dev', stsb);
  const gS = stsb.map((p) => p.score!);
  const sick = limitPairs(await loadSick(cfg.data, 'trial'), cfg.limit);
  const cK = await pair('sick-trial', sick);
  const gK = sick.map((p) => p.score!);
  // MRPC: the threshold is fitted on train:train and scored on train:dev (mrpcDevSplit's defaults, as geolip-bench
  // and text-heads); MRPC is never trained on here.
  const split = mrpcDevSplit(await loadMrpc(cfg.data, 'train'));
  const mTr = limitPairs(split.train, cfg.limit);
  const mDv = limitPairs(split.dev, cfg.limit);
  const cTr = await pair('mrpc-train-train', mTr);
  const cDv = await pair('mrpc-train-dev', mDv);
  const yTr = mTr.map((p) => p.label!);
  const yDv = mDv.map((p) => p.label!);
  const pt = new ParaphraseThreshold();
  const fit = pt.fit(cTr, yTr);
  const m = classificationAt(cDv, yDv, fit.threshold);
  return {
    name: enc.name,
    dim: enc.dim,
    stsbDev: { spearman: x100(spearman(cS, gS)), pearson: x100(pearson(cS, gS)), pairs: stsb.length },
    sickTrial: { spearman: x100(spearman(cK, gK)), pearson: x100(pearson(cK, gK)), pairs: sick.length },
    mrpcDev: {
      f1: x100(m.f1),
      accuracy: x100(m.accuracy),
      auc: x100(rocAuc(cDv, yDv)),
      threshold: fit.threshold,
      fitPairs: mTr.length,
      pairs: mDv.length,
    },
  };
}

/** An embedder as the held-out scoring uses it (its caller disposes the model). */
export function embedderEncoder(model: SentenceEmbedder, id: string): Encoder {
  return { name: model.name, dim: model.dim, id, embed: (t) => model.embed(t) };
}

/** A baseline (an expert of `@geolip/text/experts`) as the held-out scoring uses it, embedding in batches. */
export async function baselineEncoder(name: Baseline, batch: number): Promise<Encoder> {
  const expert = name === 'use-lite' ? await createUseLite() : await createGloveAvg();
  return {
    name: expert.name,
    dim: expert.dim,
    id: `expert:${expert.name}`,
    // In batches: USE lite's wasm worker fails ("memory access out of bounds") on ~7,000 sentences in one call.
    embed: async (t) => {
      const out = new Float32Array(t.length * expert.dim);
      for (let i = 0; i < t.length; i += batch) out.set(await expert.embed(t.slice(i, i + batch)), i * expert.dim);
      return out;
    },
    ...(expert.dispose ? { dispose: () => expert.dispose!() } : {}),
  };
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A text recipe's `encoder`: a shipped name of `@geolip/text` or a weights file (text-cosent, text-bank). */
export type TextEncoderSource = { kind: 'shipped'; name: string } | { kind: 'file'; path: string };

/**
 * Reads a text recipe's `encoder` field (default `geolip-text`): a shipped name, else a weights file resolved against
 * `configDir`.
 * @throws {RecipeConfigError} naming `encoder` when it is not a non-empty string.
 */
export function readTextEncoderSource(
  r: ConfigReader,
  o: Record<string, unknown>,
  configDir: string,
): TextEncoderSource {
  const enc = o.encoder ?? 'geolip-text';
  if (typeof enc !== 'string' || enc === '')
    r.fail(`'encoder' must be a shipped model name or a weights file, got ${show(enc)}`, 'encoder');
  return Object.hasOwn(textModels.shipped(), enc as string)
    ? { kind: 'shipped', name: enc as string }
    : { kind: 'file', path: resolve(configDir, enc as string) };
}

/**
 * Loads a text recipe's encoder on tfjs (training needs its tensors) and names it: `shipped:<name>@<sha256 of the
 * file>`, or `file:<sha256 of the file>`.
 * @throws the job's config error naming `encoder` when the file does not exist.
 */
export async function openTextEncoder(
  source: TextEncoderSource,
  embedBatch: number,
  job: RecipeRun,
): Promise<{ model: SentenceEmbedder; id: string }> {
  if (source.kind === 'shipped') {
    const model = await loadGeolipText({ runtime: 'tfjs', weights: source.name, batchSize: embedBatch });
    return { model, id: await shippedEncoderId(source.name) };
  }
  if (!existsSync(source.path)) throw job.error(`'encoder' ${source.path} does not exist`, 'encoder');
  const model = await SentenceEmbedder.fromWeights(source.path, { batchSize: embedBatch });
  return { model, id: fileEncoderId(source.path) };
}

async function run(cfg: TextCosentConfig, job: RecipeRun): Promise<number> {
  await mkdir(job.out, { recursive: true });
  const started = new Date();
  const files = await job.stage();
  const { model: base, id: baseId } = await openTextEncoder(cfg.encoder, cfg.embedBatch, job);
  const encoder = base.model;
  const config = base.metadata.config;
  const maxLength = base.maxLength;
  const tokenize = (t: string) => Int32Array.from(base.tokenizer.encode(t, { maxLength }).inputIds);

  // The split: a seeded shuffle of STS-B train's pairs, fixed before anything is trained or scored.
  const all = limitPairs(await loadStsb(cfg.data, 'train'), cfg.limit);
  const perm = createRng(cfg.valSeed).choose(all.length, all.length);
  const nVal = Math.max(2, Math.round(cfg.valFraction * all.length));
  if (all.length - nVal < cfg.batchSize)
    throw job.error(`${all.length - nVal} training pairs are fewer than 'batchSize' ${cfg.batchSize}`, 'batchSize');
  const valIdx = Array.from(perm.subarray(0, nVal)).sort((x, y) => x - y);
  const trainIdx = Array.from(perm.subarray(nVal)).sort((x, y) => x - y);
  // The pool: STS-B train less the validation slice (if `train` names stsb), then SICK train (if it names sick);
  // the validation slice above is the same whatever `train` is.
  const parts: { task: string; pairs: PairExample[] }[] = [];
  if (cfg.train.includes('stsb')) parts.push({ task: 'stsb', pairs: trainIdx.map((i) => all[i]!) });
  if (cfg.train.includes('sick'))
    parts.push({ task: 'sick', pairs: limitPairs(await loadSick(cfg.data, 'train'), cfg.limit) });
  const trainSet = pairSet(mixTrainPairs(parts), tokenize);
  const trainDesc = parts
    .map((p) =>
      p.task === 'stsb'
        ? `STS-B train: ${p.pairs.length} pairs`
        : `SICK train (relatedness): ${p.pairs.length} pairs, scores 1–5 rescaled to 0–5 as (s − 1) · 5 / 4`,
    )
    .join(' + ');
  const valSet = pairSet(
    valIdx.map((i) => all[i]!),
    tokenize,
  );
  const nTrain = trainSet.a.length;
  const steps = Math.ceil((cfg.epochs * nTrain) / cfg.batchSize);

  const bestFile = join(job.out, 'cosent.safetensors');
  const bestJson = join(job.out, 'best.json');
  let anchor: tf.Tensor2D | null = null;
  try {
    const t0 = performance.now();
    const baseVal = await pairSpearman(encoder, valSet, cfg.embedBatch);
    job.say(
      `${NAME}: STS-B train ${all.length} pairs → validation ${nVal} (seed ${cfg.valSeed}); ` +
        `training pool ${nTrain} pairs (${trainDesc}); ` +
        `${steps} steps of ${cfg.batchSize} pairs (${cfg.epochs} epochs); base validation Spearman ${baseVal} ` +
        `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    if (cfg.anchorWeight > 0) {
      anchor = tf.tensor2d(await embedAll(encoder, trainSet.tok, cfg.embedBatch), [
        trainSet.tok.length,
        encoder.outputDim,
      ]);
    }
    const trainer = new CosentTrainer(encoder, trainSet, cfg, anchor);
    job.say(
      `${NAME}: ${trainer.paramCount().toLocaleString('en-US')} of ${encoder.paramCount().toLocaleString('en-US')} ` +
        `parameters trained`,
    );
    let best: { step: number; valSpearman: number } =
      job.options.resume && existsSync(bestJson)
        ? (JSON.parse(readFileSync(bestJson, 'utf8')) as { step: number; valSpearman: number })
        : { step: 0, valSpearman: baseVal };
    // The validation curve so far: on --resume, the eval records of the metrics file (an exact resume repeats the
    // evaluations after its checkpoint with the same values; the later record of a step wins).
    const curve = new Map<number, number>();
    if (job.options.resume && existsSync(files.metricsFile)) {
      for (const line of readFileSync(files.metricsFile, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as { type?: string; step?: number; metrics?: { valSpearman?: number } };
        if (r.type === 'eval' && typeof r.metrics?.valSpearman === 'number') curve.set(r.step!, r.metrics.valSpearman);
      }
    }
    const keep = async (step: number, valSpearman: number) => {
      best = { step, valSpearman };
      const bytes = await modelFile(encoder, config, maxLength, {
        recipe: NAME,
        base: baseId,
        step,
        valSpearman,
      });
      await writeFileAtomic(bestFile, bytes);
      await writeFileAtomic(bestJson, `${JSON.stringify(best)}\n`);
    };
    if (!(job.options.resume && existsSync(bestFile))) await keep(0, baseVal);
    const batches = epochBatches(nTrain, cfg.batchSize, cfg.seed);
    const trainStart = performance.now();
    const summary = await train<Int32Array>({
      model: trainer,
      data: (step: number, _rng: Rng) => batches(step),
      steps: job.options.steps ?? steps,
      ...optimizerOptions(cfg, steps),
      seed: cfg.seed,
      evalEvery: cfg.evalEvery,
      evaluate: async (step) => {
        const valSpearman = await pairSpearman(encoder, valSet, cfg.embedBatch);
        curve.set(step, valSpearman);
        const better = valSpearman > best.valSpearman;
        if (better) await keep(step, valSpearman);
        job.say(`${NAME}: step ${step}: validation Spearman ${valSpearman}${better ? ' (best so far)' : ''}`);
        return { valSpearman };
      },
      ...job.trainOptions(files, cfg.checkpointEvery, 1),
      config: { recipe: NAME, ...JSON.parse(JSON.stringify(cfg)) },
      progress: true,
    });
    const trainSeconds = (performance.now() - trainStart) / 1000;
    const stats = stepStats(files.metricsFile);
    if (summary.aborted) return job.interrupted(summary, steps);
    job.say(
      `${NAME}: ${summary.stepsRun} steps in ${trainSeconds.toFixed(0)} s, ` +
        `last loss ${stats.lastLoss?.toFixed(4) ?? 'n/a'}; ` +
        `chosen: step ${best.step}, validation Spearman ${best.valSpearman}`,
    );

    const result: Record<string, unknown> = {
      recipe: NAME,
      command: recipeCommand(NAME, job.options),
      date: started.toISOString(),
      machine: machine(),
      base: { id: baseId, name: base.name, params: encoder.paramCount(), config },
      loss:
        `CoSENT (Su 2022), λ ${cfg.scale}` +
        (cfg.anchorWeight > 0 ? ` + ${cfg.anchorWeight} · mean ‖s − s₀‖² to the un-fine-tuned embeddings` : '') +
        (cfg.cvWeight > 0 ? ` + ${cfg.cvWeight} · (CV − ${cfg.cvTarget})²` : ''),
      settings: {
        epochs: cfg.epochs,
        steps,
        stepsDone: summary.step,
        batchSize: cfg.batchSize,
        optimizer: 'AdamW, warmup-cosine',
        lr: cfg.lr,
        warmupSteps: cfg.warmupSteps,
        weightDecay: cfg.weightDecay,
        clipNorm: cfg.clipNorm,
        freezeEmbeddings: cfg.freezeEmbeddings,
        freezeLayers: cfg.freezeLayers,
        trainedParams: trainer.paramCount(),
        secondsPerStep: stats.secondsPerStep,
      },
      data: {
        train: trainDesc,
        ...(parts.length > 1
          ? {
              mixing:
                'the parts are pooled and every batch is drawn from one seeded permutation of the pool, so a batch ' +
                'mixes the datasets in about their proportion; SICK scores are rescaled to 0–5 first',
            }
          : {}),
        validation: `STS-B train: ${nVal} pairs (seeded shuffle, seed ${cfg.valSeed}, fraction ${cfg.valFraction})`,
        limit: cfg.limit,
        heldOut:
          'STS-B dev, SICK trial (relatedness) and MRPC train:dev are scored once, on the chosen model only; ' +
          'no test split is read',
      },
      selection: {
        metric: 'validation cosine Spearman ×100',
        base: baseVal,
        evals: [...curve.entries()].sort((x, y) => x[0] - y[0]).map(([step, valSpearman]) => ({ step, valSpearman })),
        chosen: best,
      },
      lastLoss: stats.lastLoss,
      model: relative(job.out, bestFile),
      departure:
        "the card's CaptionBERT was not fine-tuned on STS; this recipe fine-tunes the distilled student with CoSENT " +
        (cfg.train.includes('stsb') ? 'on STS-B train' : '') +
        (cfg.train.length > 1 ? ' + ' : '') +
        (cfg.train.includes('sick') ? 'SICK train (relatedness)' : ''),
    };
    const chosen = await SentenceEmbedder.fromWeights(bestFile, { batchSize: cfg.embedBatch, name: NAME });
    const { model: fresh } = await openTextEncoder(cfg.encoder, cfg.embedBatch, job);
    try {
      result.geometry = await geometryOf(chosen.model, fresh.model, valSet, cfg.embedBatch);
      if (cfg.heldOut) {
        const models: Record<string, unknown> = {};
        models[NAME] = await heldOutScores(cfg, job, embedderEncoder(chosen, fileEncoderId(bestFile)), NAME);
        models.base = await heldOutScores(cfg, job, embedderEncoder(fresh, baseId), 'base');
        for (const name of cfg.compare) {
          const b = await baselineEncoder(name, cfg.embedBatch);
          try {
            models[name] = await heldOutScores(cfg, job, b, name);
          } finally {
            b.dispose?.();
          }
        }
        result.heldOut = models;
        for (const [k, v] of Object.entries(models)) {
          const s = v as Record<string, Record<string, number>>;
          job.say(
            `${k}: STS-B dev ${s.stsbDev!.spearman}, SICK-R trial ${s.sickTrial!.spearman}, ` +
              `MRPC train:dev F1 ${s.mrpcDev!.f1} / acc ${s.mrpcDev!.accuracy} / AUC ${s.mrpcDev!.auc}`,
          );
        }
      }
    } finally {
      chosen.dispose();
      fresh.dispose();
    }
    const g = result.geometry as Record<string, number>;
    job.say(`${NAME}: mean cosine to the base ${g.meanCosineToBase}; CV ${g.cv} (base ${g.baseCv})`);
    result.seconds = Math.round((Date.now() - started.getTime()) / 100) / 10;
    job.say(`wrote ${await job.writeResult(result)} and ${bestFile}`);
    return 0;
  } finally {
    anchor?.dispose();
    base.dispose();
  }
}

/**
 * `geolip-train run text-cosent`: CoSENT fine-tuning of a text encoder on STS-B train (and SICK train with `train`),
 * selected on a slice of STS-B train.
 */
export const textCosent = defineRecipe<TextCosentConfig>({
  name: NAME,
  description:
    'fine-tunes a GeoLIP text encoder with the CoSENT loss on STS-B train pairs, optionally with SICK train ' +
    '(model selection on a seeded slice of STS-B train), then scores it on STS-B dev, SICK trial and MRPC ' +
    'train:dev beside its base and baselines',
  help: `config {"data", "encoder" (shipped name or weights file), "train" (["stsb"] or ["stsb", "sick"]),
"valFraction", "valSeed", "epochs", "batchSize", "scale" (λ), "anchorWeight", "cvWeight", "cvTarget",
"freezeEmbeddings", "freezeLayers", "evalEvery", "heldOut",
"compare" (["use-lite", "glove-avg"]), "limit", "embedBatch", "seed", "lr", "warmupSteps", "weightDecay",
"clipNorm", "checkpointEvery"}; writes <out>/cosent.safetensors (the chosen model), best.json, result.json,
metrics.jsonl, checkpoints/, embeddings/.`,
  parse: parseTextCosentConfig,
  run,
});
