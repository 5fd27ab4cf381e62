// Recipe `fmnist-embed` (issue 20): the unit embeddings of a Dual-Stream ViT weights file (the shipped
// `fmnist-dual-stream.safetensors`, or an fmnist-vit run's `model.safetensors`) for every Fashion-MNIST image, one
// `embeddings-{train,test}.safetensors` per split in Fashion-MNIST order: the features files `fmnist-david` reads.
// `tools/vision/fmnist-weights.mjs embed` calls the same function.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { FashionMnistClassifier } from '@geolip/vision';
import { FASHION_MNIST_DIR, loadFashionMnist } from '@geolip/vision/io';
import { EXIT_INTERRUPTED, configReader, defineRecipe, show } from '@geolip/train';
import type { RecipeRun } from '@geolip/train';
import { writeSafetensors } from '@geolip/io';
import { writeFileAtomic } from '@geolip/io/node';

import { readConfigObject } from './config-blocks.js';
import { machine, recipeCommand } from './text-heads.js';

const NAME = 'fmnist-embed';
const R = configReader(NAME);
const KEYS = ['weights', 'data', 'splits', 'rows', 'batchSize', 'chunkRows'];

type Split = 'train' | 'test';

/** The validated config of {@link fmnistEmbed} (paths absolute). */
export interface FmnistEmbedConfig {
  /** A Dual-Stream ViT safetensors file that `FashionMnistClassifier.fromWeights` loads. */
  weights: string;
  /** Fashion-MNIST directory (IDX .gz). */
  data: string;
  /** The splits to embed, in order (default both; one per process lets two processes share the work). */
  splits: Split[];
  /** Only the first N images of each split (a check of the stage; fmnist-david needs every row); 0 = all. */
  rows: number;
  /** Images per forward pass. */
  batchSize: number;
  /**
   * The file is rewritten after every `chunkRows` images with the rows done so far (metadata `complete: "false"`), so
   * an interrupted or slow run leaves the first rows usable (`fmnist-david` with `trainLimit`).
   */
  chunkRows: number;
}

/**
 * Validates the config: `weights` (required), `data` (default the system Fashion-MNIST), `splits` (`["train",
 * "test"]`), `rows` (0 = all), `batchSize` (250). Relative paths resolve against `configDir`.
 */
export function parseFmnistEmbedConfig(raw: unknown, configDir: string): FmnistEmbedConfig {
  const o = readConfigObject(R, raw, KEYS);
  const splitsRaw = o.splits ?? ['train', 'test'];
  if (
    !Array.isArray(splitsRaw) ||
    splitsRaw.length === 0 ||
    splitsRaw.some((s) => s !== 'train' && s !== 'test') ||
    new Set(splitsRaw).size !== splitsRaw.length
  )
    R.fail(`'splits' must be a non-empty array of distinct "train" / "test", got ${show(splitsRaw)}`, 'splits');
  return {
    weights: resolve(configDir, R.str(o, 'weights')),
    data: resolve(configDir, R.optStr(o, 'data') ?? FASHION_MNIST_DIR),
    splits: [...(splitsRaw as Split[])],
    rows: R.num(o, 'rows', 'int>=0', 0),
    batchSize: R.num(o, 'batchSize', 'int>0', 250),
    chunkRows: R.num(o, 'chunkRows', 'int>0', 2000),
  };
}

/** One file {@link embedFashionMnist} wrote. */
export interface FmnistEmbedFile {
  split: Split;
  file: string;
  rows: number;
  /** False when `signal` stopped the split early: the file holds its first `rows` images. */
  complete: boolean;
  dim: number;
  seconds: number;
}

/**
 * Embeds the first `cfg.rows` (0: every) image of each split with the weights' classifier and writes
 * `<dir>/embeddings-<split>.safetensors` atomically: tensor `embeddings` `[N, D]` F32 (the unit embedding the anchors
 * triangulate, `FashionMnistClassifier.classify`'s `embedding`), metadata `source` (the weights path as given),
 * `split`, `backend`, `normalized: "true"`, `complete` (`"false"` while the file holds only the rows done so far: it is
 * rewritten after every `cfg.chunkRows` images). `onProgress(split, done, total)` after every chunk, once it is saved.
 * An aborted `signal` stops after the current chunk (the file keeps the rows done; no further split is started).
 */
