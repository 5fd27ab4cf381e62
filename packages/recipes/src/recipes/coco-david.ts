// Recipe `coco-david` (issue 20): GeoFractalDavid (the Basin-k12 preset, or the small one) on the soup's consensus
// features of the COCO images (`consensus-{train,val,eval}.safetensors`, written by coco-consensus and coco-soup),
// beside a linear probe and a cosine k-NN on the same rows, selected on the validation images, scored once on the eval
// images. COCO is multi-label and David single-label: `labels` picks the reading ([INFER]) — each image's category
// with the most instances (ties: the lowest category id), or one row per (image, category) pair. Reports the reading's
// accuracy, per image the top-1 hit (the argmax is one of the image's categories) and the mAP of the per-class scores,
// the learned structure, and the chance / majority baselines.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { meanAveragePrecision } from '@geolip/metrics';
import {
  RecipeConfigError,
  configReader,
  defineRecipe,
  isObject,
  readCheckpointBlock,
  readOptimizerBlock,
  show,
} from '@geolip/train';
import type { OptimizerBlock, RecipeRun } from '@geolip/train';
import { readSafetensors } from '@geolip/io';

import { readEmbeddingsFile } from './embeddings.js';
import { readConfigObject } from './config-blocks.js';
import { CONSENSUS_FEATURES_FORMAT } from './coco-features.js';
import { DAVID_BLOCK_KEYS, davidScores, readDavidBlocks, trainDavid } from './david-core.js';
import type { DavidSplit, DavidTrainingConfig } from './david-core.js';

const NAME = 'coco-david';
const R = configReader(NAME);

/** How a multi-label image becomes single-label rows ([INFER]; COCO gives several categories per image). */
export type CocoLabelReading = 'dominant' | 'pairs';

/** The validated config of {@link cocoDavid} (paths absolute). */
export interface CocoDavidConfig extends DavidTrainingConfig {
  /** The consensus features file per split (`consensus-{train,val,eval}.safetensors`). */
  features: { train: string; val: string; eval: string };
  labels: CocoLabelReading;
  /** Subtract the training rows' per-column mean before the model (which L2-normalizes every row itself). */
  center: boolean;
}

const OPTIMIZER: OptimizerBlock = { lr: 2e-3, warmupSteps: 20, weightDecay: 0.01, clipNorm: 1 };
const KEYS = [
  'features',
  'labels',
  'center',
  'epochs',
  'batchSize',
  'lr',
  'warmupSteps',
  'weightDecay',
  'clipNorm',
  ...DAVID_BLOCK_KEYS,
  'checkpointEvery',
];

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. `features` is a directory holding
 * `consensus-{train,val,eval}.safetensors` (a coco-consensus or coco-soup `--out`) or `{"train", "val", "eval"}`.
 * Throws a one-line error naming the field.
 */
export function parseCocoDavidConfig(raw: unknown, configDir: string): CocoDavidConfig {
  const o = readConfigObject(R, raw, KEYS);
  let features: CocoDavidConfig['features'];
  const f = o.features;
  if (typeof f === 'string') {
    const dir = resolve(configDir, f);
    features = {
      train: join(dir, 'consensus-train.safetensors'),
      val: join(dir, 'consensus-val.safetensors'),
      eval: join(dir, 'consensus-eval.safetensors'),
    };
  } else if (isObject(f)) {
    R.keys(f, ['train', 'val', 'eval'], 'features');
    features = {
      train: resolve(configDir, R.str(f, 'train', 'features')),
      val: resolve(configDir, R.str(f, 'val', 'features')),
      eval: resolve(configDir, R.str(f, 'eval', 'features')),
    };
  } else {
    return R.fail(
      `'features' must be a directory with consensus-{train,val,eval}.safetensors or {"train", "val", "eval"}, ` +
        `got ${show(f)}`,
    );
  }
  return {
    ...readDavidBlocks(R, o, 'basin-k12'),
    features,
    labels: R.choice(o, 'labels', ['dominant', 'pairs'] as const, 'dominant'),
    center: R.bool(o, 'center', true),
    epochs: R.num(o, 'epochs', 'int>0', 40),
    batchSize: R.num(o, 'batchSize', 'int>0', 32),
    ...(readOptimizerBlock(R, o, OPTIMIZER) as Required<OptimizerBlock>),
    ...readCheckpointBlock(R, o, 500),
  };
}

