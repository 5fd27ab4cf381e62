// fmnist-vit at card fidelity (issue 20): the presets and how a config overrides them, InfoNCE's two views (and the
// old mirror pairing), the CE terms against a hand computation, the per-stream CV terms, the warm start, and a tiny
// run with two views + CE whose metrics.jsonl carries the per-epoch diagnostics.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import { readSafetensors, toFloat32 } from '@geolip/io';
import { bceWithLabelSmoothing, cvLossTerm, infoNCE } from '@geolip/train';
import type { StepContext } from '@geolip/train';
import {
  DualStreamViT,
  FMNIST_DUAL_STREAM,
  FMNIST_DUAL_STREAM_V5,
  FMNIST_DUAL_STREAM_V5_BIDIR,
  FMNIST_DUAL_STREAM_V6,
} from '@geolip/vision';
import type { DualStreamViTConfig } from '@geolip/vision';
import type { ImageBatch, ImageDataset } from '@geolip/vision/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fmnistVitTraining, parseFmnistVitConfig } from '../src/recipes/fmnist-vit.js';
import { embeddingCvs } from '../src/recipes/fmnist-vit-diagnostics.js';
import { FMNIST_VIT_PRESETS, FMNIST_VIT_PRESET_NAMES } from '../src/recipes/fmnist-vit-presets.js';

import { runRecipe } from './helpers.js';
import { TINY_DUAL, writeBandSplit } from './tiny-fmnist.js';

/** `n` seeded random 28×28×1 byte images, labels 0…9 in turn. */
function images(n: number, seed = 1): ImageDataset {
  const rng = createRng(seed);
  return {
    images: Uint8Array.from({ length: n * 784 }, () => Math.floor(rng.uniform() * 256)),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
    n,
    height: 28,
    width: 28,
    channels: 1,
  };
}

const ctx = (seed = 5): StepContext => ({ step: 0, micro: 0, training: true, rng: createRng(seed) });

/** The training step of a tiny dual-stream config: its first batch and the trainer's loss of it. */
function firstStep(config: Record<string, unknown>) {
  const cfg = parseFmnistVitConfig({ batchSize: 8, modelConfig: TINY_DUAL, ...config }, '/');
  const t = fmnistVitTraining(cfg, images(16));
  const batch = t.options.data(0, createRng(0), 0);
  return {
    cfg,
    t,
    batch,
    model: t.net.model as DualStreamViT,
    dispose: () => {
      const p = t.trainer.pending;
      if (p) tf.dispose([p.stats, ...(p.emb ? [p.emb] : [])]);
      t.net.model.dispose();
    },
  };
}

const value = (x: tf.Tensor): number => x.dataSync()[0]!;

