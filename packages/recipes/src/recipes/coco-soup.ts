// Recipe `coco-soup` (issue 8, recipe 3): the base-tier soup on COCO images (spec §3.6, §10.3) and a small ViT
// student distilled from it. Expert features (files) → consensus (GPA → PCA → whitened Procrustes → targets) on
// the train split → BaseTierSoup with Procrustes-initialized projectors, trained with BCE on the 80 labels →
// ViTEncoder student (InfoNCE + MSE to the soup's embedding, plus a linear BCE head) → macro mAP of both on the eval
// split.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@geolip/geometry';
import type { Module } from '@geolip/nn';
import {
  BASE_TIER_SOUP_TYPE,
  BaseTierSoup,
  VIT_CLASSIFIER_TYPE,
  VIT_ENCODER_TYPE,
  ViTClassifier,
  ViTEncoder,
} from '@geolip/vision';
import type { BaseTierSoupConfig, ViTEncoderConfig } from '@geolip/vision';
import { meanAveragePrecision } from '@geolip/metrics';
import {
  configReader,
  defineRecipe,
  isObject,
  optimizerOptions,
  readOptimizerBlock,
  readWeightsAsync,
  show,
  train,
} from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import type { NumberKind, OptimizerBlock, RecipeRun, StageFiles, TrainSummary } from '@geolip/train';
import { readSafetensors, writeModelMetadata, writeSafetensors } from '@geolip/io';

import { loadSplitImages } from './coco-data.js';
import type { CocoImageSet, CocoSplit } from './coco-data.js';
import { prepareCocoConsensus, writeConsensusFeatures } from './coco-features.js';
import { SoupTrainer, linearProbe, soupOutputs } from './coco-soup-parts.js';
import type { SoupSplit } from './coco-soup-parts.js';
import {
  StudentStackTrainer,
  activeAnchors,
  measuredCV,
  restoreWeights,
  snapshotWeights,
  studentSplitMetrics,
  studentStackOutputs,
} from './coco-soup-card.js';
import type { StudentData, StudentStack } from './coco-soup-card.js';
import { readConfigObject } from './config-blocks.js';

const NAME = 'coco-soup';
const R = configReader(NAME);

/** Consensus options: each expert is first reduced by its own PCA to `pcaDim` (fitted on the train rows). */
export interface CocoSoupConsensusConfig {
  pcaDim: number;
  targetDim: number;
  iterations: number;
  shrinkage: number;
  /**
   * What the soup reads. `'common'` (card): every expert brought to width `pcaDim` (its own PCA where wider, zero
   * padding where narrower), the consensus fitted there (GPA at `pcaDim`), projectors Linear(pcaDim → K).
   * `'raw'` (small): PCA to `pcaDim` for the fit only, folded back into projectors on the raw features.
   */
  soupInput: 'common' | 'raw';
}

/** The soup's sizes and training. */
export interface CocoSoupSoupConfig {
  anchors: number;
  compartments: number;
  compartmentDim: number;
  hiddenDim: number;
  dropout: number;
  autograd: boolean;
  steps: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  smoothing: number;
  evalEvery: number;
  /** Initialize the projectors from the consensus (whitened Procrustes), the card's calibration. */
  calibration: boolean;
  /** Also train the other soup (with calibration ↔ without), the card's calibration ablation. */
  ablation: boolean;
}

/** The ViT student's sizes and training. */
export interface CocoSoupStudentConfig {
  imageSize: number;
  patchSize: number;
  dModel: number;
  heads: number;
  ffDim: number;
  layers: number;
  /** What the embedding is distilled to: the trained soup's fused embedding, or the consensus targets. */
  target: 'soup' | 'consensus';
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  clipNorm: number;
  temperature: number;
  nceWeight: number;
  mseWeight: number;
  bceWeight: number;
  smoothing: number;
  flip: boolean;
  evalEvery: number;
  /**
   * Epochs over the fit split (batches drawn at random; ceil(N_fit / (batchSize · accumulate)) steps each); 0: `steps`
   * steps.
   */
  epochs: number;
  /** Micro-batches of `batchSize` per optimizer step (gradient accumulation; InfoNCE sees one micro-batch). */
  accumulate: number;
  /** A linear head Linear(K → C) trained with BCE (`bceWeight`); without it the student is the ViTEncoder alone. */
  head: boolean;
  /** BCE of the FROZEN soup's constellation + patchwork + classifier on the student embedding (spec §8.3). */
  soupBceWeight: number;
  /** CV loss toward the measured CV of the training targets. */
  cvWeight: number;
  /** Whitened-Procrustes alignment loss (detached map, fitted on the last `procrustesWindow` batches). */
  procrustesWeight: number;
  procrustesWindow: number;
  procrustesShrinkage: number;
  /** Geometric autograd on the student embedding against the soup's anchors (tangential, separation). */
  autograd: boolean;
  tangential: number;
  separation: number;
}

/** The linear probes (logistic regression on L2-normalized rows, full batch). `steps: 0` turns them off. */
export interface CocoSoupProbeConfig {
  steps: number;
  lr: number;
  l2: number;
}