export async function embedFashionMnist(
  cfg: FmnistEmbedConfig,
  dir: string,
  onProgress: (split: Split, done: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<FmnistEmbedFile[]> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(cfg.weights);
  } catch (error) {
    return R.fail(
      `'weights' ${cfg.weights} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'weights',
    );
  }
  const clf = await FashionMnistClassifier.fromWeights(new Uint8Array(bytes));
  const written: FmnistEmbedFile[] = [];
  try {
    for (const split of cfg.splits) {
      const all = await loadFashionMnist(split, { dir: cfg.data });
      const n = cfg.rows > 0 ? Math.min(all.n, cfg.rows) : all.n;
      const t0 = Date.now();
      let out = new Float32Array(0);
      let D = 0;
      const file = join(dir, `embeddings-${split}.safetensors`);
      const save = (rows: number) =>
        writeFileAtomic(
          file,
          writeSafetensors(
            { embeddings: { dtype: 'F32', shape: [rows, D], data: out.subarray(0, rows * D) } },
            {
              source: cfg.weights,
              split,
              backend: tf.getBackend(),
              normalized: 'true',
              complete: rows === n ? 'true' : 'false',
            },
          ),
        );
      let done = 0;
      for (let start = 0; start < n && !signal?.aborted; start += cfg.chunkRows) {
        const m = Math.min(cfg.chunkRows, n - start);
        const preds = await clf.classify(all.images.subarray(start * 784, (start + m) * 784), {
          batchSize: cfg.batchSize,
        });
        if (D === 0) {
          D = preds[0]!.embedding.length;
          out = new Float32Array(n * D);
        }
        preds.forEach((p, i) => out.set(p.embedding, (start + i) * D));
        await save(start + m);
        done = start + m;
        onProgress(split, done, n);
      }
      written.push({ split, file, rows: done, complete: done === n, dim: D, seconds: (Date.now() - t0) / 1000 });
      if (done < n) break;
    }
  } finally {
    clf.dispose();
  }
  return written;
}

async function run(cfg: FmnistEmbedConfig, job: RecipeRun): Promise<number> {
  const files = await embedFashionMnist(
    cfg,
    job.out,
    (split, done, total) => job.say(`${NAME}: ${split} ${done}/${total}`),
    job.options.signal,
  );
  const stopped = files.find((f) => !f.complete);
  if (stopped) {
    job.say(`${NAME}: stopped; ${stopped.file} holds the first ${stopped.rows} rows (metadata complete: false)`);
    return EXIT_INTERRUPTED;
  }
  for (const f of files)
    job.say(`${NAME}: wrote ${f.file} [${f.rows}, ${f.dim}] in ${f.seconds.toFixed(1)} s on ${tf.getBackend()}`);
  await job.writeResult({
    recipe: NAME,
    command: recipeCommand(NAME, job.options),
    machine: machine(),
    weights: cfg.weights,
    files,
  });
  return 0;
}

/** `geolip-train run fmnist-embed`: a Dual-Stream weights file's unit embeddings of every Fashion-MNIST image. */
export const fmnistEmbed = defineRecipe<FmnistEmbedConfig>({
  name: NAME,
  description:
    "a Dual-Stream ViT weights file's unit embeddings of every Fashion-MNIST image (the features of fmnist-david)",
  help: `the unit embeddings of a Dual-Stream ViT weights file (the shipped model, or an
fmnist-vit run's model.safetensors) for every Fashion-MNIST image; config {"weights",
"data", "splits": ["train", "test"], "rows" (0 = all), "batchSize"}; writes
<out>/embeddings-{train,test}.safetensors (tensor 'embeddings' [N, D] F32, Fashion-MNIST
order) and <out>/result.json.`,
  parse: parseFmnistEmbedConfig,
  run,
});