describe('fmnist-vit presets', () => {
  it('every preset parses; its source is documented; the models are the card topologies at 28 × 28 × 1', () => {
    const counts: Record<string, number> = {};
    for (const name of FMNIST_VIT_PRESET_NAMES) {
      const extra = name === 'v3' ? { warmStart: 'v1/model.safetensors' } : {};
      const cfg = parseFmnistVitConfig({ preset: name, ...extra }, '/runs');
      expect(cfg.preset).toBe(name);
      expect(FMNIST_VIT_PRESETS[name].source.length).toBeGreaterThan(20);
      const m = new DualStreamViT({ ...FMNIST_DUAL_STREAM, ...cfg.modelConfig } as DualStreamViTConfig);
      counts[name] = m.paramCount();
      m.dispose();
    }
    expect(counts).toEqual({
      v1: 6_369_808,
      v3: 6_369_808,
      v5: 6_369_808,
      'v5-bidir': 7_851_280, // 6,528 + 18,816 + 3,655,228 + 3,635,136 + 2·24,960 + 84,480 + 399,882 + 1,290
      v6: 14_223_822,
      run2: 14_223_822,
      run4: 14_223_822,
      run7: 6_369_808,
      run12: 6_369_808, // the tower's parameters are its own (ArbitrationTower), not the ViT's
    });
  });

  it('v5: the card v5 config (batch 512, 100 epochs, lr 1e-3, 5 warmup epochs, clip 1, CV 0.2 @ 0.5, InfoNCE 0.5, …)', () => {
    const cfg = parseFmnistVitConfig({ preset: 'v5' }, '/');
    expect(cfg).toMatchObject({
      batchSize: 512,
      epochs: 100,
      lr: 1e-3,
      warmupEpochs: 5,
      clipNorm: 1,
      weightDecay: 0.01,
      cvTarget: 0.2,
      temperature: 0.07,
      smoothing: 0.1,
      views: 'two',
      autograd: { tangential: 1, separation: 0.1 },
    });
    expect(cfg.loss).toEqual({
      bce: 1,
      ce: 0,
      infoNCE: 0.5,
      geoBce: 0.3,
      geoCe: 0,
      geoDiversity: 0,
      cv: 0.5,
      cvGeo: 0,
      cvStd: 0,
      anchorCv: 0,
      cm: 0.5,
      spread: 0,
      mastery: 0,
    });
    expect(cfg.modelConfig).toEqual({ ...FMNIST_DUAL_STREAM_V5 });
    expect(parseFmnistVitConfig({ preset: 'v5-bidir' }, '/').modelConfig).toEqual({ ...FMNIST_DUAL_STREAM_V5_BIDIR });
  });

  it('v6 / run4: the v6 loss table and optimizer; run2 has no queue; run7 has CV 0.22 @ 1.0 and autograd 0.5/0.1', () => {
    const v6 = parseFmnistVitConfig({ preset: 'v6' }, '/');
    expect(v6.loss).toEqual({
      bce: 1,
      ce: 0,
      infoNCE: 0.1,
      geoBce: 0.3,
      geoCe: 0,
      geoDiversity: 0.5,
      cv: 0.1,
      cvGeo: 0.1,
      cvStd: 0,
      anchorCv: 0.05,
      cm: 0.1,
      spread: 0.001,
      mastery: 1,
    });
    expect(v6).toMatchObject({ lr: 3e-4, weightDecay: 0.01, autograd: { tangential: 1, separation: 0.1 } });
    expect(v6.masteryQueue).toEqual({ resizePolicy: 'absolute' });
    expect(v6.modelConfig).toEqual({ ...FMNIST_DUAL_STREAM_V6 });
    const run4 = parseFmnistVitConfig({ preset: 'run4' }, '/');
    expect({ ...run4, preset: 'v6' }).toEqual(v6);
    const run2 = parseFmnistVitConfig({ preset: 'run2' }, '/');
    expect(run2.loss).toEqual({ ...v6.loss, mastery: 0 });
    const run7 = parseFmnistVitConfig({ preset: 'run7' }, '/');
    expect(run7).toMatchObject({ cvTarget: 0.22, autograd: { tangential: 0.5, separation: 0.1 } });
    expect(run7.loss.cv).toBe(1);
    expect(run7.modelConfig).toEqual({ ...FMNIST_DUAL_STREAM });
    const v1 = parseFmnistVitConfig({ preset: 'v1' }, '/');
    expect(v1.autograd).toBe(false);
    expect(v1.loss).toMatchObject({ bce: 1, infoNCE: 0.1, geoBce: 0.3, cv: 0.1, cm: 0.1, mastery: 0 });
  });

  it('explicit fields override the preset (objects key by key); v3 needs warmStart', () => {
    const cfg = parseFmnistVitConfig(
      {
        preset: 'v5',
        batchSize: 256,
        epochs: 45,
        loss: { ce: 1, bce: 0 },
        modelConfig: { dropout: 0.1 },
        autograd: { tangential: 0.5 },
        masteryQueue: { patience: 20 },
      },
      '/',
    );
    expect(cfg).toMatchObject({ batchSize: 256, epochs: 45, lr: 1e-3, warmupEpochs: 5 });
    expect(cfg.loss).toMatchObject({ ce: 1, bce: 0, infoNCE: 0.5, cv: 0.5, cm: 0.5 });
    expect(cfg.modelConfig).toEqual({ ...FMNIST_DUAL_STREAM_V5, dropout: 0.1 });
    expect(cfg.autograd).toEqual({ tangential: 0.5, separation: 0.1 });
    expect(cfg.masteryQueue).toEqual({ patience: 20 });
    // warmupSteps replaces the preset's warmup in epochs; both at once is refused.
    expect(parseFmnistVitConfig({ preset: 'v5', warmupSteps: 100 }, '/')).toMatchObject({
      warmupSteps: 100,
      warmupEpochs: null,
    });
    expect(() => parseFmnistVitConfig({ preset: 'v5', warmupSteps: 1, warmupEpochs: 1 }, '/')).toThrow(
      /set 'warmupSteps' or 'warmupEpochs', not both/,
    );
    expect(() => parseFmnistVitConfig({ preset: 'v3' }, '/')).toThrow(
      /fmnist-vit config: preset 'v3' warm-starts from a v1 checkpoint: set 'warmStart'/,
    );
    expect(parseFmnistVitConfig({ preset: 'v3', warmStart: 'a/model.safetensors' }, '/runs').warmStart).toBe(
      '/runs/a/model.safetensors',
    );
    expect(() => parseFmnistVitConfig({ preset: 'v7' }, '/')).toThrow(/'preset' must be one of 'v1', 'v3', 'v5'/);
    // The plain ViT keeps its own model under a preset.
    expect(parseFmnistVitConfig({ preset: 'v6', model: 'vit' }, '/').modelConfig).toEqual({});
  });

  it('refuses bad values of the new fields, naming them', () => {
    const bad = (c: Record<string, unknown>) => () => parseFmnistVitConfig(c, '/');
    expect(bad({ views: 'three' })).toThrow(/'views' must be one of 'two', 'mirror'/);
    expect(bad({ augment: { erase: 2 } })).toThrow(/'augment\.erase' must be a probability/);
    expect(bad({ augment: { eraseScale: [0.3, 0.1] } })).toThrow(/'augment\.eraseScale' must be \[min, max\]/);
    expect(bad({ augment: { rotate: 1 } })).toThrow(/unknown field 'augment\.rotate'/);
    expect(bad({ autograd: { tangential: -1 } })).toThrow(/'autograd\.tangential' must be a non-negative number/);
    expect(bad({ autograd: 1 })).toThrow(/'autograd' must be/);
    expect(bad({ ceSmoothing: 1 })).toThrow(/'ceSmoothing' must be in \[0, 1\)/);
    expect(bad({ masteryQueue: { resizePolicy: 'sometimes' } })).toThrow(
      /'masteryQueue\.resizePolicy' must be one of 'delta', 'absolute'/,
    );
    expect(bad({ masteryQueue: { activationAccuracy: 1.5 } })).toThrow(/'masteryQueue' is invalid: MasteryQueue/);
    expect(parseFmnistVitConfig({}, '/')).toMatchObject({
      preset: null,
      views: 'two',
      augment: { padding: 2, flip: true, erase: 0 },
      autograd: { tangential: 1, separation: 0.1 },
      loss: { ce: 0, geoCe: 0, cvGeo: 0, cvStd: 0 },
    });
    expect(parseFmnistVitConfig({ autograd: false }, '/').autograd).toBe(false);
  });
});

