// Recipe `fmnist-david` (issue 8, recipe 2; issue 20: the Basin-k12 preset, the learned structure, the baselines):
// GeoFractalDavid (spec §11) with its contrastive basin loss (§11.2) on fixed feature vectors of Fashion-MNIST: the raw
// pixels, or a features file per split (e.g. a trained Dual-Stream ViT's embeddings). The last `valRows` training rows
// choose the model (and the baselines' step and k); the test split is measured once, at the end. Reports the fused and
// per-scale accuracies, the learned structure per evaluation (α, fusion and geo weights, the Cantor prototypes) and a
// linear probe and a cosine k-NN on the same rows.
import { resolve } from 'node:path';

import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from '@geolip/vision/io';

import {
  RecipeConfigError,
  configReader,
  defineRecipe,
  isObject,
  readCheckpointBlock,
  readDataBlock,
  readOptimizerBlock,
  show,
} from '@geolip/train';
import type { DataBlock, OptimizerBlock, RecipeRun } from '@geolip/train';

import { readEmbeddingsFile } from './embeddings.js';
import { readConfigObject, trainingKeys } from './config-blocks.js';
import { DAVID_BLOCK_KEYS, DAVID_PRESETS, readDavidBlocks, rowsOf, trainDavid } from './david-core.js';
import type { DavidModelConfig, DavidSplit, DavidTrainingConfig } from './david-core.js';

const NAME = 'fmnist-david';
const R = configReader(NAME);

/** The validated config of {@link fmnistDavid} (paths absolute). */
export interface FmnistDavidConfig extends DataBlock, DavidTrainingConfig {
  /** `'pixels'`, or one features file per split (rows in Fashion-MNIST order). */
  features: 'pixels' | { train: string; test: string };
  /** Subtract the training rows' per-column mean before the model (which L2-normalizes every row itself). */
  center: boolean;
  /**
   * The last `valRows` of the (limited) training rows are the validation split: the same 5,000 images fmnist-vit
   * holds out, so a network whose embeddings are the features never trained on them.
   */
  valRows: number;
}

/**
 * The model presets: `fmnist-small` (the recipe's first runs: k = 5 at [64, 128, 256], the canonical staircase,
 * [INFER] sizes that run 10 epochs in minutes on 2 cores) and `basin-k12` (the card's run,
 * `GEO_FRACTAL_DAVID_BASIN_K12` of `@geolip/vision`: k = 12 at [384, 512, 768, 1024, 1280], the author's
 * batch-position staircase). The same presets serve coco-david.
 */
export const FMNIST_DAVID_PRESETS = DAVID_PRESETS;

/** The default preset's model (`fmnist-small`). */
export const FMNIST_DAVID_MODEL: Readonly<DavidModelConfig> = DAVID_PRESETS['fmnist-small'];

const OPTIMIZER: OptimizerBlock = { lr: 2e-3, warmupSteps: 100, weightDecay: 0.01, clipNorm: 1 };
const KEYS = ['features', 'center', ...trainingKeys(OPTIMIZER), ...DAVID_BLOCK_KEYS, 'valRows', 'checkpointEvery'];

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. Throws a one-line error naming the
 * field.
 */
export function parseFmnistDavidConfig(raw: unknown, configDir: string): FmnistDavidConfig {
  const o = readConfigObject(R, raw, KEYS);

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

  return {
    ...readDavidBlocks(R, o),
    features,
    center: R.bool(o, 'center', true),
    ...readDataBlock(R, o, FASHION_MNIST_DIR, configDir),
    epochs: R.num(o, 'epochs', 'int>0', 10),
    batchSize: R.num(o, 'batchSize', 'int>0', 256),
    ...(readOptimizerBlock(R, o, OPTIMIZER) as Required<OptimizerBlock>),
    valRows: R.num(o, 'valRows', 'int>0', 5000),
    ...readCheckpointBlock(R, o, 500),
  };
}

/**
 * Loads both files' labels and features, applies the limits, validates row counts, carves the validation split (the
 * last `valRows` of the limited training rows) and centers every split on the training rows' mean.
 */
async function loadSplits(
  cfg: FmnistDavidConfig,
): Promise<{ train: DavidSplit; val: DavidSplit; test: DavidSplit; source: string }> {
  const sets = {
    train: await loadFashionMnist('train', { dir: cfg.data }),
    test: await loadFashionMnist('test', { dir: cfg.data }),
  };
  const limit = (n: number, lim: number) => (lim > 0 ? Math.min(lim, n) : n);
  const out = {} as { train: DavidSplit; test: DavidSplit };
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

async function run(cfg: FmnistDavidConfig, job: RecipeRun): Promise<number> {
  const { train, val, test, source } = await loadSplits(cfg);
  const trained = await trainDavid({
    job,
    cfg,
    splits: { train, val, test },
    numClasses: 10,
    source: `${source === 'pixels' ? 'pixels' : 'features files'}${cfg.center ? ', centered' : ''}`,
    checkpointConfig: { ...cfg },
  });
  if (trained.aborted) return trained.code;
  const { head, body, modelFile, metricsFile } = trained.outcome;
  const resultFile = await job.writeResult({
    ...head,
    features: cfg.features === 'pixels' ? 'pixels' : { train: cfg.features.train, test: cfg.features.test },
    centered: cfg.center,
    ...body,
    classes: FASHION_MNIST_CLASSES,
  });
  job.say(`wrote ${resultFile}, ${modelFile}, ${metricsFile}`);
  return 0;
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
