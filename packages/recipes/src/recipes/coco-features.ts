// The first two stages of coco-soup, shared with coco-consensus: the COCO splits (train minus a seeded validation
// draw, eval) and the consensus of the expert features fitted on the train rows; plus the writer of the consensus
// features files `consensus-{train,val,eval}.safetensors` (targets, multi-hot labels, instance counts, image ids) that
// coco-david trains GeoFractalDavid on.
import { join, relative } from 'node:path';

import type { CocoCategory } from '@geolip/text/data';
import { saveConsensus } from '@geolip/train';
import type { ConsensusModel, RecipeRun } from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import { writeSafetensors } from '@geolip/io';

import {
  classesWithPositives,
  constantScoreMap,
  loadSplit,
  medianPositives,
  readCategories,
  readExpertRows,
} from './coco-data.js';
import type { CocoSplit, ExpertRows } from './coco-data.js';
import { fitSoupConsensus } from './coco-soup-parts.js';
import { chooseValidation, consensusTargets, fitCommonConsensus, pickRows, subsetSplit } from './coco-soup-card.js';
import type { CocoSoupConfig } from './coco-soup.js';

/** Which consensus rows: the fit (train minus validation), validation or eval images. */
type ConsensusSplitName = 'fit' | 'val' | 'eval';

/** What result.json reports about a split. */
interface SplitInfo {
  images: number;
  sets: CocoSplit['sets'];
  duplicateIdsRemoved: number[];
  classesWithPositives: number;
  constantScoreMap: number;
  medianPositivesPerClass: number;
  labelsPerImage: number;
}

/** {@link prepareCocoConsensus}'s result: the splits, the experts' rows, the soup's inputs and the consensus. */
export interface PreparedConsensus {
  categories: CocoCategory[];
  /** Classes (80 for COCO). */
  C: number;
  /** The train images after the eval overlap is removed (fit + validation). */
  trainSplit: CocoSplit;
  fitSplit: CocoSplit;
  valSplit: CocoSplit | null;
  evalSplit: CocoSplit;
  /** What result.json reports about the splits. */
  splits: {
    train: SplitInfo & { overlapWithEvalRemoved: number };
    validation: {
      images: number;
      seed: number;
      imageIds: number[];
      classesWithPositives: number;
      constantScoreMap: number;
    } | null;
    eval: SplitInfo;
  };
  rawExperts: ExpertRows[];
  /** The experts' rows per split (raw widths). */
  experts: (ExpertRows & { val: Float32Array })[];
  /** The soup's inputs per split (raw or common width) and their widths. */
  soupInputs: { fit: Float32Array[]; val: Float32Array[]; eval: Float32Array[]; dims: number[] };
  consensusModel: ConsensusModel;
  /** Per-expert PCA / padding, as result.json reports it. */
  reduction: unknown;
  /** The consensus width K. */
  K: number;
  /** `[n, K]` unit consensus targets of a split (fit: the consensus of the fit itself; else the projectors' mean). */
  consensusTargetsOf(which: ConsensusSplitName): Float32Array;
}

/**
 * Stages 1 and 2 of coco-soup: reads the splits (train minus the seeded validation draw; eval), the experts' rows, and
 * fits the consensus on the fit rows only; writes `<out>/consensus.safetensors`. Says what it did through `job`.
 * @throws {RecipeConfigError} (through `job.error` and the readers) for a validation size that leaves fewer than 2
 *   train images, empty splits, or expert files without a row for a split image.
 */