describe('fmnist-vit InfoNCE views and loss terms', () => {
  it("'two' (default): batches carry a second, independently augmented view; InfoNCE pairs view 1 with it", () => {
    const loss = { bce: 1, infoNCE: 1, geoBce: 0, geoDiversity: 0, cv: 0, anchorCv: 0, cm: 0, spread: 0, mastery: 0 };
    const s = firstStep({ loss, autograd: false });
    const b = s.batch as ImageBatch;
    expect(b.view2).toBeDefined();
    expect(Array.from(b.view2!)).not.toEqual(Array.from(b.images));
    const got = value(s.t.trainer.loss(b, ctx()));
    const want = tf.tidy(() => {
      const x = tf.tensor4d(b.images, b.shape);
      const a = s.model.forward(x, { training: true });
      const v = s.model.forward(tf.tensor4d(b.view2!, b.shape), { training: true });
      const oneHot = tf.cast(tf.oneHot(tf.tensor1d(b.labels, 'int32'), 10), 'float32') as tf.Tensor2D;
      return value(tf.add(bceWithLabelSmoothing(a.logits, oneHot), infoNCE(a.emb, v.emb).loss));
    });
    expect(got).toBeCloseTo(want, 5);
    s.dispose();
  });

  it("'mirror' reproduces the old pairing (view 1 and its left–right mirror) on the same first view", () => {
    const loss = { bce: 0, infoNCE: 1, geoBce: 0, geoDiversity: 0, cv: 0, anchorCv: 0, cm: 0, spread: 0, mastery: 0 };
    const two = firstStep({ loss });
    const mirror = firstStep({ loss, views: 'mirror' });
    const b = mirror.batch as ImageBatch;
    expect(b.view2).toBeUndefined();
    // The first view does not depend on whether a second one is drawn.
    expect(Array.from(b.images)).toEqual(Array.from((two.batch as ImageBatch).images));
    const got = value(mirror.t.trainer.loss(b, ctx()));
    const want = tf.tidy(() => {
      const x = tf.tensor4d(b.images, b.shape);
      const opts = { training: true, autograd: { tangential: 1, separation: 0.1 } };
      const a = mirror.model.forward(x, opts);
      const m = mirror.model.forward(tf.reverse(x, 2) as tf.Tensor4D, opts);
      return value(infoNCE(a.emb, m.emb).loss);
    });
    expect(got).toBeCloseTo(want, 5);
    two.dispose();
    mirror.dispose();
  });

  it('CE on the main and the geo logits equals a hand computation (label smoothing 0.1)', () => {
    const loss = { bce: 0, ce: 1, geoCe: 0.5, infoNCE: 0, geoBce: 0, geoDiversity: 0, cv: 0, anchorCv: 0 };
    const s = firstStep({ loss: { ...loss, cm: 0, spread: 0, mastery: 0 }, ceSmoothing: 0.1, autograd: false });
    const b = s.batch as ImageBatch;
    expect(b.view2).toBeUndefined(); // no InfoNCE, no queue: no second view drawn
    const got = value(s.t.trainer.loss(b, ctx()));
    const out = s.model.forward(tf.tensor4d(b.images, b.shape), { training: true });
    // L = −(1/B) Σ_b Σ_c t_bc log softmax(x_b)_c,  t = 0.9·onehot + 0.01, in float64.
    const ceByHand = (logits: Float32Array): number => {
      let total = 0;
      const B = b.labels.length;
      for (let i = 0; i < B; i++) {
        const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0));
        for (let c = 0; c < 10; c++) total -= (0.9 * (c === b.labels[i] ? 1 : 0) + 0.01) * (row[c]! - lse);
      }
      return total / B;
    };
    const want =
      ceByHand(out.logits.dataSync() as Float32Array) + 0.5 * ceByHand(out.geoLogits.dataSync() as Float32Array);
    expect(got).toBeCloseTo(want, 5);
    tf.dispose(Object.values(out));
    s.dispose();
  });

  it('cvGeo and cvStd put the CV loss on the geo and the std embedding', () => {
    const zero = { bce: 0, infoNCE: 0, geoBce: 0, geoDiversity: 0, cv: 0, anchorCv: 0, cm: 0, spread: 0, mastery: 0 };
    for (const [key, pick] of [
      ['cvGeo', 'geoEmb'],
      ['cvStd', 'stdEmb'],
      ['cv', 'emb'],
    ] as const) {
      const s = firstStep({ loss: { ...zero, [key]: 2 }, cvTarget: 0.5, autograd: false });
      const b = s.batch as ImageBatch;
      const got = value(s.t.trainer.loss(b, ctx(9)));
      const out = s.model.forward(tf.tensor4d(b.images, b.shape), { training: true });
      const want = 2 * value(cvLossTerm(out[pick], 0.5, { rng: createRng(9) }));
      expect(want).toBeGreaterThan(0);
      expect(got, key).toBeCloseTo(want, 5);
      tf.dispose(Object.values(out));
      s.dispose();
    }
  });

  it('warmupEpochs becomes steps with the run’s steps per epoch', () => {
    const s = firstStep({ warmupEpochs: 1.5, epochs: 4, lr: 1e-3 }); // 16 images / 8 = 2 steps per epoch → 3 steps
    const schedule = s.t.options.schedule!;
    // warmupCosine: lr(s) = peak·(s + 1)/W for s < W = 3, then the cosine from the peak.
    const lrs = [0, 1, 2, 3].map((k) => schedule(k));
    [1e-3 / 3, 2e-3 / 3, 1e-3, 1e-3].forEach((v, k) => expect(lrs[k]).toBeCloseTo(v, 12));
    s.dispose();
  });
});