/** The validated config of {@link cocoSoup} (paths absolute). */
export interface CocoSoupConfig {
  /** `'card'`: the ViT x3 card's sizes and losses (default); `'small'`: the first, smaller run (a departure). */
  preset: CocoSoupPreset;
  experts: { name: string; features: string; names?: string }[];
  images: {
    root: string;
    categories: string;
    train: CocoImageSet[];
    eval: CocoImageSet[];
    /** Train images held out for model selection (drawn with `validationSeed` before any eval image is read). */
    validation: number;
    validationSeed: number;
  };
  consensus: CocoSoupConsensusConfig;
  soup: CocoSoupSoupConfig;
  student: CocoSoupStudentConfig;
  probe: CocoSoupProbeConfig;
  seed: number;
  checkpointEvery: number;
}

/** The recipe's presets: `card` (issue 20) and `small` (the first run, issue 8; a departure from the card). */
export type CocoSoupPreset = 'card' | 'small';

interface PresetDefaults {
  consensus: CocoSoupConsensusConfig;
  soup: CocoSoupSoupConfig;
  student: CocoSoupStudentConfig;
  validation: number;
}

const SMALL: PresetDefaults = {
  consensus: { pcaDim: 64, targetDim: 32, iterations: 5, shrinkage: 0.1, soupInput: 'raw' },
  soup: {
    anchors: 64,
    compartments: 8,
    compartmentDim: 32,
    hiddenDim: 256,
    dropout: 0.1,
    autograd: true,
    steps: 300,
    batchSize: 32,
    lr: 1e-3,
    weightDecay: 0,
    smoothing: 0.1,
    evalEvery: 50,
    calibration: true,
    ablation: false,
  },
  student: {
    imageSize: 112,
    patchSize: 16,
    dModel: 128,
    heads: 4,
    ffDim: 256,
    layers: 3,
    target: 'soup',
    steps: 400,
    batchSize: 32,
    lr: 1e-3,
    warmupSteps: 30,
    weightDecay: 0.05,
    clipNorm: 1,
    temperature: 0.07,
    nceWeight: 1,
    mseWeight: 1,
    bceWeight: 1,
    smoothing: 0.1,
    flip: true,
    evalEvery: 50,
    epochs: 0,
    accumulate: 1,
    head: true,
    soupBceWeight: 0,
    cvWeight: 0,
    procrustesWeight: 0,
    procrustesWindow: 4,
    procrustesShrinkage: 0.1,
    autograd: false,
    tangential: 0.01,
    separation: 1,
  },
  validation: 0,
};

/**
 * The card (ViT x3, spec §3.6, §10.2–10.3): consensus at 768 → 128, soup 256 anchors × 128 (799,952 parameters with
 * three experts), the 11,216,768-parameter student at 224 px with the full loss stack. [INFER] values are documented
 * in the README.
 */
const CARD: PresetDefaults = {
  consensus: { pcaDim: 768, targetDim: 128, iterations: 5, shrinkage: 0.1, soupInput: 'common' },
  soup: {
    anchors: 256,
    compartments: 8,
    compartmentDim: 64,
    hiddenDim: 512,
    dropout: 0.1,
    autograd: true,
    steps: 300,
    batchSize: 32,
    lr: 1e-3,
    weightDecay: 0,
    smoothing: 0.1,
    evalEvery: 25,
    calibration: true,
    ablation: true,
  },
  student: {
    imageSize: 224,
    patchSize: 16,
    dModel: 384,
    heads: 6,
    ffDim: 1536,
    layers: 6,
    target: 'soup',
    steps: 400,
    batchSize: 32,
    lr: 3e-4,
    warmupSteps: 10,
    weightDecay: 0.05,
    clipNorm: 1,
    temperature: 0.07,
    nceWeight: 1,
    mseWeight: 1,
    bceWeight: 0,
    smoothing: 0.1,
    flip: true,
    evalEvery: 50,
    epochs: 10,
    accumulate: 1,
    head: false,
    soupBceWeight: 1,
    cvWeight: 0.1,
    procrustesWeight: 0.1,
    procrustesWindow: 4,
    procrustesShrinkage: 0.1,
    autograd: true,
    tangential: 0.01,
    separation: 1,
  },
  validation: 24,
};

/** The defaults of each preset (read-only copies). */
export const COCO_SOUP_PRESETS: Readonly<Record<CocoSoupPreset, Readonly<PresetDefaults>>> = Object.freeze({
  card: CARD,
  small: SMALL,
});

const PROBE_DEFAULTS: CocoSoupProbeConfig = { steps: 300, lr: 0.01, l2: 1e-4 };

/** The issue's split: train = coco-mini + coco-tiny train2017, eval = coco-mini + coco-tiny val2017. */
export const COCO_SOUP_SPLITS: Readonly<{ train: readonly CocoImageSet[]; eval: readonly CocoImageSet[] }> =
  Object.freeze({
    train: Object.freeze([
      { dir: 'coco-mini', split: 'train2017' },
      { dir: 'coco-tiny', split: 'train2017' },
    ]),
    eval: Object.freeze([
      { dir: 'coco-mini', split: 'val2017' },
      { dir: 'coco-tiny', split: 'val2017' },
    ]),
  });

