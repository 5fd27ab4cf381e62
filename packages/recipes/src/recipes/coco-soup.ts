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
import { BASE_TIER_SOUP_TYPE, BaseTierSoup, VIT_CLASSIFIER_TYPE, ViTClassifier } from '@geolip/vision';
import type { BaseTierSoupConfig, ViTEncoderConfig } from '@geolip/vision';
import { meanAveragePrecision } from '@geolip/metrics';
import {
  configReader,
  defineRecipe,
  isObject,
  optimizerOptions,
  readOptimizerBlock,
  readWeightsAsync,
  saveConsensus,
  show,
  train,
} from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import type { NumberKind, OptimizerBlock, RecipeRun, StageFiles, TrainSummary } from '@geolip/train';
import { readSafetensors, writeModelMetadata, writeSafetensors } from '@geolip/io';

import {
  classesWithPositives,
  constantScoreMap,
  loadSplit,
  loadSplitImages,
  medianPositives,
  readCategories,
  readExpertRows,
} from './coco-data.js';
import type { CocoImageSet, CocoSplit } from './coco-data.js';
import {
  SoupTrainer,
  StudentTrainer,
  fitSoupConsensus,
  linearProbe,
  meanCosine,
  recallAt1,
  soupOutputs,
  studentOutputs,
} from './coco-soup-parts.js';
import type { SoupSplit, StudentSplit } from './coco-soup-parts.js';

const NAME = 'coco-soup';
const R = configReader(NAME);

/** Consensus options: each expert is first reduced by its own PCA to `pcaDim` (fitted on the train rows). */
export interface CocoSoupConsensusConfig {
  pcaDim: number;
  targetDim: number;
  iterations: number;
  shrinkage: number;
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
}

/** The linear probes (logistic regression on L2-normalized rows, full batch). `steps: 0` turns them off. */
export interface CocoSoupProbeConfig {
  steps: number;
  lr: number;
  l2: number;
}

/** The validated config of {@link cocoSoup} (paths absolute). */
export interface CocoSoupConfig {
  experts: { name: string; features: string; names?: string }[];
  images: { root: string; categories: string; train: CocoImageSet[]; eval: CocoImageSet[] };
  consensus: CocoSoupConsensusConfig;
  soup: CocoSoupSoupConfig;
  student: CocoSoupStudentConfig;
  probe: CocoSoupProbeConfig;
  seed: number;
  checkpointEvery: number;
}

const CONSENSUS_DEFAULTS: CocoSoupConsensusConfig = { pcaDim: 64, targetDim: 32, iterations: 5, shrinkage: 0.1 };
const SOUP_DEFAULTS: CocoSoupSoupConfig = {
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
};
const STUDENT_DEFAULTS: CocoSoupStudentConfig = {
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
};
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

