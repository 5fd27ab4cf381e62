import * as tf from '@tensorflow/tfjs-core';

import { checkEmbeddings, normalizeRows, resolveBlockRows, type RowBlockOptions } from './row-blocks.js';
import { readTensorSync } from '../checks/read-tensor.js';

/** Options of {@link selfSimilarity}. */
export type SelfSimilarityOptions = RowBlockOptions;

/** Result of {@link selfSimilarity}. */
export interface SelfSimilarityResult {
  /** Mean off-diagonal cosine, over the N(N−1) ordered pairs i ≠ j. */
  mean: number;
  /** Largest off-diagonal cosine. */
  max: number;
}

/**
 * Mean and maximum off-diagonal cosine similarity of a set of embeddings (spec §2.5, "self-similarity").
 *
 *     ê_i = e_i / max(‖e_i‖, 1e-12)          S_ij = ⟨ê_i, ê_j⟩
 *     mean = Σ_{i≠j} S_ij / (N(N−1))         max = max_{i≠j} S_ij
 *
 * A collapsed representation has mean → 1; well-spread points on S^{D−1} have mean ≈ 0.
 *
 * @param embeddings - `[N, D]` embeddings, N ≥ 2 (any norm; rows are normalized here).
 * @param options - `blockRows`: rows of S computed at once (default about 2M entries per block).
 * @returns `{ mean, max }` as plain numbers.
 *
 * @throws {ShapeError} If `embeddings` is not rank 2 or has fewer than 2 rows.
 * @throws {InvalidArgumentError} If `embeddings` is not a tensor or `blockRows` is not a positive integer.
 *
 * @remarks
 * - S is built in `[blockRows, N]` blocks on the active backend (float32), so N = 20 000 never
 *   allocates N² at once; per-row off-diagonal sums (row sum − ‖ê_i‖²) and maxima (`topk(·, 2)`,
 *   skipping the diagonal) are read back once (2N floats) and summed in float64.
 * - A zero row stays zero after normalization, so its cosines are 0. NaN in a row makes `mean` NaN
 *   (and `max` NaN or the largest finite cosine, depending on the backend's `max`); nothing throws.
 * - O(N²·D) work; reads data to the CPU with `dataSync` (use {@link selfSimilarityAsync} on GPU
 *   backends). Leaks no tensors.
 *
 * @example
 * const e = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
 * selfSimilarity(e); // { mean: 0.4714045…, max: 0.7071067… }
 *
 * @see geolip-core `analysis/geometric.py` (the off-diagonal cosine pattern).
 */
export function selfSimilarity(embeddings: tf.Tensor2D, options: SelfSimilarityOptions = {}): SelfSimilarityResult {
  const { sums, maxima, n } = build('selfSimilarity', embeddings, options);
  try {
    return finish(
      readTensorSync('selfSimilarity', 'embeddings', sums, 'use selfSimilarityAsync') as Float32Array,
      readTensorSync('selfSimilarity', 'embeddings', maxima, 'use selfSimilarityAsync') as Float32Array,
      n,
    );
  } finally {
    sums.dispose();
    maxima.dispose();
  }
}

/**
 * {@link selfSimilarity} reading its result with `await tensor.data()` (no blocking GPU sync).
 * @param embeddings - `[N, D]` embeddings, N ≥ 2.
 * @throws {ShapeError} If `embeddings` is not rank 2 or has fewer than 2 rows.
 * @example
 * await selfSimilarityAsync(tf.tensor2d([[1, 0], [0, 1], [1, 1]])); // { mean: 0.4714…, max: 0.7071… }
 */
export async function selfSimilarityAsync(
  embeddings: tf.Tensor2D,
  options: SelfSimilarityOptions = {},
): Promise<SelfSimilarityResult> {
  const { sums, maxima, n } = build('selfSimilarityAsync', embeddings, options);
  try {
    const [s, m] = await Promise.all([sums.data(), maxima.data()]);
    return finish(s as Float32Array, m as Float32Array, n);
  } finally {
    sums.dispose();
    maxima.dispose();
  }
}

function build(
  op: string,
  embeddings: tf.Tensor2D,
  options: SelfSimilarityOptions,
): { sums: tf.Tensor1D; maxima: tf.Tensor1D; n: number } {
  const [n, d] = checkEmbeddings(op, embeddings);
  const blockRows = resolveBlockRows(op, n, options);
  const [sums, maxima] = tf.tidy(() => {
    const unit = normalizeRows(embeddings);
    const sumParts: tf.Tensor1D[] = [];
    const maxParts: tf.Tensor1D[] = [];
    for (let start = 0; start < n; start += blockRows) {
      const b = Math.min(blockRows, n - start);
      const [s, m] = tf.tidy(() => {
        const rows = tf.slice(unit, [start, 0], [b, d]);
        const block = tf.matMul(rows, unit, false, true); // [b, N]
        // Off-diagonal row sum = row sum − S_ii, with S_ii = ‖ê_i‖² (1, or 0 for a zero row).
        const offDiagonalSum = tf.sub(tf.sum(block, 1), tf.sum(tf.square(rows), 1));
        // Off-diagonal max from the top two of each row: the first unless it is the diagonal.
        // (No [b, N] mask: a broadcast `equal` mask costs ~50× the matMul's row reductions.)
        const { values, indices } = tf.topk(block, 2);
        const own = tf.reshape(tf.range(start, start + b, 1, 'int32'), [b, 1]);
        const firstIsOwn = tf.equal(tf.slice(indices, [0, 0], [b, 1]), own);
        const offDiagonalMax = tf.where(firstIsOwn, tf.slice(values, [0, 1], [b, 1]), tf.slice(values, [0, 0], [b, 1]));
        return [offDiagonalSum as tf.Tensor1D, tf.reshape(offDiagonalMax, [b]) as tf.Tensor1D];
      });
      sumParts.push(s);
      maxParts.push(m);
    }
    return [tf.concat(sumParts) as tf.Tensor1D, tf.concat(maxParts) as tf.Tensor1D];
  });
  return { sums, maxima, n };
}

function finish(sums: Float32Array, maxima: Float32Array, n: number): SelfSimilarityResult {
  let total = 0;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    total += sums[i]!;
    const m = maxima[i]!;
    if (Number.isNaN(m)) max = NaN;
    else if (m > max) max = m; // false once max is NaN, so NaN sticks
  }
  return { mean: total / (n * (n - 1)), max };
}