export async function prepareCocoConsensus(cfg: CocoSoupConfig, job: RecipeRun): Promise<PreparedConsensus> {
  const recipe = job.name;
  const say = (s: string) => job.say(s);
  const categories = readCategories(recipe, 'images.categories', cfg.images.categories);
  const C = categories.length;
  const evalSplit = await loadSplit(recipe, 'images.eval', cfg.images.root, cfg.images.eval, categories);
  const evalIds = new Set(evalSplit.images.map((im) => im.id));
  const trainAll = await loadSplit(recipe, 'images.train', cfg.images.root, cfg.images.train, categories);
  const trainSplit = await loadSplit(recipe, 'images.train', cfg.images.root, cfg.images.train, categories, evalIds);
  const overlap = trainAll.images.length - trainSplit.images.length;
  if (cfg.images.validation > Math.max(trainSplit.images.length - 2, 0))
    throw job.error(
      `'images.validation' (${cfg.images.validation}) leaves fewer than 2 of the ` +
        `${trainSplit.images.length} train images`,
    );
  const chosen = chooseValidation(trainSplit.images.length, cfg.images.validation, cfg.images.validationSeed);
  const fitSplit = subsetSplit(trainSplit, chosen.fit, C);
  const valSplit = chosen.val.length > 0 ? subsetSplit(trainSplit, chosen.val, C) : null;
  const splitInfo = (s: CocoSplit): SplitInfo => ({
    images: s.images.length,
    sets: s.sets,
    duplicateIdsRemoved: s.duplicates,
    classesWithPositives: classesWithPositives(s.targets, C),
    constantScoreMap: constantScoreMap(s.targets, C),
    medianPositivesPerClass: medianPositives(s.targets, C),
    labelsPerImage: s.targets.reduce((a, v) => a + v, 0) / Math.max(s.images.length, 1),
  });
  const splits: PreparedConsensus['splits'] = {
    train: { ...splitInfo(fitSplit), overlapWithEvalRemoved: overlap },
    validation:
      valSplit === null
        ? null
        : {
            images: valSplit.images.length,
            seed: cfg.images.validationSeed,
            imageIds: valSplit.images.map((im) => im.id),
            classesWithPositives: classesWithPositives(valSplit.targets, C),
            constantScoreMap: constantScoreMap(valSplit.targets, C),
          },
    eval: splitInfo(evalSplit),
  };
  say(
    `${recipe} (preset ${cfg.preset}): train ${fitSplit.images.length} images ` +
      `(${trainSplit.sets.map((s) => `${s.set} ${s.kept}`).join(' + ')}` +
      `${valSplit === null ? '' : `, minus ${valSplit.images.length} for validation`}), ` +
      `eval ${evalSplit.images.length} images (${evalSplit.sets.map((s) => `${s.set} ${s.kept}`).join(' + ')}); ` +
      `${evalSplit.duplicates.length + trainSplit.duplicates.length} duplicate image id(s) removed, ` +
      `${overlap} train image(s) also in eval removed; ` +
      `${splits.eval.classesWithPositives} of ${C} classes have an eval positive ` +
      `(constant-score mAP ${splits.eval.constantScoreMap.toFixed(4)}). A TINY set: expect noisy numbers.`,
  );
  if (fitSplit.images.length < 2 || evalSplit.images.length < 1)
    throw job.error(`'images' gives ${fitSplit.images.length} train and ${evalSplit.images.length} eval images`);

  const rawExperts = cfg.experts.map((e, i) =>
    readExpertRows(recipe, i, e.name, e.features, e.names, { train: trainSplit, eval: evalSplit }),
  );
  for (const e of rawExperts)
    say(`expert '${e.name}': ${e.fileRows} rows × ${e.dim} (${e.file}; names from ${e.namesSource})`);
  const nFit = fitSplit.images.length;
  const nVal = valSplit?.images.length ?? 0;
  const nEval = evalSplit.images.length;
  const experts = rawExperts.map((e) => ({
    ...e,
    train: pickRows(e.train, e.dim, chosen.fit),
    val: pickRows(e.train, e.dim, chosen.val),
  }));
  let soupInputs: PreparedConsensus['soupInputs'];
  let consensusModel: ConsensusModel;
  let reduction: unknown;
  if (cfg.consensus.soupInput === 'raw') {
    const fit = fitSoupConsensus(experts, nFit, nEval, cfg.consensus);
    consensusModel = fit.model;
    reduction = fit.reduction;
    soupInputs = {
      fit: experts.map((e) => e.train),
      val: experts.map((e) => e.val),
      eval: experts.map((e) => e.eval),
      dims: experts.map((e) => e.dim),
    };
  } else {
    const fit = fitCommonConsensus(
      experts.map((e) => ({ name: e.name, dim: e.dim, fit: e.train })),
      nFit,
      {
        width: cfg.consensus.pcaDim,
        targetDim: Math.min(cfg.consensus.targetDim, cfg.consensus.pcaDim),
        iterations: cfg.consensus.iterations,
        shrinkage: cfg.consensus.shrinkage,
      },
    );
    consensusModel = fit.model;
    reduction = fit.inputs.map((x) => ({
      name: x.name,
      dim: x.dim,
      width: x.width,
      kind: x.kind,
      explainedVariance: x.explainedVariance,
    }));
    soupInputs = {
      fit: fit.inputs.map((x, e) => x.apply(experts[e]!.train, nFit)),
      val: fit.inputs.map((x, e) => x.apply(experts[e]!.val, nVal)),
      eval: fit.inputs.map((x, e) => x.apply(experts[e]!.eval, nEval)),
      dims: fit.inputs.map((x) => x.width),
    };
  }
  const K = consensusModel.config.targetDim;
  const d = consensusModel.diagnostics;
  const consensusTargetsOf = (which: ConsensusSplitName): Float32Array =>
    which === 'fit'
      ? Float32Array.from(consensusModel.targets.data)
      : consensusTargets(consensusModel.projectors, soupInputs[which], which === 'val' ? nVal : nEval);
  say(
    `consensus (${cfg.consensus.soupInput} inputs): ${JSON.stringify(reduction)} → K=${K}; cosine to consensus ` +
      `${d.cosineToConsensus.map((c) => c.toFixed(3)).join(' / ')}, CV ${d.consensusCV.toFixed(4)}`,
  );
  await writeFileAtomic(join(job.out, 'consensus.safetensors'), saveConsensus(consensusModel, { targetsDtype: 'F32' }));
  return {
    categories,
    C,
    trainSplit,
    fitSplit,
    valSplit,
    evalSplit,
    splits,
    rawExperts,
    experts,
    soupInputs,
    consensusModel,
    reduction,
    K,
    consensusTargetsOf,
  };
}

