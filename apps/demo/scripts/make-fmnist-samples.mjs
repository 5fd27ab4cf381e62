#!/usr/bin/env node
// Writes data/fmnist-samples.json: the page's pickable Fashion-MNIST images, the first test image of each of the 10
// classes (Fashion-MNIST, Zalando Research, MIT licence; read from the Debian package dataset-fashion-mnist, see
// tools/setup/fashion-mnist.sh). Each: its index in the test split, its true label, and its 784 pixels in base64.
//
//   node apps/demo/scripts/make-fmnist-samples.mjs [dir with the IDX .gz files]
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from '@geolip/vision/io';

const here = dirname(fileURLToPath(import.meta.url));
const test = await loadFashionMnist('test', { dir: process.argv[2] ?? FASHION_MNIST_DIR });
const samples = FASHION_MNIST_CLASSES.map((className, label) => {
  const index = Array.prototype.findIndex.call(test.labels, (l) => l === label);
  const pixels = Buffer.from(test.images.subarray(index * 784, (index + 1) * 784)).toString('base64');
  return { index, label, className, pixels };
});
const out = join(here, '../data/fmnist-samples.json');
const doc = {
  source: 'Fashion-MNIST test split (Xiao, Rasul & Vollgraf 2017; MIT licence), first image of each class',
  samples,
};
writeFileSync(`${out}.tmp`, `${JSON.stringify(doc, null, 1)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}: test images ${samples.map((s) => s.index).join(', ')}`);
