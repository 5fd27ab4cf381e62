// Recipe `text-consensus`: a CaptionBERT-style sentence encoder distilled from the consensus of offline text experts.
//
// Stages (each writes under <out> and is skipped when its output exists, so an interrupted run continues):
//   1. corpus     <out>/corpus.txt + corpus.json: COCO val2017 captions, the sentences of the STS-B / SICK / MRPC
//                 train splits (no labels; MRPC's train:train part, so its derived dev split stays unseen), WordNet
//                 glosses and examples, fortunes. Never a test split.
//   2. features   <out>/features/<expert>.shard-i-of-N.safetensors per expert (`geolip-bench embed` naming).
//   3. consensus  <out>/consensus.safetensors: GPA → PCA → whitened Procrustes → normalized centroid targets.
//   4. student    a CaptionEncoder trained from scratch: InfoNCE + MSE + CV to the targets; checkpoints,
//                 metrics.jsonl, <out>/student.safetensors (fp32) and <out>/student-fp16.safetensors.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { createRng, pentachoronCVAsync } from '@geolip/geometry';
import type { Matrix, Rng } from '@geolip/geometry';
import { CaptionEncoder, loadBertUncasedTokenizer } from '@geolip/text';
import type { BertTokenizer, CaptionEncoderConfig } from '@geolip/text';
import { buildCorpus, loadFortunes, loadWordnet } from '@geolip/text/corpus';
import type { CorpusSource } from '@geolip/text/corpus';
import { loadCocoCaptions, loadMrpc, loadSick, loadStsb, mrpcDevSplit } from '@geolip/text/data';
import type { PairDataset } from '@geolip/text/data';
import { createGloveAvg, createUseLite } from '@geolip/text/experts';
import type { TextExpert } from '@geolip/text/experts';

import {
  RecipeConfigError,
  buildConsensus,
  configReader,
  cvLossTerm,
  defineRecipe,
  formatDuration,
  infoNCE,
  loadConsensus,
  mseLoss,
  optimizerKeys,
  optimizerOptions,
  readCheckpointBlock,
  readExpertFeatures,
  readOptimizerBlock,
  readWeightsAsync,
  saveConsensus,
  show,
  train,
} from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import type {
  CheckpointBlock,
  ConfigReader,
  ConsensusModel,
  HostWeight,
  OptimizerBlock,
  RecipeIo,
  RecipeRun,
  StepContext,
  TrainableModel,
  TrainOptions,
} from '@geolip/train';
import { float32ToFloat16Bits, writeModelMetadata, writeSafetensors } from '@geolip/io';
import type { SafetensorInput } from '@geolip/io';
import { readConfigObject } from './config-blocks.js';
import { embedRows, hasFeatureShards, readFeatureShards, runFeatureShard } from './text-consensus-shards.js';

/** Experts the recipe can run itself (from `@geolip/text/experts`, optional peers). */
export const TEXT_EXPERTS: Readonly<Record<string, () => Promise<TextExpert>>> = {
  'use-lite': () => createUseLite(),
  'glove-avg': () => createGloveAvg(),
};

/** The validated config of {@link textConsensus} (paths absolute). */
export interface TextConsensusConfig extends Required<OptimizerBlock>, CheckpointBlock {
  corpus: {
    /** A ready corpus (one sentence per line); when set, the other corpus fields are ignored. */
    file?: string;
    /** Directory in the layout of `../shared/data` (stsb/, sick/, mrpc/, coco/captions_val2017.json). */
    data: string;
    /** WordNet data directory, or `false` to leave WordNet out. */
    wordnet: string | false;
    fortunes: string | false;
    caps: Record<string, number>;
    minChars: number;
    maxChars: number;
    seed: number;
  };
  experts: string[];
  /** Precomputed features per expert (a path readExpertFeatures accepts), instead of running the expert. */
  features: Record<string, string>;
  /**
   * Experts the recipe runs from an ES module (absolute path) whose default export is a `TextExpert`
   * (`{ name, dim, embed(texts) → Float32Array }`) or a factory returning one.
   */
  expertModules: Record<string, string>;
  consensus: { file?: string; width?: number; targetDim?: number; iterations: number };
  student: {
    dModel: number;
    heads: number;
    ffDim: number;
    layers: number;
    /** Tokens a sentence is truncated to (with [CLS] and [SEP]). */
    maxLength: number;
    /** Rows of the position table (the model's `maxPositions`); absent: `maxLength`. At least `maxLength`. */
    maxPositions?: number;
    /**
     * Width of the student's output (the model's `outDim`); absent: the consensus width k. When larger than k, the
     * k-wide targets are lifted into it by zero-padding ({@link liftTargets}). Smaller than k is refused.
     */
    outDim?: number;
  };
  steps: number;
  batchSize: number;
  temperature: number;
  mseWeight: number;
  cvWeight: number;
  /** Target of the CV term; default: the measured CV of the consensus targets. */
  cvTarget?: number;
  valSize: number;
  evalEvery: number;
  embedBatch: number;
  seed: number;
  /** Last stage to run (e.g. `consensus` on a CPU machine, the student later on a GPU one). Default `student`. */
  stopAfter: (typeof TEXT_CONSENSUS_STAGES)[number];
}

const R = configReader('text-consensus');
const OPTIMIZER: OptimizerBlock = { lr: 1e-3, warmupSteps: 300, weightDecay: 0.01, clipNorm: 1 };

