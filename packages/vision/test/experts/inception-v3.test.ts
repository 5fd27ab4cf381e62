// InceptionV3 of nsfwjs: wasm only (the pure-JS cpu backend takes ~13 s per image).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { createInceptionV3, INCEPTION_V3_DIM, type ImageExpert } from '../../src/experts/index.js';
import { readInput } from '../../src/experts/input.js';
import { loadNsfwjsModel, NSFWJS_MODELS } from '../../src/experts/nsfwjs.js';
import { cosine, HAS_NSFWJS, HAS_SAMPLES, maxAbsDiff, ON_CPU, row, samples } from './helpers.js';

const D = INCEPTION_V3_DIM;

describe.skipIf(!HAS_NSFWJS || !HAS_SAMPLES || ON_CPU)('createInceptionV3 (nsfwjs installed, wasm)', () => {
  let expert: ImageExpert;
  /** Rows of [a, b, a] with normalize: true. */
  let rows: Float32Array;

  beforeAll(async () => {
    expert = await createInceptionV3({ batchSize: 2, normalize: true });
    rows = await expert.embed([samples[2]!.path, samples[3]!.path, samples[2]!.path]);
  }, 180_000);

  afterAll(() => expert?.dispose?.());

  it('has the advertised name, width and parameter count, and unit rows', () => {
    expect(expert.name).toBe('inception-v3');
    expect(expert.dim).toBe(2048);
    expect(expert.params).toBe(22_360_869);
    for (let i = 0; i < 3; i++) expect(Math.hypot(...row(rows, i, D))).toBeCloseTo(1, 5);
  });

  it('gives the same image the same features and two images different ones', () => {
    expect(Array.from(row(rows, 2, D))).toEqual(Array.from(row(rows, 0, D)));
    expect(cosine(row(rows, 0, D), row(rows, 1, D))).toBeLessThan(0.9);
  });

  it("matches nsfwjs's own classify() when its dense head is applied to the pooled features", async () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const { load } = await import('nsfwjs/core');
    const { InceptionV3Model } = await import('nsfwjs/models/inception_v3');
    const reference = await load('InceptionV3', { modelDefinitions: [InceptionV3Model] });
    info.mockRestore();
    const full = await loadNsfwjsModel('test', NSFWJS_MODELS['inception-v3']);
    const raw = await createInceptionV3();
    try {
      const path = samples[2]!.path;
      const input = await readInput('test', 0, path, 299, 'crop');
      const pixels = tf.tensor3d(
        input.map((v) => v * 255),
        [299, 299, 3],
      );
      const top = await reference.classify(pixels, 5);
      pixels.dispose();
      const expected = Object.fromEntries(top.map((c) => [c.className, c.probability]));
      const features = await raw.embed([path]);
      const probs = tf.tidy(() => {
        let h: tf.Tensor = tf.tensor2d(features, [1, D]);
        for (const name of ['dense_1', 'dense_2', 'dense_3']) h = full.getLayer(name).apply(h) as tf.Tensor;
        return h;
      });
      const got = Array.from(await probs.data());
      probs.dispose();
      expect(
        maxAbsDiff(
          got,
          ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'].map((c) => expected[c]!),
        ),
      ).toBeLessThan(1e-4);
      expect(top[0]!.className).toBe('Neutral');
    } finally {
      reference.dispose();
      full.dispose();
      raw.dispose?.();
    }
  });
});
