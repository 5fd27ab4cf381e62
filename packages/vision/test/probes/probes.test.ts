// The baselines on frozen features: the linear probe and the cosine k-NN on hand-made sets whose accuracies are
// known exactly, the neighbour search against a float64 brute force, and the errors.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, createRng } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { cosineNeighbors, fitKnnClassifier, fitLinearProbe, knnVote } from '../../src/index.js';
import type { LabeledFeatures, Neighbors } from '../../src/index.js';

/** Unit vectors in the plane at `degrees`, with their labels. */
function atAngles(points: [degrees: number, label: number][]): LabeledFeatures {
  const x = new Float32Array(points.length * 2);
  points.forEach(([deg], i) => {
    x[2 * i] = Math.cos((deg * Math.PI) / 180);
    x[2 * i + 1] = Math.sin((deg * Math.PI) / 180);
  });
  return { x, labels: points.map(([, y]) => y) };
}

describe('fitLinearProbe', () => {
  // Three classes in three directions of the plane (0°, 120°, 240°) ± 15°, at several radii (normalized away).
  const cls = (n: number, jitter: number) =>
    Array.from({ length: n }, (_, i) => [120 * (i % 3) + jitter * ((i % 7) - 3), i % 3] as [number, number]);
  const train = atAngles(cls(30, 5));
  train.x.forEach((v, i) => (train.x[i] = v * (1 + (Math.floor(i / 2) % 5)))); // row lengths 1…5
  const val = atAngles(cls(9, 4));
  // The test set: 8 correctly labelled points and one labelled as the wrong class → exactly 8/9.
  const test = atAngles([...cls(8, 3), [10, 2]]);

  it('separates three linearly separable classes: validation 1, test exactly 8/9 (one test label is wrong)', async () => {
    const probe = await fitLinearProbe(train, val, { dim: 2, classes: 3, steps: 60, evalEvery: 20 });
    expect(probe.valAccuracy).toBe(1);
    expect(probe.history.map((h) => h.step)).toEqual([20, 40, 60]);
    // The kept step is the first with the best validation accuracy.
    expect(probe.step).toBe(probe.history.find((h) => h.valAccuracy === 1)!.step);
    expect(probe.accuracy(test)).toBe(8 / 9);
    expect(Array.from(probe.predict(test.x))).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 0]);
    // scores: [9·3] logits whose argmax is the prediction.
    const scores = probe.scores(test.x);
    expect(scores).toHaveLength(9 * 3);
    const argmax = Array.from({ length: 9 }, (_, i) => {
      const row = Array.from(scores.subarray(3 * i, 3 * i + 3));
      return row.indexOf(Math.max(...row));
    });
    expect(argmax).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 0]);
  });

  it('holds no tensors after it returns', async () => {
    const before = tf.memory().numTensors;
    await fitLinearProbe(train, val, { dim: 2, classes: 3, steps: 5, evalEvery: 5 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad options and splits, naming the argument', async () => {
    await expect(fitLinearProbe(train, val, { dim: 0, classes: 3 })).rejects.toThrow(
      /fitLinearProbe: 'options.dim' must be a positive integer, got 0/,
    );
    await expect(fitLinearProbe(train, val, { dim: 2, classes: 3, steps: 1.5 })).rejects.toThrow(/'options.steps'/);
    await expect(fitLinearProbe(train, val, { dim: 2, classes: 3, lr: 0 })).rejects.toThrow(/'options.lr' must be > 0/);
    await expect(fitLinearProbe(train, { x: val.x, labels: [0, 1] }, { dim: 2, classes: 3 })).rejects.toThrow(
      ShapeError,
    );
    await expect(fitLinearProbe(train, { x: val.x, labels: [0, 1] }, { dim: 2, classes: 3 })).rejects.toThrow(
      /'val.x' must have shape \[4\], got \[18\]/,
    );
    const bad = { x: train.x, labels: Array.from(train.labels, (y, i) => (i === 4 ? 3 : y)) };
    await expect(fitLinearProbe(bad, val, { dim: 2, classes: 3 })).rejects.toThrow(
      /'train.labels' \[4\] must be an integer in \[0, 3\), got 3/,
    );
  });
});