/** The `format` metadata value of a consensus features file. */
export const CONSENSUS_FEATURES_FORMAT = 'geolip-coco-consensus/1';

/**
 * Writes `<out>/consensus-{train,val,eval}.safetensors` (val only with a validation split): tensors `embeddings`
 * `[N, K]` F32 (the unit consensus targets of the split's images, in split order), `labels` `[N, C]` U8 (multi-hot)
 * and `instances` `[N, C]` U32 (annotations per category); metadata `format`, `recipe`, `split`, `image_ids`, `files`
 * (`<dir>/<split>/<file name>` under `images.root`), `categories` (`[{id, name}]`, the column order) and `consensus`
 * (its config). Returns the files written, by split.
 */
export async function writeConsensusFeatures(
  prep: PreparedConsensus,
  cfg: CocoSoupConfig,
  job: RecipeRun,
): Promise<Record<string, { file: string; rows: number }>> {
  const written: Record<string, { file: string; rows: number }> = {};
  const parts: ['train' | 'val' | 'eval', ConsensusSplitName, CocoSplit | null][] = [
    ['train', 'fit', prep.fitSplit],
    ['val', 'val', prep.valSplit],
    ['eval', 'eval', prep.evalSplit],
  ];
  for (const [name, which, split] of parts) {
    if (split === null) continue;
    const n = split.images.length;
    const file = join(job.out, `consensus-${name}.safetensors`);
    const bytes = writeSafetensors(
      {
        embeddings: { dtype: 'F32', shape: [n, prep.K], data: prep.consensusTargetsOf(which) },
        labels: { dtype: 'U8', shape: [n, prep.C], data: split.targets },
        instances: { dtype: 'U32', shape: [n, prep.C], data: split.counts },
      },
      {
        format: CONSENSUS_FEATURES_FORMAT,
        recipe: job.name,
        split: name,
        image_ids: JSON.stringify(split.images.map((im) => im.id)),
        files: JSON.stringify(split.images.map((im) => relative(cfg.images.root, im.path).split('\\').join('/'))),
        categories: JSON.stringify(prep.categories),
        consensus: JSON.stringify({ ...prep.consensusModel.config, soupInput: cfg.consensus.soupInput }),
      },
    );
    await writeFileAtomic(file, bytes);
    written[name] = { file, rows: n };
  }
  return written;
}