const KEYS = ['preset', 'experts', 'images', 'consensus', 'soup', 'student', 'probe', 'seed', 'checkpointEvery'];

/** How each numeric field of a section is validated (anything not listed: a positive integer). */
const KINDS: Record<string, NumberKind> = {
  shrinkage: '>=0',
  dropout: '>=0',
  lr: '>0',
  weightDecay: '>=0',
  smoothing: '>=0',
  temperature: '>0',
  clipNorm: '>0',
  nceWeight: '>=0',
  mseWeight: '>=0',
  bceWeight: '>=0',
  l2: '>=0',
  warmupSteps: 'int>=0',
  epochs: 'int>=0',
  soupBceWeight: '>=0',
  cvWeight: '>=0',
  procrustesWeight: '>=0',
  procrustesShrinkage: '>=0',
  tangential: '>=0',
  separation: '>=0',
};

/**
 * Reads section `key` of the config: its fields default to `defaults`, numbers by {@link KINDS}, booleans as such.
 * With `optimizer`, the section's `lr`, `warmupSteps`, `weightDecay`, `clipNorm` are the kit's optimizer block.
 */
function section<T extends object>(
  o: Record<string, unknown>,
  key: string,
  defaults: T,
  kinds: Record<string, NumberKind> = {},
  optimizer?: OptimizerBlock,
): T {
  const s = R.object(o, key) ?? {};
  R.keys(s, Object.keys(defaults), key);
  const out: Record<string, unknown> = optimizer === undefined ? {} : { ...readOptimizerBlock(R, s, optimizer, key) };
  for (const [k, v] of Object.entries(defaults)) {
    if (k in out) continue;
    if (typeof v === 'boolean') {
      if (s[k] !== undefined && typeof s[k] !== 'boolean')
        R.fail(`'${key}.${k}' must be true or false, got ${show(s[k])}`);
      out[k] = s[k] ?? v;
    } else if (typeof v === 'number') {
      out[k] = R.num(s, k, kinds[k] ?? KINDS[k] ?? 'int>0', v, key);
    } else {
      out[k] = v; // string choices: read by the caller
    }
  }
  return out as T;
}

function imageSets(value: unknown, field: string, fallback: readonly CocoImageSet[]): CocoImageSet[] {
  if (value === undefined) return fallback.map((s) => ({ ...s }));
  if (!Array.isArray(value) || value.length === 0)
    return R.fail(`'${field}' must be a non-empty array of {"dir", "split"}, got ${show(value)}`);
  return value.map((s, i) => {
    if (!isObject(s)) R.fail(`'${field}[${i}]' must be an object {"dir", "split"}, got ${show(s)}`);
    const o = s as Record<string, unknown>;
    R.keys(o, ['dir', 'split'], `${field}[${i}]`);
    return { dir: R.str(o, 'dir', `${field}[${i}]`), split: R.str(o, 'split', `${field}[${i}]`) };
  });
}

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. Throws a one-line error naming the
 * field.
 */
