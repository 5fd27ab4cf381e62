import * as tf from '@tensorflow/tfjs-core';
import { createRng, InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';
import { describe, expect, it } from 'vitest';

import { Constellation } from '../src/constellation.js';
import { Patchwork, type PatchworkActivation } from '../src/patchwork.js';

function randomTensor(rows: number, cols: number, seed: number): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: rows * cols }, () => rng.normal()),
    [rows, cols],
  );
}

/** Float64 reference of one Patchwork, compartment by compartment, from its named weights. */
function reference(p: Patchwork, tri: number[][]): number[][] {
  const tensors = p.stateDict();
  const w: Record<string, unknown> = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.arraySync()]));
  tf.dispose(tensors);
  const n = p.compartments;
  const d = p.compartmentDim;
  return tri.map((row) => {
    const out: number[] = [];
    for (let k = 0; k < n; k++) {
      const input = row.filter((_, a) => a % n === k); // tri[:, k::n]
      const w1 = w[`compartments.${k}.0.weight`] as number[][];
      const b1 = w[`compartments.${k}.0.bias`] as number[];
      const w2 = w[`compartments.${k}.2.weight`] as number[][];
      const b2 = w[`compartments.${k}.2.bias`] as number[];
      const g = w[`compartments.${k}.3.weight`] as number[];
      const beta = w[`compartments.${k}.3.bias`] as number[];
      let h = w1.map((wr, o) => wr.reduce((s, v, i) => s + v * input[i]!, b1[o]!));
      h = h.map((v) => Math.max(v, 0) ** 2);
      if (p.activation === 'star-relu') {
        const s = (w[`compartments.${k}.1.scale`] as number[])[0]!;
        const b = (w[`compartments.${k}.1.bias`] as number[])[0]!;
        h = h.map((v) => s * v + b);
      }
      const y = w2.map((wr, o) => wr.reduce((s, v, i) => s + v * h[i]!, b2[o]!));
      const mean = y.reduce((s, v) => s + v, 0) / d;
      const variance = y.reduce((s, v) => s + (v - mean) ** 2, 0) / d;
      out.push(...y.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * g[i]! + beta[i]!));
    }
    return out;
  });
}

