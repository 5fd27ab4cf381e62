// The fmnist-david recipe end to end: on a synthetic Fashion-MNIST directory (bands per class) with a synthetic F16
// features file (class-dependent directions plus noise), on its pixels, and (when installed) on real Fashion-MNIST;
// the validation split and model selection, the learned-structure records, the baselines, the Basin-k12 preset; plus
// the row-count check and config validation.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FASHION_MNIST_DIR } from '@geolip/vision/io';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RecipeConfigError } from '@geolip/train';

import { RECIPES } from '../src/cli.js';
import { FMNIST_DAVID_PRESETS, parseFmnistDavidConfig } from '../src/recipes/fmnist-david.js';
import { GEO_FRACTAL_DAVID_BASIN_K12, GeoFractalDavid } from '@geolip/vision';

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

const run = (config: unknown, out: string, extra: string[] = []) => runRecipe('fmnist-david', dir, config, out, extra);

const TINY = { k: 2, scales: [8, 12], levels: 4 };

async function metrics(out: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(dir, out, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

async function steps(out: string): Promise<number[]> {
  return (await metrics(out)).filter((r) => r.type === 'step').map((r) => r.loss as number);
}

const FILES = { train: 'train.safetensors', test: 'test.safetensors' };

describe('geolip-train run fmnist-david', () => {
  it('is registered', () => expect(Object.keys(RECIPES)).toContain('fmnist-david'));

  it('learns separable F16 features: loss falls, test accuracy > 0.9, per-scale accuracies and the model file', async () => {
    const r = await run(
      {
        features: FILES,
        data: dir,
        epochs: 5,
        batchSize: 20,
        lr: 5e-3,
        warmupSteps: 5,
        valRows: 40,
        model: TINY,
        baselines: { linearProbe: false, knn: false },
      },
      'files',
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(dir, 'files', 'result.json'), 'utf8'));
    expect(result.steps).toBe(40); // 5 epochs × 160/20 (the last 40 of 200 rows are the validation split)
    expect(result.command).toMatch(/^geolip-train run fmnist-david --config .*files\.json --out .*files$/);
    expect(Object.keys(result.machine)).toEqual(['cpu', 'cores', 'node', 'tfjs', 'backend']);
    expect(result.featureDim).toBe(DIM);
    expect(result.trainRows).toBe(N_TRAIN - 40);
    expect(result.valRows).toBe(40);
    expect(result.testRows).toBe(N_TEST);
    expect(result.preset).toBe('fmnist-small');
    expect(result.features).toEqual({ train: join(dir, 'train.safetensors'), test: join(dir, 'test.safetensors') });
    expect(result.testAccuracy).toBeGreaterThan(0.9);
    expect(result.scaleAccuracies.map((s: { scale: number }) => s.scale)).toEqual([8, 12]);
    for (const s of result.scaleAccuracies) expect(s.accuracy).toBeGreaterThan(0.5);
    expect(result.baselines).toEqual({ linearProbe: null, knn: null });
    const losses = await steps('files');
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 10)));
    const model = readSafetensors(new Uint8Array(await readFile(join(dir, 'files', 'david.safetensors'))));
    expect(model.tensors['fusion_weights']!.shape).toEqual([2]);
    expect(model.tensors['heads.1.class_prototypes']!.shape).toEqual([10, 3, 12]);
    await expectLoadsByMetadata(join(dir, 'files', 'david.safetensors'), 'vision/david', GeoFractalDavid);
    expect(r.stdout).toMatch(/fmnist-david: test accuracy \d+\.\d\d%/);
  });

  it('reports the learned structure per epoch, selects on the validation split and scores the baselines', async () => {
    // The Basin-k12 preset (k = 12, the batch-position staircase) at two small scales.
    const r = await run(
      {
        preset: 'basin-k12',
        features: FILES,
        data: dir,
        epochs: 3,
        batchSize: 20,
        lr: 5e-3,
        warmupSteps: 5,
        valRows: 40,
        model: { scales: [13, 16] },
        baselines: { linearProbe: { steps: 40 }, knn: { ks: [1, 3, 5] } },
      },
      'structure',
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(dir, 'structure', 'result.json'), 'utf8'));
    expect(result.preset).toBe('basin-k12');
    expect(result.model).toMatchObject({ k: 12, scales: [13, 16], cantorMode: 'batch-position', alphaInit: 0.5 });

    // One 'david' record at initialization and one per epoch (8 steps each), in metrics.jsonl and in result.json.
    const records = (await metrics('structure')).filter((m) => m.type === 'david');
    expect(records.map((m) => m.step)).toEqual([0, 8, 16, 24]);
    expect(result.structure.perEpoch.map((m: { epoch: number }) => m.epoch)).toEqual([0, 1, 2, 3]);
    const first = records[0] as {
      alpha: number;
      valAccuracy: number;
      scaleValAccuracies: number[];
      kappa: { byClass: number[]; qMid: number };
      scales: {
        scale: number;
        fusionWeight: number;
        geoWeights: Record<string, number>;
        cantorPrototypes: { mean: number; values: number[]; histogram: { counts: number[] } };
      }[];
    };
    expect(first.alpha).toBe(0.5);
    expect(first.scales.map((s) => s.scale)).toEqual([13, 16]);
    expect(first.scales[0]!.fusionWeight).toBeCloseTo(0.5, 6);
    expect(first.scales[0]!.geoWeights.feature).toBeCloseTo(1 / 3, 6);
    // At initialization the prototypes are linspace(0, 1, 10).
    first.scales[0]!.cantorPrototypes.values.forEach((v, c) => expect(v).toBeCloseTo(c / 9, 6));
    expect(first.scales[0]!.cantorPrototypes.mean).toBeCloseTo(0.5, 6);
    expect(first.scales[0]!.cantorPrototypes.histogram.counts.reduce((a, b) => a + b, 0)).toBe(10);
    expect(first.scaleValAccuracies).toHaveLength(2);
    expect(first.kappa.byClass).toHaveLength(10);
    const evals = (await metrics('structure')).filter((m) => m.type === 'eval');
    expect(Object.keys((evals[0] as { metrics: object }).metrics)).toEqual([
      'val_acc',
      'val_acc_13',
      'val_acc_16',
      'alpha',
    ]);

    // α over the epochs; it moves (the staircase is trained at 0.1·lr).
    const trajectory = result.structure.alpha.trajectory as { epoch: number; alpha: number }[];
    expect(trajectory.map((t) => t.epoch)).toEqual([0, 1, 2, 3]);
    expect(result.structure.alpha.initial).toBe(0.5);
    expect(trajectory[3]!.alpha).not.toBe(0.5);

    // Selection: the first record with the best validation accuracy; its weights were tested and written.
    const best = Math.max(...records.map((m) => m.valAccuracy as number));
    const chosen = records.find((m) => m.valAccuracy === best)!;
    expect(result.selection).toEqual({
      mode: 'best',
      step: chosen.step,
      epoch: (chosen.step as number) / 8,
      valAccuracy: best,
    });
    expect(result.valAccuracy).toBe(best);
    expect(result.structure.alpha.final).toBe(chosen.alpha);
    const file = readSafetensors(new Uint8Array(await readFile(join(dir, 'structure', 'david.safetensors'))));
    expect(JSON.parse(file.metadata['geolip.extra']!).selection).toEqual(result.selection);
    expect(result.testAccuracy).toBeGreaterThan(0.8);

    // The baselines on the same rows: the features are separable, so both are (near) perfect.
    const { linearProbe, knn } = result.baselines;
    expect(linearProbe).toMatchObject({ steps: 40, lr: 0.05, l2: 0 });
    expect(linearProbe.valAccuracy).toBe(1);
    expect(linearProbe.testAccuracy).toBeGreaterThan(0.95);
    expect(knn.validation.map((v: { k: number }) => v.k)).toEqual([1, 3, 5]);
    expect([1, 3, 5]).toContain(knn.k);
    expect(knn.testAccuracy).toBeGreaterThan(0.95);
    expect(r.stdout).toMatch(/baselines on the same rows: linear probe \d+\.\d\d%, cosine k-NN \(k = \d\) \d+\.\d\d%/);
    expect(r.stdout).toMatch(/alpha 0\.5000 -> -?\d\.\d{4}/);
  });

  it('resumes: the structure records and the selected weights carry over from the first part', async () => {
    const config = {
      features: FILES,
      data: dir,
      epochs: 3,
      batchSize: 20,
      lr: 5e-3,
      warmupSteps: 5,
      valRows: 40,
      model: TINY,
      baselines: { linearProbe: false, knn: false },
    };
    const first = await run(config, 'resume', ['--steps', '8']);
    expect(first.code, first.stderr).toBe(0);
    const part = JSON.parse(await readFile(join(dir, 'resume', 'result.json'), 'utf8'));
    expect(part.steps).toBe(8);
    const rest = await run(config, 'resume', ['--resume']);
    expect(rest.code, rest.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(dir, 'resume', 'result.json'), 'utf8'));
    expect(result.steps).toBe(24);
    expect(result.structure.perEpoch.map((r: { step: number }) => r.step)).toEqual([0, 8, 16, 24]);
    const records = result.structure.perEpoch as { step: number; valAccuracy: number }[];
    const best = Math.max(...records.map((r) => r.valAccuracy));
    expect(result.selection.step).toBe(records.find((r) => r.valAccuracy === best)!.step);
  });

  it('trains on the pixels (784 values in [0, 1], centered) of the banded images', async () => {
    const r = await run(
      {
        data: dir,
        epochs: 3,
        batchSize: 20,
        lr: 5e-3,
        warmupSteps: 5,
        valRows: 40,
        model: TINY,
        baselines: { knn: false },
      },
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
      {
        features: { train: 'short.safetensors', test: 'test.safetensors' },
        data: dir,
        epochs: 1,
        valRows: 40,
        model: TINY,
      },
      'short',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /fmnist-david: 'features.train' .*short.safetensors has 199 rows, the Fashion-MNIST train split in .* has 200 images/,
    );
    // With trainLimit, a file of the first trainLimit rows (or more) is enough, and fewer are refused.
    const limited = { features: { train: 'short.safetensors', test: 'test.safetensors' }, data: dir, model: TINY };
    const ok = await run(
      {
        ...limited,
        epochs: 1,
        batchSize: 20,
        valRows: 40,
        trainLimit: 199,
        baselines: { linearProbe: false, knn: false },
      },
      'short-ok',
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'short-ok', 'result.json'), 'utf8'))).toMatchObject({
      trainRows: 159,
      valRows: 40,
    });
    const tooFew = await run({ ...limited, epochs: 1, valRows: 40, trainLimit: 200 }, 'short-few');
    expect(tooFew.code).toBe(1);
    expect(tooFew.stderr).toMatch(
      /'features.train' .*short.safetensors has 199 rows, .* has 200 images \(one row per image, in Fashion-MNIST order; with 'trainLimit' 200, at least the first 200\)/,
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
    expect(() => parseFmnistDavidConfig({ preset: 'basin' }, '/')).toThrow(
      /fmnist-david config: 'preset' must be one of 'fmnist-small', 'basin-k12', got 'basin'/,
    );
    expect(() => parseFmnistDavidConfig({ preset: 'basin-k12', model: { scales: [384, 12] } }, '/')).toThrow(
      /'model.scales\[1\]' must be an integer >= k \+ 1 = 13, got 12/,
    );
    expect(() => parseFmnistDavidConfig({ valRows: 0 }, '/')).toThrow(/'valRows' must be a positive integer, got 0/);
    expect(() => parseFmnistDavidConfig({ select: 'first' }, '/')).toThrow(/'select' must be one of 'best', 'last'/);
    expect(() => parseFmnistDavidConfig({ baselines: { svm: true } }, '/')).toThrow(/unknown field 'baselines.svm'/);
    expect(() => parseFmnistDavidConfig({ baselines: { knn: 3 } }, '/')).toThrow(
      /'baselines.knn' must be true, false or an object, got 3/,
    );
    expect(() => parseFmnistDavidConfig({ baselines: { knn: { ks: [1, 0] } } }, '/')).toThrow(
      /'baselines.knn.ks\[1\]' must be a positive integer, got 0/,
    );
    expect(() => parseFmnistDavidConfig({ baselines: { linearProbe: { lr: -1 } } }, '/')).toThrow(
      /'baselines.linearProbe.lr' must be a positive number, got -1/,
    );
    try {
      parseFmnistDavidConfig({ baselines: { linearProbe: { steps: 0 } } }, '/');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RecipeConfigError);
      expect((error as RecipeConfigError).path).toBe('baselines.linearProbe.steps');
    }
    expect(parseFmnistDavidConfig({}, '/')).toMatchObject({
      preset: 'fmnist-small',
      features: 'pixels',
      center: true,
      data: FASHION_MNIST_DIR,
      epochs: 10,
      batchSize: 256,
      lrScale: { fusion: 0.5, stairs: 0.1 },
      model: { k: 5, scales: [64, 128, 256], cantorMode: 'feature' },
      loss: { temperature: 0.1, coherence: 0.5 },
      valRows: 5000,
      select: 'best',
      evalEvery: 0,
      baselines: {
        linearProbe: { steps: 500, lr: 0.05, l2: 0, evalEvery: 10 },
        knn: { ks: [1, 3, 5, 7, 9, 11, 15, 21, 31, 51] },
      },
    });
  });

  it("basin-k12: the card's model (k = 12, 13 vertices per class, scales 384…1280, the batch-position staircase)", () => {
    const cfg = parseFmnistDavidConfig({ preset: 'basin-k12' }, '/');
    expect(cfg.model).toEqual({
      k: 12,
      scales: [384, 512, 768, 1024, 1280],
      cantorMode: 'batch-position',
      levels: 12,
      alphaInit: 0.5,
      tau: 0.25,
    });
    const { featureDim: _f, numClasses: _c, ...card } = GEO_FRACTAL_DAVID_BASIN_K12;
    expect(cfg.model).toEqual(card);
    expect(FMNIST_DAVID_PRESETS['basin-k12']).toEqual(card);
    // The training settings are the recipe's (the card gives the epochs and the LR groups, the rest is [INFER]).
    expect(cfg).toMatchObject({ epochs: 10, lrScale: { fusion: 0.5, stairs: 0.1 }, batchSize: 256, lr: 2e-3 });
    // A model field overrides the preset's.
    expect(parseFmnistDavidConfig({ preset: 'basin-k12', model: { cantorMode: 'feature' } }, '/').model).toMatchObject({
      k: 12,
      cantorMode: 'feature',
    });
  });

  it('refuses a validation split that leaves less than one batch, naming valRows', async () => {
    const r = await run({ features: FILES, data: dir, batchSize: 20, valRows: 190, model: TINY }, 'valrows');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /fmnist-david config: 'valRows' 190 leaves 10 of 200 training rows, fewer than one batch of 20/,
    );
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
          valRows: 512,
          model: { k: 2, scales: [16, 32], levels: 4 },
          baselines: { linearProbe: { steps: 50 }, knn: { ks: [1, 5] } },
        },
        'real',
      );
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(await readFile(join(dir, 'real', 'result.json'), 'utf8'));
      expect(result.trainRows).toBe(2048 - 512);
      expect(result.testAccuracy).toBeGreaterThan(0.6);
      expect(result.baselines.linearProbe.testAccuracy).toBeGreaterThan(0.6);
      expect(result.baselines.knn.testAccuracy).toBeGreaterThan(0.6);
    });
  },
);
