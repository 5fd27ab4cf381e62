// The fmnist-david recipe end to end: on a synthetic Fashion-MNIST directory (bands per class) with a synthetic F16
// features file (class-dependent directions plus noise), on its pixels, and (when installed) on real Fashion-MNIST;
// plus the row-count check and config validation.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FASHION_MNIST_DIR } from '@geolip/vision/io';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RECIPES } from '../src/cli.js';
import { parseFmnistDavidConfig } from '../src/recipes/fmnist-david.js';
import { GeoFractalDavid } from '@geolip/vision';

import { expectLoadsByMetadata, gaussianSource, writeFashionMnistSplit, runRecipe } from './helpers.js';

const N_TRAIN = 200;
const N_TEST = 60;
const DIM = 24;

/** `[n, DIM]` rows: unit direction of class (i mod 10) plus N(0, 0.1²) noise, as F16 (the dtype a ViT export may use). */
function featuresFile(n: number, seed: number): Uint8Array {
  const dirs = gaussianSource(99);
  const centers = Array.from({ length: 10 }, () => {
    const v = Array.from({ length: DIM }, () => dirs());
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
  const noise = gaussianSource(seed);
  const data = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) for (let j = 0; j < DIM; j++) data[i * DIM + j] = centers[i % 10]![j]! + 0.1 * noise();
  return writeSafetensors({ embeddings: { dtype: 'F16', shape: [n, DIM], data } });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-david-'));
  await writeFashionMnistSplit(dir, 'train', N_TRAIN);
  await writeFashionMnistSplit(dir, 't10k', N_TEST);
  await writeFile(join(dir, 'train.safetensors'), featuresFile(N_TRAIN, 1));
  await writeFile(join(dir, 'test.safetensors'), featuresFile(N_TEST, 2));
  await writeFile(join(dir, 'short.safetensors'), featuresFile(N_TRAIN - 1, 3));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const run = (config: unknown, out: string) => runRecipe('fmnist-david', dir, config, out);

const TINY = { k: 2, scales: [8, 12], levels: 4 };

async function steps(out: string): Promise<number[]> {
  const lines = (await readFile(join(dir, out, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return lines.filter((r) => r.type === 'step').map((r) => r.loss as number);
}

describe('geolip-train run fmnist-david', () => {
  it('is registered', () => expect(Object.keys(RECIPES)).toContain('fmnist-david'));

  it('learns separable F16 features: loss falls, test accuracy > 0.9, per-scale accuracies and the model file', async () => {
    const r = await run(
      {
        features: { train: 'train.safetensors', test: 'test.safetensors' },
        data: dir,
        epochs: 5,
        batchSize: 20,
        lr: 5e-3,
        warmupSteps: 5,
        evalEvery: 1000,
        model: TINY,
      },
      'files',
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(dir, 'files', 'result.json'), 'utf8'));
    expect(result.steps).toBe(50); // 5 epochs × 200/20
    expect(result.featureDim).toBe(DIM);
    expect(result.trainRows).toBe(N_TRAIN);
    expect(result.testRows).toBe(N_TEST);
    expect(result.features).toEqual({ train: join(dir, 'train.safetensors'), test: join(dir, 'test.safetensors') });
    expect(result.testAccuracy).toBeGreaterThan(0.9);
    expect(result.scaleAccuracies.map((s: { scale: number }) => s.scale)).toEqual([8, 12]);
    for (const s of result.scaleAccuracies) expect(s.accuracy).toBeGreaterThan(0.5);
    const losses = await steps('files');
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 10)));
    const model = readSafetensors(new Uint8Array(await readFile(join(dir, 'files', 'david.safetensors'))));
    expect(model.tensors['fusion_weights']!.shape).toEqual([2]);
    expect(model.tensors['heads.1.class_prototypes']!.shape).toEqual([10, 3, 12]);
    await expectLoadsByMetadata(join(dir, 'files', 'david.safetensors'), 'vision/david', GeoFractalDavid);
    expect(r.stdout).toMatch(/fmnist-david: test accuracy \d+\.\d\d%/);
  });

  it('trains on the pixels (784 values in [0, 1], centered) of the banded images', async () => {
    const r = await run(
      { data: dir, epochs: 3, batchSize: 20, lr: 5e-3, warmupSteps: 5, evalEvery: 1000, model: TINY },
      'pixels',
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(dir, 'pixels', 'result.json'), 'utf8'));
    expect(result.features).toBe('pixels');
    expect(result.featureDim).toBe(784);
    expect(result.centered).toBe(true);
    expect(result.testAccuracy).toBeGreaterThan(0.8); // chance is 0.1
  });

  it('refuses a features file whose rows do not match the split, naming the key and both counts', async () => {
    const r = await run(
      { features: { train: 'short.safetensors', test: 'test.safetensors' }, data: dir, epochs: 1, model: TINY },
      'short',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /fmnist-david: 'features.train' .*short.safetensors has 199 rows, the Fashion-MNIST train split in .* has 200 images/,
    );
    const missing = await run(
      { features: { train: 'nope.safetensors', test: 'test.safetensors' }, data: dir, model: TINY },
      'missing',
    );
    expect(missing.stderr).toMatch(/'features.train' .*nope.safetensors does not exist/);
  });

  it('refuses bad configs naming the key', () => {
    expect(() => parseFmnistDavidConfig({ features: 'pixel' }, '/')).toThrow(
      /'features' must be 'pixels' or \{"train": file, "test": file\}/,
    );
    expect(() => parseFmnistDavidConfig({ features: { train: 'a' } }, '/')).toThrow(/missing field 'features.test'/);
    expect(() => parseFmnistDavidConfig({ model: { scales: [4, 8] } }, '/')).toThrow(
      /'model.scales\[0\]' must be an integer >= k \+ 1 = 6, got 4/,
    );
    expect(() => parseFmnistDavidConfig({ model: { cantorMode: 'batch' } }, '/')).toThrow(
      /'model.cantorMode' must be one of 'feature', 'batch-position'/,
    );
    expect(() => parseFmnistDavidConfig({ loss: { temp: 1 } }, '/')).toThrow(/unknown field 'loss.temp'/);
    expect(() => parseFmnistDavidConfig({ epochs: 0 }, '/')).toThrow(/'epochs' must be a positive integer, got 0/);
    expect(() => parseFmnistDavidConfig({ center: 'yes' }, '/')).toThrow(/'center' must be true or false/);
    expect(() => parseFmnistDavidConfig({ lrScale: { heads: 1 } }, '/')).toThrow(/unknown field 'lrScale.heads'/);
    expect(parseFmnistDavidConfig({}, '/')).toMatchObject({
      features: 'pixels',
      center: true,
      data: FASHION_MNIST_DIR,
      epochs: 10,
      batchSize: 256,
      lrScale: { fusion: 0.5, stairs: 0.1 },
      model: { k: 5, scales: [64, 128, 256], cantorMode: 'feature' },
      loss: { temperature: 0.1, coherence: 0.5 },
    });
  });
});

describe.skipIf(!existsSync(join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz')))(
  'fmnist-david on the real Fashion-MNIST',
  () => {
    it('one short epoch on 2,048 pixel rows beats chance by far', async () => {
      const r = await run(
        {
          epochs: 1,
          batchSize: 64,
          trainLimit: 2048,
          testLimit: 1000,
          warmupSteps: 4,
          evalEvery: 1000,
          model: { k: 2, scales: [16, 32], levels: 4 },
        },
        'real',
      );
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(await readFile(join(dir, 'real', 'result.json'), 'utf8'));
      expect(result.trainRows).toBe(2048);
      expect(result.testAccuracy).toBeGreaterThan(0.6);
    });
  },
);
