// Issue 26 through the loader and classifier that existed at 4c0c9ec as they do now (dualStreamFromSafetensors,
// FashionMnistClassifier), so this file, with readSafetensors / writeSafetensors imported from @geolip/geometry as
// they were then, runs on both and fails there (docs/fuzz/issue-26-defects.md): a disposed Dual-Stream model leaked
// 4 tensors, and NaN weights gave a confident class with NaN probabilities.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteError } from '@geolip/geometry';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { FashionMnistClassifier, dualStreamFromSafetensors } from '../../src/index.js';

const shipped = readSafetensors(
  readFileSync(fileURLToPath(new URL('../../weights/fmnist-dual-stream.safetensors', import.meta.url))),
);
const file = (): Uint8Array => writeSafetensors(shipped.tensors as never, shipped.metadata);

describe('Dual-Stream loader and classifier on hostile input', () => {
  it('a loaded model, disposed, leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    const { model } = dualStreamFromSafetensors(file());
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('NaN weights in the classifier head: classify raises NonFiniteError, not NaN probabilities', async () => {
    const clf = new FashionMnistClassifier(dualStreamFromSafetensors(file()));
    try {
      const [ok] = await clf.classify(new Uint8Array(784));
      expect(ok!.probabilities.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      const b = clf.model.getWeights()['classifier.4.bias']!;
      const t = tf.fill(b.shape, NaN);
      b.assign(t);
      t.dispose();
      const got = await clf.classify(new Uint8Array(784)).catch((e: unknown) => e);
      expect(got).toBeInstanceOf(NonFiniteError);
      expect((got as Error).message).toMatch(/^FashionMnistClassifier\.classify: model '.+' returned \d+ non-finite/);
    } finally {
      clf.dispose();
    }
  });
});
