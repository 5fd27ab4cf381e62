// One training step of a recipe on seeded synthetic data of the run's shapes, through the recipe's own code: the
// same network, loss (trainer), batch pipeline and train() options that `run` uses (each recipe's `*Training`
// function), less evaluation, checkpoints and logging. For timing steps: tools/perf/recipe-steps.mjs, glfm-profile.mjs.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, Matrix, createRng } from '@geolip/geometry';
import type { TrainOptions } from '@geolip/train';
import type { ImageDataset } from '@geolip/vision/io';

import { fmnistVitTraining, parseFmnistVitConfig } from './recipes/fmnist-vit.js';
import { glfmTraining, parseGlfmConfig } from './recipes/glfm.js';
import { parseTextConsensusConfig, studentTraining } from './recipes/text-consensus.js';

/** Recipes whose training step {@link recipeStep} builds. */
export const RECIPE_STEP_RECIPES = ['fmnist-vit', 'glfm', 'text-consensus'] as const;

/** The vocabulary size of the bundled bert-base-uncased tokenizer (the student's embedding rows). */
const BERT_UNCASED_VOCAB = 30522;

/** A recipe's training step, ready for `train({ ...step.options, steps })`. */
export interface RecipeStep {
  recipe: (typeof RECIPE_STEP_RECIPES)[number];
  batchSize: number;
  /** Trainable parameters of the network. */
  params: number;
  /** The recipe's network (`DualStreamViT` or `ViTClassifier`, `GlfmModel`, `CaptionEncoder`). */
  network: unknown;
  /**
   * train()'s options as the recipe's run passes them (model, data, optimizer, schedule, clipNorm, seed, afterStep),
   * less `steps`, evaluation, checkpoints and logging. Every train() call may start again at step 0.
   */
  options: Omit<TrainOptions<unknown>, 'steps'>;
  /** What the data is, in words. */
  data: string;
  dispose(): void;
}

/** Options of {@link recipeStep}. */
export interface RecipeStepOptions {
  /** Steps one train() call will run at most (image recipes: the epochs of the batch stream). Default 1000. */
  maxSteps?: number;
  /** Synthetic rows (images, sentences). Default: 4 batches (image recipes), 16 batches (text). */
  rows?: number;
  /** Seed of the synthetic data. Default 1. */
  seed?: number;
  /**
   * `text-consensus`: the token count of each synthetic row ([CLS] and [SEP] included), e.g. a real corpus's from the
   * tokenizer, so batches pad to their longest row as the corpus's do; each is cut at `student.maxLength`. `rows`
   * defaults to its length. Default: random counts of 6 to `student.maxLength`.
   */
  tokenLengths?: ArrayLike<number>;
}

/** `n` seeded random 28×28×1 byte images with labels 0…9 in turn: a Fashion-MNIST-shaped training split. */
function syntheticImages(n: number, seed: number): ImageDataset {
  const rng = createRng(seed);
  const images = Uint8Array.from({ length: n * 784 }, () => Math.floor(rng.uniform() * 256));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images, labels, n, height: 28, width: 28, channels: 1 };
}

/**
 * Builds the training step of `recipe` from a config as its run reads it (e.g. the config file of a shipped result;
 * relative paths resolve against the working directory, and no data file is read) on synthetic data: random byte
 * images for `fmnist-vit` and `glfm` (the recipe's own batch stream shuffles, augments and scales them), and for
 * `text-consensus` random token rows of 6 to `student.maxLength` tokens (so a batch pads to `maxLength`, as the
 * corpus's batches do) with unit-norm targets of width `consensus.targetDim` (default 100, the shipped consensus's)
 * and CV target `cvTarget` (default 0.325, the shipped consensus's). The step's cost does not depend on the values.
 */