describe('Patchwork', () => {
  it('has output shape [B, nComp·dComp]', () => {
    const p = new Patchwork({ anchors: 12, compartments: 4, compartmentDim: 5 });
    const out = p.apply(tf.ones([3, 12]) as tf.Tensor2D);
    expect(out.shape).toEqual([3, 20]);
    expect(p.outputDim).toBe(20);
    p.dispose();
  });

  for (const activation of ['squared-relu', 'star-relu'] as PatchworkActivation[]) {
    it(`matches a compartment-by-compartment float64 reference (${activation})`, () => {
      const p = new Patchwork({ anchors: 12, compartments: 3, compartmentDim: 4, activation, seed: 2 });
      if (activation === 'star-relu') {
        // Give each compartment its own s and b so the reference checks their placement.
        const w = p.stateDict();
        for (let k = 0; k < 3; k++) {
          w[`compartments.${k}.1.scale`] = tf.tensor1d([0.5 + k]);
          w[`compartments.${k}.1.bias`] = tf.tensor1d([-0.1 * k]);
        }
        p.loadStateDict(w);
      }
      const tri = randomTensor(5, 12, 3);
      expectTensorClose(p.apply(tri), reference(p, tri.arraySync()), { atol: 2e-5, rtol: 1e-4 });
      p.dispose();
    });
  }

  it('round-robin ownership: perturbing column j changes only compartment j % nComp', () => {
    const n = 4;
    const d = 3;
    const p = new Patchwork({ anchors: 16, compartments: n, compartmentDim: d, seed: 1 });
    const tri = randomTensor(2, 16, 5);
    const base = p.apply(tri).arraySync();
    for (let j = 0; j < 16; j++) {
      const bump = tf.mul(tf.oneHot(tf.tensor1d([j], 'int32'), 16), 0.7) as tf.Tensor2D;
      const out = p.apply(tf.add(tri, bump) as tf.Tensor2D).arraySync();
      for (let b = 0; b < 2; b++) {
        for (let k = 0; k < n; k++) {
          const block = (row: number[]) => row.slice(k * d, (k + 1) * d);
          if (k === j % n) expect(block(out[b]!)).not.toEqual(block(base[b]!));
          else expect(block(out[b]!)).toEqual(block(base[b]!));
        }
      }
    }
    p.dispose();
  });

  it('Constellation(64, 128) + Patchwork(8 × 64) has 84,480 parameters (spec §5), paramCount of nn', () => {
    const c = new Constellation({ anchors: 64, dim: 128, init: 'xavier' });
    const p = new Patchwork({ anchors: 64, compartments: 8, compartmentDim: 64 });
    expect(p.paramCount()).toBe(76_288);
    expect(c.paramCount() + p.paramCount()).toBe(84_480);
    const star = new Patchwork({ anchors: 64, compartments: 8, compartmentDim: 64, activation: 'star-relu' });
    expect(star.paramCount()).toBe(76_288 + 16);
    for (const m of [c, p, star]) m.dispose();
  });

  it('initializes like PyTorch nn.Linear / LayerNorm / StarReLU, seeded', () => {
    const p = new Patchwork({ anchors: 32, compartments: 4, compartmentDim: 16, activation: 'star-relu', seed: 7 });
    const w = p.stateDict();
    const maxAbs = (t: tf.Tensor) => tf.max(tf.abs(t)).dataSync()[0]!;
    const apc = 8;
    for (let k = 0; k < 4; k++) {
      expect(maxAbs(w[`compartments.${k}.0.weight`]!)).toBeLessThanOrEqual(1 / Math.sqrt(apc));
      expect(maxAbs(w[`compartments.${k}.0.weight`]!)).toBeGreaterThan(0.8 / Math.sqrt(apc));
      expect(maxAbs(w[`compartments.${k}.0.bias`]!)).toBeLessThanOrEqual(1 / Math.sqrt(apc));
      expect(maxAbs(w[`compartments.${k}.2.weight`]!)).toBeLessThanOrEqual(1 / Math.sqrt(32));
      expect(maxAbs(w[`compartments.${k}.2.weight`]!)).toBeGreaterThan(0.9 / Math.sqrt(32));
      expect(maxAbs(w[`compartments.${k}.2.bias`]!)).toBeLessThanOrEqual(1 / Math.sqrt(32));
      expect(Array.from(w[`compartments.${k}.3.weight`]!.dataSync())).toEqual(new Array(16).fill(1));
      expect(Array.from(w[`compartments.${k}.3.bias`]!.dataSync())).toEqual(new Array(16).fill(0));
      expectTensorClose(w[`compartments.${k}.1.scale`]!, [0.8944], { atol: 1e-7 });
      expectTensorClose(w[`compartments.${k}.1.bias`]!, [-0.4472], { atol: 1e-7 });
    }
    const q = new Patchwork({ anchors: 32, compartments: 4, compartmentDim: 16, activation: 'star-relu', seed: 7 });
    const again = q.stateDict();
    for (const name of Object.keys(w)) expect(again[name]!.arraySync()).toEqual(w[name]!.arraySync());
    const r = new Patchwork({ anchors: 32, compartments: 4, compartmentDim: 16, seed: 8 });
    const other = r.stateDict();
    expect(other['compartments.0.0.weight']!.arraySync()).not.toEqual(w['compartments.0.0.weight']!.arraySync());
    expect(w['compartments.1.0.weight']!.arraySync()).not.toEqual(w['compartments.0.0.weight']!.arraySync());
    tf.dispose([w, again, other]);
    for (const m of [p, q, r]) m.dispose();
  });

  it('names its weights as the PyTorch module, with PyTorch shapes', () => {
    const p = new Patchwork({ anchors: 6, compartments: 2, compartmentDim: 4, activation: 'star-relu' });
    const w = p.stateDict();
    expect(
      Object.fromEntries(
        Object.entries(w)
          .filter(([k]) => k.startsWith('compartments.1.'))
          .map(([k, t]) => [k, t.shape]),
      ),
    ).toEqual({
      'compartments.1.0.weight': [8, 3],
      'compartments.1.0.bias': [8],
      'compartments.1.1.scale': [1],
      'compartments.1.1.bias': [1],
      'compartments.1.2.weight': [4, 8],
      'compartments.1.2.bias': [4],
      'compartments.1.3.weight': [4],
      'compartments.1.3.bias': [4],
    });
    expect(Object.keys(w)).toHaveLength(16);
    tf.dispose(w);
    p.dispose();
  });

  for (const activation of ['squared-relu', 'star-relu'] as PatchworkActivation[]) {
    it(`gradients reach every variable, and the constellation behind it (${activation})`, () => {
      const c = new Constellation({ anchors: 16, dim: 8, seed: 3, repulsionSteps: 10 });
      const p = new Patchwork({ anchors: 16, compartments: 4, compartmentDim: 6, activation, seed: 4 });
      const x = randomTensor(6, 8, 1);
      const target = randomTensor(6, 24, 2);
      const variables = [...c.trainableVariables, ...p.trainableVariables];
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(p.apply(c.triangulate(x)), target)) as tf.Scalar,
        variables,
      );
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Object.keys(grads)).toHaveLength(variables.length);
      for (const v of variables) {
        const g = grads[v.name]!;
        expect(g.shape).toEqual(v.shape);
        const data = g.dataSync();
        expect(Array.from(data).every(Number.isFinite)).toBe(true);
        expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
      }
      tf.dispose(grads);
      c.dispose();
      p.dispose();
    });
  }

  it('throws typed errors', () => {
    expect(() => new Patchwork({ anchors: 10, compartments: 4 })).toThrow(InvalidArgumentError);
    expect(() => new Patchwork({ anchors: 10, compartments: 4 })).toThrow(
      /Patchwork: 'anchors' must be divisible by compartments=4/,
    );
    expect(() => new Patchwork({ anchors: 8, activation: 'gelu' as never })).toThrow(/'activation' must be one of/);
    const p = new Patchwork({ anchors: 64, compartments: 8, compartmentDim: 4 });
    expect(() => p.apply(tf.zeros([2, 63]) as tf.Tensor2D)).toThrow(ShapeError);
    expect(() => p.apply(tf.zeros([2, 63]) as tf.Tensor2D)).toThrow(
      "Patchwork.apply: 'tri' must have shape [B, K=64], got [2, 63]",
    );
    expect(() => p.loadStateDict({})).toThrow(/has no key 'compartments.0.0.weight'/);
    const w = p.stateDict();
    w['compartments.3.2.weight'] = tf.zeros([4, 7]);
    expect(() => p.loadStateDict(w)).toThrow(
      "Patchwork.loadStateDict: 'dict['compartments.3.2.weight']' must have shape [4, 8], got [4, 7]",
    );
    p.dispose();
  });

  it('leaks no tensors', () => {
    const p = new Patchwork({ anchors: 8, compartments: 2, compartmentDim: 3, activation: 'star-relu' });
    const tri = randomTensor(3, 8, 1);
    const before = tf.memory().numTensors;
    const out = p.apply(tri);
    expect(tf.memory().numTensors).toBe(before + 1);
    out.dispose();
    const w = p.stateDict();
    expect(tf.memory().numTensors).toBe(before + 16);
    p.loadStateDict(w);
    tf.dispose(w);
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
    expect(tf.memory().numTensors).toBe(before - 8);
  });
});
