// The card preset's parts of coco-soup (issue 20): the validation draw, the consensus at a common width (PCA where an
// expert is wider, zero padding where it is narrower), the exact sizes of the card preset (soup 799,952, student
// 11,216,768), the student's loss stack (each term against a hand computation; the frozen soup stays frozen), the
// per-split metrics on hand-made cases, and the weight snapshot used for model selection.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, Matrix, createRng, pca } from '@geolip/geometry';
import { bceWithLabelSmoothing, infoNCE, mseLoss } from '@geolip/train';
import type { StepContext } from '@geolip/train';
import { BaseTierSoup, ViTClassifier, ViTEncoder } from '@geolip/vision';
import { describe, expect, it } from 'vitest';

import { COCO_SOUP_PRESETS, parseCocoSoupConfig } from '../src/recipes/coco-soup.js';
import {
  StudentStackTrainer,
  activeAnchors,
  chooseValidation,
  consensusTargets,
  fitCommonConsensus,
  imageBatch,
  measuredCV,
  pickRows,
  restoreWeights,
  snapshotWeights,
  studentSplitMetrics,
  studentStackOutputs,
  subsetSplit,
} from '../src/recipes/coco-soup-card.js';
import type { CommonWidthInput, StudentData, StudentStack } from '../src/recipes/coco-soup-card.js';

import { gaussianSource } from './helpers.js';

const EXPERTS = [
  { name: 'a', features: 'a.safetensors' },
  { name: 'b', features: 'b.safetensors' },
  { name: 'c', features: 'c.safetensors' },
];

describe('coco-soup presets', () => {
  it('card: the ViT x3 card sizes; the soup has 799,952 parameters and the student 11,216,768', () => {
    const cfg = parseCocoSoupConfig({ experts: EXPERTS }, '/');
    expect(cfg.preset).toBe('card');
    expect(cfg.consensus).toEqual({ pcaDim: 768, targetDim: 128, iterations: 5, shrinkage: 0.1, soupInput: 'common' });
    expect(cfg.soup).toMatchObject({ anchors: 256, compartments: 8, compartmentDim: 64, hiddenDim: 512 });
    expect(cfg.soup).toMatchObject({ calibration: true, ablation: true, autograd: true, weightDecay: 0 });
    expect(cfg.student).toMatchObject({ imageSize: 224, patchSize: 16, dModel: 384, heads: 6, ffDim: 1536, layers: 6 });
    expect(cfg.student).toMatchObject({
      head: false,
      bceWeight: 0,
      nceWeight: 1,
      mseWeight: 1,
      soupBceWeight: 1,
      cvWeight: 0.1,
      procrustesWeight: 0.1,
      autograd: true,
      tangential: 0.01,
      separation: 1,
      temperature: 0.07,
    });
    expect(cfg.images.validation).toBe(24);
    // The soup reads three inputs at the common width pcaDim = 768.
    const soup = new BaseTierSoup({
      expertDims: [768, 768, 768],
      embedDim: cfg.consensus.targetDim,
      anchors: cfg.soup.anchors,
      compartments: cfg.soup.compartments,
      compartmentDim: cfg.soup.compartmentDim,
      hiddenDim: cfg.soup.hiddenDim,
      classes: 80,
    });
    expect(soup.paramCount()).toBe(799_952);
    soup.dispose();
    const s = cfg.student;
    const vit = new ViTEncoder({
      imageSize: s.imageSize,
      patchSize: s.patchSize,
      channels: 3,
      dModel: s.dModel,
      heads: s.heads,
      ffDim: s.ffDim,
      layers: s.layers,
      outDim: cfg.consensus.targetDim,
    });
    expect(vit.paramCount()).toBe(11_216_768);
    vit.dispose();
  });

  it('small: the first run’s sizes, no validation, no card losses (a departure, kept as an option)', () => {
    const cfg = parseCocoSoupConfig({ preset: 'small', experts: EXPERTS }, '/');
    expect(cfg.consensus).toEqual({ pcaDim: 64, targetDim: 32, iterations: 5, shrinkage: 0.1, soupInput: 'raw' });
    expect(cfg.soup).toMatchObject({ anchors: 64, compartmentDim: 32, hiddenDim: 256, ablation: false });
    expect(cfg.student).toMatchObject({ imageSize: 112, dModel: 128, layers: 3, head: true, bceWeight: 1 });
    expect(cfg.student).toMatchObject({
      soupBceWeight: 0,
      cvWeight: 0,
      procrustesWeight: 0,
      autograd: false,
      epochs: 0,
    });
    expect(cfg.images.validation).toBe(0);
    expect(COCO_SOUP_PRESETS.small.student.steps).toBe(400);
  });

  it('refuses bad card fields naming the key', () => {
    const ok = { experts: EXPERTS };
    expect(() => parseCocoSoupConfig({ ...ok, preset: 'big' }, '/')).toThrow(
      /coco-soup config: 'preset' must be one of 'card', 'small'/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, student: { bceWeight: 1 } }, '/')).toThrow(
      /'student.bceWeight' \(1\) needs 'student.head': true/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, student: { cvWeight: -1 } }, '/')).toThrow(/'student.cvWeight'/);
    expect(() => parseCocoSoupConfig({ ...ok, student: { epochs: 1.5 } }, '/')).toThrow(/'student.epochs'/);
    expect(() => parseCocoSoupConfig({ ...ok, consensus: { soupInput: 'pca' } }, '/')).toThrow(
      /'consensus.soupInput' must be one of 'common', 'raw'/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, images: { validation: -2 } }, '/')).toThrow(/'images.validation'/);
    expect(() => parseCocoSoupConfig({ ...ok, soup: { ablation: 'yes' } }, '/')).toThrow(
      /'soup.ablation' must be true or false/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, student: { procrustesShrinkage: 2 } }, '/')).toThrow(
      /'student.procrustesShrinkage' must be in \[0, 1\]/,
    );
  });
});

