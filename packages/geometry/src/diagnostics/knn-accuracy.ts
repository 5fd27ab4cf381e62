import * as tf from '@tensorflow/tfjs-core';

import { checkEmbeddings, compactLabels, normalizeRows, resolveBlockRows, type RowBlockOptions } from './row-blocks.js';
import { readTensorSync } from '../checks/read-tensor.js';

/** Options of {@link knnAccuracy}. */
export type KnnAccuracyOptions = RowBlockOptions;

/**
 * Leave-one-out 1-nearest-neighbour accuracy under cosine similarity (spec §2.5, geolip-core `knn_accuracy`).
 *
 *     S = Ê Êᵀ with Ê the row-normalized embeddings,  S_ii ← −1
 *     ŷ_i = y_{argmax_j S_ij}                        accuracy = (1/N) Σ_i [ŷ_i = y_i]
 *
 * @param embeddings - `[N, D]` embeddings, N ≥ 2 (rows are normalized here).
 * @param labels - `[N]` integer class labels (any integers; only equality matters).
 * @param options - `blockRows`: rows of S computed at once (default about 2M entries per block).
 * @returns The accuracy in [0, 1].
 *
 * @throws {ShapeError} If `embeddings` is not `[N, D]` with N ≥ 2, or `labels` does not hold N entries.
 * @throws {InvalidArgumentError} If a label is not an integer, `embeddings` is not a tensor, or
 *   `blockRows` is not a positive integer.
 *
 * @remarks
 * - The neighbour is the argmax over j ≠ i, taken from `topk(S_i, 2)` (the first index unless it is
 *   i itself). This equals the Python "diagonal ← −1, argmax" except when every other cosine is
 *   exactly −1 (there Python may return i itself). Ties between equal cosines go to the lower
 *   index on the cpu backend; other backends' `topk` may order ties differently.
 * - S is built in `[blockRows, N]` float32 blocks on the active backend (N² is never allocated
 *   at once); only the N neighbour indices are read back. O(N²·D) work.
 * - Reads data with `dataSync`; {@link knnAccuracyAsync} awaits it instead. Leaks no tensors.
 *
 * @example
 * const e = tf.tensor2d([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]);
 * knnAccuracy(e, [0, 0, 1, 1]); // 1
 */
export function knnAccuracy(
  embeddings: tf.Tensor2D,
  labels: Int32Array | readonly number[],
  options: KnnAccuracyOptions = {},
): number {
  const { neighbours, ids } = build('knnAccuracy', embeddings, labels, options);
  try {
    return finish(readTensorSync('knnAccuracy', 'embeddings', neighbours, 'use knnAccuracyAsync') as Int32Array, ids);
  } finally {
    neighbours.dispose();
  }
}

/**
 * {@link knnAccuracy} reading its result with `await tensor.data()` (no blocking GPU sync).
 * @param embeddings - `[N, D]` embeddings, N ≥ 2.
 * @param labels - `[N]` integer class labels.
 * @throws {ShapeError} If the shapes disagree (see {@link knnAccuracy}).
 * @example
 * await knnAccuracyAsync(tf.tensor2d([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]), [0, 0, 1, 1]); // 1
 */
export async function knnAccuracyAsync(
  embeddings: tf.Tensor2D,
  labels: Int32Array | readonly number[],
  options: KnnAccuracyOptions = {},
): Promise<number> {
  const { neighbours, ids } = build('knnAccuracyAsync', embeddings, labels, options);
  try {
    return finish((await neighbours.data()) as Int32Array, ids);
  } finally {
    neighbours.dispose();
  }
}

function build(
  op: string,
  embeddings: tf.Tensor2D,
  labels: Int32Array | readonly number[],
  options: KnnAccuracyOptions,
): { neighbours: tf.Tensor1D; ids: Int32Array } {
  const [n, d] = checkEmbeddings(op, embeddings);
  const { ids } = compactLabels(op, labels, n);
  const blockRows = resolveBlockRows(op, n, options);
  const neighbours = tf.tidy(() => {
    const unit = normalizeRows(embeddings);
    const parts: tf.Tensor1D[] = [];
    for (let start = 0; start < n; start += blockRows) {
      const b = Math.min(blockRows, n - start);
      parts.push(
        tf.tidy(() => {
          const block = tf.matMul(tf.slice(unit, [start, 0], [b, d]), unit, false, true); // [b, N]
          // argmax over j ≠ i from the top two of each row: the first unless it is the diagonal.
          // (Same as setting S_ii = −1; a broadcast `equal` mask would cost ~50× more.)
          const { indices } = tf.topk(block, 2);
          const first = tf.slice(indices, [0, 0], [b, 1]);
          const own = tf.reshape(tf.range(start, start + b, 1, 'int32'), [b, 1]);
          return tf.reshape(tf.where(tf.equal(first, own), tf.slice(indices, [0, 1], [b, 1]), first), [
            b,
          ]) as tf.Tensor1D;
        }),
      );
    }
    return tf.concat(parts) as tf.Tensor1D;
  });
  return { neighbours, ids };
}

function finish(neighbours: Int32Array, ids: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < ids.length; i++) if (ids[neighbours[i]!] === ids[i]) correct++;
  return correct / ids.length;
}