const KEYS = ['experts', 'images', 'consensus', 'soup', 'student', 'probe', 'seed', 'checkpointEvery'];

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
  if (!isObject(raw)) R.fail('must be a JSON object');
  const o = raw as Record<string, unknown>;
  R.keys(o, KEYS);

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
  R.keys(im, ['root', 'categories', 'train', 'eval'], 'images');
  const root = resolve(configDir, R.optStr(im, 'root', 'images') ?? '../shared/data/coco');
  const images = {
    root,
    categories: resolve(root, R.optStr(im, 'categories', 'images') ?? 'categories.json'),
    train: imageSets(im.train, 'images.train', COCO_SOUP_SPLITS.train),
    eval: imageSets(im.eval, 'images.eval', COCO_SOUP_SPLITS.eval),
  };

  const consensus = section(o, 'consensus', CONSENSUS_DEFAULTS);
  if (consensus.targetDim > consensus.pcaDim)
    R.fail(`'consensus.targetDim' (${consensus.targetDim}) must not exceed 'consensus.pcaDim' (${consensus.pcaDim})`);
  if (consensus.shrinkage > 1) R.fail(`'consensus.shrinkage' must be in [0, 1], got ${consensus.shrinkage}`);
  const soup = section(o, 'soup', SOUP_DEFAULTS);
  if (soup.anchors % soup.compartments !== 0)
    R.fail(`'soup.anchors' (${soup.anchors}) must be a multiple of 'soup.compartments' (${soup.compartments})`);
  if (soup.dropout >= 1) R.fail(`'soup.dropout' must be in [0, 1), got ${soup.dropout}`);
  if (soup.smoothing >= 1) R.fail(`'soup.smoothing' must be in [0, 1), got ${soup.smoothing}`);
  const { lr, warmupSteps, weightDecay, clipNorm } = STUDENT_DEFAULTS;
  const student = section(o, 'student', STUDENT_DEFAULTS, {}, { lr, warmupSteps, weightDecay, clipNorm });
  const so = (R.object(o, 'student') ?? {}) as Record<string, unknown>;
  student.target = R.choice(so, 'target', ['soup', 'consensus'] as const, STUDENT_DEFAULTS.target, 'student');
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
  const probe = section(o, 'probe', PROBE_DEFAULTS, { steps: 'int>=0' });
  return {
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
  const studentFile = join(options.out, 'student.safetensors');
  const anyCheckpoint = ['soup', 'student'].some((s) => existsSync(join(ckRoot, s, 'latest.json')));
  if (options.resume && !anyCheckpoint && !existsSync(soupFile))
    throw job.error(`--resume but ${options.out} holds no checkpoint and no soup.safetensors`);
  if (!options.resume && anyCheckpoint)
    throw job.error(`${ckRoot} already holds a checkpoint; pass --resume or another --out`);

  // 1. Splits.
  const categories = readCategories(NAME, 'images.categories', cfg.images.categories);
  const C = categories.length;
  const evalSplit = await loadSplit(NAME, 'images.eval', cfg.images.root, cfg.images.eval, categories);
  const evalIds = new Set(evalSplit.images.map((im) => im.id));
  const trainAll = await loadSplit(NAME, 'images.train', cfg.images.root, cfg.images.train, categories);
  const trainSplit = await loadSplit(NAME, 'images.train', cfg.images.root, cfg.images.train, categories, evalIds);
  const overlap = trainAll.images.length - trainSplit.images.length;
  const splitInfo = (s: CocoSplit) => ({
    images: s.images.length,
    sets: s.sets,
    duplicateIdsRemoved: s.duplicates,
    classesWithPositives: classesWithPositives(s.targets, C),
    constantScoreMap: constantScoreMap(s.targets, C),
    medianPositivesPerClass: medianPositives(s.targets, C),
    labelsPerImage: s.targets.reduce((a, v) => a + v, 0) / Math.max(s.images.length, 1),
  });
  const splits = { train: { ...splitInfo(trainSplit), overlapWithEvalRemoved: overlap }, eval: splitInfo(evalSplit) };
  say(
    `${NAME}: train ${trainSplit.images.length} images ` +
      `(${trainSplit.sets.map((s) => `${s.set} ${s.kept}`).join(' + ')}), ` +
      `eval ${evalSplit.images.length} images (${evalSplit.sets.map((s) => `${s.set} ${s.kept}`).join(' + ')}); ` +
      `${evalSplit.duplicates.length + trainSplit.duplicates.length} duplicate image id(s) removed, ` +
      `${overlap} train image(s) also in eval removed; ` +
      `${splits.eval.classesWithPositives} of ${C} classes have an eval positive ` +
      `(constant-score mAP ${splits.eval.constantScoreMap.toFixed(4)}). A TINY set: expect noisy numbers.`,
  );
  if (trainSplit.images.length < 2 || evalSplit.images.length < 1)
    throw job.error(`'images' gives ${trainSplit.images.length} train and ${evalSplit.images.length} eval images`);

  // 2. Experts and the consensus on the train rows.
  const experts = cfg.experts.map((e, i) =>
    readExpertRows(NAME, i, e.name, e.features, e.names, { train: trainSplit, eval: evalSplit }),
  );
  for (const e of experts)
    say(`expert '${e.name}': ${e.fileRows} rows × ${e.dim} (${e.file}; names from ${e.namesSource})`);
  const nTrain = trainSplit.images.length;
  const nEval = evalSplit.images.length;
  const consensus = fitSoupConsensus(experts, nTrain, nEval, cfg.consensus);
  const K = consensus.model.config.targetDim;
  const d = consensus.model.diagnostics;
  say(
    `consensus: ${consensus.reduction.map((r) => `${r.name} ${r.dim}→${r.pcaDim}`).join(', ')} → K=${K}; ` +
      'cosine to consensus ' +
      `${d.cosineToConsensus.map((c) => c.toFixed(3)).join(' / ')}, CV ${d.consensusCV.toFixed(4)}`,
  );
  await writeFileAtomic(
    join(options.out, 'consensus.safetensors'),
    saveConsensus(consensus.model, { targetsDtype: 'F32' }),
  );

  const seed = cfg.seed;
  const soupTrainData: SoupSplit = {
    n: nTrain,
    experts: experts.map((e) => e.train),
    dims: experts.map((e) => e.dim),
    targets: trainSplit.targets,
    classes: C,
  };
  const soupEvalData: SoupSplit = {
    n: nEval,
    experts: experts.map((e) => e.eval),
    dims: experts.map((e) => e.dim),
    targets: evalSplit.targets,
    classes: C,
  };
  const mapOf = (scores: Float32Array, split: CocoSplit) => meanAveragePrecision(scores, split.targets, C);

  // 3. The soup.
  const soupConfig: BaseTierSoupConfig = {
    expertDims: experts.map((e) => e.dim),
    embedDim: K,
    anchors: cfg.soup.anchors,
    compartments: cfg.soup.compartments,
    compartmentDim: cfg.soup.compartmentDim,
    hiddenDim: cfg.soup.hiddenDim,
    classes: C,
    dropout: cfg.soup.dropout,
  };
  const soup = new BaseTierSoup(soupConfig, { seed });
  let student: ViTClassifier | undefined;
  try {
    soup.initProjectors(consensus.model.projectors.map((p) => ({ linear: p.linear, bias: p.bias })));
    const initMap = mapOf((await soupOutputs(soup, soupEvalData)).scores, evalSplit).map;
    say(
      `soup: ${soup.paramCount().toLocaleString('en-US')} parameters; ` +
        `eval mAP at the Procrustes init (untrained classifier) ${initMap.toFixed(4)}`,
    );
    const soupSteps = Math.min(options.steps ?? cfg.soup.steps, cfg.soup.steps);
    const soupStage = await stage(
      job,
      'soup',
      soupFile,
      async (files) => {
        const bs = Math.min(cfg.soup.batchSize, nTrain);
        return train<Int32Array>({
          model: new SoupTrainer(soup, soupTrainData, cfg.soup),
          data: (_step: number, rng: Rng) => rng.choose(nTrain, bs),
          steps: soupSteps,
          optimizer: { lr: cfg.soup.lr, weightDecay: cfg.soup.weightDecay },
          seed,
          evalEvery: cfg.soup.evalEvery,
          evaluate: async () => ({ eval_map: mapOf((await soupOutputs(soup, soupEvalData)).scores, evalSplit).map }),
          ...job.trainOptions(files, cfg.checkpointEvery, 1),
          config: {
            recipe: NAME,
            stage: 'soup',
            soup: { ...cfg.soup },
            consensus: { ...cfg.consensus },
            experts: cfg.experts.map((e) => ({ ...e })),
            seed,
          },
        });
      },
      () => loadModel(soup, soupFile),
    );
    if (!soupStage.skipped && soupStage.summary.aborted)
      return job.interrupted(soupStage.summary, soupSteps, { stage: 'soup' });
    if (!soupStage.skipped)
      await writeModel(soupFile, BASE_TIER_SOUP_TYPE, soup, soupConfig, {
        recipe: NAME,
        experts: cfg.experts.map((e) => e.name),
      });
    const soupTrainOut = await soupOutputs(soup, soupTrainData);
    const soupEvalOut = await soupOutputs(soup, soupEvalData);
    const soupMap = mapOf(soupEvalOut.scores, evalSplit);
    say(
      `soup: eval mAP ${soupMap.map.toFixed(4)} over ${soupMap.classesUsed} classes ` +
        `(${soupStage.skipped ? 'loaded' : `${soupStage.summary.step} steps`})`,
    );

    // 4. The student.
    const S = cfg.student.imageSize;
    say(`student: loading ${nTrain + nEval} images at ${S}x${S} ...`);
    const trainImages = await loadSplitImages(trainSplit, S);
    const evalImages = await loadSplitImages(evalSplit, S);
    const targetsOf = (which: 'train' | 'eval'): Float32Array =>
      cfg.student.target === 'soup'
        ? (which === 'train' ? soupTrainOut : soupEvalOut).embedding
        : Float32Array.from((which === 'train' ? consensus.model.targets : consensus.evalTargets).data);
    const studentTrainData: StudentSplit = {
      n: nTrain,
      size: S,
      images: trainImages.images,
      targets: targetsOf('train'),
      dim: K,
      labels: trainSplit.targets,
      classes: C,
    };
    const studentEvalData: StudentSplit = {
      n: nEval,
      size: S,
      images: evalImages.images,
      targets: targetsOf('eval'),
      dim: K,
      labels: evalSplit.targets,
      classes: C,
    };
    const vitConfig: ViTEncoderConfig = {
      imageSize: S,
      patchSize: cfg.student.patchSize,
      channels: 3,
      dModel: cfg.student.dModel,
      heads: cfg.student.heads,
      ffDim: cfg.student.ffDim,
      layers: cfg.student.layers,
      outDim: K,
    };
    student = new ViTClassifier(vitConfig, C, { seed });
    const st = student;
    say(
      `student: ViTEncoder ${S}px / patch ${vitConfig.patchSize}, d ${vitConfig.dModel}, ` +
        `${vitConfig.layers} layers, ${vitConfig.heads} heads, out ${K} + Linear(${K}→${C}): ` +
        `${st.paramCount().toLocaleString('en-US')} parameters`,
    );
    const studentSteps = Math.min(options.steps ?? cfg.student.steps, cfg.student.steps);
    const tStudent = Date.now();
    const studentStage = await stage(
      job,
      'student',
      studentFile,
      async (files) => {
        const bs = Math.min(cfg.student.batchSize, nTrain);
        return train<Int32Array>({
          model: new StudentTrainer(st, studentTrainData, cfg.student),
          data: (_step: number, rng: Rng) => rng.choose(nTrain, bs),
          steps: studentSteps,
          ...optimizerOptions(cfg.student, cfg.student.steps),
          seed: seed + 1,
          evalEvery: cfg.student.evalEvery,
          evaluate: async () => {
            const o = await studentOutputs(st, studentEvalData);
            return {
              eval_map: mapOf(o.scores, evalSplit).map,
              eval_cos: meanCosine(o.embedding, studentEvalData.targets, K),
            };
          },
          ...job.trainOptions(files, cfg.checkpointEvery, 1),
          config: { recipe: NAME, stage: 'student', student: { ...cfg.student }, seed },
          progress: true,
        });
      },
      () => loadModel(st, studentFile),
    );
    if (!studentStage.skipped && studentStage.summary.aborted)
      return job.interrupted(studentStage.summary, studentSteps, { stage: 'student' });
    const studentSeconds = (Date.now() - tStudent) / 1000;
    if (!studentStage.skipped)
      await writeModel(studentFile, VIT_CLASSIFIER_TYPE, st, vitConfig, {
        recipe: NAME,
        classes: C,
        target: cfg.student.target,
      });
    const studentTrainOut = await studentOutputs(st, studentTrainData);
    const studentEvalOut = await studentOutputs(st, studentEvalData);
    const studentMap = mapOf(studentEvalOut.scores, evalSplit);
    const studentTrainMap = mapOf(studentTrainOut.scores, trainSplit).map;
    const vCos = meanCosine(studentEvalOut.embedding, studentEvalData.targets, K);
    const r1 = recallAt1(studentEvalOut.embedding, studentEvalData.targets, K);
    say(
      `student: eval mAP ${studentMap.map.toFixed(4)}, v_cos ${vCos.toFixed(4)}, R@1 ${r1.toFixed(4)} ` +
        `(train mAP ${studentTrainMap.toFixed(4)})`,
    );

    // 5. Linear probes (baselines).
    const probes: Record<string, number> = {};
    if (cfg.probe.steps > 0) {
      const probe = async (name: string, xt: Float32Array, xe: Float32Array, dim: number) => {
        probes[name] = mapOf(await linearProbe(xt, trainSplit.targets, xe, dim, C, cfg.probe), evalSplit).map;
      };
      await probe(
        `pixels ${Math.round(Math.sqrt(trainImages.thumbDim / 3))}x${Math.round(Math.sqrt(trainImages.thumbDim / 3))}`,
        trainImages.thumbs,
        evalImages.thumbs,
        trainImages.thumbDim,
      );
      for (const e of experts) await probe(`expert ${e.name}`, e.train, e.eval, e.dim);
      await probe(
        'consensus targets',
        Float32Array.from(consensus.model.targets.data),
        Float32Array.from(consensus.evalTargets.data),
        K,
      );
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
    const result = {
      recipe: NAME,
      note:
        `TINY data: ${nTrain} train and ${nEval} eval images (COCO itself has 118K / 5K). mAP here is over the ` +
        `${soupMap.classesUsed} classes with an eval positive ` +
        `(median ${splits.eval.medianPositivesPerClass} positives per class), so it is noisy and not ` +
        "comparable to the card's 0.837; an uninformative (constant) scorer gets " +
        `${splits.eval.constantScoreMap.toFixed(4)}.`,
      splits,
      experts: experts.map((e) => ({
        name: e.name,
        file: e.file,
        dim: e.dim,
        fileRows: e.fileRows,
        namesSource: e.namesSource,
      })),
      consensus: {
        ...consensus.model.config,
        reduction: consensus.reduction,
        diagnostics: consensus.model.diagnostics,
      },
      soup: {
        config: soupConfig,
        params: soup.paramCount(),
        steps: soupStage.skipped ? null : soupStage.summary.step,
        evalMapAtInit: initMap,
        evalMap: soupMap.map,
        trainMap: mapOf(soupTrainOut.scores, trainSplit).map,
        classesUsed: soupMap.classesUsed,
        perClassAp: perClass(soupMap),
      },
      student: {
        config: vitConfig,
        target: cfg.student.target,
        params: st.paramCount(),
        steps: studentStage.skipped ? null : studentStage.summary.step,
        evalMap: studentMap.map,
        trainMap: studentTrainMap,
        evalCosineToTarget: vCos,
        evalRecallAt1: r1,
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