describe('embeddingCvs', () => {
  it('per-class CVs are those of each class alone; a class of exactly 5 rows has CV 0; fewer than 5 is left out', async () => {
    const { pentachoronCV, Matrix } = await import('@geolip/geometry');
    const rng = createRng(3);
    const dim = 6;
    const n = 40;
    const emb = new Float32Array(n * dim);
    for (let i = 0; i < n * dim; i++) emb[i] = rng.normal();
    // labels: class 0 has 20 rows, class 1 has 15, class 2 exactly 5; class 3 none, class 4 … none.
    const labels = Array.from({ length: n }, (_, i) => (i < 20 ? 0 : i < 35 ? 1 : 2));
    const r = embeddingCvs(emb, dim, labels, 7);
    const cvOf = (rows: number[]) =>
      pentachoronCV(
        new Matrix(
          rows.length,
          dim,
          Float64Array.from(rows.flatMap((i) => Array.from(emb.subarray(i * dim, (i + 1) * dim)))),
        ),
        { seed: 7 },
      ).cv;
    const idx = (c: number) => labels.flatMap((l, i) => (l === c ? [i] : []));
    const c0 = cvOf(idx(0));
    const c1 = cvOf(idx(1));
    expect(cvOf(idx(2))).toBeCloseTo(0, 12); // every sample is the same simplex
    expect(r.classes).toBe(3);
    expect(r.classMean).toBeCloseTo((c0 + c1 + 0) / 3, 12);
    expect(r.classMin).toBeCloseTo(0, 12);
    expect(r.classMax).toBeCloseTo(Math.max(c0, c1), 12);
    expect(r.cv).toBeCloseTo(cvOf(labels.map((_, i) => i)), 12);
    const few = embeddingCvs(emb.subarray(0, 4 * dim), dim, [0, 0, 1, 1], 7);
    expect([few.classes, few.classMean, few.cv]).toEqual([0, NaN, NaN]);
  });
});

