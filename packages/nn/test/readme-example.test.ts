// The README's quick start, as written (the backend is the one test/setup.ts selected).
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

import { TransformerEncoder, maskedMeanPool } from '../src/index.js';

it('README quick start: a 6-layer encoder pools a padded sentence to [1, 384]', () => {
  const enc = new TransformerEncoder({
    vocabSize: 30522,
    maxPositions: 512,
    dModel: 384,
    heads: 6,
    ffDim: 1536,
    layers: 6,
    seed: 0,
  });
  const ids = tf.tensor2d([[101, 7592, 2088, 102, 0, 0]], undefined, 'int32');
  const mask = tf.tensor2d([[1, 1, 1, 1, 0, 0]]);
  const sentence = maskedMeanPool(enc.forward(ids, mask), mask);
  expect(sentence.shape).toEqual([1, 384]);
  // 30,522·384 + 512·384 + 6·1,774,464 + 768 (final norm)
  expect(enc.paramCount()).toBe(30522 * 384 + 512 * 384 + 6 * 1_774_464 + 768);
  expect(Array.from(sentence.dataSync()).every(Number.isFinite)).toBe(true);
  enc.dispose();
});