describe('chooseValidation', () => {
  it('draws `size` rows by the seed alone: disjoint, covering, ascending, reproducible', () => {
    const a = chooseValidation(20, 5, 0);
    expect(a.val).toHaveLength(5);
    expect(a.fit).toHaveLength(15);
    expect([...a.fit, ...a.val].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const list of [a.fit, a.val])
      for (let i = 1; i < list.length; i++) expect(list[i]!).toBeGreaterThan(list[i - 1]!);
    expect(Array.from(chooseValidation(20, 5, 0).val)).toEqual(Array.from(a.val));
    expect(Array.from(a.val)).toEqual(Array.from(createRng(0).choose(20, 5)).sort((x, y) => x - y));
    expect(chooseValidation(20, 0, 3).val).toHaveLength(0);
  });

  it('keeps at least 2 train rows and names the argument otherwise', () => {
    expect(() => chooseValidation(10, 9, 0)).toThrow(InvalidArgumentError);
    expect(() => chooseValidation(10, 9, 0)).toThrow(/chooseValidation: 'size' must be an integer in \[0, 8\]/);
    expect(() => chooseValidation(10, 1.5, 0)).toThrow(/'size'/);
  });

  it('subsetSplit takes the images and their label rows', () => {
    const split = {
      images: [1, 2, 3].map((id) => ({ id, fileName: `${id}.jpg`, path: '', set: 's' })),
      targets: Uint8Array.from([1, 0, 0, 1, 1, 1]),
      counts: Uint32Array.from([2, 0, 0, 1, 3, 1]),
      sets: [],
      duplicates: [],
    };
    const sub = subsetSplit(split, [2, 0], 2);
    expect(sub.images.map((im) => im.id)).toEqual([3, 1]);
    expect(Array.from(sub.targets)).toEqual([1, 1, 1, 0]);
    expect(Array.from(sub.counts)).toEqual([3, 1, 2, 0]);
  });
});