export function parseCocoSoupConfig(raw: unknown, configDir: string): CocoSoupConfig {
  const o = readConfigObject(R, raw, KEYS);
  const preset = R.choice(o, 'preset', ['card', 'small'] as const, 'card');
  const P = COCO_SOUP_PRESETS[preset];

  if (o.experts === undefined) R.fail('missing field \'experts\' (an array of {"name", "features"})');
  if (!Array.isArray(o.experts) || o.experts.length < 2)
    R.fail(
      `'experts' must be an array of at least 2 {"name", "features"} (the consensus needs two experts), ` +
        `got ${show(o.experts)}`,
    );
  const seen = new Set<string>();
  const experts = (o.experts as unknown[]).map((e, i) => {
    if (!isObject(e)) R.fail(`'experts[${i}]' must be an object {"name", "features"}, got ${show(e)}`);
    const eo = e as Record<string, unknown>;
    R.keys(eo, ['name', 'features', 'names'], `experts[${i}]`);
    const name = R.str(eo, 'name', `experts[${i}]`);
    if (seen.has(name)) R.fail(`'experts[${i}].name' '${name}' is given twice`);
    seen.add(name);
    const names = R.optStr(eo, 'names', `experts[${i}]`);
    return {
      name,
      features: resolve(configDir, R.str(eo, 'features', `experts[${i}]`)),
      ...(names !== undefined ? { names: resolve(configDir, names) } : {}),
    };
  });

  const im = R.object(o, 'images') ?? {};
  R.keys(im, ['root', 'categories', 'train', 'eval', 'validation', 'validationSeed'], 'images');
  const root = resolve(configDir, R.optStr(im, 'root', 'images') ?? '../shared/data/coco');
  const images = {
    root,
    categories: resolve(root, R.optStr(im, 'categories', 'images') ?? 'categories.json'),
    train: imageSets(im.train, 'images.train', COCO_SOUP_SPLITS.train),
    eval: imageSets(im.eval, 'images.eval', COCO_SOUP_SPLITS.eval),
    validation: R.num(im, 'validation', 'int>=0', P.validation, 'images'),
    validationSeed: R.num(im, 'validationSeed', 'int>=0', 0, 'images'),
  };

  const consensus = section(o, 'consensus', P.consensus);
  const co = (R.object(o, 'consensus') ?? {}) as Record<string, unknown>;
  consensus.soupInput = R.choice(co, 'soupInput', ['common', 'raw'] as const, P.consensus.soupInput, 'consensus');
  if (consensus.targetDim > consensus.pcaDim)
    R.fail(`'consensus.targetDim' (${consensus.targetDim}) must not exceed 'consensus.pcaDim' (${consensus.pcaDim})`);
  if (consensus.shrinkage > 1) R.fail(`'consensus.shrinkage' must be in [0, 1], got ${consensus.shrinkage}`);
  const soup = section(o, 'soup', P.soup);
  if (soup.anchors % soup.compartments !== 0)
    R.fail(`'soup.anchors' (${soup.anchors}) must be a multiple of 'soup.compartments' (${soup.compartments})`);
  if (soup.dropout >= 1) R.fail(`'soup.dropout' must be in [0, 1), got ${soup.dropout}`);
  if (soup.smoothing >= 1) R.fail(`'soup.smoothing' must be in [0, 1), got ${soup.smoothing}`);
  const { lr, warmupSteps, weightDecay, clipNorm } = P.student;
  const student = section(o, 'student', P.student, {}, { lr, warmupSteps, weightDecay, clipNorm });
  const so = (R.object(o, 'student') ?? {}) as Record<string, unknown>;
  student.target = R.choice(so, 'target', ['soup', 'consensus'] as const, P.student.target, 'student');
  if (student.imageSize % student.patchSize !== 0)
    R.fail(
      `'student.imageSize' (${student.imageSize}) must be a multiple of 'student.patchSize' (${student.patchSize})`,
    );
  if (student.dModel % student.heads !== 0)
    R.fail(`'student.heads' (${student.heads}) must divide 'student.dModel' (${student.dModel})`);
  if (student.smoothing >= 1) R.fail(`'student.smoothing' must be in [0, 1), got ${student.smoothing}`);
  if (student.batchSize < 2)
    R.fail(`'student.batchSize' must be >= 2 (InfoNCE needs negatives), got ${student.batchSize}`);
  if (student.temperature <= 0) R.fail(`'student.temperature' must be a positive number, got ${student.temperature}`);
  if (student.bceWeight > 0 && !student.head)
    R.fail(`'student.bceWeight' (${student.bceWeight}) needs 'student.head': true (it is the linear head's BCE)`);
  if (student.procrustesShrinkage > 1)
    R.fail(`'student.procrustesShrinkage' must be in [0, 1], got ${student.procrustesShrinkage}`);
  const probe = section(o, 'probe', PROBE_DEFAULTS, { steps: 'int>=0' });
  return {
    preset,
    experts,
    images,
    consensus,
    soup,
    student,
    probe,
    seed: R.num(o, 'seed', 'int>=0', 0),
    checkpointEvery: R.num(o, 'checkpointEvery', 'int>0', 100),
  };
}

// ---------------------------------------------------------------------------------------------
// The recipe
// ---------------------------------------------------------------------------------------------

/** Result of one train() stage, or of loading the stage's finished output on --resume. */
type StageOutcome = { skipped: true } | { skipped: false; summary: TrainSummary };

