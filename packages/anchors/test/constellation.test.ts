import * as tf from '@tensorflow/tfjs-core';
import { createRng, InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';
import { beforeAll, describe, expect, it } from 'vitest';

import { Constellation } from '../src/constellation.js';

const SQRT1_2 = Math.SQRT1_2;

function randomTensor(rows: number, cols: number, seed: number): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: rows * cols }, () => rng.normal()),
    [rows, cols],
  );
}

describe('Constellation', () => {
  it('triangulate is 1 − cos on hand-made cases', () => {
    const c = Constellation.fromAnchors([
      [1, 0],
      [0, 1],
    ]);
    const tri = c.triangulate(
      tf.tensor2d([
        [1, 0],
        [0, 1],
        [-1, 0],
        [SQRT1_2, SQRT1_2],
      ]),
    );
    expectTensorClose(
      tri,
      [
        [0, 1],
        [1, 0],
        [2, 1],
        [1 - SQRT1_2, 1 - SQRT1_2],
      ],
      { atol: 1e-6 },
    );
    c.dispose();
  });

  it('normalizes inputs and anchors on use', () => {
    const c = Constellation.fromAnchors([
      [3, 0, 0],
      [0, 0, 0.5],
    ]);
    expectTensorClose(
      c.triangulate(
        tf.tensor2d([
          [5, 0, 0],
          [3, 0, 3],
        ]),
      ),
      [
        [0, 1],
        [1 - SQRT1_2, 1 - SQRT1_2],
      ],
      { atol: 1e-6 },
    );
    expectTensorClose(
      c.normalizedAnchors(),
      [
        [1, 0, 0],
        [0, 0, 1],
      ],
      { atol: 1e-7 },
    );
    c.dispose();
  });

  it('a zero row triangulates to 1 everywhere', () => {
    const c = new Constellation({ anchors: 5, dim: 4, seed: 1, repulsionSteps: 5 });
    expectTensorClose(c.triangulate(tf.zeros([1, 4]) as tf.Tensor2D), [[1, 1, 1, 1, 1]], { atol: 0 });
    c.dispose();
  });

  it('a NaN row leaves the other rows unchanged', () => {
    const c = new Constellation({ anchors: 8, dim: 6, seed: 2, repulsionSteps: 5 });
    const x = randomTensor(4, 6, 7);
    const values = x.arraySync();
    values[2] = [1, NaN, 0, 0, 0, 0];
    const clean = c.triangulate(x).arraySync();
    const dirty = c.triangulate(tf.tensor2d(values)).arraySync();
    expect(dirty[2]!.every((v) => Number.isNaN(v))).toBe(true);
    for (const row of [0, 1, 3]) expect(dirty[row]).toEqual(clean[row]);
    c.dispose();
  });

  it('checks shapes and dtypes with messages naming the method and x', () => {
    const c = new Constellation({ anchors: 4, dim: 16, init: 'orthogonal' });
    expect(() => c.triangulate(tf.zeros([4, 8]) as tf.Tensor2D)).toThrow(ShapeError);
    expect(() => c.triangulate(tf.zeros([4, 8]) as tf.Tensor2D)).toThrow(
      "Constellation.triangulate: 'x' must have shape [B, D=16], got [4, 8]",
    );
    expect(() => c.triangulate(tf.zeros([16]) as never)).toThrow(
      "Constellation.triangulate: 'x' must have shape [B, D=16], got [16]",
    );
    expect(() => c.nearest(tf.zeros([2, 3]) as tf.Tensor2D)).toThrow(
      "Constellation.nearest: 'x' must have shape [B, D=16], got [2, 3]",
    );
    expect(() => c.cosine(tf.zeros([2, 3]) as tf.Tensor2D)).toThrow(/Constellation.cosine: 'x'/);
    expect(() => c.softAssign(tf.zeros([2, 3]) as tf.Tensor2D)).toThrow(/Constellation.softAssign: 'x'/);
    expect(() => c.triangulate(tf.zeros([2, 16], 'int32') as tf.Tensor2D)).toThrow(InvalidArgumentError);
    expect(() => c.triangulate(tf.zeros([2, 16], 'int32') as tf.Tensor2D)).toThrow(
      /'x' must have dtype float32, got int32/,
    );
    expect(() => c.triangulate([[1]] as never)).toThrow(/'x' must be a tf.Tensor/);
    c.dispose();
  });

  it('refuses fewer than 2 anchors and bad options', () => {
    expect(() => new Constellation({ anchors: 1, dim: 4 })).toThrow(InvalidArgumentError);
    expect(() => new Constellation({ anchors: 1, dim: 4 })).toThrow(
      /Constellation: 'anchors' must be an integer >= 2, got 1/,
    );
    expect(() => new Constellation({ anchors: 4, dim: 0 })).toThrow(/'dim'/);
    expect(() => new Constellation({ anchors: 4, dim: 4, dropout: 1.5 })).toThrow(/'dropout'/);
    expect(() => new Constellation({ anchors: 4, dim: 4, dropoutMode: 'drop' as never })).toThrow(/'dropoutMode'/);
    expect(() => Constellation.fromAnchors([[1, 0]])).toThrow(ShapeError);
    expect(() =>
      Constellation.fromAnchors([
        [1, NaN],
        [0, 1],
      ]),
    ).toThrow(NonFiniteError);
  });

  it('orthogonal init gives orthonormal rows when K <= D', () => {
    const c = new Constellation({ anchors: 16, dim: 32, init: 'orthogonal', seed: 4 });
    const a = c.normalizedAnchors();
    expectTensorClose(tf.matMul(a, a, false, true), tf.eye(16), { atol: 2e-6 });
    c.dispose();
  });

  it('init is seeded', () => {
    const a = new Constellation({ anchors: 8, dim: 4, seed: 9, repulsionSteps: 10 });
    const b = new Constellation({ anchors: 8, dim: 4, seed: 9, repulsionSteps: 10 });
    const c = new Constellation({ anchors: 8, dim: 4, seed: 10, repulsionSteps: 10 });
    expect(a.anchors.arraySync()).toEqual(b.anchors.arraySync());
    expect(a.anchors.arraySync()).not.toEqual(c.anchors.arraySync());
    for (const m of [a, b, c]) m.dispose();
  });

  describe('anchor dropout', () => {
    let x: tf.Tensor2D;
    beforeAll(() => {
      x = randomTensor(3, 8, 11);
    });

    it('keeps at least 2 anchors even with p = 0.999, over many seeds', () => {
      for (let seed = 0; seed < 200; seed++) {
        const c = new Constellation({ anchors: 16, dim: 8, seed, dropout: 0.999, init: 'xavier' });
        const { tri, keep } = c.triangulateWithDropout(x, { training: true });
        const kept = keep.reduce((s, k) => s + k, 0);
        expect(kept).toBeGreaterThanOrEqual(2);
        expect(c.lastKeep).toEqual(keep);
        tri.dispose();
        c.dispose();
      }
    });

    it('p = 1 keeps exactly 2 anchors', () => {
      const c = new Constellation({ anchors: 10, dim: 8, init: 'xavier', dropout: 1 });
      const { keep, tri } = c.triangulateWithDropout(x, { training: true });
      expect(keep.reduce((s, k) => s + k, 0)).toBe(2);
      tri.dispose();
      c.dispose();
    });

    it('masks only in training, and zeroes exactly the dropped columns (mode mask)', () => {
      const c = new Constellation({ anchors: 32, dim: 8, init: 'xavier', dropout: 0.5, seed: 3 });
      const plain = c.triangulate(x).arraySync();
      expect(c.lastKeep).toEqual(new Uint8Array(32).fill(1));
      expect(c.triangulate(x, { training: false }).arraySync()).toEqual(plain);
      const { tri, keep, anchorIds } = c.triangulateWithDropout(x, { training: true });
      expect(tri.shape).toEqual([3, 32]);
      expect(Array.from(anchorIds)).toEqual(Array.from({ length: 32 }, (_, a) => a));
      const kept = keep.reduce((s, k) => s + k, 0);
      expect(kept).toBeGreaterThan(4);
      expect(kept).toBeLessThan(28);
      const masked = tri.arraySync();
      for (let b = 0; b < 3; b++) for (let a = 0; a < 32; a++) expect(masked[b]![a]).toBe(keep[a] ? plain[b]![a] : 0);
      c.dispose();
    });

    it('drops a fraction close to p', () => {
      const c = new Constellation({ anchors: 2000, dim: 8, init: 'xavier', dropout: 0.3, seed: 5 });
      const { tri, keep } = c.triangulateWithDropout(x, { training: true });
      const dropped = keep.reduce((s, k) => s + (1 - k), 0) / 2000;
      expect(Math.abs(dropped - 0.3)).toBeLessThan(0.05);
      tri.dispose();
      c.dispose();
    });

    it('mode subset returns the kept columns and their anchor ids', () => {
      const c = new Constellation({
        anchors: 24,
        dim: 8,
        init: 'xavier',
        dropout: 0.5,
        dropoutMode: 'subset',
        seed: 8,
      });
      const plain = c.triangulate(x).arraySync();
      const { tri, keep, anchorIds } = c.triangulateWithDropout(x, { training: true });
      const ids = Array.from(keep.keys()).filter((a) => keep[a]);
      expect(Array.from(anchorIds)).toEqual(ids);
      expect(tri.shape).toEqual([3, ids.length]);
      const sub = tri.arraySync();
      for (let b = 0; b < 3; b++) ids.forEach((a, col) => expect(sub[b]![col]).toBe(plain[b]![a]));
      c.dispose();
    });

    it('per-call dropout and rng override the defaults', () => {
      const c = new Constellation({ anchors: 40, dim: 8, init: 'xavier' });
      const none = c.triangulateWithDropout(x, { training: true });
      expect(none.keep.every((k) => k === 1)).toBe(true);
      const a = c.triangulateWithDropout(x, { training: true, dropout: 0.5, rng: createRng(1) });
      const b = c.triangulateWithDropout(x, { training: true, dropout: 0.5, rng: createRng(1) });
      expect(a.keep).toEqual(b.keep);
      expect(a.keep.some((k) => k === 0)).toBe(true);
      expect(() => c.triangulate(x, { training: true, dropout: -0.1 })).toThrow(/Constellation.triangulate: 'dropout'/);
      tf.dispose([none.tri, a.tri, b.tri]);
      c.dispose();
    });
  });

  it('nearest is argmax cos, and skips dropped anchors with a keep mask', () => {
    const c = Constellation.fromAnchors([
      [1, 0],
      [0, 1],
      [-1, 0],
    ]);
    const x = tf.tensor2d([
      [0.2, 0.9],
      [0.9, 0.1],
      [-1, 0.2],
    ]);
    const ids = c.nearest(x);
    expect(ids.dtype).toBe('int32');
    expect(ids.shape).toEqual([3]);
    expect(Array.from(ids.dataSync())).toEqual([1, 0, 2]);
    expect(Array.from(c.nearest(x, { keep: [1, 0, 1] }).dataSync())).toEqual([0, 0, 2]);
    expect(Array.from(c.nearest(x, { keep: [false, true, false] }).dataSync())).toEqual([1, 1, 1]);
    expect(() => c.nearest(x, { keep: [0, 0, 0] })).toThrow(/'keep' must keep at least one anchor/);
    expect(() => c.nearest(x, { keep: [1, 1] })).toThrow(/'keep' must have K=3 entries, got 2/);
    c.dispose();
  });

  it('softAssign is softmax(cos / τ)', () => {
    const c = Constellation.fromAnchors([
      [1, 0],
      [0, 1],
    ]);
    const x = tf.tensor2d([
      [1, 0],
      [SQRT1_2, SQRT1_2],
    ]);
    const e = Math.E;
    expectTensorClose(
      c.softAssign(x, { temperature: 1 }),
      [
        [e / (e + 1), 1 / (e + 1)],
        [0.5, 0.5],
      ],
      { atol: 1e-6 },
    );
    const sharp = c.softAssign(x); // τ = 0.1: softmax([10, 0])
    expectTensorClose(
      sharp,
      [
        [1 / (1 + Math.exp(-10)), Math.exp(-10) / (1 + Math.exp(-10))],
        [0.5, 0.5],
      ],
      { atol: 1e-6 },
    );
    expect(() => c.softAssign(x, { temperature: 0 })).toThrow(/'temperature'/);
    expectTensorClose(
      c.cosine(x),
      [
        [1, 0],
        [SQRT1_2, SQRT1_2],
      ],
      { atol: 1e-6 },
    );
    c.dispose();
  });

  it('saveHome snapshots the normalized anchors', () => {
    const c = Constellation.fromAnchors([
      [2, 0],
      [0, 3],
    ]);
    expect(c.home).toBeNull();
    c.saveHome();
    c.anchors.assign(
      tf.tensor2d([
        [1, 1],
        [0, 1],
      ]),
    );
    expectTensorClose(
      c.home!,
      [
        [1, 0],
        [0, 1],
      ],
      { atol: 0 },
    );
    const n = tf.memory().numTensors;
    c.saveHome(); // replaces and disposes the old snapshot
    expect(tf.memory().numTensors).toBe(n);
    expectTensorClose(
      c.home!,
      [
        [SQRT1_2, SQRT1_2],
        [0, 1],
      ],
      { atol: 1e-7 },
    );
    c.dispose();
  });

  it('gradients reach the anchors variable', () => {
    const c = new Constellation({ anchors: 6, dim: 4, seed: 1, repulsionSteps: 5 });
    const x = randomTensor(5, 4, 2);
    const weights = randomTensor(5, 6, 3);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(c.triangulate(x), weights)) as tf.Scalar,
      c.trainableVariables,
    );
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const g = grads[c.anchors.name]!;
    expect(g.shape).toEqual([6, 4]);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(1e-4);
    c.dispose();
  });

  it('leaks no tensors: every method returns exactly one', () => {
    const c = new Constellation({ anchors: 12, dim: 8, seed: 1, dropout: 0.3, repulsionSteps: 5 });
    const s = new Constellation({
      anchors: 12,
      dim: 8,
      seed: 1,
      dropout: 0.3,
      dropoutMode: 'subset',
      repulsionSteps: 5,
    });
    const x = randomTensor(4, 8, 1);
    const calls: (() => tf.Tensor)[] = [
      () => c.triangulate(x),
      () => c.triangulate(x, { training: true }),
      () => s.triangulate(x, { training: true }),
      () => c.triangulateWithDropout(x, { training: true }).tri,
      () => c.nearest(x),
      () => c.nearest(x, { keep: new Array(12).fill(1) }),
      () => c.cosine(x),
      () => c.softAssign(x),
      () => c.normalizedAnchors(),
    ];
    for (const call of calls) {
      const before = tf.memory().numTensors;
      const out = call();
      expect(tf.memory().numTensors).toBe(before + 1);
      out.dispose();
    }
    const before = tf.memory().numTensors;
    const w = c.stateDict();
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose(w);
    c.dispose();
    s.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before - 3);
  });

  it('paramCount and trainableVariables', () => {
    const c = new Constellation({ anchors: 64, dim: 128, init: 'xavier' });
    expect(c.paramCount()).toBe(8192);
    expect(c.trainableVariables).toHaveLength(1);
    expect(c.trainableVariables[0]!.trainable).toBe(true);
    expect(c.config).toEqual({ anchors: 64, dim: 128, dropout: 0, dropoutMode: 'mask' });
    c.dispose();
  });

  it('loadStateDict validates names and shapes', () => {
    const c = new Constellation({ anchors: 4, dim: 3, init: 'xavier' });
    expect(() => c.loadStateDict({ anchors: tf.zeros([4, 2]) })).toThrow(
      "Constellation.loadStateDict: 'dict['anchors']' must have shape [4, 3], got [4, 2]",
    );
    expect(() => c.loadStateDict({ anchors: tf.zeros([4, 3]), extra: tf.zeros([1]) })).toThrow(
      /unexpected key 'extra'/,
    );
    expect(() => c.loadStateDict({ home: tf.zeros([4, 3]) })).toThrow(/has no key 'anchors'/);
    c.dispose();
  });

  describe('fromData', () => {
    // Three classes around e0, e1 and (e0 + e2)/√2 in R^6.
    const centers = [
      [1, 0, 0, 0, 0, 0],
      [0, 1, 0, 0, 0, 0],
      [SQRT1_2, 0, SQRT1_2, 0, 0, 0],
    ];
    const rng = createRng(12);
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let n = 0; n < 60; n++) {
      const label = [7, 3, 11][n % 3]!; // arbitrary label values; classes sort to 3, 7, 11
      const center = centers[[7, 3, 11].indexOf(label)]!;
      rows.push(center.map((v) => 2 * (v + 0.05 * rng.normal())));
      labels.push(label);
    }

    function expectedCentroid(label: number): number[] {
      const sum = new Array(6).fill(0);
      rows.forEach((row, n) => {
        if (labels[n] !== label) return;
        const norm = Math.hypot(...row);
        row.forEach((v, d) => (sum[d] += v / norm));
      });
      const norm = Math.hypot(...sum);
      return sum.map((v) => v / norm);
    }

    it('puts class centroids first (ascending labels), then confused-pair midpoints, then repulsion fill', () => {
      const c = Constellation.fromData(tf.tensor2d(rows), labels, { anchors: 10, confusedPairs: 1, seed: 1 });
      const a = c.anchors.arraySync();
      const cents = [3, 7, 11].map(expectedCentroid);
      cents.forEach((cent, k) => a[k]!.forEach((v, d) => expect(v).toBeCloseTo(cent[d]!, 5)));
      // The most confused pair is classes 7 (≈ e0) and 11 (≈ (e0 + e2)/√2), cosine ≈ 0.71.
      const mid = cents[1]!.map((v, d) => v + cents[2]![d]!);
      const norm = Math.hypot(...mid);
      a[3]!.forEach((v, d) => expect(v).toBeCloseTo(mid[d]! / norm, 5));
      for (const row of a) expect(Math.hypot(...row)).toBeCloseTo(1, 5);
      c.dispose();
    });

    it('defaults to min(C, K − C, C(C−1)/2) pairs and accepts Matrix-like input', () => {
      const c = Constellation.fromData(rows, Int32Array.from(labels), { anchors: 5, seed: 2 });
      expect(c.numAnchors).toBe(5);
      expect(c.dim).toBe(6);
      c.dispose();
    });

    it('throws typed errors', () => {
      expect(() => Constellation.fromData(rows, labels, { anchors: 2 })).toThrow(
        /Constellation.fromData: 'anchors' must be at least the number of classes C=3, got 2/,
      );
      expect(() => Constellation.fromData(rows, labels.slice(1), { anchors: 8 })).toThrow(ShapeError);
      expect(() => Constellation.fromData(rows, labels.slice(1), { anchors: 8 })).toThrow(
        "Constellation.fromData: 'labels' must have shape [N=60], got [59]",
      );
      expect(() => Constellation.fromData(rows, labels, { anchors: 8, confusedPairs: 4 })).toThrow(/'confusedPairs'/);
      expect(() =>
        Constellation.fromData(
          rows,
          labels.map((l) => l + 0.5),
          { anchors: 8 },
        ),
      ).toThrow(/'labels' must hold integers/);
      const bad = rows.map((r) => [...r]);
      bad[4]![2] = NaN;
      expect(() => Constellation.fromData(bad, labels, { anchors: 8 })).toThrow(NonFiniteError);
    });
  });
});
