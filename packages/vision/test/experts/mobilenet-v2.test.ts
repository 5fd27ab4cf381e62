// MobileNetV2 of nsfwjs: runs on both backends (~1 s per image on cpu, ~0.1 s on wasm).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { createMobileNetV2, MOBILENET_V2_DIM, type ImageExpert } from '../../src/experts/index.js';
import { readInput } from '../../src/experts/input.js';
import { loadNsfwjsModel, NSFWJS_MODELS } from '../../src/experts/nsfwjs.js';
import { cosine, FIXTURES, HAS_NSFWJS, HAS_SAMPLES, maxAbsDiff, norm, row, samples } from './helpers.js';

const D = MOBILENET_V2_DIM;

describe.skipIf(!HAS_NSFWJS || !HAS_SAMPLES)('createMobileNetV2 (nsfwjs installed)', () => {
  let expert: ImageExpert;
  let a: string;
  let b: string;
  /** Rows of [a, b, a], computed once with batchSize 2 (so the repeated image falls in another batch). */
  let rows: Float32Array;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'geolip-mobilenet-'));
    expert = await createMobileNetV2({ batchSize: 2 });
    [a, b] = [samples[0]!.path, samples[1]!.path];
    rows = await expert.embed([a, b, a]);
  }, 180_000);

  afterAll(() => {
    expert?.dispose?.();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('has the advertised name, width and parameter count', () => {
    expect(expert.name).toBe('mobilenet-v2');
    expect(expert.dim).toBe(1280);
    expect(expert.params).toBe(2_619_461);
    expect(rows.length).toBe(3 * D);
  });

  it('gives the same image the same features (in another batch, and on another call) and two images different ones', async () => {
    expect(Array.from(row(rows, 2, D))).toEqual(Array.from(row(rows, 0, D)));
    const again = await expert.embed([b]);
    expect(maxAbsDiff(again, row(rows, 1, D))).toBeLessThan(1e-5);
    expect(cosine(row(rows, 0, D), row(rows, 1, D))).toBeLessThan(0.9);
    expect(maxAbsDiff(row(rows, 0, D), row(rows, 1, D))).toBeGreaterThan(0.1);
  });

  it('pools a ReLU6 map: finite features in [0, 6], not all zero', () => {
    for (const v of rows) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(6);
    }
    expect(norm(row(rows, 0, D))).toBeGreaterThan(1);
  });

  it('returns unit rows with normalize: true, parallel to the raw ones', async () => {
    const unit = await createMobileNetV2({ normalize: true });
    try {
      const u = await unit.embed([a]);
      expect(norm(u)).toBeCloseTo(1, 5);
      const raw = row(rows, 0, D);
      const n = norm(raw);
      expect(
        maxAbsDiff(
          u,
          raw.map((v) => v / n),
        ),
      ).toBeLessThan(1e-6);
    } finally {
      unit.dispose?.();
    }
  });

  it("matches nsfwjs's own classify() when its dense head is applied to the pooled features", async () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {}); // nsfwjs's hosting banner
    const { load } = await import('nsfwjs/core');
    const { MobileNetV2Model } = await import('nsfwjs/models/mobilenet_v2');
    const reference = await load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] });
    info.mockRestore();
    const full: LayersModel = await loadNsfwjsModel('test', NSFWJS_MODELS['mobilenet-v2']);
    try {
      for (const [i, path] of [a, b].entries()) {
        // The same 224×224 input for both: nsfwjs divides by 255 itself and does not resize a 224×224 tensor.
        const input = await readInput('test', 0, path, 224, 'crop');
        const pixels = tf.tensor3d(
          input.map((v) => v * 255),
          [224, 224, 3],
        );
        const top = await reference.classify(pixels, 5);
        pixels.dispose();
        const expected = Object.fromEntries(top.map((c) => [c.className, c.probability]));
        const probs = tf.tidy(() => {
          let h: tf.Tensor = tf.tensor2d(row(rows, i, D), [1, D]);
          for (const name of ['dense_1', 'dense_2', 'dense_3']) h = full.getLayer(name).apply(h) as tf.Tensor;
          return h;
        });
        const got = Array.from(await probs.data());
        probs.dispose();
        const classes = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
        expect(got.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
        for (const [k, name] of classes.entries()) expect(Math.abs(got[k]! - expected[name]!)).toBeLessThan(1e-4);
        // Sanity of the input (value range, RGB order): ordinary COCO photos come out 'Neutral'.
        expect(top[0]!.className).toBe('Neutral');
      }
    } finally {
      reference.dispose();
      full.dispose();
    }
  });

  describe('bad input', () => {
    it('replicates a grayscale JPEG to RGB (R = G = B) and embeds it', async () => {
      const gray = `${FIXTURES}gray-13x9.jpg`;
      const input = await readInput('test', 0, gray, 224, 'crop');
      for (let p = 0; p < input.length; p += 3) {
        expect(input[p + 1]).toBe(input[p]);
        expect(input[p + 2]).toBe(input[p]);
      }
      const out = await expert.embed([gray]);
      expect(out.length).toBe(D);
      expect(out.every(Number.isFinite)).toBe(true);
    });

    it('names the file and the input index: not an image, missing, corrupt, not a string', async () => {
      const corrupt = join(tmp, 'corrupt.jpg');
      const good = readFileSync(a);
      writeFileSync(corrupt, good.subarray(0, Math.floor(good.length * 0.5)));
      const text = join(tmp, 'notes.txt');
      writeFileSync(text, 'not an image');

      await expect(expert.embed([a, `${FIXTURES}rgb-13x9.ppm`])).rejects.toThrow(FormatError);
      await expect(expert.embed([a, `${FIXTURES}rgb-13x9.ppm`])).rejects.toThrow(
        /^mobilenet-v2: 'inputs\[1\]' .*rgb-13x9\.ppm: not a JPEG/,
      );
      await expect(expert.embed([text])).rejects.toThrow(/^mobilenet-v2: 'inputs\[0\]' .*notes\.txt: not a JPEG/);
      await expect(expert.embed([corrupt])).rejects.toThrow(FormatError);
      await expect(expert.embed([corrupt])).rejects.toThrow(
        /^mobilenet-v2: 'inputs\[0\]' .*corrupt\.jpg: corrupt or truncated JPEG/,
      );
      await expect(expert.embed([join(tmp, 'absent.jpg')])).rejects.toThrow(InvalidArgumentError);
      await expect(expert.embed([join(tmp, 'absent.jpg')])).rejects.toThrow(
        /^mobilenet-v2: 'inputs\[0\]' .*absent\.jpg: cannot be read \(ENOENT\)/,
      );
      await expect(expert.embed([42 as unknown as string])).rejects.toThrow(
        /'inputs\[0\]' must be an image file path, got number/,
      );
      await expect(expert.embed(tmp as unknown as string[])).rejects.toThrow(/'inputs' must be an array/);
    });

    it('leaks no tensor on a failed batch, and frees its weights on dispose', async () => {
      const before = tf.memory().numTensors;
      await expect(expert.embed([a, `${FIXTURES}rgb-13x9.ppm`])).rejects.toThrow();
      await expert.embed([b]);
      expect(tf.memory().numTensors).toBe(before);
      const other = await createMobileNetV2();
      expect(tf.memory().numTensors).toBeGreaterThan(before);
      other.dispose?.();
      expect(tf.memory().numTensors).toBe(before);
      await expect(other.embed([a])).rejects.toThrow(/mobilenet-v2: 'this' the expert was disposed/);
    });
  });
});