describe('cosine k-NN', () => {
  // Class 0 at 0…30°, class 1 at 90…120° and one class-1 outlier at 6°, next to class 0.
  const train = atAngles([
    [0, 0],
    [10, 0],
    [20, 0],
    [30, 0],
    [90, 1],
    [100, 1],
    [110, 1],
    [120, 1],
    [6, 1],
  ]);
  // 4° is nearest to the outlier (k = 1 gets it wrong), 97° is class 1 for every k.
  const val = atAngles([
    [4, 0],
    [97, 1],
  ]);
  // Right with k = 3: 2° → {0°, 6°, 10°}, 113°, 45°, 62° → {90°, 30°, 100°}; 12° is labelled 1 but lies in class 0.
  const test = atAngles([
    [2, 0],
    [113, 1],
    [45, 0],
    [62, 1],
    [12, 1],
  ]);

  it('chooses k on the validation split (k = 1: 1/2, k = 3 and 5: 2/2 → the smaller, 3) and scores the test 4/5', async () => {
    const knn = await fitKnnClassifier(train, val, { dim: 2, classes: 2, ks: [5, 1, 3] });
    expect(knn.validation).toEqual([
      { k: 1, accuracy: 0.5 },
      { k: 3, accuracy: 1 },
      { k: 5, accuracy: 1 },
    ]);
    expect(knn.k).toBe(3);
    expect(knn.valAccuracy).toBe(1);
    expect(Array.from(await knn.predict(test.x))).toEqual([0, 1, 0, 1, 0]);
    expect(await knn.accuracy(test)).toBe(4 / 5);
    // scores: the vote shares of the k = 3 neighbours plus 1e-3·(k − j)/k for the class of the j-th (nearest first).
    // 2° → 0° (class 0), 6° (class 1), 10° (class 0); 113° → 110°, 120°, 100° (all class 1).
    const scores = await knn.scores(test.x);
    expect(scores).toHaveLength(5 * 2);
    expect(scores[0]).toBeCloseTo(2 / 3 + 1e-3, 6);
    expect(scores[1]).toBeCloseTo(1 / 3 + (1e-3 * 2) / 3, 6);
    expect(scores[2]).toBe(0);
    expect(scores[3]).toBeCloseTo(1 + 1e-3, 6);
  });

  it('defaults to the k of its list that the training rows allow', async () => {
    const knn = await fitKnnClassifier(train, val, { dim: 2, classes: 2 });
    expect(knn.validation.map((v) => v.k)).toEqual([1, 3, 5, 7, 9]);
  });

  it('breaks a tied vote toward the class of the nearest neighbour', () => {
    const neighbors: Neighbors = {
      k: 4,
      indices: Int32Array.from([2, 0, 1, 3, 0, 2, 3, 1]),
      similarities: new Float32Array(8),
    };
    const labels = [0, 1, 1, 0];
    expect(Array.from(knnVote(neighbors, labels, 2, 2))).toEqual([1, 0]); // 1–1 ties: the first neighbour's class
    expect(Array.from(knnVote(neighbors, labels, 3, 2))).toEqual([1, 0]); // 2–1 majorities
    expect(() => knnVote(neighbors, labels, 5, 2)).toThrow(/knnVote: 'k' must be an integer in \[1, 4\], got 5/);
    expect(() => knnVote(neighbors, [0, 1, 7, 0], 1, 2)).toThrow(/'labels' \[2\] must be an integer in \[0, 2\)/);
  });

  it('finds the same neighbours as a float64 brute force, in blocks, and votes as it would', async () => {
    const rng = createRng(5);
    const dim = 16;
    const n = 200;
    const q = 37;
    const k = 7;
    const reference = Float32Array.from({ length: n * dim }, () => rng.normal());
    const queries = Float32Array.from({ length: q * dim }, () => rng.normal());
    const labels = Array.from({ length: n }, (_, i) => (i * 7) % 5);
    const got = await cosineNeighbors(reference, queries, dim, k, { blockRows: 10 });
    const norm = (x: Float32Array, i: number) => Math.hypot(...x.subarray(i * dim, (i + 1) * dim));
    for (let i = 0; i < q; i++) {
      const sims = Array.from({ length: n }, (_, r) => {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += queries[i * dim + j]! * reference[r * dim + j]!;
        return { r, sim: dot / (norm(queries, i) * norm(reference, r)) };
      }).sort((a, b) => b.sim - a.sim || a.r - b.r);
      expect(Array.from(got.indices.subarray(i * k, (i + 1) * k))).toEqual(sims.slice(0, k).map((s) => s.r));
      sims.slice(0, k).forEach((s, j) => expect(got.similarities[i * k + j]).toBeCloseTo(s.sim, 5));
      // The vote of the brute-force list (majority; ties to the nearest).
      const top = sims.slice(0, 5).map((s) => labels[s.r]!);
      const count = (c: number) => top.filter((t) => t === c).length;
      const best = Math.max(...top.map(count));
      expect(knnVote(got, labels, 5, 5)[i]).toBe(top.find((c) => count(c) === best));
    }
  });

  it('refuses bad arguments, naming them', async () => {
    await expect(cosineNeighbors(new Float32Array(6), new Float32Array(4), 2, 4)).rejects.toThrow(
      /cosineNeighbors: 'k' must be an integer in \[1, N = 3\], got 4/,
    );
    await expect(cosineNeighbors(new Float32Array(5), new Float32Array(4), 2, 1)).rejects.toThrow(ShapeError);
    await expect(fitKnnClassifier(train, val, { dim: 2, classes: 2, ks: [3, 10] })).rejects.toThrow(
      /fitKnnClassifier: 'options.ks\[1\]' must be an integer in \[1, 9\], got 10/,
    );
    await expect(fitKnnClassifier(train, val, { dim: 2, classes: 2, ks: [] })).rejects.toThrow(InvalidArgumentError);
  });
});
