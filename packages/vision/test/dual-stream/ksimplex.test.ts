// KSimplexFeatures: the 10,046-parameter count at d = 192 (spec §9.2), the regular template, the 11 features
// against a float64 JS computation (geometry's CM determinant on nested arrays) for hand-made deformations,
// the validity fraction, gradients, and the errors.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, cayleyMengerDeterminant, simplexVolumeSquared } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { KSimplexFeatures, regularSimplexTemplate, simplexEdgePairs } from '../../src/index.js';

/** float64 reference: [d²_ij for i < j, V² by the bordered CM determinant × (−1)^(k+1)/(2^k (k!)²)]. */
function referenceFeatures(vertices: number[][]): number[] {
  const k = vertices.length - 1;
  const out: number[] = [];
  for (const [i, j] of simplexEdgePairs(k))
    out.push(vertices[i]!.reduce((s, x, t) => s + (x - vertices[j]![t]!) ** 2, 0));
  let fact = 1;
  for (let i = 2; i <= k; i++) fact *= i;
  out.push((((k % 2 === 1 ? 1 : -1) / (2 ** k * fact * fact)) * cayleyMengerDeterminant(vertices)) as number);
  return out;
}

function templateRows(k: number, e: number): number[][] {
  const t = regularSimplexTemplate(k, e);
  return Array.from({ length: k + 1 }, (_, i) => Array.from(t.subarray(i * e, (i + 1) * e)));
}