const TOP_KEYS = [
  'corpus',
  'experts',
  'features',
  'expertModules',
  'consensus',
  'student',
  'steps',
  'batchSize',
  ...optimizerKeys(OPTIMIZER),
  'temperature',
  'mseWeight',
  'cvWeight',
  'cvTarget',
  'valSize',
  'evalEvery',
  'embedBatch',
  'seed',
  'checkpointEvery',
  'stopAfter',
];

/** Stages of the recipe, in order. */
export const TEXT_CONSENSUS_STAGES = ['corpus', 'consensus', 'student'] as const;
const CORPUS_SOURCES = [
  'coco-captions',
  'stsb-train',
  'sick-train',
  'mrpc-train',
  'wordnet-glosses',
  'wordnet-examples',
  'fortunes',
];

/**
 * Reads the `corpus` block of a text recipe's config (text-consensus, text-bank): a ready `file`, or the sources of
 * {@link readCorpusSources} with their caps and filters. Relative paths resolve against `configDir`.
 * @throws {RecipeConfigError} naming the field (through `R`).
 */
export function parseCorpusBlock(
  R: ReturnType<typeof configReader>,
  c: Record<string, unknown>,
  configDir: string,
): TextConsensusConfig['corpus'] {
  R.keys(c, ['file', 'data', 'wordnet', 'fortunes', 'caps', 'minChars', 'maxChars', 'seed'], 'corpus');
  const dirOrFalse = (key: string, fallback: string): string | false => {
    const v = c[key];
    if (v === false) return false;
    if (v === undefined) return fallback;
    return resolve(configDir, R.str(c, key, 'corpus'));
  };
  const caps: Record<string, number> = {};
  const rawCaps = R.object(c, 'caps', 'corpus') ?? {};
  for (const [k] of Object.entries(rawCaps)) {
    if (!CORPUS_SOURCES.includes(k))
      R.fail(`unknown source 'corpus.caps.${k}' (sources: ${CORPUS_SOURCES.join(', ')})`);
    caps[k] = R.num(rawCaps, k, 'int>=0', 0, 'corpus.caps');
  }
  const file = R.optStr(c, 'file', 'corpus');
  return {
    ...(file !== undefined ? { file: resolve(configDir, file) } : {}),
    data: resolve(configDir, R.optStr(c, 'data', 'corpus') ?? '../shared/data'),
    wordnet: dirOrFalse('wordnet', '/usr/share/wordnet'),
    fortunes: dirOrFalse('fortunes', '/usr/share/games/fortunes'),
    caps,
    minChars: R.num(c, 'minChars', 'int>=0', 8, 'corpus'),
    maxChars: R.num(c, 'maxChars', 'int>0', 400, 'corpus'),
    seed: R.num(c, 'seed', 'int>=0', 0, 'corpus'),
  };
}

/**
 * A config's map from expert name to a file (`features`, `expertModules`), each path resolved against `configDir`.
 * @throws {RecipeConfigError} naming the field when a key is not in `experts` or a value is not a string.
 */
export function readExpertPaths(
  R: ConfigReader,
  obj: Record<string, unknown>,
  field: string,
  experts: readonly string[],
  configDir: string,
): Record<string, string> {
  const raw = R.object(obj, field) ?? {};
  const paths: Record<string, string> = {};
  for (const k of Object.keys(raw)) {
    if (!experts.includes(k)) R.fail(`'${field}.${k}' names an expert not in 'experts' (${experts.join(', ')})`);
    paths[k] = resolve(configDir, R.str(raw, k, field));
  }
  return paths;
}

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. Throws a one-line error naming the
 * field.
 */
