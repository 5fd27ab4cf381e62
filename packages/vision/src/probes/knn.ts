/**
 * A cosine k-nearest-neighbour classifier on frozen feature rows, k chosen on a validation split: the baseline that
 * needs no training at all.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';

import { accuracyOf, checkRows, checkSizes, checkSplit, unitRows } from './features.js';
import type { LabeledFeatures } from './features.js';

/** The k most similar reference rows of every query row. */
export interface Neighbors {
  /** Neighbours per query row. */
  k: number;
  /** `[Q·k]` reference row indices, most similar first. */
  indices: Int32Array;
  /** `[Q·k]` their cosine similarities, descending per row. */
  similarities: Float32Array;
}

/**
 * The `k` reference rows of highest cosine similarity to each query row.
 *
 *     sim(q, r) = ⟨q/‖q‖, r/‖r‖⟩      (a zero row has similarity 0 to every row)
 *
 * @param reference - `[N·dim]` rows searched.
 * @param queries - `[Q·dim]` rows whose neighbours are wanted.
 * @param options.blockRows - query rows per block: each block is one `[blockRows, N]` matmul and `tf.topk`.
 *   Default 256.
 * @throws {InvalidArgumentError} `dim` or `k` not a positive integer, or `k` > N.
 * @throws {ShapeError} `reference` or `queries` not whole rows of `dim`.
 *
 * @remarks
 * - O(Q·N·dim) on the active backend, in float32; equal similarities are ordered by `tf.topk` (on cpu: the lower
 *   index first).
 * - Holds no tensors after it returns; `[blockRows·N]` floats are alive at a time.
 */
export async function cosineNeighbors(
  reference: Float32Array,
  queries: Float32Array,
  dim: number,
  k: number,
  options: { blockRows?: number } = {},
): Promise<Neighbors> {
  const op = 'cosineNeighbors';
  const { blockRows = 256 } = options;
  checkSizes(op, dim, 1);
  const n = checkRows(op, 'reference', reference, dim);
  const q = checkRows(op, 'queries', queries, dim);
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new InvalidArgumentError(op, 'k', `must be an integer in [1, N = ${n}], got ${String(k)}`);
  if (!Number.isInteger(blockRows) || blockRows < 1)
    throw new InvalidArgumentError(op, 'options.blockRows', `must be a positive integer, got ${String(blockRows)}`);
  const indices = new Int32Array(q * k);
  const similarities = new Float32Array(q * k);
  const ref = tf.tensor2d(unitRows(reference, dim), [n, dim]);
  const unitQueries = unitRows(queries, dim);
  try {
    for (let start = 0; start < q; start += blockRows) {
      const rows = Math.min(blockRows, q - start);
      const block = unitQueries.subarray(start * dim, (start + rows) * dim);
      const { values, indices: idx } = tf.tidy(() =>
        tf.topk(tf.matMul(tf.tensor2d(block, [rows, dim]), ref, false, true), k, true),
      );
      try {
        similarities.set((await values.data()) as Float32Array, start * k);
        indices.set((await idx.data()) as Int32Array, start * k);
      } finally {
        tf.dispose([values, idx]);
      }
    }
  } finally {
    ref.dispose();
  }
  return { k, indices, similarities };
}

/**
 * Majority vote among the first `k` neighbours of every row. A tie between classes goes to the tied class whose
 * member comes first in the neighbour order (the nearest).
 *
 * @param labels - `[N]` classes of the reference rows that `neighbors.indices` point into.
 * @returns `[Q]` the voted class per query row.
 * @throws {InvalidArgumentError} `k` not in [1, neighbors.k], or a neighbour's label not an integer in [0, classes).
 */
export function knnVote(neighbors: Neighbors, labels: ArrayLike<number>, k: number, classes: number): Int32Array {
  if (!Number.isInteger(k) || k < 1 || k > neighbors.k)
    throw new InvalidArgumentError('knnVote', 'k', `must be an integer in [1, ${neighbors.k}], got ${String(k)}`);
  const stride = neighbors.k;
  const q = neighbors.indices.length / stride;
  const out = new Int32Array(q);
  const votes = new Int32Array(classes);
  for (let i = 0; i < q; i++) {
    votes.fill(0);
    let top = 0;
    for (let j = 0; j < k; j++) {
      const r = neighbors.indices[i * stride + j]!;
      const c = labels[r]!;
      if (!(c >= 0 && c < classes && Number.isInteger(c)))
        throw new InvalidArgumentError('knnVote', 'labels', `[${r}] must be an integer in [0, ${classes}), got ${c}`);
      votes[c]!++;
      if (votes[c]! > top) top = votes[c]!;
    }
    for (let j = 0; j < k; j++) {
      const c = labels[neighbors.indices[i * stride + j]!]!;
      if (votes[c] === top) {
        out[i] = c;
        break;
      }
    }
  }
  return out;
}