describe('fitCommonConsensus', () => {
  const r = gaussianSource(7);
  const n = 30;
  const base = Array.from({ length: n * 4 }, () => r());
  const make = (dim: number) => {
    const m = Array.from({ length: 4 * dim }, () => r());
    const x = new Float32Array(n * dim);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < dim; j++)
        x[i * dim + j] = 1 + base.slice(i * 4, i * 4 + 4).reduce((s, v, k) => s + v * m[k * dim + j]!, 0) + 0.1 * r();
    return x;
  };
  const wide = make(9);
  const narrow = make(5);
  const exact = make(6);
  const experts = [
    { name: 'wide', dim: 9, fit: wide },
    { name: 'narrow', dim: 5, fit: narrow },
    { name: 'exact', dim: 6, fit: exact },
  ];
  const c = fitCommonConsensus(experts, n, { width: 6, targetDim: 3, iterations: 5, shrinkage: 1e-3 });

  it('brings every expert to width W: its own PCA when wider, zero columns when narrower, as is when equal', () => {
    const kinds: CommonWidthInput['kind'][] = c.inputs.map((x) => x.kind);
    expect(kinds).toEqual(['pca', 'pad', 'none']);
    const p = pca(new Matrix(n, 9, Float64Array.from(wide)), 6);
    const viaPca = c.inputs[0]!.apply(wide, n);
    for (let i = 0; i < n * 6; i++) expect(viaPca[i]).toBeCloseTo(p.projected.data[i]!, 4);
    expect(c.inputs[0]!.explainedVariance).toBeCloseTo(
      p.explainedVarianceRatio.reduce((a, b) => a + b, 0),
      12,
    );
    const padded = c.inputs[1]!.apply(narrow, n);
    for (let i = 0; i < n; i++) {
      expect(Array.from(padded.subarray(i * 6, i * 6 + 5))).toEqual(Array.from(narrow.subarray(i * 5, i * 5 + 5)));
      expect(padded[i * 6 + 5]).toBe(0);
    }
    expect(Array.from(c.inputs[2]!.apply(exact, n))).toEqual(Array.from(exact));
  });

  it('fits projectors [W, K] on those inputs; the targets are normalize(mean_e normalize(p_e(input_e)))', () => {
    expect(c.model.projectors.map((p) => p.linear.shape)).toEqual([
      [6, 3],
      [6, 3],
      [6, 3],
    ]);
    expect(c.model.config).toMatchObject({ width: 6, targetDim: 3 });
    const again = consensusTargets(
      c.model.projectors,
      c.inputs.map((x, e) => x.apply(experts[e]!.fit, n)),
      n,
    );
    for (let i = 0; i < again.length; i++) expect(again[i]).toBeCloseTo(c.model.targets.data[i]!, 5);
    // The padded column is constant: the whitening sees no variance there and the fit stays finite.
    for (const p of c.model.projectors) for (const v of p.linear.data) expect(Number.isFinite(v)).toBe(true);
    expect(Math.min(...c.model.diagnostics.cosineToConsensus)).toBeGreaterThan(0.7);
  });

  it('names the argument for a bad width or target width', () => {
    expect(() => fitCommonConsensus(experts, n, { width: 0, targetDim: 1, iterations: 1, shrinkage: 0 })).toThrow(
      /fitCommonConsensus: 'cfg.width' must be a positive integer/,
    );
    expect(() => fitCommonConsensus(experts, n, { width: 4, targetDim: 5, iterations: 1, shrinkage: 0 })).toThrow(
      /fitCommonConsensus: 'cfg.targetDim' must be an integer in \[1, 4\]/,
    );
  });
});

// A tiny student and soup for the loss stack.
const K = 4;
const C = 3;
const N = 12;
const VIT = { imageSize: 8, patchSize: 4, channels: 3, dModel: 8, heads: 2, ffDim: 16, layers: 1, outDim: K };
const SOUP = { expertDims: [5], embedDim: K, anchors: 4, compartments: 2, compartmentDim: 3, hiddenDim: 6, classes: C };