export function parseTextConsensusConfig(raw: unknown, configDir: string): TextConsensusConfig {
  const obj = readConfigObject(R, raw, TOP_KEYS);
  const corpus = parseCorpusBlock(R, R.object(obj, 'corpus') ?? {}, configDir);
  const experts = obj.experts ?? ['use-lite', 'glove-avg'];
  if (!Array.isArray(experts) || experts.length < 2 || experts.some((e) => typeof e !== 'string' || e === '')) {
    R.fail(`'experts' must be an array of at least 2 expert names, got ${show(experts)}`);
  }
  if (new Set(experts as string[]).size !== (experts as string[]).length)
    R.fail(`'experts' has a repeated name: ${show(experts)}`);
  const features = readExpertPaths(R, obj, 'features', experts as string[], configDir);
  const expertModules = readExpertPaths(R, obj, 'expertModules', experts as string[], configDir);
  for (const e of experts as string[]) {
    if (features[e] === undefined && expertModules[e] === undefined && !Object.hasOwn(TEXT_EXPERTS, e)) {
      R.fail(
        `expert '${e}' has no 'features.${e}' nor 'expertModules.${e}' and is not one the recipe runs ` +
          `(${Object.keys(TEXT_EXPERTS).join(', ')})`,
      );
    }
  }
  const k = R.object(obj, 'consensus') ?? {};
  R.keys(k, ['file', 'width', 'targetDim', 'iterations'], 'consensus');
  const kFile = R.optStr(k, 'file', 'consensus');
  const consensus: TextConsensusConfig['consensus'] = {
    ...(kFile !== undefined ? { file: resolve(configDir, kFile) } : {}),
    ...(k.width !== undefined ? { width: R.num(k, 'width', 'int>0', 0, 'consensus') } : {}),
    ...(k.targetDim !== undefined ? { targetDim: R.num(k, 'targetDim', 'int>0', 0, 'consensus') } : {}),
    iterations: R.num(k, 'iterations', 'int>0', 5, 'consensus'),
  };
  const s = R.object(obj, 'student') ?? {};
  R.keys(s, ['dModel', 'heads', 'ffDim', 'layers', 'maxLength', 'maxPositions', 'outDim'], 'student');
  // maxPositions and outDim stay absent unless given, so a config without them (the shipped student's) is stored in
  // its checkpoints exactly as before and still resumes.
  const student: TextConsensusConfig['student'] = {
    dModel: R.num(s, 'dModel', 'int>0', 256, 'student'),
    heads: R.num(s, 'heads', 'int>0', 4, 'student'),
    ffDim: R.num(s, 'ffDim', 'int>0', 1024, 'student'),
    layers: R.num(s, 'layers', 'int>0', 4, 'student'),
    maxLength: R.num(s, 'maxLength', 'int>0', 64, 'student'),
    ...(s.maxPositions !== undefined ? { maxPositions: R.num(s, 'maxPositions', 'int>0', 0, 'student') } : {}),
    ...(s.outDim !== undefined ? { outDim: R.num(s, 'outDim', 'int>0', 0, 'student') } : {}),
  };
  if (student.dModel % student.heads !== 0)
    R.fail(`'student.heads' (${student.heads}) must divide 'student.dModel' (${student.dModel})`);
  if (student.maxLength < 3) R.fail(`'student.maxLength' must be >= 3 ([CLS] x [SEP]), got ${student.maxLength}`);
  if (student.maxPositions !== undefined && student.maxPositions < student.maxLength)
    R.fail(
      `'student.maxPositions' (${student.maxPositions}) must be >= 'student.maxLength' (${student.maxLength}): ` +
        'a sentence of maxLength tokens needs that many positions',
      'student.maxPositions',
    );
  const cfg: TextConsensusConfig = {
    corpus,
    experts: experts as string[],
    features,
    expertModules,
    consensus,
    student,
    steps: R.num(obj, 'steps', 'int>0', 6000),
    batchSize: R.num(obj, 'batchSize', 'int>0', 256),
    ...(readOptimizerBlock(R, obj, OPTIMIZER) as Required<OptimizerBlock>),
    temperature: R.num(obj, 'temperature', '>0', 0.07),
    mseWeight: R.num(obj, 'mseWeight', '>=0', 1),
    cvWeight: R.num(obj, 'cvWeight', '>=0', 0.05),
    ...(obj.cvTarget !== undefined ? { cvTarget: R.num(obj, 'cvTarget', '>0', 0) } : {}),
    valSize: R.num(obj, 'valSize', 'int>0', 2000),
    evalEvery: R.num(obj, 'evalEvery', 'int>0', 500),
    embedBatch: R.num(obj, 'embedBatch', 'int>0', 256),
    seed: R.num(obj, 'seed', 'int>=0', 0),
    ...readCheckpointBlock(R, obj, 500),
    stopAfter: R.choice(obj, 'stopAfter', TEXT_CONSENSUS_STAGES, 'student'),
  };
  if (cfg.batchSize < 5) R.fail(`'batchSize' must be >= 5 (InfoNCE negatives, CV pentachora), got ${cfg.batchSize}`);
  if (cfg.warmupSteps > cfg.steps) R.fail(`'warmupSteps' (${cfg.warmupSteps}) must not exceed 'steps' (${cfg.steps})`);
  // The consensus width is known here only when 'consensus.targetDim' is given; otherwise the student stage checks.
  if (student.outDim !== undefined && consensus.targetDim !== undefined && student.outDim < consensus.targetDim)
    throw outDimError(student.outDim, consensus.targetDim);
  return cfg;
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 1: corpus

const pairSentences = (d: PairDataset): string[] => d.pairs.flatMap((p) => [p.a, p.b]);

/** The corpus sources of a config, in corpus order (no test split is ever read). */
export async function readCorpusSources(cfg: TextConsensusConfig['corpus']): Promise<CorpusSource[]> {
  const d = cfg.data;
  const coco = await loadCocoCaptions(join(d, 'coco', 'captions_val2017.json'));
  const sources: CorpusSource[] = [
    { name: 'coco-captions', texts: coco.captions.map((x) => x.caption) },
    { name: 'stsb-train', texts: pairSentences(await loadStsb(d, 'train')) },
    { name: 'sick-train', texts: pairSentences(await loadSick(d, 'train')) },
    // Only the train:train part: geolip-bench evaluates MRPC on the train:dev part (mrpcDevSplit's default).
    { name: 'mrpc-train', texts: pairSentences(mrpcDevSplit(await loadMrpc(d, 'train')).train) },
  ];
  if (cfg.wordnet !== false) {
    const wn = await loadWordnet(cfg.wordnet);
    sources.push({ name: 'wordnet-glosses', texts: wn.glosses }, { name: 'wordnet-examples', texts: wn.examples });
  }
  if (cfg.fortunes !== false) sources.push({ name: 'fortunes', texts: await loadFortunes(cfg.fortunes) });
  return sources;
}

async function corpusStage(cfg: TextConsensusConfig, out: string, io: RecipeIo): Promise<string[]> {
  const readLines = (file: string): string[] => {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    lines.forEach((l, i) => {
      if (l.trim() === '')
        throw new RecipeConfigError('text-consensus', `${file}:${i + 1} is an empty line (one sentence per line)`);
    });
    return lines;
  };
  if (cfg.corpus.file !== undefined) {
    if (!existsSync(cfg.corpus.file))
      throw new RecipeConfigError(
        'text-consensus',
        `corpus file ${cfg.corpus.file} does not exist (field 'corpus.file')`,
      );
    const lines = readLines(cfg.corpus.file);
    io.stdout.write(`corpus: ${lines.length} sentences from ${cfg.corpus.file}\n`);
    return lines;
  }
  const file = join(out, 'corpus.txt');
  if (existsSync(file)) {
    const lines = readLines(file);
    io.stdout.write(`corpus: ${lines.length} sentences (existing ${file})\n`);
    return lines;
  }
  const corpus = buildCorpus(await readCorpusSources(cfg.corpus), {
    caps: cfg.corpus.caps,
    seed: cfg.corpus.seed,
    minChars: cfg.corpus.minChars,
    maxChars: cfg.corpus.maxChars,
  });
  await writeFileAtomic(
    join(out, 'corpus.json'),
    JSON.stringify({ sentences: corpus.sentences.length, counts: corpus.counts }, null, 2) + '\n',
  );
  await writeFileAtomic(file, corpus.sentences.join('\n') + '\n');
  io.stdout.write(`corpus: ${corpus.sentences.length} sentences -> ${file}\n`);
  for (const c of corpus.counts) {
    io.stdout.write(
      `  ${c.name.padEnd(17)} read ${c.read}, kept ${c.kept} ` +
        `(duplicates ${c.duplicates}, too short ${c.tooShort}, too long ${c.tooLong}, sampled out ${c.sampledOut})\n`,
    );
  }
  return corpus.sentences;
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 2: expert features

/** Rows per feature shard the recipe writes (a rerun skips finished shards). */
const SHARD_ROWS = 8192;

/**
 * Loads an expert the recipe runs: a module of `expertModules`, else a builtin of {@link TEXT_EXPERTS} (also the
 * text-bank recipe's experts; `recipe` names the recipe in errors).
 */
export async function loadExpert(
  cfg: Pick<TextConsensusConfig, 'expertModules'>,
  name: string,
  recipe = 'text-consensus',
): Promise<TextExpert> {
  const path = cfg.expertModules[name];
  if (path === undefined) return TEXT_EXPERTS[name]!();
  const mod = (await import(/* @vite-ignore */ pathToFileURL(path).href)) as { default?: unknown };
  let expert = mod.default;
  if (typeof expert === 'function') expert = await (expert as () => unknown)();
  const e = expert as Partial<TextExpert> | undefined;
  if (typeof e?.name !== 'string' || typeof e.dim !== 'number' || typeof e.embed !== 'function')
    throw new RecipeConfigError(
      `${recipe} config`,
      `'expertModules.${name}' (${path}) must default-export a TextExpert { name, dim, embed } or a factory`,
      { path: `expertModules.${name}` },
    );
  return e as TextExpert;
}

/**
 * Experts kept by `--shard` runs of this process, keyed by what determines them (the expert's name and its module
 * path, or `builtin`): a queue worker (`geolip-train worker` runs each job in process) that takes several shards of
 * one config loads each expert once, not once per job. glove-avg's word table is already shared per process; what
 * this saves is use-lite's worker thread and model load per job. An expert whose load or embedding fails is dropped
 * (and disposed), so the next job loads it afresh. The single-process run does not use it (it disposes as it goes).
 */
const shardExpertCache = new Map<string, Promise<TextExpert>>();

/** How many times {@link cachedShardExpert} loaded an expert (for tests: a worker taking N jobs loads once). */
export const shardExpertLoads = { count: 0 };

const shardExpertKey = (cfg: TextConsensusConfig, name: string): string =>
  JSON.stringify([name, cfg.expertModules[name] ?? 'builtin']);

function cachedShardExpert(cfg: TextConsensusConfig, name: string): Promise<TextExpert> {
  const key = shardExpertKey(cfg, name);
  let p = shardExpertCache.get(key);
  if (p === undefined) {
    shardExpertLoads.count++;
    p = loadExpert(cfg, name);
    shardExpertCache.set(key, p);
    p.catch(() => {
      if (shardExpertCache.get(key) === p) shardExpertCache.delete(key);
    });
  }
  return p;
}

function releaseShardExpert(cfg: TextConsensusConfig, name: string, expert: TextExpert, failed: boolean): void {
  if (!failed) return;
  const key = shardExpertKey(cfg, name);
  shardExpertCache.delete(key);
  expert.dispose?.();
}

/** Disposes and forgets every expert kept by `--shard` runs of this process. */
export function clearShardExpertCache(): void {
  const held = [...shardExpertCache.values()];
  shardExpertCache.clear();
  for (const p of held) void p.then((e) => e.dispose?.()).catch(() => {});
}

/** The experts whose features the recipe computes itself (no `features.<name>` given). */
const computedExperts = (cfg: TextConsensusConfig): string[] =>
  cfg.experts.filter((e) => cfg.features[e] === undefined);

async function embedExpert(
  cfg: TextConsensusConfig,
  name: string,
  sentences: readonly string[],
  dir: string,
  batch: number,
  io: RecipeIo,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const shards = Math.max(1, Math.ceil(sentences.length / SHARD_ROWS));
  const shardFile = (i: number) => join(dir, `${name}.shard-${i}-of-${shards}.safetensors`);
  const todo = Array.from({ length: shards }, (_, i) => i).filter((i) => !existsSync(shardFile(i)));
  if (todo.length === 0) return join(dir, `${name}.shard-*-of-${shards}.safetensors`);
  const expert = await loadExpert(cfg, name);
  const t0 = Date.now();
  let done = 0;
  const total = todo.reduce((a, i) => a + Math.min(SHARD_ROWS, sentences.length - i * SHARD_ROWS), 0);
  try {
    for (const i of todo) {
      const rows = sentences.slice(i * SHARD_ROWS, Math.min(sentences.length, (i + 1) * SHARD_ROWS));
      const before = done;
      const data = await embedRows(expert, rows, batch, (n) => {
        done = before + n;
        const rate = done / ((Date.now() - t0) / 1000);
        io.stderr.write(
          `\rfeatures ${name}: ${done}/${total} sentences, ${rate.toFixed(0)}/s, ` +
            `ETA ${formatDuration((total - done) / rate)}   `,
        );
      });
      const meta = { model: name, shard: `${i}/${shards}`, rows: `${i * SHARD_ROWS}-${i * SHARD_ROWS + rows.length}` };
      await writeFileAtomic(
        shardFile(i),
        writeSafetensors({ embeddings: { dtype: 'F32', shape: [rows.length, expert.dim], data } }, meta),
      );
    }
    io.stderr.write('\n');
  } finally {
    expert.dispose?.();
  }
  return join(dir, `${name}.shard-*-of-${shards}.safetensors`);
}

async function featuresStage(
  cfg: TextConsensusConfig,
  sentences: readonly string[],
  out: string,
  io: RecipeIo,
  strict: boolean,
): Promise<Map<string, Matrix>> {
  const result = new Map<string, Matrix>();
  const dir = join(out, 'features');
  // Shards of `--shard i/N` runs: one complete set or an error (merge), never a partial read.
  const sharded =
    strict || hasFeatureShards(dir)
      ? await readFeatureShards('geolip-train merge', dir, sentences, computedExperts(cfg), cfg.embedBatch)
      : undefined;
  for (const name of cfg.experts) {
    const fromShards = sharded?.get(name);
    if (fromShards !== undefined) {
      io.stdout.write(`features: ${name} ${fromShards.rows} x ${fromShards.cols} (merged shards in ${dir})\n`);
      result.set(name, fromShards);
      continue;
    }
    const path = cfg.features[name] ?? (await embedExpert(cfg, name, sentences, dir, cfg.embedBatch, io));
    const m = await readExpertFeatures(path);
    if (m.rows !== sentences.length) {
      throw new RecipeConfigError(
        'text-consensus',
        `features of '${name}' (${path}) have ${m.rows} rows, the corpus has ${sentences.length} sentences`,
      );
    }
    io.stdout.write(`features: ${name} ${m.rows} x ${m.cols} (${path})\n`);
    result.set(name, m);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 3: consensus

async function consensusStage(
  cfg: TextConsensusConfig,
  sentences: readonly string[],
  out: string,
  io: RecipeIo,
  merge = false,
): Promise<ConsensusModel> {
  const file = cfg.consensus.file ?? join(out, 'consensus.safetensors');
  let model: ConsensusModel;
  if (existsSync(file) && !merge) {
    model = loadConsensus(readFileSync(file));
    io.stdout.write(`consensus: existing ${file}\n`);
  } else {
    if (cfg.consensus.file !== undefined)
      throw new RecipeConfigError('text-consensus', `consensus file ${file} does not exist (field 'consensus.file')`);
    const features = await featuresStage(cfg, sentences, out, io, merge);
    io.stdout.write(`consensus: GPA over ${cfg.experts.join(', ')} ...\n`);
    model = buildConsensus(
      cfg.experts.map((name) => ({ name, features: features.get(name)! })),
      {
        ...(cfg.consensus.width !== undefined ? { width: cfg.consensus.width } : {}),
        ...(cfg.consensus.targetDim !== undefined ? { targetDim: cfg.consensus.targetDim } : {}),
        iterations: cfg.consensus.iterations,
      },
    );
    await writeFileAtomic(file, saveConsensus(model));
    await writeFileAtomic(
      join(out, 'consensus.json'),
      JSON.stringify({ experts: model.experts, config: model.config, diagnostics: model.diagnostics }, null, 2) + '\n',
    );
  }
  if (model.targets.rows !== sentences.length) {
    throw new RecipeConfigError(
      'text-consensus',
      `consensus ${file} has ${model.targets.rows} targets, the corpus has ${sentences.length} sentences`,
    );
  }
  const d = model.diagnostics;
  io.stdout.write(
    `consensus: K=${model.targets.cols}, experts ${model.experts.join(', ')}, ` +
      `cos to consensus ${d.cosineToConsensus.map((c) => c.toFixed(3)).join(' / ')}, ` +
      `CV ${d.consensusCV.toFixed(4)}, effective dim ${d.effectiveDimension.toFixed(1)}\n`,
  );
  return model;
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 4: the student

/** Token ids of the corpus, truncated, without padding: row i is ids[offsets[i] .. offsets[i+1]). */
interface TokenizedCorpus {
  ids: Int32Array;
  offsets: Int32Array;
}

function tokenizeCorpus(tokenizer: BertTokenizer, sentences: readonly string[], maxLength: number): TokenizedCorpus {
  const rows = sentences.map((s) => tokenizer.encode(s, { maxLength }).inputIds);
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => (offsets[i + 1] = offsets[i]! + r.length));
  const ids = new Int32Array(offsets[rows.length]!);
  rows.forEach((r, i) => ids.set(r, offsets[i]!));
  return { ids, offsets };
}

/** Pads the rows to the batch's longest, rounded up to a multiple of 8 (fewer distinct shapes for GPU kernels). */
function padBatch(
  tok: TokenizedCorpus,
  rows: ArrayLike<number>,
  maxLength: number,
): { ids: Int32Array; mask: Float32Array; shape: [number, number] } {
  let longest = 1;
  for (let i = 0; i < rows.length; i++)
    longest = Math.max(longest, tok.offsets[rows[i]! + 1]! - tok.offsets[rows[i]!]!);
  const len = Math.min(maxLength, Math.ceil(longest / 8) * 8);
  const ids = new Int32Array(rows.length * len);
  const mask = new Float32Array(rows.length * len);
  for (let i = 0; i < rows.length; i++) {
    const a = tok.offsets[rows[i]!]!;
    const n = tok.offsets[rows[i]! + 1]! - a;
    ids.set(tok.ids.subarray(a, a + n), i * len);
    mask.fill(1, i * len, i * len + n);
  }
  return { ids, mask, shape: [rows.length, len] };
}

/** The typed refusal of a student narrower than the consensus (path `student.outDim`). */
function outDimError(outDim: number, k: number): RecipeConfigError {
  return new RecipeConfigError(
    'text-consensus config',
    `'student.outDim' (${outDim}) must be >= the consensus width ${k}: the targets can be lifted into a wider ` +
      'output, never cut to a narrower one',
    { path: 'student.outDim' },
  );
}

/**
 * Lifts `[B, k]` consensus targets into `[B, outDim]` (outDim ≥ k) by zero-padding: row t ↦ [t, 0, …, 0]. [INFER]
 * The card trains a 768-d student on a 768-d consensus; here the consensus is k-wide (k = 100) and carrying it at 768
 * would take 143k × 768 × 2 bytes = 220 MB, so the k-wide targets travel and are lifted batch by batch.
 *
 * Zero-padding is an isometry: norms, dot products, pairwise cosines (so InfoNCE, v_cos and R@1) and pentachoron
 * volumes (so the targets' CV) are those of the k-wide consensus. Any fixed orthonormal lift Q (Qᵀ Q = I_k) differs
 * from it by a rotation of the output space, which the student's last Linear absorbs, so this lift loses nothing.
 * MSE over the outDim elements is (2 − 2cos)/outDim per unit row, as it is for the card's 768-d consensus.
 *
 * Returns `t` itself when outDim = k. @throws {RecipeConfigError} (`student.outDim`) when outDim < k.
 */
export function liftTargets(t: tf.Tensor2D, outDim: number): tf.Tensor2D {
  const k = t.shape[1];
  if (outDim < k) throw outDimError(outDim, k);
  return outDim === k
    ? t
    : tf.pad(t, [
        [0, 0],
        [0, outDim - k],
      ]);
}

class Student implements TrainableModel<Int32Array> {
  constructor(
    readonly encoder: CaptionEncoder,
    private readonly tok: TokenizedCorpus,
    private readonly targets: tf.Tensor2D,
    private readonly cfg: TextConsensusConfig,
    private readonly cvTarget: number,
    /** The encoder's output width (≥ the targets' width k; the targets are lifted into it). */
    readonly outDim: number,
  ) {}

  getWeights(): Record<string, tf.Variable> {
    return this.encoder.getWeights();
  }

  embedRows(rows: ArrayLike<number>): tf.Tensor2D {
    const b = padBatch(this.tok, rows, this.cfg.student.maxLength);
    return tf.tidy(() => this.encoder.forward(tf.tensor2d(b.ids, b.shape, 'int32'), tf.tensor2d(b.mask, b.shape)));
  }

  loss(rows: Int32Array, ctx: StepContext): tf.Scalar {
    return tf.tidy(() => {
      const s = this.embedRows(rows);
      const t = liftTargets(tf.gather(this.targets, tf.tensor1d(rows, 'int32')) as tf.Tensor2D, this.outDim);
      let loss: tf.Tensor = infoNCE(s, t, { temperature: this.cfg.temperature }).loss;
      if (this.cfg.mseWeight > 0) loss = tf.add(loss, tf.mul(this.cfg.mseWeight, mseLoss(s, t)));
      if (this.cfg.cvWeight > 0)
        loss = tf.add(loss, tf.mul(this.cfg.cvWeight, cvLossTerm(s, this.cvTarget, { rng: ctx.rng })));
      return loss as tf.Scalar;
    });
  }
}

/**
 * v_cos (mean cosine to the targets) and R@1 (spec §13.2) of the student on `rows`, and the student's pentachoron CV
 * there (`cv`: `pentachoronCV`'s defaults, the first 512 rows, 200 simplices, seed 0, as the consensus's CV is
 * measured; NaN below 5 rows), for the card's "CV 0.082".
 */
async function fidelity(
  student: Student,
  targets: tf.Tensor2D,
  rows: Int32Array,
  batch: number,
): Promise<{ v_cos: number; r_at_1: number; cv: number }> {
  const parts: tf.Tensor2D[] = [];
  for (let i = 0; i < rows.length; i += batch) parts.push(student.embedRows(rows.subarray(i, i + batch)));
  const all = tf.concat(parts, 0);
  tf.dispose(parts);
  // A pentachoron needs 5 rows; fewer held-out sentences give no CV (NaN).
  const cv = rows.length >= 5 ? (await pentachoronCVAsync(all)).cv : NaN;
  const result = tf.tidy(() => {
    const s = all;
    const t = liftTargets(tf.gather(targets, tf.tensor1d(rows, 'int32')) as tf.Tensor2D, student.outDim);
    const vcos = tf.mean(tf.sum(tf.mul(s, t), 1));
    const best = tf.argMax(tf.matMul(s, t, false, true), 1);
    const hits = tf.mean(tf.cast(tf.equal(best, tf.range(0, rows.length, 1, 'int32')), 'float32'));
    return tf.stack([vcos, hits]);
  });
  all.dispose();
  const [v_cos, r_at_1] = await result.data();
  result.dispose();
  return { v_cos: v_cos!, r_at_1: r_at_1!, cv };
}

/** Writes weights as safetensors with the metadata `@geolip/text`'s `loadGeolipText` (`SentenceEmbedder`) reads. */
function studentFile(
  weights: Record<string, HostWeight>,
  config: CaptionEncoderConfig,
  maxLength: number,
  fp16: boolean,
  extra: Record<string, unknown>,
): Uint8Array {
  const tensors: Record<string, SafetensorInput> = {};
  for (const [name, w] of Object.entries(weights)) {
    tensors[name] = fp16
      ? { dtype: 'F16', shape: w.shape, data: Uint16Array.from(w.data, (v) => float32ToFloat16Bits(v)) }
      : w;
  }
  return writeSafetensors(
    tensors,
    writeModelMetadata({
      type: 'text/caption-encoder',
      config,
      extra: { tokenizer: 'bert-base-uncased', maxLength, ...extra },
    }),
  );
}

/**
 * What the student stage trains, less evaluation and checkpoints: the CaptionEncoder, its `Student` (the loss), the
 * targets on the backend and train()'s model, data (`batchSize` random rows of `trainRows` a step), optimizer,
 * schedule, clipping and seed. `studentStage` trains it; `recipeStep` times its steps (tools/perf/recipe-steps.mjs).
 */
export function studentTraining(
  cfg: TextConsensusConfig,
  tok: TokenizedCorpus,
  consensusTargets: Matrix,
  trainRows: Int32Array,
  vocabSize: number,
  cvTarget: number,
): {
  config: CaptionEncoderConfig;
  encoder: CaptionEncoder;
  student: Student;
  targets: tf.Tensor2D;
  options: Omit<TrainOptions<Int32Array>, 'steps'>;
} {
  const { rows: n, cols: k } = consensusTargets;
  const outDim = cfg.student.outDim ?? k;
  if (outDim < k) throw outDimError(outDim, k);
  const config: CaptionEncoderConfig = {
    vocabSize,
    maxPositions: cfg.student.maxPositions ?? cfg.student.maxLength,
    dModel: cfg.student.dModel,
    heads: cfg.student.heads,
    ffDim: cfg.student.ffDim,
    layers: cfg.student.layers,
    outDim,
  };
  // The targets stay k-wide on the backend (143k × 768 floats would be 440 MB); each batch is lifted to outDim.
  const targets = tf.tensor2d(Float32Array.from(consensusTargets.data), [n, k]);
  const encoder = new CaptionEncoder(config, { seed: cfg.seed });
  const student = new Student(encoder, tok, targets, cfg, cvTarget, outDim);
  return {
    config,
    encoder,
    student,
    targets,
    options: {
      model: student,
      data: (_step: number, rng: Rng) => {
        const pick = rng.choose(trainRows.length, cfg.batchSize);
        return Int32Array.from(pick, (i) => trainRows[i]!);
      },
      ...optimizerOptions(cfg, cfg.steps),
      seed: cfg.seed,
    },
  };
}

async function studentStage(
  cfg: TextConsensusConfig,
  sentences: readonly string[],
  consensus: ConsensusModel,
  job: RecipeRun,
): Promise<number> {
  const { io, options, out } = job;
  const stopAt = options.steps ?? cfg.steps;
  const n = sentences.length;
  const k = consensus.targets.cols;
  if (cfg.valSize + cfg.batchSize > n)
    throw job.error(`'valSize' ${cfg.valSize} + 'batchSize' ${cfg.batchSize} exceed the ${n} sentences`);
  const files = await job.stage();

  const tokenizer = await loadBertUncasedTokenizer();
  const t0 = Date.now();
  const tok = tokenizeCorpus(tokenizer, sentences, cfg.student.maxLength);
  io.stdout.write(
    `student: tokenized ${n} sentences in ${((Date.now() - t0) / 1000).toFixed(1)} s, ` +
      `${(tok.ids.length / n).toFixed(1)} tokens per sentence\n`,
  );

  // A fixed validation set (seeded), never trained on.
  const perm = createRng(cfg.seed + 1).choose(n, n);
  const valRows = Int32Array.from(perm.subarray(0, cfg.valSize)).sort();
  const trainRows = Int32Array.from(perm.subarray(cfg.valSize)).sort();
  const seen = new Uint8Array(tokenizer.vocabSize);
  for (const r of trainRows) for (let j = tok.offsets[r]!; j < tok.offsets[r + 1]!; j++) seen[tok.ids[j]!] = 1;

  const cvTarget = cfg.cvTarget ?? consensus.diagnostics.consensusCV;
  const training = studentTraining(cfg, tok, consensus.targets, trainRows, tokenizer.vocabSize, cvTarget);
  const { config, encoder, student, targets } = training;
  io.stdout.write(
    `student: CaptionEncoder d=${config.dModel}, ${config.layers} layers, ${config.heads} heads, ` +
      `FFN ${config.ffDim}, ${config.maxPositions} positions (sentences cut at ${cfg.student.maxLength} tokens), ` +
      `out ${config.outDim}${config.outDim > k ? ` (the ${k}-d targets zero-padded)` : ''}, ` +
      `${encoder.paramCount().toLocaleString('en-US')} parameters; train ${trainRows.length}, ` +
      `val ${valRows.length}; CV target ${cvTarget.toFixed(4)}\n`,
  );
  try {
    const summary = await train<Int32Array>({
      ...training.options,
      steps: stopAt,
      evalEvery: cfg.evalEvery,
      evaluate: async () => fidelity(student, targets, valRows, cfg.embedBatch),
      ...job.trainOptions(files, cfg.checkpointEvery, 2),
      config: { recipe: 'text-consensus', ...JSON.parse(JSON.stringify(cfg)) },
      progress: true,
    });
    if (summary.aborted) return job.interrupted(summary, cfg.steps, { stage: 'student' });
    const fid = summary.lastEval ?? (await fidelity(student, targets, valRows, cfg.embedBatch));
    // PyTorch layout and names (stateDict), what CaptionEncoder.loadWeights and PyTorch read.
    const state = encoder.stateDict();
    const weights = await readWeightsAsync(state);
    tf.dispose(Object.values(state));
    // Token rows the training corpus never used keep their random initialization: zero them, so an unseen
    // word piece adds nothing but its position to the mean pool.
    const emb = weights['encoder.token_emb.weight']?.data;
    let zeroed = 0;
    if (emb) {
      for (let v = 0; v < config.vocabSize; v++) {
        if (seen[v] === 0 && v !== 0) {
          emb.fill(0, v * config.dModel, (v + 1) * config.dModel);
          zeroed++;
        }
      }
    }
    const extra = {
      recipe: 'text-consensus',
      experts: consensus.experts.join(','),
      steps: summary.step,
      fidelity: fid,
      untrainedTokenRowsZeroed: zeroed,
    };
    const f32 = join(out, 'student.safetensors');
    const f16 = join(out, 'student-fp16.safetensors');
    await writeFileAtomic(f32, studentFile(weights, config, cfg.student.maxLength, false, extra));
    await writeFileAtomic(f16, studentFile(weights, config, cfg.student.maxLength, true, extra));
    io.stdout.write(
      `student: steps ${summary.step} (of ${cfg.steps}), last loss ${summary.lastLoss.toFixed(4)}, ` +
        `val v_cos ${fid.v_cos!.toFixed(4)}, R@1 ${fid.r_at_1!.toFixed(4)}` +
        (typeof fid.cv === 'number' ? `, CV ${fid.cv.toFixed(4)} (target ${cvTarget.toFixed(4)})` : '') +
        ` (${valRows.length} held-out sentences)\n`,
    );
    io.stdout.write(`student: ${zeroed} token rows never seen in training zeroed; wrote ${f32} and ${f16}\n`);
    // With a ready corpus file, 'corpus.data' is only its default and may not hold the benchmark data.
    const benchData = existsSync(join(cfg.corpus.data, 'stsb'))
      ? cfg.corpus.data
      : '<a folder with stsb/, sick/ and mrpc/, as ../shared/data>';
    io.stdout.write(`evaluate: geolip-bench run --model ${f16} --tasks stsb,sick,mrpc --data ${benchData}\n`);
    return 0;
  } finally {
    encoder.dispose();
    targets.dispose();
  }
}

async function run(cfg: TextConsensusConfig, job: RecipeRun): Promise<number> {
  const { io, options } = job;
  await mkdir(options.out, { recursive: true });
  const sentences = await corpusStage(cfg, options.out, io);
  if (cfg.stopAfter === 'corpus') return 0;
  if (options.shard !== undefined) {
    const loadsBefore = shardExpertLoads.count;
    const { manifest, written } = await runFeatureShard(
      join(options.out, 'features'),
      options.shard,
      sentences,
      computedExperts(cfg).map((name) => ({
        name,
        load: () => cachedShardExpert(cfg, name),
        release: (expert: TextExpert, failed: boolean) => releaseShardExpert(cfg, name, expert, failed),
      })),
      cfg.embedBatch,
      SHARD_ROWS,
      (line) => io.stdout.write(`${line}\n`),
    );
    const loads = shardExpertLoads.count - loadsBefore;
    io.stdout.write(
      `${manifest}: ${written ? 'written' : 'exists, shard already done'}` +
        (written ? ` (${loads} expert load(s); experts loaded by an earlier shard of this process are reused)` : '') +
        '\n',
    );
    return 0;
  }
  const consensus = await consensusStage(cfg, sentences, options.out, io, options.merge === true);
  if (cfg.stopAfter === 'consensus' || options.merge === true) return 0;
  return studentStage(cfg, sentences, consensus, job);
}

/** `geolip-train run text-consensus`: corpus → expert features → consensus → CaptionEncoder student. */
export const textConsensus = defineRecipe<TextConsensusConfig>({
  name: 'text-consensus',
  description:
    'CaptionBERT-style student distilled from the consensus of offline text experts (use-lite, glove-avg) ' +
    'on a caption + gloss corpus',
  help: `corpus (COCO captions, STS-B/SICK/MRPC train sentences, WordNet, fortunes) -> expert
features (use-lite, glove-avg) -> consensus -> CaptionEncoder student (InfoNCE + MSE +
CV); config {"corpus", "experts", "features", "consensus", "student", "steps",
"batchSize", "lr", ..., "stopAfter"} (see @geolip/recipes' README); writes
<out>/corpus.txt, consensus.safetensors, student.safetensors, student-fp16.safetensors.`,
  shardStage: 'features',
  parse: parseTextConsensusConfig,
  run,
});

// Exposed for tests.
export const _internal = { tokenizeCorpus, padBatch };
