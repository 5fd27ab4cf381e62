// Recipe `text-bank`: the AnchorBank variant of CaptionBERT (spec §6) trained on a frozen text encoder.
//
// Stages (each cached under <out>, so an interrupted run continues):
//   1. corpus     <out>/corpus.txt + corpus.json: the text-consensus corpus (same sources, caps and seed), then a
//                 seeded subset of `corpusSize` sentences. Never a test split.
//   2. features   <out>/embeddings/corpus-<name>-<i>of<n>.safetensors: the frozen encoder's embedding s and each
//                 expert's raw features, in chunks (a rerun skips finished chunks).
//   3. frames     per expert, a PCA of its features (train rows) to the bank width: the expert's own D-wide frame.
//   4. bank       AnchorBank(inputDim = encoder width, E = experts): rotations from Procrustes (expert frame → the
//                 bank's initial projection), anchors from the consensus of the rotated experts; then AdamW on
//                 bank.losses (expert agreement, orthogonality, spread, CV), with the card's diagnostics every eval.
//   5. A/B        STS-B dev, SICK trial, MRPC train:dev: the encoder alone, the encoder + bank (`forward`'s concat
//                 output, from the written model file) and the bank feature alone, beside the baselines in `compare`.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { AnchorBank } from '@geolip/anchors';
import type { AnchorBankExpertAgreement, AnchorBankFeature, AnchorBankLossWeights } from '@geolip/anchors';
import { Matrix, createRng, normalize, pca, pentachoronCV, procrustes } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { CAPTION_ENCODER_TYPE, SentenceEmbedder } from '@geolip/text';
import type { CaptionEncoderConfig } from '@geolip/text';
import { buildCorpus } from '@geolip/text/corpus';
import type { TextExpert } from '@geolip/text/experts';
import {
  configReader,
  defineRecipe,
  optimizerKeys,
  optimizerOptions,
  readCheckpointBlock,
  readOptimizerBlock,
  readWeightsAsync,
  show,
  train,
} from '@geolip/train';
import type { CheckpointBlock, OptimizerBlock, RecipeRun, StepContext, TrainableModel } from '@geolip/train';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { writeFileAtomic } from '@geolip/io/node';

import { readConfigObject } from './config-blocks.js';
import { TEXT_EXPERTS, loadExpert, parseCorpusBlock, readCorpusSources, readExpertPaths } from './text-consensus.js';
import type { TextConsensusConfig } from './text-consensus.js';
import {
  TEXT_COSENT_BASELINES,
  baselineEncoder,
  embedderEncoder,
  heldOutScores,
  openTextEncoder,
  readTextEncoderSource,
  sha256,
  stepStats,
} from './text-cosent.js';
import type { TextEncoderSource } from './text-cosent.js';
import { embedCached, machine, recipeCommand } from './text-heads.js';
import type { Encoder } from './text-heads.js';

const NAME = 'text-bank';

/** Baselines {@link textBank} can score beside the A/B arms (`compare`). */
export const TEXT_BANK_BASELINES = TEXT_COSENT_BASELINES;
type Baseline = (typeof TEXT_BANK_BASELINES)[number];

/** How the expert rotations R_e start ([INFER]). */
export const TEXT_BANK_ROTATION_INITS = Object.freeze(['procrustes', 'identity'] as const);
/** How the anchors start ([INFER]). */
export const TEXT_BANK_ANCHOR_INITS = Object.freeze(['consensus', 'random'] as const);

/** The validated config of {@link textBank} (paths absolute). */
export interface TextBankConfig extends OptimizerBlock, CheckpointBlock {
  /** The frozen encoder: a shipped name of `@geolip/text` or a weights file (recorded with its sha256). */
  encoder: TextEncoderSource;
  /** The text-consensus corpus block (sources, caps, filters, seed), or a ready `file`. */
  corpus: TextConsensusConfig['corpus'];
  /** A seeded subset of this many corpus sentences (seed `corpus.seed`); 0 = the whole corpus. */
  corpusSize: number;
  /** The experts, in bank order (builtins `use-lite`, `glove-avg`, or `expertModules`). At least 1. */
  experts: string[];
  /** Experts from an ES module (absolute path) whose default export is a `TextExpert` or a factory of one. */
  expertModules: Record<string, string>;
  /** The AnchorBank's own options (spec §6; everything but the config values is [INFER]). */
  bank: {
    bankDim: number;
    anchors: number;
    cvTarget: number;
    cvSamples: number;
    spreadTargetCos: number;
    feature: AnchorBankFeature;
    expertAgreement: AnchorBankExpertAgreement;
  };
  rotationInit: (typeof TEXT_BANK_ROTATION_INITS)[number];
  anchorInit: (typeof TEXT_BANK_ANCHOR_INITS)[number];
  /** Weights of the terms of `AnchorBank.losses`. */
  lossWeights: Required<AnchorBankLossWeights>;
  steps: number;
  batchSize: number;
  /** Corpus sentences held out (seeded) for the diagnostics; never trained on. */
  valSize: number;
  evalEvery: number;
  /** Rows the expert PCAs and the Procrustes initializations are fitted on (the first of the training rows). */
  fitRows: number;
  /** Corpus sentences per cached feature chunk. */
  featureChunk: number;
  /** Directory in the layout of `../shared/data` for the A/B (stsb/, sick/, mrpc/); also the corpus's `data`. */
  data: string;
  /** Score the A/B on the held-out tasks after training (off for smoke runs). */
  heldOut: boolean;
  compare: Baseline[];
  /** Use only the first N pairs of each held-out split; 0 = all. */
  limit: number;
  embedBatch: number;
  seed: number;
}