function tinyData(): StudentData {
  const r = gaussianSource(3);
  const targets = new Float32Array(N * K);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = 0; j < K; j++) s += (targets[i * K + j] = r()) ** 2;
    for (let j = 0; j < K; j++) targets[i * K + j]! /= Math.sqrt(s);
  }
  return {
    n: N,
    size: 8,
    images: Float32Array.from({ length: N * 8 * 8 * 3 }, () => r()),
    targets,
    dim: K,
    labels: Uint8Array.from({ length: N * C }, (_, i) => (i % 4 === 0 ? 1 : 0)),
    classes: C,
  };
}

const OFF: StudentStack = {
  nceWeight: 0,
  temperature: 0.07,
  mseWeight: 0,
  bceWeight: 0,
  soupBceWeight: 0,
  smoothing: 0,
  cvWeight: 0,
  cvTarget: 0.2,
  procrustesWeight: 0,
  procrustesWindow: 2,
  procrustesShrinkage: 0.1,
  autograd: null,
  flip: false,
};

const ctx = (): StepContext => ({ rng: createRng(1), step: 0, micro: 0 }) as unknown as StepContext;

describe('StudentStackTrainer', () => {
  const batch = Int32Array.from([0, 2, 4, 6, 8, 10]);
  const rowsOf = (data: Float32Array, dim: number) => {
    const out = new Float32Array(batch.length * dim);
    batch.forEach((b, r) => out.set(data.subarray(b * dim, (b + 1) * dim), r * dim));
    return out;
  };

  it('each term alone equals its loss on the student embedding (InfoNCE, MSE, BCE through the soup)', () => {
    const data = tinyData();
    const vit = new ViTEncoder(VIT, { seed: 1 });
    const soup = new BaseTierSoup(SOUP, { seed: 2 });
    const images = tf.tensor4d(rowsOf(data.images, 8 * 8 * 3), [6, 8, 8, 3]);
    const target = tf.tensor2d(rowsOf(data.targets, K), [6, K]);
    const y = tf.tensor2d(Float32Array.from(rowsOf(Float32Array.from(data.labels), C)), [6, C]);
    const e = vit.forward(images) as tf.Tensor2D;
    const expected = {
      nce: infoNCE(e, target, { temperature: 0.07 }).loss.dataSync()[0]!,
      mse: mseLoss(e, target).dataSync()[0]!,
      soupBce: bceWithLabelSmoothing(soup.classify(e).logits, y, { smoothing: 0.1 }).dataSync()[0]!,
    };
    const run = (stack: Partial<StudentStack>) => {
      const t = new StudentStackTrainer(vit, soup, data, { ...OFF, ...stack });
      const v = t.loss(batch, ctx()).dataSync()[0]!;
      t.dispose();
      return v;
    };
    expect(run({ nceWeight: 1 })).toBeCloseTo(expected.nce, 5);
    expect(run({ mseWeight: 2 })).toBeCloseTo(2 * expected.mse, 6);
    expect(run({ soupBceWeight: 1, smoothing: 0.1 })).toBeCloseTo(expected.soupBce, 5);
    expect(run({ nceWeight: 1, mseWeight: 2, soupBceWeight: 1, smoothing: 0.1 })).toBeCloseTo(
      expected.nce + 2 * expected.mse + expected.soupBce,
      4,
    );
    // The CV term is (CV − target)² ≥ 0, and geometric autograd leaves the forward value unchanged.
    expect(run({ cvWeight: 1 })).toBeGreaterThanOrEqual(0);
    expect(run({ mseWeight: 1, autograd: { tangential: 0.01, separation: 1 } })).toBeCloseTo(expected.mse, 6);
    tf.dispose([images, target, y, e]);
    vit.dispose();
    soup.dispose();
  });

  it('trains the student only: gradients for its weights, the soup’s unchanged; Procrustes starts after one step', async () => {
    const data = tinyData();
    const vit = new ViTEncoder(VIT, { seed: 1 });
    const soup = new BaseTierSoup(SOUP, { seed: 2 });
    const soupBefore = Object.fromEntries(Object.entries(soup.getWeights()).map(([k, w]) => [k, w.arraySync()]));
    const t = new StudentStackTrainer(vit, soup, data, {
      ...OFF,
      nceWeight: 1,
      mseWeight: 1,
      soupBceWeight: 1,
      cvWeight: 0.1,
      procrustesWeight: 1,
      procrustesWindow: 2,
      autograd: { tangential: 0.01, separation: 1 },
    });
    const withoutMap = t.loss(batch, ctx());
    const first = withoutMap.dataSync()[0]!;
    withoutMap.dispose();
    await t.afterStep();
    const withMap = t.loss(batch, ctx());
    // The alignment term 1 − mean cos is in [0, 2].
    expect(withMap.dataSync()[0]! - first).toBeGreaterThanOrEqual(-1e-5);
    expect(withMap.dataSync()[0]! - first).toBeLessThanOrEqual(2 + 1e-5);
    withMap.dispose();
    await t.afterStep();
    const { value, grads } = tf.variableGrads(() => t.loss(batch, ctx()), Object.values(t.getWeights()));
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    expect(Object.keys(grads).sort()).toEqual(
      Object.values(vit.getWeights())
        .map((w) => w.name)
        .sort(),
    );
    const acc = t.takeAccuracy();
    expect(acc).toBeGreaterThanOrEqual(0);
    expect(acc).toBeLessThanOrEqual(1);
    expect(Number.isNaN(t.takeAccuracy())).toBe(true);
    for (const [k, w] of Object.entries(soup.getWeights())) expect(w.arraySync()).toEqual(soupBefore[k]);
    tf.dispose([value, ...Object.values(grads)]);
    t.dispose();
    vit.dispose();
    soup.dispose();
  });

  it('a BCE through the soup or autograd without a soup is refused by name', () => {
    const vit = new ViTEncoder(VIT);
    expect(() => new StudentStackTrainer(vit, null, tinyData(), { ...OFF, soupBceWeight: 1 })).toThrow(
      /StudentStackTrainer: 'soup' is required/,
    );
    vit.dispose();
  });

  it('uses the linear head of a ViTClassifier for bceWeight', () => {
    const data = tinyData();
    const student = new ViTClassifier(VIT, C, { seed: 1 });
    const t = new StudentStackTrainer(student, null, data, { ...OFF, bceWeight: 1 });
    const images = tf.tensor4d(rowsOf(data.images, 8 * 8 * 3), [6, 8, 8, 3]);
    const y = tf.tensor2d(Float32Array.from(rowsOf(Float32Array.from(data.labels), C)), [6, C]);
    const out = student.forward(images);
    const expected = bceWithLabelSmoothing(out.logits, y, { smoothing: 0 }).dataSync()[0]!;
    expect(t.loss(batch, ctx()).dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([images, y, out.embedding, out.logits]);
    t.dispose();
    student.dispose();
  });
});

describe('studentSplitMetrics', () => {
  it('rows on their targets: cos 1, mAP 1, F1 1, R@1 2/3 (a tie); the active anchors are the distinct nearest anchors', async () => {
    const soup = new BaseTierSoup(SOUP, { seed: 2 });
    const anchors = soup.constellation.normalizedAnchors();
    const a = anchors.arraySync();
    anchors.dispose();
    // Rows 0 and 1 sit on anchor 0, row 2 on anchor 3: 2 active anchors.
    const embedding = Float32Array.from([...a[0]!, ...a[0]!, ...a[3]!]);
    const data = {
      n: 3,
      size: 8,
      images: new Float32Array(0),
      targets: embedding,
      dim: K,
      labels: Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]),
      classes: 3,
    };
    const scores = Float32Array.from([0.9, 0.1, 0.2, 0.3, 0.8, 0.1, 0.1, 0.2, 0.7]);
    const m = await studentSplitMetrics({ scores, embedding }, data, soup);
    expect(m.cos).toBeCloseTo(1, 6);
    expect(m.r1).toBeCloseTo(2 / 3, 12); // rows 0 and 1 are identical: row 1's argmax is row 0 (the first of the tie)
    expect(m.map).toBe(1);
    expect(m.f1Micro).toBe(1);
    expect(m.f1Macro).toBe(1);
    expect(m.activeAnchors).toBe(2);
    soup.dispose();
  });
});

