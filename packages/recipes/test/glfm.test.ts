// The glfm recipe end to end on a synthetic Fashion-MNIST directory (class c is a bright band at row 2c + 4) with a
// tiny GLFM model, plus config validation.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main, RECIPES } from '../src/cli.js';
import { gridSize, parseGlfmConfig, readLossCurve } from '../src/recipes/glfm.js';
import * as tf from '@tensorflow/tfjs-core';
import { GlfmModel, fromPretrained, glfmParamCount, sample } from '@geolip/diffusion';
import { frechetDistanceFromFeatures } from '@geolip/metrics';
import { ViTClassifier, loadGeolipFashionMnist, vitClassifierFromSafetensors } from '@geolip/vision';
import { loadFashionMnist } from '@geolip/vision/io';

import { plotPoint } from '../src/recipes/glfm-plot.js';
import { decodeGrayPng } from './png.js';
import { expectLoadsByMetadata, writeFashionMnistSplit, runRecipe } from './helpers.js';

const TINY = {
  levelChannels: [8, 16],
  bottleneckChannels: 16,
  groups: 4,
  condDim: 16,
  timeDim: 8,
  relayHidden: 8,
  anchorsPerPatch: 4,
  generatorDim: 32,
  generatorBlocks: 1,
};
const TINY_CLASSIFIER = { dModel: 16, heads: 2, ffDim: 32, layers: 1, outDim: 16 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-glfm-'));
  await writeFashionMnistSplit(dir, 'train', 64);
  await writeFashionMnistSplit(dir, 't10k', 30);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const run = (config: unknown, out: string, extra: string[] = []) => runRecipe('glfm', dir, config, out, extra);

// A step's cost grows with the batch (28×28 convolutions), not with the number of steps the assertions need: small
// batches keep every run to seconds. The cpu backend runs GLFM's convolutions ~30× slower than wasm: there, one
// variant on 8 images (2 steps of 4 per epoch); on wasm, 32 images (4 steps of 8 per epoch).
const CPU = process.env.GEOLIP_BACKEND === 'cpu';
const SMALL = CPU ? { trainLimit: 8, batchSize: 4, valSize: 4, testLimit: 10 } : { trainLimit: 32, batchSize: 8 };
const STEPS_PER_EPOCH = CPU ? 2 : 4;

const base = (variant: string) => ({
  variant,
  data: dir,
  epochs: 2,
  lr: 2e-3,
  warmupSteps: 1,
  modelConfig: TINY,
  sampleSteps: 2,
  gridColumns: 3,
  samplesPerClass: 2,
  valSize: 16,
  classifierSteps: 3,
  classifierBatchSize: 16,
  classifierModel: TINY_CLASSIFIER,
  checkpointEvery: 100,
  ...SMALL,
});

function ihdr(png: Uint8Array): { width: number; height: number } {
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(String.fromCharCode(...png.subarray(12, 16))).toBe('IHDR');
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** The recipe's Fréchet distance, from its saved files: seeded samples (chunk k: seed + 1000 + k) and test images. */
async function recomputeFrechet(
  out: string,
  result: { testImages: number; samplesScored: number; frechet: { dim: number }; grid: { seed: number } },
  batchSize: number,
): Promise<number> {
  const seed = result.grid.seed;
  const model = await fromPretrained<GlfmModel>(new Uint8Array(await readFile(join(out, 'model.safetensors'))));
  const net = vitClassifierFromSafetensors(new Uint8Array(await readFile(join(out, 'classifier.safetensors'))));
  const embed = (images01: Float32Array, n: number): Float32Array =>
    tf.tidy(() => net.forward(tf.tensor4d(images01, [n, 28, 28, 1])).embedding).dataSync() as Float32Array;
  const test = await loadFashionMnist('test', { dir });
  const n = result.testImages;
  const real = embed(
    Float32Array.from(test.images.subarray(0, n * 784), (v) => v / 255),
    n,
  );
  const labels = Array.from({ length: result.samplesScored }, (_, i) => i % 10);
  const samples: number[] = [];
  for (let s = 0, chunk = 0; s < labels.length; s += batchSize, chunk++) {
    const part = labels.slice(s, s + batchSize);
    const images = sample(model, { labels: part, steps: 2, method: 'euler', seed: seed + 1000 + chunk });
    const x01 = Float32Array.from(images.dataSync(), (v) => Math.min(1, Math.max(0, (v + 1) / 2)));
    images.dispose();
    samples.push(...embed(x01, part.length));
  }
  model.dispose();
  net.dispose();
  return frechetDistanceFromFeatures(real, samples, result.frechet.dim);
}

describe('geolip-train run glfm', () => {
  it('is registered and in the help text', async () => {
    expect(Object.keys(RECIPES)).toContain('glfm');
    let out = '';
    await main(['help'], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} } });
    expect(out).toMatch(/glfm {10}class-conditional flow matching/);
  });

  // wasm only: 2 s there, over 120 s on the pure-JS cpu backend of a loaded 2-core machine (the GLFM gradients are
  // checked on cpu by @geolip/diffusion's own tests).
  it.skipIf(CPU).each(['v1', 'v4'])(
    'trains %s for 2 epochs: per-epoch eval metrics, result.json, the PNG grid, weights (wasm only)',
    async (variant) => {
      const r = await run(base(variant), `run-${variant}`);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const out = join(dir, `run-${variant}`);
      const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
      expect(result.variant).toBe(variant);
      expect(result.params).toBeGreaterThan(1000);
      expect(result.epochs).toBe(2);
      expect(result.steps).toBe(2 * STEPS_PER_EPOCH); // 2 × floor(32 / 8) (cpu: 2 × floor(8 / 4))
      expect(result.plannedSteps).toBe(result.steps);
      // The loss curve: one validation loss per epoch (the last one is valFmLoss), windows of training steps.
      expect(result.lossCurve.val.map((p: { step: number }) => p.step)).toEqual([STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH]);
      expect(result.lossCurve.val[1].loss).toBeCloseTo(result.valFmLoss, 6);
      expect(result.lossCurve.train.at(-1).step).toBe(result.steps);
      expect(Number.isFinite(result.valFmLoss)).toBe(true);
      expect(result.valFmLoss).toBeGreaterThan(0);
      expect(result.sampler).toBe('euler');
      expect(result.sampleSteps).toBe(2);
      expect(result.conditionalAccuracy).toBeGreaterThanOrEqual(0);
      expect(result.conditionalAccuracy).toBeLessThanOrEqual(1);
      expect(result.samplesScored).toBe(20);
      expect(result.classifierTestAccuracy).toBeGreaterThanOrEqual(0);
      expect(result.classifier.source).toBe('trained');
      expect(result.analysis.driftMean).toBeGreaterThanOrEqual(0);
      expect(result.analysis.driftMedian).toBeGreaterThanOrEqual(0);
      expect(result.analysis.nearBinding).toBeGreaterThanOrEqual(0);
      expect(result.analysis.nearBinding).toBeLessThanOrEqual(1);
      expect(Number.isFinite(result.analysis.reconstructionCosine)).toBe(true);
      if (variant === 'v1') expect(result.analysis.gate).toBeGreaterThan(0);
      else expect(result.analysis.gate).toBeNull();
      expect(result.seconds).toBeGreaterThan(0);
      // One eval per epoch, with the same validation set (fixed t and noise).
      const evals = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((x) => x.type === 'eval');
      expect(evals.map((e) => e.step)).toEqual([STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH]);
      for (const e of evals) {
        expect(Number.isFinite(e.metrics.val_fm_loss)).toBe(true);
        for (const k of ['drift_mean', 'drift_median', 'near_binding', 'recon_cos'])
          expect(Number.isFinite(e.metrics[k]), k).toBe(true);
        expect(e.metrics.gate !== undefined).toBe(variant === 'v1');
      }
      // Drift statistics per epoch: the split and the histogram are fractions of the same anchors.
      for (const e of evals) {
        const m = e.metrics;
        expect(Math.abs(m.val_velocity_cos)).toBeLessThanOrEqual(1);
        expect(m.structural_fraction + m.semantic_fraction).toBeCloseTo(1, 12);
        const bins = Array.from({ length: 21 }, (_, i) => m[`drift_hist_${String(i).padStart(2, '0')}`]);
        expect(bins.every((v) => v >= 0 && v <= 1)).toBe(true);
        expect(bins.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        if (variant === 'v1') {
          // gateMode 'relay': weight = σ / (1 + σ); the energy share is measured, in [0, 1].
          expect(m.routing_weight).toBeCloseTo(m.gate / (1 + m.gate), 12);
          expect(m.routing_energy).toBeGreaterThanOrEqual(0);
          expect(m.routing_energy).toBeLessThanOrEqual(1);
        } else {
          expect(m.routing_weight).toBeUndefined();
          for (const k of ['near_binding_coarse', 'near_binding_fine', 'structural_fraction_fine'])
            expect(m[k], k).toBeGreaterThanOrEqual(0);
        }
      }
      // result.json: the curve over epochs is the eval records', the final split and histogram are the last epoch's.
      expect(result.driftCurve.file).toBe(`drift-${variant}.png`);
      expect(result.driftCurve.histogramEdges).toHaveLength(21);
      expect(result.driftCurve.epochs.map((p: { epoch: number }) => p.epoch)).toEqual([1, 2]);
      expect(result.driftCurve.epochs.map((p: { nearBinding: number }) => p.nearBinding)).toEqual(
        evals.map((e) => e.metrics.near_binding),
      );
      expect(result.driftCurve.epochs[1].histogram).toEqual(
        Array.from({ length: 21 }, (_, i) => evals[1].metrics[`drift_hist_${String(i).padStart(2, '0')}`]),
      );
      expect(result.analysis.structuralFraction).toBe(evals[1].metrics.structural_fraction);
      expect(result.analysis.driftHistogram).toEqual(result.driftCurve.epochs[1].histogram);
      if (variant === 'v1') {
        expect(result.routing.gateMode).toBe('relay');
        expect(result.routing.energy).toBe(evals[1].metrics.routing_energy);
      } else expect(result.routing).toBeNull();
      // The drift plot: 556 × 320, the near-binding curve black at each epoch's value.
      const plot = decodeGrayPng(new Uint8Array(await readFile(join(out, `drift-${variant}.png`))));
      expect([plot.width, plot.height]).toEqual([556, 320]);
      evals.forEach((e, i) => {
        const p = plotPoint(0, i, 2, e.metrics.near_binding);
        expect(plot.pixels[p.y * plot.width + p.x], `epoch ${i + 1}`).toBe(0);
      });
      // Fréchet distance in the classifier's embedding space (16 wide: TINY_CLASSIFIER's outDim), recomputed here
      // from the saved model and classifier: the same seeded samples and the same test images give the same value.
      expect(result.frechet).toEqual({
        features: 'ViT classifier embedding',
        dim: 16,
        samples: 20,
        realImages: result.testImages,
        realSplit: 'test',
      });
      // CV across precisions of the encoder's patch vectors on the first validation batch (min(valSize, batchSize)
      // images): 7·7 pixels × Cb / 16 = 1 patch each, 16 wide.
      const nq = Math.min(CPU ? 4 : 16, base(variant).batchSize);
      expect([result.quantizationCv.rows, result.quantizationCv.dim]).toEqual([nq * 49, 16]);
      for (const p of ['fp32', 'fp16', 'int8', 'binary']) expect(result.quantizationCv.cv[p], p).toBeGreaterThan(0);
      expect(result.quantizationCv.spread).toBeGreaterThanOrEqual(0);
      expect(result.frechetDistance).toBeGreaterThan(0);
      expect(result.frechetDistance).toBeCloseTo(await recomputeFrechet(out, result, base(variant).batchSize), 6);
      expect(result.valVelocityCosine).toBe(evals[1].metrics.val_velocity_cos);
      expect(result.valFmLoss).toBe(evals[1].metrics.val_fm_loss); // the last epoch ended at the final step: its numbers
      // 10 rows × 3 columns of 28×28 tiles with 2-pixel borders.
      const png = new Uint8Array(await readFile(join(out, `samples-${variant}.png`)));
      expect(ihdr(png)).toEqual({ width: 3 * 28 + 4 * 2, height: 10 * 28 + 11 * 2 });
      expect(gridSize(10, 3)).toEqual({ width: 92, height: 302 });
      const { readSafetensors } = await import('@geolip/io');
      const weights = readSafetensors(new Uint8Array(await readFile(join(out, 'model.safetensors'))));
      expect(Object.keys(weights.tensors).length).toBeGreaterThan(10);
      expect(JSON.parse(weights.metadata!['geolip.config']!).variant).toBe(variant);
      // The model and the classifier it trained load by their metadata alone, bit-identical to the files.
      expect(await expectLoadsByMetadata(join(out, 'model.safetensors'), 'diffusion/glfm', GlfmModel)).toBe(
        result.params,
      );
      await expectLoadsByMetadata(join(out, 'classifier.safetensors'), 'vision/vit', ViTClassifier);
    },
  );

  it.skipIf(CPU)(
    '--steps past an epoch end: train() evaluates the last step too, and result.json reports that (wasm only)',
    async () => {
      const r = await run(base('v1'), 'run-v1-steps', ['--steps', String(STEPS_PER_EPOCH + 1)]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const out = join(dir, 'run-v1-steps');
      const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
      expect([result.steps, result.plannedSteps]).toEqual([STEPS_PER_EPOCH + 1, 2 * STEPS_PER_EPOCH]);
      const evals = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((x) => x.type === 'eval');
      expect(evals.map((e) => e.step)).toEqual([STEPS_PER_EPOCH, STEPS_PER_EPOCH + 1]);
      expect(result.valFmLoss).toBe(evals[1].metrics.val_fm_loss);
      expect(result.valFmLoss).not.toBe(evals[0].metrics.val_fm_loss); // one more Adam step changed the weights
    },
  );

  it.skipIf(CPU)('scores with a classifier file; --time-limit and --resume (wasm only: slow on cpu)', async () => {
    const classifier = join(dir, 'run-v1', 'classifier.safetensors');
    const cfg = { ...base('v3'), sampler: 'heun', classifier };
    const first = await run(cfg, 'run-v3', ['--time-limit', '0.05']);
    expect([0, 75]).toContain(first.code);
    const second = first.code === 75 ? await run(cfg, 'run-v3', ['--resume']) : first;
    expect(second.code, second.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(dir, 'run-v3', 'result.json'), 'utf8'));
    expect(result.steps).toBe(8);
    expect(result.sampler).toBe('heun');
    expect(result.classifier.source).toBe(classifier);
    const v1 = JSON.parse(await readFile(join(dir, 'run-v1', 'result.json'), 'utf8'));
    expect(result.classifierTestAccuracy).toBe(v1.classifierTestAccuracy); // the same classifier on the same test images
    const again = await run(cfg, 'run-v3');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a checkpoint; pass --resume/);
  });

  it.skipIf(CPU)('"classifier": "bundled" scores with the Dual-Stream ViT of @geolip/vision (wasm only)', async () => {
    const r = await run({ ...base('v1'), epochs: 1, classifier: 'bundled' }, 'run-v1-bundled');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const result = JSON.parse(await readFile(join(dir, 'run-v1-bundled', 'result.json'), 'utf8'));
    expect(result.classifier.source).toBe('bundled');
    expect(result.frechet.features).toBe('fmnist-dual-stream emb');
    const clf = await loadGeolipFashionMnist();
    expect(result.frechet.dim).toBe(clf.model.config.outDim);
    clf.dispose();
    expect(result.frechetDistance).toBeGreaterThan(0);
    expect(parseGlfmConfig({ variant: 'v1', classifier: 'bundled' }, '/cfg').classifier).toBe('bundled');
  });

  it('readLossCurve: windows of training losses (a repeated step counts once, the last record), eval losses', () => {
    const lines = [
      { type: 'step', step: 1, loss: 4 },
      { type: 'step', step: 2, loss: 2 },
      { type: 'eval', step: 2, metrics: { val_fm_loss: 1.5 } },
      { type: 'step', step: 3, loss: 9 },
      { type: 'step', step: 3, loss: 3 }, // a resumed run repeats step 3: the last record counts
      { type: 'checkpoint', step: 3 },
      { type: 'step', step: 4, loss: 1 },
      { type: 'step', step: 5, loss: 5 },
      { type: 'eval', step: 5, metrics: { val_fm_loss: 0.5 } },
    ];
    const curve = readLossCurve(lines.map((l) => JSON.stringify(l)).join('\n') + '\n', 2);
    expect(curve).toEqual({
      window: 2,
      train: [
        { step: 2, loss: 3 },
        { step: 4, loss: 2 },
        { step: 5, loss: 5 },
      ],
      val: [
        { step: 2, loss: 1.5 },
        { step: 5, loss: 0.5 },
      ],
    });
  });

  it('decoderXt passes through modelConfig', () => {
    const v4 = parseGlfmConfig({ variant: 'v4', modelConfig: { decoderSkips: false, decoderXt: 'full' } }, '/');
    expect([v4.model.decoderSkips, v4.model.decoderXt]).toEqual([false, 'full']);
    expect(() => parseGlfmConfig({ variant: 'v4', modelConfig: { decoderXt: 'all' } }, '/')).toThrow(
      /'modelConfig' is invalid: .*decoderXt/,
    );
  });

  it('modelSize "card" takes the card widths (v1 6.1M, v3 36.6M); gateMode passes through modelConfig', () => {
    const v1 = parseGlfmConfig({ variant: 'v1', modelSize: 'card', modelConfig: { gateMode: 'convex' } }, '/');
    expect(v1.modelSize).toBe('card');
    expect(v1.model.levelChannels).toEqual([128, 256]);
    expect(v1.model.gateMode).toBe('convex');
    expect(glfmParamCount(v1.model).total).toBe(6_097_666);
    const v3 = parseGlfmConfig({ variant: 'v3', modelSize: 'card' }, '/');
    expect([v3.model.levelChannels, v3.model.groups]).toEqual([[320, 752], 16]);
    expect(glfmParamCount(v3.model).total).toBe(36_586_225);
    expect(parseGlfmConfig({ variant: 'v1' }, '/').model.levelChannels).toEqual([64, 128]); // default 'preset'
    expect(() => parseGlfmConfig({ variant: 'v1', modelSize: 'huge' }, '/')).toThrow(
      /'modelSize' must be one of 'preset', 'card'/,
    );
    expect(() => parseGlfmConfig({ variant: 'v1', modelConfig: { gateMode: 'mix' } }, '/')).toThrow(
      /'modelConfig' is invalid: .*gateMode/,
    );
  });

  it('refuses bad configs naming the field', async () => {
    expect(() => parseGlfmConfig({ variant: 'v5' }, '/')).toThrow(
      /glfm config: 'variant' must be one of 'v1', 'v2', 'v3', 'v4', got 'v5'/,
    );
    expect(() => parseGlfmConfig({}, '/')).toThrow(/missing field 'variant'/);
    expect(() => parseGlfmConfig({ variant: 'v1', sampleSteps: 0 }, '/')).toThrow(
      /'sampleSteps' must be a positive integer, got 0/,
    );
    expect(() => parseGlfmConfig({ variant: 'v1', sampleSteps: 2.5 }, '/')).toThrow(/'sampleSteps'/);
    expect(() => parseGlfmConfig({ variant: 'v1', sampler: 'rk4' }, '/')).toThrow(
      /'sampler' must be one of 'euler', 'heun'/,
    );
    expect(() => parseGlfmConfig({ variant: 'v1', modelConfig: { imageSize: 32 } }, '/')).toThrow(
      /unknown field 'modelConfig.imageSize'/,
    );
    expect(() => parseGlfmConfig({ variant: 'v1', modelConfig: { groups: 7 } }, '/')).toThrow(
      /'modelConfig' is invalid: .*groups/,
    );
    expect(() => parseGlfmConfig({ variant: 'v1', epoch: 2 }, '/')).toThrow(/unknown field 'epoch'/);
    const r = await run({ variant: 'v9', data: dir }, 'run-bad');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/geolip-train: error: glfm config: 'variant' must be one of/);
    const c = await run({ ...base('v1'), classifier: join(dir, 'nope.safetensors') }, 'run-bad-classifier');
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/'classifier' .*does not exist/);
  });
});