describe('geolip-train run fmnist-vit with two views, CE and the diagnostics', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'geolip-fmnist-card-'));
    await writeBandSplit(dir, 'train', 160);
    await writeBandSplit(dir, 't10k', 20);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('logs CM validity, active anchors, per-class CV, InfoNCE accuracy and the queue’s hard negatives per epoch', async () => {
    const cfg = {
      data: dir,
      epochs: 2,
      batchSize: 32,
      lr: 3e-3,
      warmupSteps: 2,
      valSize: 64, // ≥ 6 images of each class: a per-class CV
      checkpointEvery: 100,
      loss: { ce: 1, bce: 0, cvGeo: 0.1 },
      augment: { erase: 0.5 },
      // The queue activates on the first step, so it mines from the second on.
      masteryQueue: { patience: 1, activationAccuracy: 0, capacity: 64, minCapacity: 32, resizePolicy: 'absolute' },
      modelConfig: TINY_DUAL,
    };
    const r = await runRecipe('fmnist-vit', dir, cfg, 'run-card');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('96 train / 64 val / 20 test images, 2 epochs = 6 steps of 32; two augmented views');
    const out = join(dir, 'run-card');
    const evals = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((x) => x.type === 'eval');
    expect(evals.map((e) => e.step)).toEqual([3, 6]);
    for (const { metrics: m } of evals) {
      for (const k of ['cm_valid', 'cm_valid_block0', 'nce_acc']) {
        expect(m[k], k).toBeGreaterThanOrEqual(0);
        expect(m[k], k).toBeLessThanOrEqual(1);
      }
      for (const k of ['val_cv', 'class_cv_mean', 'class_cv_min', 'class_cv_max']) expect(m[k], k).toBeGreaterThan(0);
      expect(m.class_cv_min).toBeLessThanOrEqual(m.class_cv_mean);
      expect(m.class_cv_max).toBeGreaterThanOrEqual(m.class_cv_mean);
      expect(Number.isInteger(m.active_anchors)).toBe(true);
      expect(m.active_anchors).toBeGreaterThanOrEqual(1);
      expect(m.active_anchors).toBeLessThanOrEqual(8);
      expect(m.mastery_active).toBe(1);
      // Cosines in [−1, 1]; the logged gap is hard_neg − hard_pos.
      expect(Math.abs(m.mastery_hard_neg)).toBeLessThanOrEqual(1 + 1e-6);
      expect(Math.abs(m.mastery_hard_pos)).toBeLessThanOrEqual(1 + 1e-6);
      expect(m.mastery_gap).toBeCloseTo(m.mastery_hard_neg - m.mastery_hard_pos, 5);
    }
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
    expect(result).toMatchObject({ views: 'two', preset: null, steps: 6 });
  });

  it('test: false never reads the test split: null test accuracy, the scan of the validation images', async () => {
    const trainOnly = await mkdtemp(join(tmpdir(), 'geolip-fmnist-trainonly-'));
    try {
      await writeBandSplit(trainOnly, 'train', 96);
      const cfg = { data: trainOnly, epochs: 1, batchSize: 32, valSize: 32, checkpointEvery: 100, test: false };
      const r = await runRecipe(
        'fmnist-vit',
        trainOnly,
        { ...cfg, loss: { mastery: 0 }, modelConfig: TINY_DUAL },
        'run',
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('64 train / 32 val / 0 test images');
      expect(r.stdout).toContain('validation accuracy');
      expect(r.stdout).toContain('the test split was not read (config test: false)');
      const result = JSON.parse(await readFile(join(trainOnly, 'run', 'result.json'), 'utf8'));
      expect(result).toMatchObject({ testImages: 0, testAccuracy: null, geoAccuracy: null, scanSplit: 'validation' });
      expect(result.scan.n).toBe(32);
      await expect(readFile(join(trainOnly, 'run', 'embeddings-test.safetensors'))).rejects.toThrow(/ENOENT/);
      // Without a validation split there is nothing to report on: refused, naming the fields.
      const none = await runRecipe('fmnist-vit', trainOnly, { ...cfg, valSize: 0, modelConfig: TINY_DUAL }, 'run-b');
      expect(none.code).toBe(1);
      expect(none.stderr).toContain("'test' false needs a validation split ('valSize' > 0)");
    } finally {
      await rm(trainOnly, { recursive: true, force: true });
    }
  });

  it('warmStart loads a model.safetensors before training (lr 1e-9: the weights stay the file’s)', async () => {
    const base = { data: dir, epochs: 1, batchSize: 32, valSize: 32, checkpointEvery: 100, modelConfig: TINY_DUAL };
    const first = await runRecipe('fmnist-vit', dir, { ...base, seed: 3 }, 'run-warm-a');
    expect(first.code, first.stderr).toBe(0);
    const file = join(dir, 'run-warm-a', 'model.safetensors');
    const cfg = { ...base, seed: 4, lr: 1e-9, warmupSteps: 0, loss: { mastery: 0 }, warmStart: file };
    const second = await runRecipe('fmnist-vit', dir, cfg, 'run-warm-b');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`warm start from ${file}`);
    const a = readSafetensors(new Uint8Array(await readFile(file))).tensors;
    const b = readSafetensors(new Uint8Array(await readFile(join(dir, 'run-warm-b', 'model.safetensors')))).tensors;
    let maxDiff = 0;
    for (const [name, t] of Object.entries(a)) {
      const x = toFloat32(t);
      const y = toFloat32(b[name]!);
      for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i]! - y[i]!));
    }
    expect(maxDiff).toBeLessThan(1e-5);
    // A file of another architecture is refused, naming warmStart.
    const wrong = await runRecipe(
      'fmnist-vit',
      dir,
      { ...cfg, modelConfig: { ...TINY_DUAL, outDim: 16 } },
      'run-warm-c',
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/fmnist-vit: 'warmStart' .* does not fit the model: /);
  });
});