async function run(cfg: CocoSoupConfig, job: RecipeRun): Promise<number> {
  const { options } = job;
  const t0 = Date.now();
  const say = (s: string) => job.say(s);
  const ckRoot = job.ckDir;
  const soupFile = join(options.out, 'soup.safetensors');
  const otherSoupFile = join(
    options.out,
    cfg.soup.calibration ? 'soup-uncalibrated.safetensors' : 'soup-calibrated.safetensors',
  );
  const studentFile = join(options.out, 'student.safetensors');
  const stageNames = ['soup', 'soup-uncalibrated', 'soup-calibrated', 'student'];
  const anyCheckpoint = stageNames.some((s) => existsSync(join(ckRoot, s, 'latest.json')));
  if (options.resume && !anyCheckpoint && !existsSync(soupFile))
    throw job.error(`--resume but ${options.out} holds no checkpoint and no soup.safetensors`);
  if (!options.resume && anyCheckpoint)
    throw job.error(`${ckRoot} already holds a checkpoint; pass --resume or another --out`);

  // 1–2. Splits (train minus the validation draw; eval), the experts' rows and the consensus on the fit rows; the
  // consensus features files of coco-david beside consensus.safetensors.
  const prep = await prepareCocoConsensus(cfg, job);
  const { categories, C, fitSplit, valSplit, evalSplit, splits, rawExperts, experts, soupInputs } = prep;
  const { consensusModel, reduction, K, consensusTargetsOf } = prep;
  const nFit = fitSplit.images.length;
  const nVal = valSplit?.images.length ?? 0;
  const nEval = evalSplit.images.length;
  await writeConsensusFeatures(prep, cfg, job);

  const seed = cfg.seed;
  const soupData = (which: 'fit' | 'val' | 'eval', split: CocoSplit): SoupSplit => ({
    n: split.images.length,
    experts: soupInputs[which],
    dims: soupInputs.dims,
    targets: split.targets,
    classes: C,
  });
  const soupTrainData = soupData('fit', fitSplit);
  const soupValData = valSplit === null ? null : soupData('val', valSplit);
  const soupEvalData = soupData('eval', evalSplit);
  const mapOf = (scores: Float32Array, split: CocoSplit) => meanAveragePrecision(scores, split.targets, C);
  // Model selection: on the validation split when there is one (the soup keeps its best evaluation); without one, the
  // curve is on the eval split and only reported (the small preset's first run).
  const selectData = soupValData ?? soupEvalData;
  const selectSplit = valSplit ?? evalSplit;
  const selectKey = valSplit === null ? 'eval_map' : 'val_map';

  // 3. The soup (and, with `soup.ablation`, its twin with the other calibration setting).
  const soupConfig: BaseTierSoupConfig = {
    expertDims: soupInputs.dims,
    embedDim: K,
    anchors: cfg.soup.anchors,
    compartments: cfg.soup.compartments,
    compartmentDim: cfg.soup.compartmentDim,
    hiddenDim: cfg.soup.hiddenDim,
    classes: C,
    dropout: cfg.soup.dropout,
  };
  const trainSoup = async (calibrated: boolean, stageName: string, file: string) => {
    const soup = new BaseTierSoup(soupConfig, { seed });
    if (calibrated) soup.initProjectors(consensusModel.projectors.map((p) => ({ linear: p.linear, bias: p.bias })));
    const initEval = await soupOutputs(soup, soupEvalData);
    const initMap = mapOf(initEval.scores, evalSplit).map;
    const initActive = await activeAnchors(initEval.embedding, K, soup);
    say(
      `${stageName}: ${soup.paramCount().toLocaleString('en-US')} parameters, ` +
        `${calibrated ? 'Procrustes-initialized projectors' : 'projectors NOT calibrated (default init)'}; ` +
        `at init: eval mAP ${initMap.toFixed(4)}, active anchors ${initActive}/${cfg.soup.anchors}`,
    );
    const steps = Math.min(options.steps ?? cfg.soup.steps, cfg.soup.steps);
    let best: { value: number; step: number; weights: Map<string, Float32Array> } | null = null;
    const curve: { step: number; map: number; activeAnchors: number }[] = [];
    const outcome = await stage(
      job,
      stageName,
      file,
      async (files) => {
        const bs = Math.min(cfg.soup.batchSize, nFit);
        return train<Int32Array>({
          model: new SoupTrainer(soup, soupTrainData, cfg.soup),
          data: (_step: number, rng: Rng) => rng.choose(nFit, bs),
          steps,
          optimizer: { lr: cfg.soup.lr, weightDecay: cfg.soup.weightDecay },
          seed,
          evalEvery: cfg.soup.evalEvery,
          evaluate: async (step) => {
            const out = await soupOutputs(soup, selectData);
            const value = mapOf(out.scores, selectSplit).map;
            const active = await activeAnchors(out.embedding, K, soup);
            curve.push({ step, map: value, activeAnchors: active });
            if (valSplit !== null && (best === null || value > best.value))
              best = { value, step, weights: await snapshotWeights(soup.getWeights()) };
            return { [selectKey]: value, active_anchors: active };
          },
          ...job.trainOptions(files, cfg.checkpointEvery, 1),
          config: {
            recipe: NAME,
            stage: stageName,
            preset: cfg.preset,
            soup: { ...cfg.soup },
            consensus: { ...cfg.consensus },
            experts: cfg.experts.map((e) => ({ ...e })),
            validation: { size: cfg.images.validation, seed: cfg.images.validationSeed },
            seed,
          },
        });
      },
      () => loadModel(soup, file),
    );
    if (!outcome.skipped && outcome.summary.aborted) return { soup, outcome, info: null };
    const chosenBest = best as { value: number; step: number; weights: Map<string, Float32Array> } | null;
    if (!outcome.skipped) {
      if (chosenBest !== null) restoreWeights(soup.getWeights(), chosenBest.weights);
      await writeModel(file, BASE_TIER_SOUP_TYPE, soup, soupConfig, {
        recipe: NAME,
        experts: cfg.experts.map((e) => e.name),
        calibrated,
        ...(chosenBest !== null ? { selectedStep: chosenBest.step } : {}),
      });
    }
    const trainOut = await soupOutputs(soup, soupTrainData);
    const evalOut = await soupOutputs(soup, soupEvalData);
    const valOut = soupValData === null ? null : await soupOutputs(soup, soupValData);
    const evalMap = mapOf(evalOut.scores, evalSplit);
    const info = {
      calibrated,
      params: soup.paramCount(),
      steps: outcome.skipped ? null : outcome.summary.step,
      selectedStep: outcome.skipped ? null : (chosenBest?.step ?? outcome.summary.step),
      evalMapAtInit: initMap,
      activeAnchorsAtInit: initActive,
      valMap: valOut === null ? null : mapOf(valOut.scores, valSplit!).map,
      evalMap: evalMap.map,
      trainMap: mapOf(trainOut.scores, fitSplit).map,
      activeAnchors: {
        train: await activeAnchors(trainOut.embedding, K, soup),
        validation: valOut === null ? null : await activeAnchors(valOut.embedding, K, soup),
        eval: await activeAnchors(evalOut.embedding, K, soup),
        of: cfg.soup.anchors,
      },
      curve,
      classesUsed: evalMap.classesUsed,
      perClassAp: Object.fromEntries(
        categories.map((c, i) => [c.name, Number.isNaN(evalMap.perClass[i]!) ? null : evalMap.perClass[i]!]),
      ),
    };
    say(
      `${stageName}: eval mAP ${info.evalMap.toFixed(4)}` +
        `${info.valMap === null ? '' : ` (validation ${info.valMap.toFixed(4)} at step ${info.selectedStep})`}, ` +
        `active anchors train/eval ${info.activeAnchors.train}/${info.activeAnchors.eval} of ${cfg.soup.anchors}`,
    );
    return { soup, outcome, info, trainOut, evalOut, valOut };
  };

  const main = await trainSoup(cfg.soup.calibration, 'soup', soupFile);
  const soup = main.soup;
  let student: ViTClassifier | ViTEncoder | undefined;
  let trainer: StudentStackTrainer | undefined;
  try {
    if (main.info === null)
      return job.interrupted((main.outcome as { summary: TrainSummary }).summary, cfg.soup.steps, { stage: 'soup' });
    let ablation: { calibrated: unknown; uncalibrated: unknown } | null = null;
    if (cfg.soup.ablation) {
      const twin = await trainSoup(
        !cfg.soup.calibration,
        cfg.soup.calibration ? 'soup-uncalibrated' : 'soup-calibrated',
        otherSoupFile,
      );
      twin.soup.dispose();
      if (twin.info === null)
        return job.interrupted((twin.outcome as { summary: TrainSummary }).summary, cfg.soup.steps, {
          stage: 'soup-ablation',
        });
      ablation = cfg.soup.calibration
        ? { calibrated: main.info, uncalibrated: twin.info }
        : { calibrated: twin.info, uncalibrated: main.info };
    }
    const soupTrainOut = main.trainOut!;
    const soupEvalOut = main.evalOut!;
    const soupValOut = main.valOut ?? null;

    // 4. The student.
    const sc = cfg.student;
    const S = sc.imageSize;
    const nStudentRows = nFit + nVal + nEval;
    say(`student: loading ${nStudentRows} images at ${S}x${S} ...`);
    const fitImages = await loadSplitImages(fitSplit, S);
    const valImages = valSplit === null ? null : await loadSplitImages(valSplit, S);
    const evalImages = await loadSplitImages(evalSplit, S);
    const targetsOf = (which: 'fit' | 'val' | 'eval'): Float32Array =>
      sc.target === 'soup'
        ? { fit: soupTrainOut, val: soupValOut!, eval: soupEvalOut }[which].embedding
        : consensusTargetsOf(which);
    const studentData = (which: 'fit' | 'val' | 'eval', split: CocoSplit, images: Float32Array): StudentData => ({
      n: split.images.length,
      size: S,
      images,
      targets: targetsOf(which),
      dim: K,
      labels: split.targets,
      classes: C,
    });
    const studentTrainData = studentData('fit', fitSplit, fitImages.images);
    const studentValData = valSplit === null ? null : studentData('val', valSplit, valImages!.images);
    const studentEvalData = studentData('eval', evalSplit, evalImages.images);
    const cvTarget = measuredCV(studentTrainData.targets, K);
    const vitConfig: ViTEncoderConfig = {
      imageSize: S,
      patchSize: sc.patchSize,
      channels: 3,
      dModel: sc.dModel,
      heads: sc.heads,
      ffDim: sc.ffDim,
      layers: sc.layers,
      outDim: K,
    };
    student = sc.head ? new ViTClassifier(vitConfig, C, { seed }) : new ViTEncoder(vitConfig, { seed });
    const st = student;
    const needsSoup = sc.soupBceWeight > 0 || sc.autograd || !sc.head;
    const stack: StudentStack = {
      nceWeight: sc.nceWeight,
      temperature: sc.temperature,
      mseWeight: sc.mseWeight,
      bceWeight: sc.bceWeight,
      soupBceWeight: sc.soupBceWeight,
      smoothing: sc.smoothing,
      cvWeight: sc.cvWeight,
      cvTarget,
      procrustesWeight: sc.procrustesWeight,
      procrustesWindow: sc.procrustesWindow,
      procrustesShrinkage: sc.procrustesShrinkage,
      autograd: sc.autograd ? { tangential: sc.tangential, separation: sc.separation } : null,
      flip: sc.flip,
    };
    trainer = new StudentStackTrainer(st, needsSoup ? soup : null, studentTrainData, stack);
    const tr = trainer;
    const bs = Math.min(sc.batchSize, nFit);
    const stepsPerEpoch = Math.ceil(nFit / (bs * sc.accumulate));
    const plannedSteps = sc.epochs > 0 ? sc.epochs * stepsPerEpoch : sc.steps;
    const studentSteps = Math.min(options.steps ?? plannedSteps, plannedSteps);
    const evalEvery = sc.epochs > 0 ? stepsPerEpoch : sc.evalEvery;
    say(
      `student: ViTEncoder ${S}px / patch ${vitConfig.patchSize}, d ${vitConfig.dModel}, ` +
        `${vitConfig.layers} layers, ${vitConfig.heads} heads, out ${K}${sc.head ? ` + Linear(${K}→${C})` : ''}: ` +
        `${st.paramCount().toLocaleString('en-US')} parameters; target '${sc.target}' (CV ${cvTarget.toFixed(4)}); ` +
        `losses nce ${sc.nceWeight}, mse ${sc.mseWeight}, head bce ${sc.head ? sc.bceWeight : 0}, ` +
        `soup bce ${sc.soupBceWeight}, cv ${sc.cvWeight}, procrustes ${sc.procrustesWeight}, ` +
        `autograd ${sc.autograd ? `${sc.tangential}/${sc.separation}` : 'off'}; ` +
        `${studentSteps} steps of ${bs}${sc.accumulate > 1 ? ` × ${sc.accumulate}` : ''}` +
        `${sc.epochs > 0 ? ` (${sc.epochs} epochs of ${stepsPerEpoch})` : ''}`,
    );
    const monitor = studentValData ?? studentEvalData;
    const prefix = studentValData === null ? 'eval' : 'val';
    const tStudent = Date.now();
    const studentStage = await stage(
      job,
      'student',
      studentFile,
      async (files) =>
        train<Int32Array>({
          model: tr,
          data: (_step: number, rng: Rng) => rng.choose(nFit, bs),
          steps: studentSteps,
          accumulate: sc.accumulate,
          ...optimizerOptions(sc, plannedSteps),
          seed: seed + 1,
          evalEvery,
          afterStep: () => tr.afterStep(),
          evaluate: async (step) => {
            const m = await studentSplitMetrics(
              await studentStackOutputs(st, needsSoup ? soup : null, monitor),
              monitor,
              needsSoup ? soup : null,
            );
            return {
              epoch: step / stepsPerEpoch,
              nce_acc: tr.takeAccuracy(),
              procrustes_fits_skipped: tr.takeSkippedFits(),
              [`${prefix}_cos`]: m.cos,
              [`${prefix}_r1`]: m.r1,
              [`${prefix}_map`]: m.map,
              [`${prefix}_f1_micro`]: m.f1Micro,
              [`${prefix}_f1_macro`]: m.f1Macro,
              ...(m.activeAnchors === null ? {} : { [`${prefix}_active_anchors`]: m.activeAnchors }),
              seconds: (Date.now() - tStudent) / 1000,
            };
          },
          ...job.trainOptions(files, cfg.checkpointEvery, 1),
          config: {
            recipe: NAME,
            stage: 'student',
            preset: cfg.preset,
            student: { ...sc },
            validation: { size: cfg.images.validation, seed: cfg.images.validationSeed },
            seed,
          },
          progress: true,
        }),
      () => loadModel(st, studentFile),
    );
    if (!studentStage.skipped && studentStage.summary.aborted)
      return job.interrupted(studentStage.summary, studentSteps, { stage: 'student' });
    const studentSeconds = (Date.now() - tStudent) / 1000;
    if (!studentStage.skipped)
      await writeModel(studentFile, sc.head ? VIT_CLASSIFIER_TYPE : VIT_ENCODER_TYPE, st, vitConfig, {
        recipe: NAME,
        ...(sc.head ? { classes: C } : {}),
        target: sc.target,
      });
    const soupForStudent = needsSoup ? soup : null;
    const studentTrainOut = await studentStackOutputs(st, soupForStudent, studentTrainData);
    const studentEvalOut = await studentStackOutputs(st, soupForStudent, studentEvalData);
    const studentEval = await studentSplitMetrics(studentEvalOut, studentEvalData, soupForStudent);
    const studentVal =
      studentValData === null
        ? null
        : await studentSplitMetrics(
            await studentStackOutputs(st, soupForStudent, studentValData),
            studentValData,
            soupForStudent,
          );
    const studentMap = mapOf(studentEvalOut.scores, evalSplit);
    const studentTrainMap = mapOf(studentTrainOut.scores, fitSplit).map;
    say(
      `student: eval mAP ${studentEval.map.toFixed(4)}, v_cos ${studentEval.cos.toFixed(4)}, ` +
        `R@1 ${studentEval.r1.toFixed(4)}, F1 micro ${studentEval.f1Micro.toFixed(4)}, ` +
        `active anchors ${studentEval.activeAnchors ?? '-'} (train mAP ${studentTrainMap.toFixed(4)})`,
    );

    // 5. Linear probes (baselines), fitted on the fit split, scored on eval.
    const probes: Record<string, number> = {};
    if (cfg.probe.steps > 0) {
      const probe = async (name: string, xt: Float32Array, xe: Float32Array, dim: number) => {
        probes[name] = mapOf(await linearProbe(xt, fitSplit.targets, xe, dim, C, cfg.probe), evalSplit).map;
      };
      const side = Math.round(Math.sqrt(fitImages.thumbDim / 3));
      await probe(`pixels ${side}x${side}`, fitImages.thumbs, evalImages.thumbs, fitImages.thumbDim);
      for (const e of experts) await probe(`expert ${e.name}`, e.train, e.eval, e.dim);
      await probe('consensus targets', consensusTargetsOf('fit'), consensusTargetsOf('eval'), K);
      await probe('soup embedding', soupTrainOut.embedding, soupEvalOut.embedding, K);
      await probe('student embedding', studentTrainOut.embedding, studentEvalOut.embedding, K);
      say(
        `linear probes (eval mAP): ${Object.entries(probes)
          .map(([k, v]) => `${k} ${v.toFixed(4)}`)
          .join(', ')}`,
      );
    }

    const perClass = (m: { perClass: Float64Array }) =>
      Object.fromEntries(categories.map((c, i) => [c.name, Number.isNaN(m.perClass[i]!) ? null : m.perClass[i]!]));
    const { curve: _curve, perClassAp: soupPerClass, ...soupInfo } = main.info;
    const result = {
      recipe: NAME,
      preset: cfg.preset,
      seed,
      note:
        `TINY data: ${nFit} train, ${nVal} validation and ${nEval} eval images (COCO itself has 118K / 5K). mAP ` +
        `here is over the ${studentMap.classesUsed} classes with an eval positive ` +
        `(median ${splits.eval.medianPositivesPerClass} positives per class), so it is noisy and not ` +
        "comparable to the card's 0.837; an uninformative (constant) scorer gets " +
        `${splits.eval.constantScoreMap.toFixed(4)}.`,
      splits,
      experts: rawExperts.map((e) => ({
        name: e.name,
        file: e.file,
        dim: e.dim,
        fileRows: e.fileRows,
        namesSource: e.namesSource,
      })),
      consensus: {
        ...consensusModel.config,
        soupInput: cfg.consensus.soupInput,
        reduction,
        diagnostics: consensusModel.diagnostics,
      },
      soup: { config: soupConfig, ...soupInfo, curve: main.info.curve, perClassAp: soupPerClass },
      calibrationAblation: ablation,
      student: {
        config: vitConfig,
        head: sc.head,
        target: sc.target,
        params: st.paramCount(),
        losses: stack,
        steps: studentStage.skipped ? null : studentStage.summary.step,
        stepsPerEpoch,
        epochs: studentStage.skipped ? null : studentStage.summary.step / stepsPerEpoch,
        evalMap: studentMap.map,
        trainMap: studentTrainMap,
        evalCosineToTarget: studentEval.cos,
        evalRecallAt1: studentEval.r1,
        eval: studentEval,
        validation: studentVal,
        perClassAp: perClass(studentMap),
        trainSeconds: studentSeconds,
      },
      probes: cfg.probe.steps > 0 ? { protocol: { ...cfg.probe }, evalMap: probes } : null,
      backend: tf.getBackend(),
      seconds: (Date.now() - t0) / 1000,
    };
    const resultFile = await job.writeResult(result);
    say(
      `wrote ${resultFile}, ${soupFile}, ${studentFile}, consensus.safetensors, ` +
        'soup-metrics.jsonl, student-metrics.jsonl',
    );
    return 0;
  } finally {
    soup.dispose();
    trainer?.dispose();
    student?.dispose();
  }
}

