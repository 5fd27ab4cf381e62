// A tiny Dual-Stream ViT config and synthetic Fashion-MNIST data, shared by the fmnist-vit, fmnist-vit-card and
// fmnist-vit-tower recipe tests.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createRng } from '@geolip/geometry';
import type { ImageDataset } from '@geolip/vision/io';

import { idxGz } from './helpers.js';

/** The tiny DualStreamViT of the tests (28 px, patch 7, 24-d output). */
export const TINY_DUAL = {
  patchSize: 7,
  embedDim: 32,
  streamDim: 16,
  heads: 2,
  fusedDim: 16,
  dualBlocks: 1,
  fusedBlocks: 1,
  classifierHidden: 16,
  anchors: 8,
  compartments: 2,
  compartmentDim: 8,
  outDim: 24,
};

/**
 * `n` 28×28×1 byte images, image i with label i mod 10: a bright band at rows 2c + 4, 2c + 5 over seeded noise in
 * [0, 64), so no two images are equal (the per-class CVs are defined) and the label is learnable.
 */
export function bandImages(n: number, seed = 1): ImageDataset {
  const rng = createRng(seed);
  const px = Uint8Array.from({ length: n * 784 }, () => Math.floor(rng.uniform() * 64));
  for (let i = 0; i < n; i++) for (let x = 0; x < 56; x++) px[i * 784 + (2 * (i % 10) + 4) * 28 + x] = 255;
  return {
    images: px,
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
    n,
    height: 28,
    width: 28,
    channels: 1,
  };
}

/** A synthetic Fashion-MNIST split in `dir` (IDX, gzipped): {@link bandImages} of seed 11 (train) or 12 (t10k). */
export async function writeBandSplit(dir: string, prefix: 'train' | 't10k', n: number): Promise<void> {
  const d = bandImages(n, prefix === 'train' ? 11 : 12);
  await writeFile(join(dir, `${prefix}-images-idx3-ubyte.gz`), idxGz(0x803, [n, 28, 28], Uint8Array.from(d.images)));
  await writeFile(join(dir, `${prefix}-labels-idx1-ubyte.gz`), idxGz(0x801, [n], Uint8Array.from(d.labels)));
}