/** Options of {@link fitKnnClassifier}. */
export interface KnnOptions {
  /** Feature width. */
  dim: number;
  classes: number;
  /** The k tried on the validation split. Default [1, 3, 5, 7, 9, 11, 15, 21, 31, 51] (those ≤ the training rows). */
  ks?: readonly number[];
  /** Query rows per block of {@link cosineNeighbors}. Default 256. */
  blockRows?: number;
}

/** A fitted {@link fitKnnClassifier}. */
export interface KnnClassifier {
  /** The k of the best validation accuracy (the smallest of equal ones). */
  k: number;
  valAccuracy: number;
  /** Validation accuracy of every k tried. */
  validation: { k: number; accuracy: number }[];
  /** `[n]` the voted class of each row of `x` (`[n·dim]`) among its k nearest training rows. */
  predict(x: Float32Array): Promise<Int32Array>;
  /**
   * `[n·classes]` per-class scores of each row of `x`: the share of its k nearest training rows in the class, plus a
   * 1e-3·(k − j)/k bonus for the class of the j-th neighbour (so ties rank as the vote breaks them), e.g. for a mAP.
   */
  scores(x: Float32Array): Promise<Float32Array>;
  /** Share of `split`'s rows predicted as labelled. */
  accuracy(split: LabeledFeatures): Promise<number>;
}

/**
 * A cosine k-NN classifier over the training rows, k chosen by accuracy on the validation rows (one neighbour search
 * of the largest k serves every candidate).
 *
 * @throws {InvalidArgumentError} a size, label or k out of range (k larger than the training rows), or no k.
 * @throws {ShapeError} a split whose `x` does not hold one row of `dim` per label.
 *
 * @example
 * const knn = await fitKnnClassifier(train, val, { dim: 128, classes: 10 });
 * await knn.accuracy(test); // measured once, with the k the validation split chose
 */
export async function fitKnnClassifier(
  train: LabeledFeatures,
  val: LabeledFeatures,
  options: KnnOptions,
): Promise<KnnClassifier> {
  const op = 'fitKnnClassifier';
  const { dim, classes, blockRows } = options;
  checkSizes(op, dim, classes);
  const n = checkSplit(op, 'train', train, dim, classes);
  checkSplit(op, 'val', val, dim, classes);
  if (val.labels.length === 0) throw new InvalidArgumentError(op, 'val', 'has no rows');
  const given = options.ks !== undefined;
  const ks = [...(options.ks ?? [1, 3, 5, 7, 9, 11, 15, 21, 31, 51])].filter((k) => given || k <= n);
  if (ks.length === 0)
    throw new InvalidArgumentError(op, 'options.ks', given ? 'must not be empty' : `has no k <= ${n} training rows`);
  ks.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 1 || k > n)
      throw new InvalidArgumentError(op, `options.ks[${i}]`, `must be an integer in [1, ${n}], got ${String(k)}`);
  });
  const kMax = Math.max(...ks);
  const search = (x: Float32Array, k: number) =>
    cosineNeighbors(train.x, x, dim, k, blockRows === undefined ? {} : { blockRows });
  const neighbors = await search(val.x, kMax);
  const validation = [...new Set(ks)]
    .sort((a, b) => a - b)
    .map((k) => ({ k, accuracy: accuracyOf(knnVote(neighbors, train.labels, k, classes), val.labels) }));
  const best = validation.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  const predict = async (x: Float32Array): Promise<Int32Array> => {
    checkRows('KnnClassifier.predict', 'x', x, dim);
    return knnVote(await search(x, best.k), train.labels, best.k, classes);
  };
  return {
    k: best.k,
    valAccuracy: best.accuracy,
    validation,
    predict,
    async scores(x: Float32Array): Promise<Float32Array> {
      const m = checkRows('KnnClassifier.scores', 'x', x, dim);
      const nb = await search(x, best.k);
      const out = new Float32Array(m * classes);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < best.k; j++) {
          const c = train.labels[nb.indices[i * nb.k + j]!]!;
          out[i * classes + c]! += 1 / best.k;
        }
        // The nearest member of a class first: a tie between classes ranks as knnVote breaks it.
        const seen = new Set<number>();
        for (let j = 0; j < best.k; j++) {
          const c = train.labels[nb.indices[i * nb.k + j]!]!;
          if (seen.has(c)) continue;
          seen.add(c);
          out[i * classes + c]! += (1e-3 * (best.k - j)) / best.k;
        }
      }
      return out;
    },
    async accuracy(split: LabeledFeatures): Promise<number> {
      checkSplit('KnnClassifier.accuracy', 'split', split, dim, classes);
      return accuracyOf(await predict(split.x), split.labels);
    },
  };
}