const OPTIMIZER: OptimizerBlock = { lr: 1e-3, warmupSteps: 100, weightDecay: 0.01, clipNorm: 1 };
const BANK_KEYS = ['bankDim', 'anchors', 'cvTarget', 'cvSamples', 'spreadTargetCos', 'feature', 'expertAgreement'];
const WEIGHT_KEYS = ['expertAgreement', 'orthogonality', 'spread', 'cv'] as const;
const DEFAULT_WEIGHTS: Required<AnchorBankLossWeights> = { expertAgreement: 1, orthogonality: 1, spread: 0.1, cv: 0.1 };
const KEYS = [
  'encoder',
  'corpus',
  'corpusSize',
  'experts',
  'expertModules',
  'bank',
  'rotationInit',
  'anchorInit',
  'lossWeights',
  'steps',
  'batchSize',
  ...optimizerKeys(OPTIMIZER),
  'valSize',
  'evalEvery',
  'fitRows',
  'featureChunk',
  'data',
  'heldOut',
  'compare',
  'limit',
  'embedBatch',
  'seed',
  'checkpointEvery',
];

const R = configReader(NAME);

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`.
 * @throws {RecipeConfigError} naming the field.
 */
export function parseTextBankConfig(raw: unknown, configDir: string): TextBankConfig {
  const o = readConfigObject(R, raw, KEYS);
  const encoder = readTextEncoderSource(R, o, configDir);
  const data = resolve(configDir, R.optStr(o, 'data') ?? '../shared/data');
  const corpusRaw = R.object(o, 'corpus') ?? {};
  const corpus = parseCorpusBlock(R, { data, ...corpusRaw }, configDir);
  const experts = o.experts ?? ['use-lite', 'glove-avg'];
  if (!Array.isArray(experts) || experts.length < 1 || experts.some((e) => typeof e !== 'string' || e === ''))
    R.fail(`'experts' must be a non-empty array of expert names, got ${show(experts)}`, 'experts');
  if (new Set(experts as string[]).size !== (experts as string[]).length)
    R.fail(`'experts' has a repeated name: ${show(experts)}`, 'experts');
  const expertModules = readExpertPaths(R, o, 'expertModules', experts as string[], configDir);
  for (const e of experts as string[]) {
    if (expertModules[e] === undefined && !Object.hasOwn(TEXT_EXPERTS, e))
      R.fail(
        `expert '${e}' has no 'expertModules.${e}' and is not one the recipe runs ` +
          `(${Object.keys(TEXT_EXPERTS).join(', ')})`,
        'experts',
      );
  }
  const b = R.object(o, 'bank') ?? {};
  R.keys(b, BANK_KEYS, 'bank');
  const bank: TextBankConfig['bank'] = {
    bankDim: R.num(b, 'bankDim', 'int>0', 128, 'bank'),
    anchors: R.num(b, 'anchors', 'int>0', 512, 'bank'),
    cvTarget: R.num(b, 'cvTarget', '>0', 0.082, 'bank'),
    cvSamples: R.num(b, 'cvSamples', 'int>0', 64, 'bank'),
    spreadTargetCos: R.num(b, 'spreadTargetCos', 'number', 0, 'bank'),
    feature: R.choice(b, 'feature', ['projection', 'triangulation'] as const, 'projection', 'bank'),
    expertAgreement: R.choice(b, 'expertAgreement', ['distance', 'variance'] as const, 'distance', 'bank'),
  };
  if (bank.anchors < 5) R.fail(`'bank.anchors' must be >= 5 (pentachora of the CV term), got ${bank.anchors}`);
  if (bank.cvSamples < 2) R.fail(`'bank.cvSamples' must be >= 2, got ${bank.cvSamples}`);
  if (Math.abs(bank.spreadTargetCos) > 1)
    R.fail(`'bank.spreadTargetCos' must be in [-1, 1], got ${bank.spreadTargetCos}`);
  const w = R.object(o, 'lossWeights') ?? {};
  R.keys(w, WEIGHT_KEYS, 'lossWeights');
  const lossWeights = Object.fromEntries(
    WEIGHT_KEYS.map((k) => [k, R.num(w, k, '>=0', DEFAULT_WEIGHTS[k], 'lossWeights')]),
  ) as Required<AnchorBankLossWeights>;
  const compareRaw = o.compare ?? [];
  if (!Array.isArray(compareRaw))
    R.fail(`'compare' must be an array of ${TEXT_BANK_BASELINES.join(', ')}, got ${show(compareRaw)}`, 'compare');
  const compare = (compareRaw as unknown[]).map((c, i) => {
    if (!(TEXT_BANK_BASELINES as readonly unknown[]).includes(c))
      R.fail(`'compare[${i}]' must be one of ${TEXT_BANK_BASELINES.join(', ')}, got ${show(c)}`, `compare[${i}]`);
    return c as Baseline;
  });
  const cfg: TextBankConfig = {
    encoder,
    corpus,
    corpusSize: R.num(o, 'corpusSize', 'int>=0', 24000),
    experts: experts as string[],
    expertModules,
    bank,
    rotationInit: R.choice(o, 'rotationInit', TEXT_BANK_ROTATION_INITS, 'procrustes'),
    anchorInit: R.choice(o, 'anchorInit', TEXT_BANK_ANCHOR_INITS, 'consensus'),
    lossWeights,
    steps: R.num(o, 'steps', 'int>0', 1500),
    batchSize: R.num(o, 'batchSize', 'int>0', 256),
    ...readOptimizerBlock(R, o, OPTIMIZER),
    valSize: R.num(o, 'valSize', 'int>0', 2000),
    evalEvery: R.num(o, 'evalEvery', 'int>0', 250),
    fitRows: R.num(o, 'fitRows', 'int>0', 8192),
    featureChunk: R.num(o, 'featureChunk', 'int>0', 4096),
    data,
    heldOut: R.bool(o, 'heldOut', true),
    compare: [...new Set(compare)],
    limit: R.num(o, 'limit', 'int>=0', 0),
    embedBatch: R.num(o, 'embedBatch', 'int>0', 128),
    seed: R.num(o, 'seed', 'int>=0', 0),
    ...readCheckpointBlock(R, o, 250),
  };
  if (cfg.batchSize < 2) R.fail(`'batchSize' must be >= 2, got ${cfg.batchSize}`, 'batchSize');
  return cfg;
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 1: the corpus subset

interface CorpusInfo {
  sentences: string[];
  summary: Record<string, unknown>;
}

async function corpusStage(cfg: TextBankConfig, job: RecipeRun): Promise<CorpusInfo> {
  const file = join(job.out, 'corpus.txt');
  const info = join(job.out, 'corpus.json');
  const readLines = (f: string): string[] => {
    const lines = readFileSync(f, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (lines.some((l) => l.trim() === '')) throw job.error(`${f} has an empty line (one sentence per line)`);
    return lines;
  };
  if (existsSync(file) && existsSync(info)) {
    const sentences = readLines(file);
    job.say(`${NAME}: corpus: ${sentences.length} sentences (existing ${file})`);
    return { sentences, summary: JSON.parse(readFileSync(info, 'utf8')) as Record<string, unknown> };
  }
  let all: string[];
  let counts: unknown;
  if (cfg.corpus.file !== undefined) {
    if (!existsSync(cfg.corpus.file)) throw job.error(`corpus file ${cfg.corpus.file} does not exist`, 'corpus.file');
    all = readLines(cfg.corpus.file);
    counts = `a ready file: ${cfg.corpus.file}`;
  } else {
    const built = buildCorpus(await readCorpusSources(cfg.corpus), {
      caps: cfg.corpus.caps,
      seed: cfg.corpus.seed,
      minChars: cfg.corpus.minChars,
      maxChars: cfg.corpus.maxChars,
    });
    all = built.sentences;
    counts = built.counts.map((c) => ({ name: c.name, read: c.read, kept: c.kept }));
  }
  const size = cfg.corpusSize === 0 ? all.length : Math.min(cfg.corpusSize, all.length);
  // A seeded subset, kept in corpus order.
  const pick = Int32Array.from(createRng(cfg.corpus.seed + 0x62616e6b).choose(all.length, size)).sort();
  const sentences = Array.from(pick, (i) => all[i]!);
  const summary = {
    corpus: all.length,
    subset: sentences.length,
    subsetSeed: `corpus.seed ${cfg.corpus.seed} (+0x62616e6b)`,
    caps: cfg.corpus.caps,
    counts,
  };
  await writeFileAtomic(info, `${JSON.stringify(summary, null, 2)}\n`);
  await writeFileAtomic(file, `${sentences.join('\n')}\n`);
  job.say(`${NAME}: corpus: a seeded subset of ${sentences.length} of the ${all.length} corpus sentences`);
  return { sentences, summary };
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 2: features (cached in chunks)

async function chunkedFeatures(
  job: RecipeRun,
  enc: Encoder,
  key: string,
  sentences: readonly string[],
  chunk: number,
): Promise<Float32Array> {
  const n = Math.max(1, Math.ceil(sentences.length / chunk));
  const out = new Float32Array(sentences.length * enc.dim);
  for (let i = 0; i < n; i++) {
    const rows = sentences.slice(i * chunk, (i + 1) * chunk);
    const e = await embedCached(job, enc, `corpus-${key}-${i + 1}of${n}`, rows);
    out.set(e.data, i * chunk * enc.dim);
  }
  return out;
}

/** An expert as a cached encoder, embedding in batches (USE lite's worker fails on very large calls). */
function expertEncoder(cfg: TextBankConfig, name: string, expert: TextExpert): Encoder {
  const path = cfg.expertModules[name];
  return {
    name,
    dim: expert.dim,
    id: path === undefined ? `expert:${name}` : `module:${path}`,
    embed: async (t) => {
      const out = new Float32Array(t.length * expert.dim);
      for (let i = 0; i < t.length; i += cfg.embedBatch)
        out.set(await expert.embed(t.slice(i, i + cfg.embedBatch)), i * expert.dim);
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 3: expert frames

/** Rows `idx` of a row-major `[N, D]` float32 matrix as a float64 Matrix. */
function rowsOf(data: Float32Array, dim: number, idx: ArrayLike<number>): Matrix {
  const m = new Matrix(idx.length, dim);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    for (let j = 0; j < dim; j++) m.data[i * dim + j] = data[r * dim + j]!;
  }
  return m;
}

/**
 * The expert's D-wide frame [INFER]: its centred features projected on their top min(D_e, D) principal axes (fitted
 * on `fit` rows), zero-padded to D. Returns `[N, D]` float32 and the share of variance kept.
 */
function expertFrame(
  features: Float32Array,
  dimIn: number,
  n: number,
  bankDim: number,
  fit: ArrayLike<number>,
): { frame: Float32Array; explained: number } {
  const k = Math.min(dimIn, bankDim);
  const p = pca(rowsOf(features, dimIn, fit), k);
  const frame = new Float32Array(n * bankDim);
  const block = 4096;
  for (let s = 0; s < n; s += block) {
    const idx = Array.from({ length: Math.min(block, n - s) }, (_, i) => s + i);
    const y = p.transform(rowsOf(features, dimIn, idx));
    for (let i = 0; i < idx.length; i++) for (let j = 0; j < k; j++) frame[(s + i) * bankDim + j] = y.data[i * k + j]!;
  }
  return { frame, explained: p.explainedVarianceRatio.reduce((a, v) => a + v, 0) };
}

/** Row-normalized copy of a float64 Matrix. */
function unitRows(m: Matrix): Matrix {
  const out = new Matrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) {
    let norm = 0;
    for (let j = 0; j < m.cols; j++) norm += m.data[i * m.cols + j]! ** 2;
    norm = Math.max(Math.sqrt(norm), 1e-12);
    for (let j = 0; j < m.cols; j++) out.data[i * m.cols + j] = m.data[i * m.cols + j]! / norm;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 4: the bank

/** The bank and its loss on a batch of corpus rows (the encoder is frozen: its embeddings are cached inputs). */
class BankTrainer implements TrainableModel<Int32Array> {
  constructor(
    readonly bank: AnchorBank,
    private readonly s: tf.Tensor2D,
    private readonly targets: tf.Tensor2D[],
    private readonly weights: Required<AnchorBankLossWeights>,
  ) {}

  getWeights(): Record<string, tf.Variable> {
    return this.bank.getWeights();
  }

  /** Weight decay on the projection matrices only: it would pull the rotations off orthogonality. */
  noWeightDecay(name: string): boolean {
    return !/^(projection|feature_head)\.weight$/.test(name);
  }

  loss(rows: Int32Array, ctx: StepContext): tf.Scalar {
    return tf.tidy(() => {
      const idx = tf.tensor1d(rows, 'int32');
      const s = tf.gather(this.s, idx) as tf.Tensor2D;
      const t = this.targets.map((x) => tf.gather(x, idx) as tf.Tensor2D);
      return this.bank.losses(s, t, this.weights, { cvSeed: ctx.rng.int(0x7fffffff) }).total;
    });
  }
}

/**
 * The card's diagnostics of the bank on `s` `[M, inputDim]` with the experts' frames `t` (E × `[M, D]`):
 * - `activeAnchors` (spec §4.4): anchors that are the nearest (argmax cosine) of at least one z;
 * - `featureCv`: pentachoron CV of the bank feature rows (1,000 samples, seed 0), against `cvTarget`; `anchorCv` the
 *   same on the normalized anchors; `anchorMaxCos`: the largest cosine between two anchors;
 * - expert agreement: `expertCos.<name>` = mean cos(z, q_e), q_e = normalize(t_e·R_e); `crossExpertCos` = mean
 *   cos(q_i, q_j) over expert pairs; and the loss terms of `AnchorBank.losses` (CV sampled with seed 0).
 */
async function diagnostics(
  bank: AnchorBank,
  s: tf.Tensor2D,
  t: tf.Tensor2D[],
  names: readonly string[],
  weights: Required<AnchorBankLossWeights>,
): Promise<Record<string, number>> {
  const K = bank.config.anchors;
  const E = names.length;
  const w = bank.getWeights();
  const out = tf.tidy(() => {
    const { z, feature } = bank.apply(s);
    const anchors = normalize(w.anchors as tf.Tensor2D);
    const nearest = tf.argMax(tf.matMul(z, anchors, false, true), 1);
    const q = t.map((x, e) => normalize(tf.matMul(x, w[`rotations.${e}`] as tf.Tensor2D)) as tf.Tensor2D);
    const rowCos = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.mean(tf.sum(tf.mul(a, b), 1));
    const expertCos = q.map((qe) => rowCos(z, qe));
    const pairs: tf.Tensor[] = [];
    for (let i = 0; i < E; i++) for (let j = i + 1; j < E; j++) pairs.push(rowCos(q[i]!, q[j]!));
    const cross = pairs.length > 0 ? tf.div(tf.addN(pairs), pairs.length) : tf.scalar(NaN);
    const gram = tf.sub(tf.matMul(anchors, anchors, false, true), tf.mul(tf.eye(K), 4));
    const l = bank.losses(s, t, weights, { cvSeed: 0 });
    const scalars = tf.stack([
      l.total,
      l.expertAgreement,
      l.orthogonality,
      l.spread,
      l.cv,
      tf.max(gram),
      cross,
      ...expertCos,
    ]);
    return { nearest, feature, anchors, scalars };
  });
  try {
    const [v, nearest, feature, anchors] = await Promise.all([
      out.scalars.data(),
      out.nearest.data(),
      out.feature.data(),
      out.anchors.data(),
    ]);
    const used = new Set<number>(nearest as Int32Array);
    const D = bank.config.bankDim;
    const cvOf = (data: Float32Array | Int32Array | Uint8Array, rows: number) =>
      pentachoronCV(new Matrix(rows, D, Float64Array.from(data)), { samples: 1000, seed: 0 }).cv;
    const result: Record<string, number> = {
      valLoss: v[0]!,
      expertAgreement: v[1]!,
      orthogonality: v[2]!,
      spread: v[3]!,
      cvLoss: v[4]!,
      activeAnchors: used.size,
      featureCv: cvOf(feature, s.shape[0]),
      anchorCv: cvOf(anchors, K),
      anchorMaxCos: v[5]!,
      ...(E > 1 ? { crossExpertCos: v[6]! } : {}),
    };
    names.forEach((name, e) => (result[`expertCos.${name}`] = v[7 + e]!));
    return result;
  } finally {
    tf.dispose(out);
  }
}

const round = (v: number, digits = 4): number => Math.round(v * 10 ** digits) / 10 ** digits;
const roundAll = (r: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));

/** The bank variant's model file: the encoder's weights, the bank's under `bank.`, and a config with `anchorBank`. */
async function modelFile(
  base: SentenceEmbedder,
  bank: AnchorBank,
  extra: Record<string, unknown>,
): Promise<{ bytes: Uint8Array; config: CaptionEncoderConfig }> {
  const encState = base.model.stateDict();
  const bankState = bank.stateDict();
  try {
    const weights = await readWeightsAsync(encState);
    const bankWeights = await readWeightsAsync(bankState);
    for (const [k, v] of Object.entries(bankWeights)) weights[`bank.${k}`] = v;
    const { bankDim, experts, anchors, cvTarget, cvSamples, spreadTargetCos, feature, expertAgreement, seed } =
      bank.config;
    const config: CaptionEncoderConfig = {
      ...base.metadata.config,
      anchorBank: { bankDim, experts, anchors, cvTarget, cvSamples, spreadTargetCos, feature, expertAgreement, seed },
    };
    const bytes = writeSafetensors(
      weights,
      writeModelMetadata({
        type: CAPTION_ENCODER_TYPE,
        config,
        extra: { tokenizer: 'bert-base-uncased', maxLength: base.maxLength, ...extra },
      }),
    );
    return { bytes, config };
  } finally {
    tf.dispose([...Object.values(encState), ...Object.values(bankState)]);
  }
}

/** An encoder whose `embed` is computed once per text list (the bank variant feeds two rows of the A/B). */
function memoized(enc: Encoder): Encoder {
  const memo = new Map<string, Promise<Float32Array>>();
  return {
    ...enc,
    embed: (t) => {
      const key = sha256(new TextEncoder().encode(t.join('\n')));
      let p = memo.get(key);
      if (p === undefined) memo.set(key, (p = enc.embed(t)));
      return p;
    },
  };
}

/** Columns [from, from + dim) of an encoder's rows. */
function columns(enc: Encoder, from: number, dim: number, name: string): Encoder {
  return {
    name,
    dim,
    id: `${enc.id}:columns-${from}-${from + dim}`,
    embed: async (t) => {
      const full = await enc.embed(t);
      const out = new Float32Array(t.length * dim);
      for (let i = 0; i < t.length; i++) out.set(full.subarray(i * enc.dim + from, i * enc.dim + from + dim), i * dim);
      return out;
    },
  };
}

async function run(cfg: TextBankConfig, job: RecipeRun): Promise<number> {
  await mkdir(job.out, { recursive: true });
  const started = new Date();
  const files = await job.stage();
  const { sentences, summary: corpusSummary } = await corpusStage(cfg, job);
  const n = sentences.length;
  if (cfg.valSize + cfg.batchSize > n)
    throw job.error(`'valSize' ${cfg.valSize} + 'batchSize' ${cfg.batchSize} exceed the ${n} corpus sentences`);

  const { model: base, id: baseId } = await openTextEncoder(cfg.encoder, cfg.embedBatch, job);
  const tensors: tf.Tensor[] = [];
  let bank: AnchorBank | null = null;
  try {
    const inputDim = base.dim;
    const D = cfg.bank.bankDim;
    const E = cfg.experts.length;
    // Features: the frozen encoder's s, then each expert's raw features.
    const t0 = performance.now();
    const s = await chunkedFeatures(job, embedderEncoder(base, baseId), 'encoder', sentences, cfg.featureChunk);
    const sSeconds = (performance.now() - t0) / 1000;
    const raw: { name: string; dim: number; data: Float32Array; seconds: number }[] = [];
    for (const name of cfg.experts) {
      const t1 = performance.now();
      const expert = await loadExpert(cfg, name, NAME);
      try {
        const data = await chunkedFeatures(job, expertEncoder(cfg, name, expert), name, sentences, cfg.featureChunk);
        raw.push({ name, dim: expert.dim, data, seconds: (performance.now() - t1) / 1000 });
      } finally {
        expert.dispose?.();
      }
    }

    // The split: a fixed seeded validation set, never trained on.
    const perm = createRng(cfg.seed + 1).choose(n, n);
    const valRows = Int32Array.from(perm.subarray(0, cfg.valSize)).sort();
    const trainRows = Int32Array.from(perm.subarray(cfg.valSize)).sort();
    const fit = trainRows.subarray(0, Math.min(cfg.fitRows, trainRows.length));

    // Expert frames: PCA of each expert to the bank width, fitted on training rows.
    const frames = raw.map((r) => ({ name: r.name, dim: r.dim, ...expertFrame(r.data, r.dim, n, D, fit) }));
    const sT = tf.tensor2d(s, [n, inputDim]);
    const tT = frames.map((f) => tf.tensor2d(f.frame, [n, D]));
    tensors.push(sT, ...tT);

    const options = {
      inputDim,
      experts: E,
      bankDim: D,
      anchors: cfg.bank.anchors,
      cvTarget: cfg.bank.cvTarget,
      cvSamples: cfg.bank.cvSamples,
      spreadTargetCos: cfg.bank.spreadTargetCos,
      feature: cfg.bank.feature,
      expertAgreement: cfg.bank.expertAgreement,
      seed: cfg.seed,
    };
    // Initialization on the fit rows: R_e = Procrustes(normalize(t_e) → z₀), z₀ the initial projection of s; the
    // anchors a seeded subset (the bank's own `anchorInit`) of the consensus normalize(mean_e normalize(t_e·R_e)) of
    // those rows. The projection is the bank's first draw from its seed, so a probe bank with the same seed and
    // random anchors has the same z₀.
    const fitIdx = tf.tensor1d(fit, 'int32');
    tensors.push(fitIdx);
    const probe = new AnchorBank(options);
    const rotationCos: Record<string, number> = {};
    let rotations: Matrix[] | null = null;
    let consensus: Matrix;
    try {
      const z0 = tf.tidy(() => probe.apply(tf.gather(sT, fitIdx) as tf.Tensor2D).z);
      const z0m = new Matrix(fit.length, D, Float64Array.from(await z0.data()));
      z0.dispose();
      if (cfg.rotationInit === 'procrustes') {
        rotations = frames.map((f) => procrustes(unitRows(rowsOf(f.frame, D, fit)), z0m).rotation);
        probe.setExpertRotations(rotations);
      }
      const mean = tf.tidy(() => {
        const w = probe.getWeights();
        const q = tT.map((x, e) =>
          normalize(tf.matMul(tf.gather(x, fitIdx) as tf.Tensor2D, w[`rotations.${e}`] as tf.Tensor2D)),
        );
        const z = tf.tensor2d(Float32Array.from(z0m.data), [fit.length, D]);
        q.forEach((qe, e) => (rotationCos[frames[e]!.name] = tf.mean(tf.sum(tf.mul(qe, z), 1)).dataSync()[0]!));
        return normalize(tf.div(tf.addN(q), q.length) as tf.Tensor2D);
      });
      consensus = new Matrix(fit.length, D, Float64Array.from(await mean.data()));
      mean.dispose();
    } finally {
      probe.dispose();
    }
    bank = new AnchorBank({ ...options, anchorInit: cfg.anchorInit === 'consensus' ? consensus : 'random' });
    const b = bank;
    if (rotations !== null) b.setExpertRotations(rotations);
    job.say(
      `${NAME}: encoder ${baseId} (${inputDim}-d, ${base.model.paramCount().toLocaleString('en-US')} parameters, ` +
        `frozen); experts ${frames
          .map(
            (f) =>
              `${f.name} ${f.dim}-d (PCA to ${Math.min(f.dim, D)} keeps ` +
              `${(f.explained * 100).toFixed(1)}%, initial cos to z ${rotationCos[f.name]!.toFixed(3)})`,
          )
          .join(', ')}; ` +
        `bank ${b.paramCount().toLocaleString('en-US')} parameters; train ${trainRows.length}, val ${valRows.length}`,
    );

    const valIdx = tf.tensor1d(valRows, 'int32');
    const sVal = tf.gather(sT, valIdx) as tf.Tensor2D;
    const tVal = tT.map((x) => tf.gather(x, valIdx) as tf.Tensor2D);
    tensors.push(valIdx, sVal, ...tVal);
    const diag = () => diagnostics(b, sVal, tVal, cfg.experts, cfg.lossWeights);
    const initial = roundAll(await diag());
    job.say(
      `${NAME}: initial: active anchors ${initial.activeAnchors} of ${cfg.bank.anchors}, ` +
        `feature CV ${initial.featureCv}, expert cos ${cfg.experts.map((e) => initial[`expertCos.${e}`]).join(' / ')}`,
    );

    const trainer = new BankTrainer(b, sT, tT, cfg.lossWeights);
    const evals = new Map<number, Record<string, number>>();
    if (job.options.resume && existsSync(files.metricsFile)) {
      for (const line of readFileSync(files.metricsFile, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as { type?: string; step?: number; metrics?: Record<string, number> };
        // An earlier call stopped by --steps also evaluated at its last step: not an eval of this schedule.
        const onSchedule = r.step! % cfg.evalEvery === 0 || r.step === cfg.steps;
        if (r.type === 'eval' && r.metrics && onSchedule) evals.set(r.step!, roundAll(r.metrics));
      }
    }
    const trainStart = performance.now();
    const summary = await train<Int32Array>({
      model: trainer,
      data: (_step: number, rng: Rng) => {
        const pick = rng.choose(trainRows.length, cfg.batchSize);
        return Int32Array.from(pick, (i) => trainRows[i]!);
      },
      steps: job.options.steps ?? cfg.steps,
      ...optimizerOptions(cfg, cfg.steps),
      seed: cfg.seed,
      evalEvery: cfg.evalEvery,
      evaluate: async (step) => {
        const d = await diag();
        evals.set(step, roundAll(d));
        return d;
      },
      ...job.trainOptions(files, cfg.checkpointEvery, 2),
      config: { recipe: NAME, baseId, ...JSON.parse(JSON.stringify(cfg)) },
      progress: true,
    });
    const trainSeconds = (performance.now() - trainStart) / 1000;
    if (summary.aborted) return job.interrupted(summary, cfg.steps);
    const stats = stepStats(files.metricsFile);
    const final = roundAll(await diag());
    job.say(
      `${NAME}: ${summary.stepsRun} steps in ${trainSeconds.toFixed(0)} s; final: active anchors ` +
        `${final.activeAnchors} of ${cfg.bank.anchors}, feature CV ${final.featureCv} (target ${cfg.bank.cvTarget}), ` +
        `anchor CV ${final.anchorCv}, expert cos ${cfg.experts.map((e) => final[`expertCos.${e}`]).join(' / ')}` +
        (E > 1 ? `, cross-expert cos ${final.crossExpertCos}` : ''),
    );

    // The bank alone (anchors registry) and the bank variant of the encoder (text registry, SentenceEmbedder).
    const bankFile = join(job.out, 'bank.safetensors');
    await writeFileAtomic(bankFile, b.toSafetensors());
    const variant = await modelFile(base, b, {
      recipe: NAME,
      base: baseId,
      steps: summary.step,
      experts: cfg.experts.join(','),
      anchorInit: cfg.anchorInit,
      rotationInit: cfg.rotationInit,
    });
    const variantFile = join(job.out, 'model.safetensors');
    await writeFileAtomic(variantFile, variant.bytes);

    const result: Record<string, unknown> = {
      recipe: NAME,
      command: recipeCommand(NAME, job.options),
      date: started.toISOString(),
      machine: machine(),
      encoder: {
        id: baseId,
        ...(cfg.encoder.kind === 'file' ? { path: cfg.encoder.path } : {}),
        name: base.name,
        params: base.model.paramCount(),
        dim: inputDim,
        config: base.metadata.config,
        frozen: true,
      },
      corpus: corpusSummary,
      split: { train: trainRows.length, validation: valRows.length, seed: cfg.seed + 1, fitRows: fit.length },
      features: {
        encoderSeconds: round(sSeconds, 1),
        experts: raw.map((r, e) => ({
          name: r.name,
          dim: r.dim,
          seconds: round(r.seconds, 1),
          frame: `PCA to ${Math.min(r.dim, D)} of ${r.dim}${r.dim < D ? `, zero-padded to ${D}` : ''}`,
          pcaExplainedVariance: round(frames[e]!.explained),
          initialRotationCos: round(rotationCos[r.name]!),
        })),
      },
      bank: {
        config: b.config,
        params: b.paramCount(),
        rotationInit: cfg.rotationInit,
        anchorInit: cfg.anchorInit,
        lossWeights: cfg.lossWeights,
      },
      settings: {
        steps: cfg.steps,
        stepsDone: summary.step,
        batchSize: cfg.batchSize,
        optimizer: 'AdamW, warmup-cosine; weight decay on projection weights only',
        lr: cfg.lr,
        warmupSteps: cfg.warmupSteps,
        weightDecay: cfg.weightDecay,
        clipNorm: cfg.clipNorm,
        secondsPerStep: stats.secondsPerStep,
      },
      lastLoss: stats.lastLoss,
      diagnostics: {
        on: `the ${valRows.length} validation corpus sentences (never trained on)`,
        cvTarget: cfg.bank.cvTarget,
        definitions: {
          activeAnchors: 'anchors nearest (argmax cosine) to at least one bank point z (spec §4.4)',
          featureCv: 'pentachoron CV of the bank feature rows, 1,000 samples, seed 0 (card target 0.082)',
          anchorCv: 'pentachoron CV of the normalized anchors, 1,000 samples, seed 0',
          expertCos: "mean cos(z, normalize(t_e·R_e)) per expert (the prototype log's expert_cos)",
          crossExpertCos: 'mean cos between the rotated targets of two experts (agreement of the experts)',
          anchorMaxCos: "the largest cosine between two anchors (the prototype log's anchor_max)",
        },
        initial,
        final,
        evals: [...evals.entries()].sort((x, y) => x[0] - y[0]).map(([step, metrics]) => ({ step, ...metrics })),
      },
      files: { bank: relative(job.out, bankFile), model: relative(job.out, variantFile) },
      departures: [
        `${E} expert${E === 1 ? '' : 's'} (${cfg.experts.join(', ')}), not the card's 5: the only sentence encoders ` +
          'reachable offline',
        `the encoder is frozen and is ${base.name} (${inputDim}-d output, ` +
          `${base.model.paramCount().toLocaleString('en-US')} parameters), not the card's 768-d CaptionBERT: the ` +
          `bank reads ${inputDim}-d s and appends ${D}-d (${inputDim + D}, not 896)`,
        `a seeded ${n}-sentence subset of the text-consensus corpus (of ${String(corpusSummary.corpus)}), ` +
          'for the 2-core CPU budget',
        'the bank internals are [INFER] (spec §6: class body never found): expert frames by PCA, rotations from ' +
          'Procrustes, anchors from the rotated-expert consensus, the loss weights',
      ],
    };

    if (cfg.heldOut) {
      const variantModel = await SentenceEmbedder.fromWeights(variantFile, { batchSize: cfg.embedBatch, name: NAME });
      try {
        const B = memoized(embedderEncoder(variantModel, `file:${sha256(variant.bytes)}`));
        const models: Record<string, unknown> = {};
        models.encoder = await heldOutScores(cfg, job, embedderEncoder(base, baseId), 'encoder');
        models['encoder+bank'] = await heldOutScores(cfg, job, B, 'encoder-bank');
        models['bank-feature'] = await heldOutScores(cfg, job, columns(B, inputDim, D, 'bank feature'), 'feature');
        for (const name of cfg.compare) {
          const bl = await baselineEncoder(name, cfg.embedBatch);
          try {
            models[name] = await heldOutScores(cfg, job, bl, name);
          } finally {
            bl.dispose?.();
          }
        }
        result.heldOut = models;
        result.heldOutNote =
          'A = encoder (its embedding), B = encoder + bank (forward: concat(s, feature), from model.safetensors), ' +
          'and the bank feature alone; cosine scores; MRPC threshold fitted on train:train, scored on train:dev; ' +
          'no test split is read';
        for (const [k, v] of Object.entries(models)) {
          const r = v as Record<string, Record<string, number>>;
          job.say(
            `${k}: STS-B dev ${r.stsbDev!.spearman}, SICK-R trial ${r.sickTrial!.spearman}, ` +
              `MRPC train:dev F1 ${r.mrpcDev!.f1} / acc ${r.mrpcDev!.accuracy} / AUC ${r.mrpcDev!.auc}`,
          );
        }
      } finally {
        variantModel.dispose();
      }
    }
    result.seconds = Math.round((Date.now() - started.getTime()) / 100) / 10;
    job.say(`wrote ${await job.writeResult(result)}, ${bankFile} and ${variantFile}`);
    return 0;
  } finally {
    tf.dispose(tensors);
    bank?.dispose();
    base.dispose();
  }
}

