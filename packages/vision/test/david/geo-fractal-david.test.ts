import { readFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import {
  GEO_FRACTAL_DAVID_BASIN_K12,
  GEO_FRACTAL_DAVID_CONFIG,
  GeoFractalDavid,
  basinLoss,
  randomSimplex,
} from '../../src/index.js';

const json = (name: string) => JSON.parse(readFileSync(new URL(`./${name}`, import.meta.url), 'utf8'));

describe('GeoFractalDavid', () => {
  it('has the hand-derived parameter count (per scale: F·2s + 2s + 2·2s + 2s·s + s + C(k+1)s + C + 3; + S; + F + 2)', () => {
    const count = (f: number, c: number, k: number, scales: number[]) =>
      scales.reduce((n, s) => n + f * 2 * s + 2 * s + 4 * s + 2 * s * s + s + c * (k + 1) * s + c + 3, 0) +
      scales.length +
      f +
      2;
    const small = new GeoFractalDavid({ featureDim: 12, numClasses: 4, k: 2, scales: [6, 8] });
    expect(small.paramCount()).toBe(count(12, 4, 2, [6, 8]));
    small.dispose();
    // The card's constructor defaults: F 512, C 1000, k 5, scales 256…1280.
    expect(count(512, 1000, 5, [...GEO_FRACTAL_DAVID_CONFIG.scales])).toBe(
      [256, 384, 512, 768, 1024, 1280].reduce((n, s) => n + 512 * 2 * s + 6 * s + 2 * s * s + s + 6000 * s + 1003, 0) +
        6 +
        514,
    );
  });

  it('initializes each class simplex with centroid 0, vertex norms √(k/(k+1)) and Gram = I − 1/(k+1)', () => {
    const k = 4;
    const s = 9;
    const v = randomSimplex(k, s, 3);
    for (let i = 0; i <= k; i++) {
      for (let j = 0; j <= k; j++) {
        let dot = 0;
        for (let t = 0; t < s; t++) dot += v[i * s + t]! * v[j * s + t]!;
        expect(dot).toBeCloseTo((i === j ? 1 : 0) - 1 / (k + 1), 5);
      }
    }
    for (let t = 0; t < s; t++) {
      let sum = 0;
      for (let i = 0; i <= k; i++) sum += v[i * s + t]!;
      expect(sum).toBeCloseTo(0, 6);
    }
  });

  it('matches the numpy reference (gen_david_fixture.py) on perturbed weights: κ, per-scale and fused logits', () => {
    const w = json('david-weights.json');
    const ref = json('david-fixture.json');
    const model = new GeoFractalDavid(w.config);
    const dict: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(w.params as Record<string, unknown>)) dict[k] = tf.tensor(v as number);
    model.loadStateDict(dict);
    tf.dispose(Object.values(dict));
    tf.tidy(() => {
      const out = model.forward(tf.tensor2d(w.features));
      const close = (a: ArrayLike<number>, b: number[]) => b.forEach((x, i) => expect(a[i]).toBeCloseTo(x, 4));
      close(out.cantor.dataSync(), ref.cantor);
      close(out.logits.dataSync(), ref.logits.flat());
      out.scaleLogits.forEach((l, i) => close(l.dataSync(), ref.scaleLogits[i].flat()));
    });
    model.dispose();
  });

  it("at init the feature term is 0 (centroids are 0), so a logit is the cantor and crystal terms' third each", () => {
    const model = new GeoFractalDavid({ featureDim: 6, numClasses: 3, k: 2, scales: [4] }, { seed: 1 });
    tf.tidy(() => {
      const out = model.forward(tf.randomNormal([2, 6], 0, 1, 'float32', 2) as tf.Tensor2D);
      // crystal = −√(min_v ‖q − P_v‖² + 1e-8) with |q| = 1 and P_v ⟂-ish: every value lies in [−(1 + √(2/3)), 0].
      const l = out.scaleLogits[0]!.dataSync();
      for (const v of l) expect(v).toBeLessThanOrEqual(0);
      // The Cantor prototypes start at linspace(0, 1, C).
      expect(Array.from(model.cantorPrototypes().dataSync())).toEqual([0, 0.5, 1]);
    });
    model.dispose();
  });

  it("'feature' mode does not depend on batch order; 'batch-position' (the author's) does", () => {
    for (const [mode, invariant] of [
      ['feature', true],
      ['batch-position', false],
    ] as const) {
      const model = new GeoFractalDavid(
        { featureDim: 6, numClasses: 3, k: 2, scales: [4], cantorMode: mode },
        { seed: 4 },
      );
      tf.tidy(() => {
        const x = tf.randomNormal([4, 6], 0, 1, 'float32', 9) as tf.Tensor2D;
        const a = model.forward(x).cantor.dataSync();
        const b = model.forward(tf.reverse(x, 0) as tf.Tensor2D).cantor.dataSync();
        const same = [0, 1, 2, 3].every((i) => Math.abs(a[i]! - b[3 - i]!) < 1e-6);
        expect(same).toBe(invariant);
      });
      model.dispose();
    }
  });

  it('learns a 3-class problem with the basin loss (Adam, 25 steps): loss falls and accuracy > 0.9', () => {
    const model = new GeoFractalDavid({ featureDim: 8, numClasses: 3, k: 2, scales: [4, 6] }, { seed: 2 });
    const n = 60;
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    const x = tf.tidy(() =>
      tf.add(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), 8), 3), tf.randomNormal([n, 8], 0, 0.5, 'float32', 1)),
    ) as tf.Tensor2D;
    const y = tf.tensor1d(labels, 'int32');
    const opt = tf.train.adam(0.02);
    const vars = Object.values(model.getWeights());
    const lossAt = () => tf.tidy(() => basinLoss(model, model.forward(x), y).loss.dataSync()[0]!);
    const first = lossAt();
    for (let i = 0; i < 25; i++) opt.minimize(() => basinLoss(model, model.forward(x), y).loss, false, vars);
    const last = lossAt();
    const acc = tf.tidy(
      () => tf.mean(tf.cast(tf.equal(tf.argMax(model.forward(x).logits, 1), y), 'float32')).dataSync()[0]!,
    );
    expect(last).toBeLessThan(first * 0.7);
    expect(acc).toBeGreaterThan(0.9);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });

  it('names its parameters as the spec and splits them into the three LR groups', () => {
    const model = new GeoFractalDavid({ featureDim: 4, numClasses: 2, k: 1, scales: [2] });
    const names = Object.keys(model.getWeights());
    expect(names).toEqual([
      'fusion_weights',
      'cantor_stairs.alpha',
      'cantor_stairs.feature_to_position.weight',
      'cantor_stairs.feature_to_position.bias',
      'heads.0.class_prototypes',
      'heads.0.cantor_prototypes',
      'heads.0.geo_weights',
      'heads.0.projection.0.weight',
      'heads.0.projection.0.bias',
      'heads.0.projection.2.weight',
      'heads.0.projection.2.bias',
      'heads.0.projection.3.weight',
      'heads.0.projection.3.bias',
    ]);
    const g = model.parameterGroups();
    expect(g.fusion).toEqual(['fusion_weights']);
    expect(g.stairs).toHaveLength(3);
    expect(g.heads).toHaveLength(9);
    model.dispose();
  });

  it('refuses bad configs and inputs', () => {
    expect(() => new GeoFractalDavid({ featureDim: 4, numClasses: 2, k: 3, scales: [3] })).toThrow(/scales\[0\]/);
    expect(() => new GeoFractalDavid({ featureDim: 0, numClasses: 2, k: 1, scales: [2] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new GeoFractalDavid({ featureDim: 4, numClasses: 2, k: 1, scales: [] })).toThrow(/scales/);
    expect(
      () => new GeoFractalDavid({ featureDim: 4, numClasses: 2, k: 1, scales: [2], cantorMode: 'x' as never }),
    ).toThrow(/cantorMode/);
    const model = new GeoFractalDavid({ featureDim: 4, numClasses: 2, k: 1, scales: [2] });
    expect(() => model.forward(tf.zeros([2, 5]) as tf.Tensor2D)).toThrow(ShapeError);
    const out = model.forward(tf.ones([2, 4]) as tf.Tensor2D);
    expect(() => basinLoss(model, out, tf.tensor1d([0, 1, 1], 'int32'))).toThrow(ShapeError);
    model.dispose();
  });

  it('Basin-k12: k = 12 at 384…1280; 8,932,424 parameters on 128-d features and 10 classes, 63,053,342 as on the card', () => {
    expect(GEO_FRACTAL_DAVID_BASIN_K12).toMatchObject({
      k: 12,
      scales: [384, 512, 768, 1024, 1280],
      alphaInit: 0.5,
      tau: 0.25,
      cantorMode: 'batch-position',
    });
    const count = (f: number, c: number, k: number, scales: readonly number[]) =>
      scales.reduce((n, s) => n + f * 2 * s + 6 * s + 2 * s * s + s + c * (k + 1) * s + c + 3, 0) +
      scales.length +
      f +
      2;
    // The card's run: 512-d features, 1,000 classes (13,000 vertices per scale).
    expect(count(512, 1000, 12, GEO_FRACTAL_DAVID_BASIN_K12.scales)).toBe(63_053_342);
    // Fashion-MNIST embeddings: 128-d, 10 classes. Every scale is wider than the features (the projection expands).
    const model = new GeoFractalDavid({ ...GEO_FRACTAL_DAVID_BASIN_K12, featureDim: 128, numClasses: 10 });
    expect(model.paramCount()).toBe(count(128, 10, 12, GEO_FRACTAL_DAVID_BASIN_K12.scales));
    expect(model.paramCount()).toBe(8_932_424);
    const w = model.getWeights();
    expect(w['heads.4.class_prototypes']!.shape).toEqual([10, 13, 1280]);
    expect(w['heads.0.projection.0.weight']!.shape).toEqual([128, 768]); // tfjs layout [in, out]
    expect(w['heads.0.projection.3.weight']!.shape).toEqual([768, 384]);
    expect(w['fusion_weights']!.shape).toEqual([5]);
    tf.tidy(() => {
      const out = model.forward(tf.randomNormal([3, 128], 0, 1, 'float32', 1) as tf.Tensor2D);
      expect(out.logits.shape).toEqual([3, 10]);
      expect(out.scaleLogits.map((l) => l.shape)).toEqual(Array(5).fill([3, 10]));
    });
    model.dispose();
  });

  it('reports its learned structure: α, fusion and geo weights (softmax), the Cantor prototypes summarized', async () => {
    const model = new GeoFractalDavid({ featureDim: 4, numClasses: 3, k: 1, scales: [2, 3], alphaInit: 0.25 });
    const w = model.getWeights();
    const set = (name: string, values: number[]) => tf.tidy(() => w[name]!.assign(tf.tensor1d(values)));
    set('fusion_weights', [0, Math.log(3)]);
    set('heads.1.geo_weights', [Math.log(2), 0, Math.log(2)]);
    set('heads.1.cantor_prototypes', [-0.7, 0.05, 1.6]);
    const s = await model.structure({ values: true });
    expect(s.alpha).toBe(0.25);
    expect(s.scales.map((x) => x.scale)).toEqual([2, 3]);
    expect(s.scales[0]!.fusionWeight).toBeCloseTo(0.25, 6);
    expect(s.scales[1]!.fusionWeight).toBeCloseTo(0.75, 6);
    // Head 0 is as initialized: geo weights 1/3 each, prototypes linspace(0, 1, 3).
    const [g0, g1] = [s.scales[0]!.geoWeights, s.scales[1]!.geoWeights];
    for (const v of Object.values(g0)) expect(v).toBeCloseTo(1 / 3, 6);
    expect(g1.feature).toBeCloseTo(0.4, 6);
    expect(g1.cantor).toBeCloseTo(0.2, 6);
    expect(g1.crystal).toBeCloseTo(0.4, 6);
    const p0 = s.scales[0]!.cantorPrototypes;
    expect(p0).toMatchObject({ mean: 0.5, std: 0.5, min: 0, max: 1, values: [0, 0.5, 1] });
    // 20 bins of 0.1 over [−0.5, 1.5]: 0 → bin 5, 0.5 → bin 10, 1 → bin 15.
    expect(p0.histogram.counts.flatMap((c, i) => (c ? [i] : []))).toEqual([5, 10, 15]);
    const p1 = s.scales[1]!.cantorPrototypes;
    expect(p1.histogram.below).toBe(1);
    expect(p1.histogram.above).toBe(1);
    expect(p1.histogram.counts[5]).toBe(1);
    expect(p1.mean).toBeCloseTo(0.95 / 3, 6);
    const coarse = await model.structure({ bins: 2, range: [0, 1] });
    expect(coarse.scales[0]!.cantorPrototypes.histogram.counts).toEqual([1, 2]);
    expect(coarse.scales[0]!.cantorPrototypes.values).toBeUndefined();
    await expect(model.structure({ bins: 0 })).rejects.toThrow(
      /GeoFractalDavid.structure: 'options.bins' must be a positive integer, got 0/,
    );
    await expect(model.structure({ range: [1, 0] })).rejects.toThrow(/'options.range' must be \[lo, hi\] with lo < hi/);
    model.dispose();
  });

  it("trains with a single scale (the fused logits are that scale's)", () => {
    const model = new GeoFractalDavid({ featureDim: 6, numClasses: 3, k: 2, scales: [4] }, { seed: 3 });
    const x = tf.randomNormal([5, 6], 0, 1, 'float32', 3) as tf.Tensor2D;
    const y = tf.tensor1d([0, 1, 2, 0, 1], 'int32');
    const { grads, value } = tf.variableGrads(() => basinLoss(model, model.forward(x), y).loss);
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    expect(Object.keys(grads)).toHaveLength(Object.keys(model.getWeights()).length);
    tf.tidy(() => {
      const out = model.forward(x);
      expect(Array.from(out.logits.dataSync())).toEqual(Array.from(out.scaleLogits[0]!.dataSync()));
    });
    tf.dispose([x, y, value, ...Object.values(grads)]);
    model.dispose();
  });
});