describe('KSimplexFeatures', () => {
  it('has 10,046 parameters at d = 192 (deform 7,720 + LayerNorm(11) 22 + out 2,304)', () => {
    const ks = new KSimplexFeatures(192);
    expect(ks.paramCount()).toBe(10_046);
    expect(ks.numFeatures).toBe(11);
    const sd = ks.stateDict();
    expect(Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.shape]))).toEqual({
      'deform.weight': [40, 192],
      'deform.bias': [40],
      'feature_norm.weight': [11],
      'feature_norm.bias': [11],
      'out_proj.weight': [192, 11],
      'out_proj.bias': [192],
    });
    tf.dispose(Object.values(sd));
    ks.dispose();
  });

  it('uses a centered regular 4-simplex with unit edges in R^8: V² = 5/9216 (= (√5/96)²)', () => {
    const rows = templateRows(4, 8);
    const f = referenceFeatures(rows);
    for (let p = 0; p < 10; p++) expect(f[p]).toBeCloseTo(1, 14);
    // The regular n-simplex of unit edge has volume √(n+1) / (n! √(2^n)): n = 4 → √5 / (24 · 4) = √5/96.
    expect(f[10]).toBeCloseTo((Math.sqrt(5) / 96) ** 2, 16);
    expect(f[10]).toBeCloseTo(5 / 9216, 16);
    for (let d = 0; d < 8; d++) expect(rows.reduce((s, r) => s + r[d]!, 0)).toBeCloseTo(0, 15);
  });

  it('with zero deformation gives the regular simplex: 10 unit squared edges and V² = 5/9216, validity 1', () => {
    const ks = new KSimplexFeatures(6, { seed: 3 });
    tf.tidy(() => {
      ks.deform.weight.assign(tf.zerosLike(ks.deform.weight));
      ks.deform.bias!.assign(tf.zerosLike(ks.deform.bias!));
    });
    const h = tf.randomNormal([2, 3, 6], 0, 1, 'float32', 1);
    const f = ks.features(h);
    expect(f.shape).toEqual([2, 3, 11]);
    const v = f.arraySync() as number[][][];
    for (const row of v.flat()) {
      for (let p = 0; p < 10; p++) expect(row[p]).toBeCloseTo(1, 5);
      expect(row[10]).toBeCloseTo(5 / 9216, 7);
    }
    const out = ks.forward(h);
    expect(out.update.shape).toEqual([2, 3, 6]);
    expect(out.volumeSquared.shape).toEqual([2, 3]);
    expect(out.validity.dataSync()[0]).toBe(1);
    tf.dispose([h, f, out.update, out.volumeSquared, out.validity]);
    ks.dispose();
  });

  it('matches the float64 reference for a hand-made deformation (bias only: every token the same simplex)', () => {
    const ks = new KSimplexFeatures(4, { seed: 0 });
    // Vertex i moved by b_i: distinct per vertex, not a rigid motion.
    const bias = Array.from({ length: 40 }, (_, j) => 0.3 * Math.sin(1.7 * j + 0.2) - (0.1 * ((j * 7) % 5)) / 5);
    tf.tidy(() => {
      ks.deform.weight.assign(tf.zerosLike(ks.deform.weight));
      ks.deform.bias!.assign(tf.tensor1d(bias));
    });
    const t = templateRows(4, 8);
    const moved = t.map((row, i) => row.map((x, d) => x + Math.fround(bias[i * 8 + d]!)));
    const expected = referenceFeatures(moved);
    const h = tf.ones([1, 2, 4]);
    const got = ks.features(h).arraySync() as number[][][];
    for (const row of got[0]!) {
      for (let p = 0; p < 10; p++) expect(row[p]).toBeCloseTo(expected[p]!, 5);
      expect(Math.abs(row[10]! - expected[10]!)).toBeLessThan(1e-4 * Math.abs(expected[10]!) + 1e-9);
    }
    // And the two float64 forms agree: the CM determinant and geometry's Gram form.
    expect(simplexVolumeSquared(moved)).toBeCloseTo(expected[10]!, 12);
    tf.dispose(h);
    ks.dispose();
  });

  it('matches the reference for a token-dependent deformation, and a collapsed simplex is invalid', () => {
    const ks = new KSimplexFeatures(3, { seed: 5 });
    const h = tf.tensor2d([
      [0.5, -1, 2],
      [0, 0, 0],
    ]);
    const verts = ks.vertices(h).arraySync() as number[][][];
    const got = ks.features(h).arraySync() as number[][];
    verts.forEach((v, n) => {
      const expected = referenceFeatures(v);
      for (let p = 0; p < 10; p++) expect(got[n]![p]).toBeCloseTo(expected[p]!, 4);
      expect(Math.abs(got[n]![10]! - expected[10]!)).toBeLessThan(1e-3 * Math.abs(expected[10]!) + 1e-7);
    });
    // Deformation −T for every token: all five vertices at the origin, V² = 0, validity 0.
    const t = regularSimplexTemplate(4, 8);
    tf.tidy(() => {
      ks.deform.weight.assign(tf.zerosLike(ks.deform.weight));
      ks.deform.bias!.assign(tf.neg(tf.tensor1d(Float32Array.from(t))));
    });
    const out = ks.forward(h);
    expect(out.validity.dataSync()[0]).toBe(0);
    tf.dispose([h, out.update, out.volumeSquared, out.validity]);
    ks.dispose();
  });

  it('is differentiable: every parameter gets a finite gradient', () => {
    const ks = new KSimplexFeatures(8, { seed: 2 });
    const h = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 4);
    const { grads, value } = tf.variableGrads(() => {
      const o = ks.forward(h);
      return tf.add(tf.sum(tf.square(o.update)), tf.sum(o.volumeSquared)) as tf.Scalar;
    }, Object.values(ks.getWeights()));
    // variableGrads keys its result by tf.Variable name.
    for (const [name, v] of Object.entries(ks.getWeights())) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      expect(Array.from(g!.dataSync()).every(Number.isFinite), name).toBe(true);
    }
    expect(tf.norm(grads[ks.deform.weight.name]!).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([h, value, ...Object.values(grads)]);
    ks.dispose();
  });

  it('rejects a wrong width (ShapeError naming h) and bad sizes (InvalidArgumentError)', () => {
    const ks = new KSimplexFeatures(4);
    const x = tf.zeros([2, 5]);
    expect(() => ks.forward(x)).toThrow(ShapeError);
    expect(() => ks.forward(x)).toThrow(/KSimplexFeatures\.forward.*'h'/);
    expect(() => new KSimplexFeatures(0)).toThrow(InvalidArgumentError);
    expect(() => new KSimplexFeatures(4, { k: 4, vertexDim: 4 })).toThrow(/vertexDim/);
    x.dispose();
    ks.dispose();
  });
});