/** `geolip-train run text-bank`: the AnchorBank variant on a frozen text encoder, with its diagnostics and A/B. */
export const textBank = defineRecipe<TextBankConfig>({
  name: NAME,
  description:
    "trains the AnchorBank variant (spec §6) on a frozen text encoder against offline experts, with the card's " +
    'diagnostics, and scores encoder vs encoder + bank on STS-B dev, SICK trial and MRPC train:dev',
  help: `config {"encoder" (shipped name or weights file), "corpus" (text-consensus's block), "corpusSize",
"experts" (["use-lite", "glove-avg"]), "expertModules", "bank" {"bankDim", "anchors", "cvTarget", "cvSamples",
"spreadTargetCos", "feature", "expertAgreement"}, "rotationInit" (procrustes|identity), "anchorInit"
(consensus|random), "lossWeights" {"expertAgreement", "orthogonality", "spread", "cv"}, "steps", "batchSize", "lr",
"warmupSteps", "weightDecay", "clipNorm", "valSize", "evalEvery", "fitRows", "featureChunk", "data", "heldOut",
"compare", "limit", "embedBatch", "seed", "checkpointEvery"}; writes <out>/corpus.txt, embeddings/ (cached
features), bank.safetensors, model.safetensors (the bank variant), result.json, metrics.jsonl, checkpoints/.`,
  parse: parseTextBankConfig,
  run,
});