export function recipeStep(
  recipe: RecipeStep['recipe'],
  config: Record<string, unknown>,
  { maxSteps = 1000, rows, seed = 1, tokenLengths }: RecipeStepOptions = {},
): RecipeStep {
  const dir = process.cwd();
  if (recipe === 'fmnist-vit' || recipe === 'glfm') {
    const parsed = recipe === 'glfm' ? parseGlfmConfig(config, dir) : parseFmnistVitConfig(config, dir);
    const n = rows ?? parsed.batchSize * 4;
    const perEpoch = Math.floor(n / parsed.batchSize);
    if (perEpoch < 1)
      throw new InvalidArgumentError(
        'recipeStep',
        'options.rows',
        `${n} rows are fewer than one batch of ${parsed.batchSize}`,
      );
    const epochs = Math.ceil(maxSteps / perEpoch);
    const images = syntheticImages(n, seed);
    const data = `${n} random 28×28×1 byte images, ${parsed.batchSize} a batch`;
    if (recipe === 'glfm') {
      const t = glfmTraining({ ...(parsed as ReturnType<typeof parseGlfmConfig>), epochs }, images);
      return {
        recipe,
        batchSize: parsed.batchSize,
        params: t.model.paramCount(),
        network: t.model,
        options: t.options as RecipeStep['options'],
        data,
        dispose: () => t.model.dispose(),
      };
    }
    const t = fmnistVitTraining({ ...(parsed as ReturnType<typeof parseFmnistVitConfig>), epochs }, images);
    return {
      recipe,
      batchSize: parsed.batchSize,
      params: t.net.model.paramCount(),
      network: t.net.model,
      options: t.options as RecipeStep['options'],
      data: `${data} (random crop and flip)`,
      dispose: () => {
        const p = t.trainer.pending;
        if (p) tf.dispose([p.stats, ...(p.emb ? [p.emb] : [])]);
        t.net.model.dispose();
      },
    };
  }
  const cfg = parseTextConsensusConfig(config, dir);
  const n = rows ?? tokenLengths?.length ?? cfg.batchSize * 16;
  if (n < cfg.batchSize)
    throw new InvalidArgumentError(
      'recipeStep',
      'options.rows',
      `${n} rows are fewer than one batch of ${cfg.batchSize}`,
    );
  const rng = createRng(seed);
  const maxLength = cfg.student.maxLength;
  if (tokenLengths !== undefined) {
    if (tokenLengths.length < n)
      throw new InvalidArgumentError(
        'recipeStep',
        'options.tokenLengths',
        `has ${tokenLengths.length} lengths for ${n} rows`,
      );
    for (let i = 0; i < n; i++)
      if (!Number.isInteger(tokenLengths[i]) || tokenLengths[i]! < 2)
        throw new InvalidArgumentError(
          'recipeStep',
          `options.tokenLengths[${i}]`,
          `must be an integer >= 2 ([CLS] and [SEP]), got ${String(tokenLengths[i])}`,
        );
  }
  const lengths = Array.from({ length: n }, (_, i) =>
    tokenLengths !== undefined
      ? Math.min(maxLength, tokenLengths[i]!)
      : Math.min(maxLength, 6 + rng.int(maxLength - 5)),
  );
  const offsets = new Int32Array(n + 1);
  lengths.forEach((l, i) => (offsets[i + 1] = offsets[i]! + l));
  const ids = new Int32Array(offsets[n]!);
  for (let i = 0; i < n; i++) {
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    for (let j = a; j < b; j++) ids[j] = j === a ? 101 : j === b - 1 ? 102 : 1000 + rng.int(BERT_UNCASED_VOCAB - 1000);
  }
  const k = cfg.consensus.targetDim ?? 100;
  const targets = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < k; j++) norm += (targets[i * k + j] = rng.normal()) ** 2;
    for (let j = 0; j < k; j++) targets[i * k + j]! /= Math.sqrt(norm);
  }
  const trainRows = Int32Array.from({ length: n }, (_, i) => i);
  const t = studentTraining(
    cfg,
    { ids, offsets },
    new Matrix(n, k, targets),
    trainRows,
    BERT_UNCASED_VOCAB,
    cfg.cvTarget ?? 0.325,
  );
  return {
    recipe,
    batchSize: cfg.batchSize,
    params: t.encoder.paramCount(),
    network: t.encoder,
    options: t.options as RecipeStep['options'],
    data:
      (tokenLengths !== undefined
        ? `${n} random token rows of the given lengths (a batch pads to its longest, at most ${maxLength}), `
        : `${n} random token rows of 6–${maxLength} ids (a batch pads to ${maxLength}), `) +
      `${cfg.batchSize} a batch; unit-norm targets of width ${k}`,
    dispose: () => {
      t.encoder.dispose();
      t.targets.dispose();
    },
  };
}