/** One consensus features file: `[n, dim]` rows, `[n·C]` multi-hot labels and instance counts, image ids. */
export interface ConsensusFeatures {
  path: string;
  n: number;
  dim: number;
  x: Float32Array;
  classes: number;
  labels: Uint8Array;
  instances: Uint32Array;
  imageIds: number[];
  categories: { id: number; name: string }[];
}

/**
 * Reads a consensus features file (`embeddings` `[N, K]`, `labels` `[N, C]` U8, `instances` `[N, C]` U32; metadata
 * `image_ids`, `categories`).
 * @throws {RecipeConfigError} naming `field`: a missing tensor, row counts that disagree, labels that are not 0/1 or
 *   do not match the instance counts, or metadata that does not list one image id per row.
 */
export function readConsensusFeatures(recipe: string, field: string, path: string): ConsensusFeatures {
  const emb = readEmbeddingsFile(recipe, field, path);
  const fail = (msg: string): never => {
    throw new RecipeConfigError(recipe, `'${field}' ${path} ${msg}`, { path: field });
  };
  const { tensors } = readSafetensors(readFileSync(path));
  const labels = tensors.labels;
  const instances = tensors.instances;
  if (labels?.dtype !== 'U8' || labels.shape.length !== 2)
    return fail(`has no tensor 'labels' [N, C] U8 (is it a ${CONSENSUS_FEATURES_FORMAT} file of coco-consensus?)`);
  if (instances?.dtype !== 'U32' || instances.shape.length !== 2) return fail(`has no tensor 'instances' [N, C] U32`);
  const [n, C] = labels.shape as [number, number];
  if (n !== emb.rows || instances.shape[0] !== n || instances.shape[1] !== C)
    fail(
      `has ${emb.rows} embedding rows, labels [${labels.shape.join(', ')}] and instances ` +
        `[${instances.shape.join(', ')}]; expected one row of each per image`,
    );
  const lab = labels.data as Uint8Array;
  const cnt = instances.data as Uint32Array;
  for (let i = 0; i < n * C; i++) {
    if (lab[i] !== (cnt[i]! > 0 ? 1 : 0))
      fail(`row ${Math.floor(i / C)}: labels[${i % C}] = ${lab[i]} but instances = ${cnt[i]} (labels = instances > 0)`);
  }
  const meta = emb.metadata;
  let imageIds: unknown;
  let categories: unknown;
  try {
    imageIds = JSON.parse(meta.image_ids ?? 'null');
    categories = JSON.parse(meta.categories ?? 'null');
  } catch {
    fail(`metadata 'image_ids' / 'categories' is not valid JSON`);
  }
  if (!Array.isArray(imageIds) || imageIds.length !== n)
    fail(`metadata 'image_ids' must list the ${n} image ids of its rows`);
  if (!Array.isArray(categories) || categories.length !== C)
    fail(`metadata 'categories' must list the ${C} categories of its label columns`);
  return {
    path,
    n,
    dim: emb.cols,
    x: emb.data,
    classes: C,
    labels: lab,
    instances: cnt,
    imageIds: imageIds as number[],
    categories: categories as { id: number; name: string }[],
  };
}

/**
 * Each row's category with the most instances; a tie goes to the lowest column (the columns are in category id order,
 * so the lowest id); -1 for a row without any instance.
 */
export function dominantLabels(instances: ArrayLike<number>, classes: number): Int32Array {
  const n = instances.length / classes;
  const out = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 0; c < classes; c++) {
      const v = instances[i * classes + c]!;
      if (v > best) {
        best = v;
        out[i] = c;
      }
    }
  }
  return out;
}

/** {@link labelRows}' result: single-label rows and the image each came from. */
export interface LabelledRows {
  split: DavidSplit;
  /** `[rows]` the image (row of the features file) of each row. */
  image: Int32Array;
  /** Images that gave no row (no annotated category). */
  unlabelled: number;
}

