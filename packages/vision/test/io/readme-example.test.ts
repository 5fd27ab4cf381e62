// The README's "Image input" example, as written, with a fixture JPEG for cat.jpg and the loop cut short
// (the backend is the one test/setup.ts selected; the Fashion-MNIST part is skipped without the data).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

import {
  batches,
  batchToTensors,
  centerCrop,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  loadFashionMnist,
  loadImage,
  normalize,
  resizeBilinear,
  toTensor,
} from '../../src/io/index.js';

const cat = fileURLToPath(new URL('../fixtures/io/rgb-13x9.jpg', import.meta.url));

it('README: a photo, the ImageNet way (resize short side, center crop, normalize, NHWC)', async () => {
  const photo = await loadImage(cat);
  const s = 256 / Math.min(photo.width, photo.height);
  const resized = resizeBilinear(photo, { height: Math.round(photo.height * s), width: Math.round(photo.width * s) });
  expect([resized.height, resized.width]).toEqual([256, 370]);
  const x = toTensor(normalize(centerCrop(resized, 224)), { channels: 3 });
  expect([x.shape, x.dtype]).toEqual([[1, 224, 224, 3], 'float32']);
  x.dispose();
});

it.skipIf(!existsSync(FASHION_MNIST_DIR))('README: Fashion-MNIST, shuffled and augmented', async () => {
  const train = await loadFashionMnist('train');
  expect(train.n).toBe(60_000);
  let seen = 0;
  for (const batch of batches(train, {
    batchSize: 128,
    shuffle: true,
    seed: 1,
    epochs: 2,
    augment: { randomCrop: { padding: 2 }, flip: true },
  })) {
    const { images, labels } = batchToTensors(batch);
    expect([images.shape, labels.shape, labels.dtype]).toEqual([[128, 28, 28, 1], [128], 'int32']);
    const [lo, hi] = [Math.min(...batch.images), Math.max(...batch.images)];
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    tf.dispose([images, labels]);
    if (++seen === 3) break;
  }
  expect(FASHION_MNIST_CLASSES[train.labels[0]!]).toBe('Ankle boot');
});