/**
 * Runs one training stage (checkpoints in `<out>/checkpoints/<name>`, metrics in `<out>/<name>-metrics.jsonl`), or
 * skips it on --resume when its final file already exists (then `load` restores it).
 */
async function stage(
  job: RecipeRun,
  name: string,
  file: string,
  trainIt: (files: StageFiles) => Promise<TrainSummary>,
  load: () => void,
): Promise<StageOutcome> {
  if (job.options.resume && existsSync(file)) {
    load();
    return { skipped: true };
  }
  return { skipped: false, summary: await trainIt(await job.stage(name, { requireCheckpoint: false })) };
}

/** Loads a model file written by {@link writeModel} into `model`. */
function loadModel(model: Module, file: string): void {
  model.loadSafetensorEntries(readSafetensors(readFileSync(file)).tensors);
}

/** Writes a model file under the metadata contract: `type` and `config` are what the model's registry builds from. */
async function writeModel(
  file: string,
  type: string,
  model: Module,
  config: unknown,
  extra: Record<string, unknown>,
): Promise<void> {
  const state = model.stateDict();
  const weights = await readWeightsAsync(state);
  tf.dispose(Object.values(state));
  await writeFileAtomic(file, writeSafetensors(weights, writeModelMetadata({ type, config, extra })));
}

/** `geolip-train run coco-soup`: the base-tier soup on COCO expert features, and a ViT student distilled from it. */
export const cocoSoup = defineRecipe<CocoSoupConfig>({
  name: NAME,
  description:
    'Base Tier Soup on COCO expert features (consensus -> Procrustes-initialized projectors -> BCE on 80 labels) ' +
    'and a small ViT student distilled from it; macro mAP on a held-out split',
  help: `expert features -> consensus -> Base Tier Soup (BCE, 80 COCO labels) -> ViT student;
config {"experts": [{"name", "features"}], "images": {"root", "train", "eval"},
"consensus", "soup", "student", "probe", "seed"}; writes <out>/result.json (split
sizes, soup / student / probe mAP), soup.safetensors, student.safetensors.`,
  parse: parseCocoSoupConfig,
  run,
});