/**
 * The single-label rows of multi-label images ([INFER]):
 * - `'dominant'`: one row per image with at least one category, labelled by {@link dominantLabels};
 * - `'pairs'`: one row per (image, category) pair, the image's features repeated, in image then category order.
 * Images without a category give no row.
 */
export function labelRows(
  x: Float32Array,
  dim: number,
  labels: ArrayLike<number>,
  instances: ArrayLike<number>,
  classes: number,
  reading: CocoLabelReading,
): LabelledRows {
  const n = labels.length / classes;
  const image: number[] = [];
  const rowLabels: number[] = [];
  let unlabelled = 0;
  const dominant = dominantLabels(instances, classes);
  for (let i = 0; i < n; i++) {
    if (dominant[i] === -1) {
      unlabelled++;
      continue;
    }
    if (reading === 'dominant') {
      image.push(i);
      rowLabels.push(dominant[i]!);
    } else {
      for (let c = 0; c < classes; c++) {
        if (labels[i * classes + c] !== 1) continue;
        image.push(i);
        rowLabels.push(c);
      }
    }
  }
  const out = new Float32Array(image.length * dim);
  image.forEach((i, r) => out.set(x.subarray(i * dim, (i + 1) * dim), r * dim));
  return {
    split: { x: out, labels: Uint8Array.from(rowLabels), n: image.length, dim },
    image: Int32Array.from(image),
    unlabelled,
  };
}

/** Per-image scores of one classifier on a split: the reading's accuracy, the top-1 hit and the mAP. */
export interface ImageMetrics {
  /** argmax = the dominant category, over the images with a category. */
  dominantAccuracy: number;
  /** argmax ∈ the image's categories, over the images with a category. */
  top1Hit: number;
  /** Macro mAP of the per-class scores over all images (classes with a positive). */
  map: number;
  /** Images with a category (the accuracies' denominator) / all images (the mAP's). */
  labelledImages: number;
  images: number;
}

/** {@link ImageMetrics} of `[n·C]` per-class scores (argmax ties: the lower class). */
export function imageMetrics(
  scores: ArrayLike<number>,
  labels: Uint8Array,
  instances: ArrayLike<number>,
  classes: number,
): ImageMetrics {
  const n = labels.length / classes;
  const dominant = dominantLabels(instances, classes);
  let labelled = 0;
  let exact = 0;
  let hit = 0;
  for (let i = 0; i < n; i++) {
    if (dominant[i] === -1) continue;
    labelled++;
    let arg = 0;
    for (let c = 1; c < classes; c++) if (scores[i * classes + c]! > scores[i * classes + arg]!) arg = c;
    if (arg === dominant[i]) exact++;
    if (labels[i * classes + arg] === 1) hit++;
  }
  return {
    dominantAccuracy: labelled === 0 ? Number.NaN : exact / labelled,
    top1Hit: labelled === 0 ? Number.NaN : hit / labelled,
    map: meanAveragePrecision(Float32Array.from(scores), labels, classes).map,
    labelledImages: labelled,
    images: n,
  };
}

/** One-hot `[n·C]` scores of a class per image (the majority baseline's). */
function oneHotScores(n: number, classes: number, c: number): Float32Array {
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) out[i * classes + c] = 1;
  return out;
}