describe('snapshotWeights / restoreWeights', () => {
  it('restores the copied values exactly', async () => {
    const soup = new BaseTierSoup(SOUP, { seed: 5 });
    const w = soup.getWeights();
    const snap = await snapshotWeights(w);
    const before = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.from(v.dataSync())]));
    for (const v of Object.values(w)) tf.tidy(() => v.assign(tf.zerosLike(v)));
    restoreWeights(w, snap);
    for (const [k, v] of Object.entries(w)) expect(Array.from(v.dataSync())).toEqual(before[k]);
    expect(() => restoreWeights(w, new Map())).toThrow(/restoreWeights: 'snapshot' has no entry/);
    soup.dispose();
  });
});

describe('small helpers', () => {
  it('pickRows copies the listed rows in order', () => {
    expect(Array.from(pickRows(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, [2, 0, 2]))).toEqual([5, 6, 1, 2, 5, 6]);
  });

  it('measuredCV of five orthonormal points is 0 (every pentachoron is the same regular simplex)', () => {
    const eye = Float32Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 1 : 0));
    expect(measuredCV(eye, 5)).toBeCloseTo(0, 12);
  });

  it('imageBatch mirrors a row left–right when the draw is below ½, and copies it otherwise', () => {
    // One 2×2 RGB image: pixel (y, x) has all channels = 10y + x.
    const img = Float32Array.from([0, 0, 0, 1, 1, 1, 10, 10, 10, 11, 11, 11]);
    const data = {
      n: 1,
      size: 2,
      images: img,
      targets: new Float32Array(0),
      dim: 1,
      labels: new Uint8Array(0),
      classes: 1,
    };
    const flipped = imageBatch(data, [0], { uniform: () => 0.25 });
    expect(Array.from(flipped.dataSync())).toEqual([1, 1, 1, 0, 0, 0, 11, 11, 11, 10, 10, 10]);
    const kept = imageBatch(data, [0], { uniform: () => 0.75 });
    expect(Array.from(kept.dataSync())).toEqual(Array.from(img));
    tf.dispose([flipped, kept]);
  });

  it('studentStackOutputs scores through the frozen soup when the student has no head; activeAnchors counts them', async () => {
    const data = tinyData();
    const vit = new ViTEncoder(VIT, { seed: 1 });
    const soup = new BaseTierSoup(SOUP, { seed: 2 });
    const out = await studentStackOutputs(vit, soup, data, 5); // batches of 5, 5, 2
    const images = tf.tensor4d(data.images, [N, 8, 8, 3]);
    const e = vit.forward(images) as tf.Tensor2D;
    const p = tf.sigmoid(soup.classify(e).logits);
    const want = p.dataSync();
    for (let i = 0; i < N * C; i++) expect(out.scores[i]).toBeCloseTo(want[i]!, 5);
    const emb = e.dataSync();
    for (let i = 0; i < N * K; i++) expect(out.embedding[i]).toBeCloseTo(emb[i]!, 5);
    const active = await activeAnchors(out.embedding, K, soup);
    expect(active).toBeGreaterThanOrEqual(1);
    expect(active).toBeLessThanOrEqual(4);
    tf.dispose([images, e, p]);
    vit.dispose();
    soup.dispose();
  });
});
