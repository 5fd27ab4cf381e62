/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 train + 10,000 test grayscale 28×28 images, 10 classes,
 * read from the IDX files of the Debian package `dataset-fashion-mnist` (`tools/setup/fashion-mnist.sh`).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';

import { loadIdx } from './idx.js';

/** Where the Debian package `dataset-fashion-mnist` installs the IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The 10 class names, indexed by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** A labelled set of equally sized images, `[N, H, W, C]` flat (the input of {@link batches}). */
export interface ImageDataset {
  /** `[N, H, W, C]` row-major pixels (bytes 0–255 or floats). */
  images: Uint8Array | Float32Array;
  /** `[N]` integer class labels. */
  labels: ArrayLike<number>;
  n: number;
  height: number;
  width: number;
  channels: number;
}

/** One split of Fashion-MNIST: `images` is `[N, 28, 28]` bytes (`channels` = 1). */
export interface FashionMnist extends ImageDataset {
  images: Uint8Array;
  labels: Uint8Array;
  split: 'train' | 'test';
  height: 28;
  width: 28;
  channels: 1;
}

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

async function findFile(dir: string, base: string): Promise<string> {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    try {
      await access(p);
      return p;
    } catch {
      // try the next name
    }
  }
  throw new InvalidArgumentError(
    'loadFashionMnist',
    'dir',
    `${dir} holds neither ${base}.gz nor ${base}; install Fashion-MNIST with tools/setup/fashion-mnist.sh ` +
      '(apt-get install dataset-fashion-mnist)',
  );
}

/** Options of {@link loadFashionMnist}. */
export interface LoadFashionMnistOptions {
  /** Directory of the four IDX files (gzip-compressed or not). Default {@link FASHION_MNIST_DIR}. */
  dir?: string;
}

/**
 * Loads one split of Fashion-MNIST.
 *
 * @param split - `'train'` (60,000) or `'test'` (10,000). Default `'train'`.
 * @returns `{ images: Uint8Array [N·28·28], labels: Uint8Array [N], n, height: 28, width: 28, channels: 1, split }`.
 * @throws {InvalidArgumentError} If `split` is unknown or a file is missing from `dir`.
 * @throws {FormatError} naming the file if it is not an IDX file of the right kind (images `[N, 28, 28]`,
 *   labels `[N]` in 0–9), or the two files disagree on N.
 */
export async function loadFashionMnist(
  split: 'train' | 'test' = 'train',
  options: LoadFashionMnistOptions = {},
): Promise<FashionMnist> {
  const op = 'loadFashionMnist';
  if (split !== 'train' && split !== 'test')
    throw new InvalidArgumentError(op, 'split', `must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const dir = options.dir ?? FASHION_MNIST_DIR;
  const imagesPath = await findFile(dir, FILES[split].images);
  const labelsPath = await findFile(dir, FILES[split].labels);
  const images = await loadIdx(imagesPath, { rank: 3 });
  const labels = await loadIdx(labelsPath, { rank: 1 });
  const [n, h, w] = images.shape as [number, number, number];
  if (h !== 28 || w !== 28) throw new FormatError(op, 'dir', `${imagesPath}: images are ${h}x${w}, expected 28x28`);
  if (labels.shape[0] !== n) {
    throw new FormatError(op, 'dir', `${labelsPath}: ${labels.shape[0]} labels for ${n} images in ${imagesPath}`);
  }
  const bad = labels.data.findIndex((v) => v > 9);
  if (bad >= 0)
    throw new FormatError(op, 'dir', `${labelsPath}: label ${labels.data[bad]} at index ${bad} is not a class 0–9`);
  return { images: images.data, labels: labels.data, n, height: 28, width: 28, channels: 1, split };
}