async function run(cfg: CocoDavidConfig, job: RecipeRun): Promise<number> {
  const files = {
    train: readConsensusFeatures(NAME, 'features.train', cfg.features.train),
    val: readConsensusFeatures(NAME, 'features.val', cfg.features.val),
    eval: readConsensusFeatures(NAME, 'features.eval', cfg.features.eval),
  };
  const C = files.train.classes;
  for (const key of ['val', 'eval'] as const) {
    const f = files[key];
    if (f.dim !== files.train.dim || f.classes !== C)
      throw job.error(
        `'features.${key}' has rows of ${f.dim} and ${f.classes} classes, 'features.train' ${files.train.dim} and ${C}`,
        `features.${key}`,
      );
    if (JSON.stringify(f.categories) !== JSON.stringify(files.train.categories))
      throw job.error(`'features.${key}' lists other categories than 'features.train'`, `features.${key}`);
    const shared = f.imageIds.filter((id) => new Set(files.train.imageIds).has(id));
    if (shared.length > 0)
      throw job.error(
        `'features.${key}' shares ${shared.length} image id(s) with 'features.train' (e.g. ${shared[0]})`,
        `features.${key}`,
      );
  }
  const dim = files.train.dim;

  // Centering on the training images' mean (copies; the files' rows are left as read).
  const centered = (x: Float32Array): Float32Array => {
    if (!cfg.center) return x;
    const mean = new Float64Array(dim);
    const t = files.train;
    for (let i = 0; i < t.n; i++) for (let j = 0; j < dim; j++) mean[j]! += t.x[i * dim + j]!;
    for (let j = 0; j < dim; j++) mean[j]! /= t.n;
    const y = new Float32Array(x.length);
    for (let r = 0; r < x.length; r += dim) for (let j = 0; j < dim; j++) y[r + j] = x[r + j]! - mean[j]!;
    return y;
  };
  const images = {
    train: centered(files.train.x),
    val: centered(files.val.x),
    eval: centered(files.eval.x),
  };
  const rows = {
    train: labelRows(images.train, dim, files.train.labels, files.train.instances, C, cfg.labels),
    val: labelRows(images.val, dim, files.val.labels, files.val.instances, C, cfg.labels),
    eval: labelRows(images.eval, dim, files.eval.labels, files.eval.instances, C, cfg.labels),
  };
  if (rows.train.split.n < cfg.batchSize)
    throw job.error(
      `'batchSize' ${cfg.batchSize} is more than the ${rows.train.split.n} training rows ` +
        `(${files.train.n} images, labels '${cfg.labels}')`,
      'batchSize',
    );
  if (rows.val.split.n === 0) throw job.error(`'features.val' has no labelled image`, 'features.val');
  job.say(
    `${NAME}: labels '${cfg.labels}': ${rows.train.split.n} / ${rows.val.split.n} / ${rows.eval.split.n} ` +
      `train / val / eval rows from ${files.train.n} / ${files.val.n} / ${files.eval.n} images ` +
      `(${rows.train.unlabelled} / ${rows.val.unlabelled} / ${rows.eval.unlabelled} without a category). ` +
      `A TINY set: expect noisy numbers.`,
  );

  // The baselines that need no training: the majority class of the training rows (ties: the lowest), chance.
  const freq = new Int32Array(C);
  for (const y of rows.train.split.labels) freq[y]!++;
  const majority = freq.indexOf(Math.max(...freq));
  const perImage = (which: 'val' | 'eval', scores: ArrayLike<number>) =>
    imageMetrics(scores, files[which].labels, files[which].instances, C);
  const labelledEval = dominantLabels(files.eval.instances, C).filter((d) => d >= 0).length;
  let labelsPerLabelledImage = 0;
  for (let i = 0; i < files.eval.n * C; i++) labelsPerLabelledImage += files.eval.labels[i]!;
  labelsPerLabelledImage /= Math.max(labelledEval, 1);
  const majorityEval = perImage('eval', oneHotScores(files.eval.n, C, majority));
  const majorityVal = perImage('val', oneHotScores(files.val.n, C, majority));

  const trained = await trainDavid({
    job,
    cfg,
    splits: { train: rows.train.split, val: rows.val.split, test: rows.eval.split },
    numClasses: C,
    source: `consensus features${cfg.center ? ', centered' : ''}, labels '${cfg.labels}'`,
    checkpointConfig: { ...cfg },
    inspect: async ({ model, probe, knn }) => {
      const scored = async (score: (x: Float32Array) => Promise<Float32Array> | Float32Array) => ({
        validation: perImage('val', await score(images.val)),
        eval: perImage('eval', await score(images.eval)),
      });
      return {
        david: await scored((x) => davidScores(model, x, dim)),
        linearProbe: probe === null ? null : await scored((x) => probe.scores(x)),
        knn: knn === null ? null : await scored((x) => knn.scores(x)),
      };
    },
  });
  if (trained.aborted) return trained.code;
  const { head, body, modelFile, metricsFile } = trained.outcome;
  const perImageScores = trained.extra!;
  const constantMap = meanAveragePrecision(new Float32Array(files.eval.n * C), files.eval.labels, C).map;
  const result = {
    ...head,
    labels: cfg.labels,
    labelReading:
      cfg.labels === 'dominant'
        ? 'each image is one row, labelled by its category with the most instances (ties: the lowest category id); ' +
          'images without a category are left out of the rows'
        : 'one row per (image, category) pair, the image features repeated; the row accuracy is then ' +
          'hits / pairs, proportional to the top-1 hit',
    features: cfg.features,
    centered: cfg.center,
    note:
      `TINY data: ${files.train.n} train, ${files.val.n} validation and ${files.eval.n} eval images, ${C} classes ` +
      `(${rows.train.split.n} training rows). Accuracies on ${rows.val.split.n} validation rows choose the model; ` +
      'one eval image moves an accuracy by ' +
      `${(100 / Math.max(labelledEval, 1)).toFixed(2)} points.`,
    splits: Object.fromEntries(
      (['train', 'val', 'eval'] as const).map((k) => [
        k,
        { images: files[k].n, rows: rows[k].split.n, unlabelledImages: rows[k].unlabelled, file: files[k].path },
      ]),
    ),
    ...body,
    perImage: {
      note:
        'per image: dominantAccuracy (argmax = the category with the most instances), top1Hit (argmax is one of ' +
        "the image's categories), both over the images with a category; map: macro mAP of the per-class scores " +
        '(David: fused logits; probe: logits; k-NN: vote shares) over all images, classes with a positive',
      david: perImageScores.david,
      linearProbe: perImageScores.linearProbe,
      knn: perImageScores.knn,
      majority: {
        class: majority,
        category: files.train.categories[majority],
        validation: majorityVal,
        eval: { ...majorityEval, map: constantMap },
      },
      chance: {
        note:
          'a uniform guess among the C classes: accuracy 1/C, top-1 hit = mean labels per labelled image / C; ' +
          'mAP of a constant score = the mean prevalence',
        eval: {
          dominantAccuracy: 1 / C,
          top1Hit: labelsPerLabelledImage / C,
          map: constantMap,
        },
      },
    },
    categories: files.train.categories,
  };
  const resultFile = await job.writeResult(result);
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const line = (name: string, m: { eval: ImageMetrics } | null) =>
    m === null ? '' : `${name} ${pct(m.eval.dominantAccuracy)} / ${pct(m.eval.top1Hit)} / ${m.eval.map.toFixed(4)}`;
  job.say(
    `eval images (dominant accuracy / top-1 hit / mAP): ` +
      [
        line('David', perImageScores.david),
        line('linear probe', perImageScores.linearProbe),
        line('k-NN', perImageScores.knn),
        `majority ${pct(majorityEval.dominantAccuracy)} / ${pct(majorityEval.top1Hit)} / ${constantMap.toFixed(4)}`,
      ]
        .filter(Boolean)
        .join('; '),
  );
  job.say(`wrote ${resultFile}, ${modelFile}, ${metricsFile}`);
  return 0;
}

/** `geolip-train run coco-david`: GeoFractalDavid on the soup's consensus features, beside a probe and a k-NN. */
export const cocoDavid = defineRecipe<CocoDavidConfig>({
  name: NAME,
  description:
    "GeoFractalDavid (basin-k12 or fmnist-small) on the COCO soup's consensus features (coco-consensus), beside a " +
    'linear probe, a k-NN and the majority class; accuracy, top-1 hit, mAP and the learned structure',
  help: `GeoFractalDavid on consensus-{train,val,eval}.safetensors (geolip-train run coco-consensus); config
{"features": "<dir>" | {"train", "val", "eval"}, "labels": "dominant" | "pairs", "preset": "basin-k12" |
"fmnist-small", "epochs", "batchSize", "lr", "model", "loss", "baselines", "seed", ...}; writes
<out>/result.json (accuracy, per-image top-1 hit and mAP of David, the probe, the k-NN and the majority
class; the learned structure), metrics.jsonl, david.safetensors.`,
  parse: parseCocoDavidConfig,
  run,
});
