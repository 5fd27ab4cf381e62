import * as tf from '@tensorflow/tfjs-core';

import { checkEmbeddings, compactLabels, normalizeRows, resolveBlockRows, type RowBlockOptions } from './row-blocks.js';
import { readTensorSync } from '../checks/read-tensor.js';

/** Options of {@link sameDiffGap}. */
export type SameDiffGapOptions = RowBlockOptions;

/** Result of {@link sameDiffGap}. */
export interface SameDiffGapResult {
  /** Mean cosine over ordered pairs i ≠ j with the same label (NaN if no class has two members). */
  same: number;
  /** Mean cosine over ordered pairs with different labels (NaN if there is only one class). */
  diff: number;
  /** `same − diff`: positive when classes cluster. */
  gap: number;
}

/**
 * Mean cosine of same-class pairs, of different-class pairs, and their gap (spec §2.5 [INFER]).
 *
 *     ê_i = e_i / max(‖e_i‖, 1e-12),   s_c = Σ_{i: y_i = c} ê_i,   q = Σ_i ‖ê_i‖²
 *     same = (Σ_c ‖s_c‖² − q) / Σ_c n_c(n_c − 1)
 *     diff = (‖Σ_c s_c‖² − Σ_c ‖s_c‖²) / (N² − Σ_c n_c²)
 *     gap  = same − diff
 *
 * These identities (Σ_{i,j∈c} ⟨ê_i, ê_j⟩ = ‖s_c‖²) give exactly the pairwise means of the N×N
 * cosine matrix without forming it: the cost is O(N·D·C) instead of O(N²·D).
 *
 * @param embeddings - `[N, D]` embeddings, N ≥ 2 (rows are normalized here).
 * @param labels - `[N]` integer class labels.
 * @param options - `blockRows`: rows one-hot-encoded at once (the `[blockRows, C]` one-hot block).
 * @returns `{ same, diff, gap }`.
 *
 * @throws {ShapeError} If `embeddings` is not `[N, D]` with N ≥ 2, or `labels` does not hold N entries.
 * @throws {InvalidArgumentError} If a label is not an integer, `embeddings` is not a tensor, or
 *   `blockRows` is not a positive integer.
 *
 * @remarks
 * - Pairs are ordered (i, j) with i ≠ j; the means are the same with unordered pairs.
 * - The class sums `[C, D]` are accumulated on the active backend in float32 and read back once;
 *   the sums of squares are formed in float64 (agreement with the explicit N×N float64 computation
 *   ≈ 1e-6). A zero row counts as cosine 0 with everything.
 * - Reads data with `dataSync`; {@link sameDiffGapAsync} awaits it instead. Leaks no tensors.
 *
 * @example
 * const e = tf.tensor2d([[1, 0], [1, 0], [0, 1], [0, 1]]);
 * sameDiffGap(e, [0, 0, 1, 1]); // { same: 1, diff: 0, gap: 1 }
 */
export function sameDiffGap(
  embeddings: tf.Tensor2D,
  labels: Int32Array | readonly number[],
  options: SameDiffGapOptions = {},
): SameDiffGapResult {
  const parts = build('sameDiffGap', embeddings, labels, options);
  try {
    return finish(
      readTensorSync('sameDiffGap', 'embeddings', parts.classSums, 'use sameDiffGapAsync') as Float32Array,
      readTensorSync('sameDiffGap', 'embeddings', parts.squares, 'use sameDiffGapAsync') as Float32Array,
      parts,
    );
  } finally {
    parts.classSums.dispose();
    parts.squares.dispose();
  }
}

/**
 * {@link sameDiffGap} reading its result with `await tensor.data()` (no blocking GPU sync).
 * @param embeddings - `[N, D]` embeddings, N ≥ 2.
 * @param labels - `[N]` integer class labels.
 * @throws {ShapeError} If the shapes disagree (see {@link sameDiffGap}).
 * @example
 * await sameDiffGapAsync(tf.tensor2d([[1, 0], [1, 0], [0, 1], [0, 1]]), [0, 0, 1, 1]); // { same: 1, diff: 0, gap: 1 }
 */
export async function sameDiffGapAsync(
  embeddings: tf.Tensor2D,
  labels: Int32Array | readonly number[],
  options: SameDiffGapOptions = {},
): Promise<SameDiffGapResult> {
  const parts = build('sameDiffGapAsync', embeddings, labels, options);
  try {
    const [sums, squares] = await Promise.all([parts.classSums.data(), parts.squares.data()]);
    return finish(sums as Float32Array, squares as Float32Array, parts);
  } finally {
    parts.classSums.dispose();
    parts.squares.dispose();
  }
}

interface Parts {
  classSums: tf.Tensor2D;
  squares: tf.Tensor1D;
  ids: Int32Array;
  classes: number;
  n: number;
  d: number;
}

function build(
  op: string,
  embeddings: tf.Tensor2D,
  labels: Int32Array | readonly number[],
  options: SameDiffGapOptions,
): Parts {
  const [n, d] = checkEmbeddings(op, embeddings);
  const { ids, classes } = compactLabels(op, labels, n);
  // The one-hot block is [blockRows, C]; keep it near the default entry budget too.
  const blockRows =
    options.blockRows === undefined
      ? resolveBlockRows(op, Math.max(n, classes), options)
      : resolveBlockRows(op, n, options);
  const [classSums, squares] = tf.tidy(() => {
    const unit = normalizeRows(embeddings);
    const idTensor = tf.tensor1d(ids, 'int32');
    const depth = Math.max(classes, 2);
    let sums: tf.Tensor2D = tf.zeros([depth, d]);
    for (let start = 0; start < n; start += blockRows) {
      const b = Math.min(blockRows, n - start);
      const next = tf.tidy(() => {
        // int32 one-hot, then cast: the wasm OneHot kernel ignores a float32 dtype (tfjs 4.22 writes
        // the integer bits). Depth ≥ 2 (tf.oneHot rejects 1); an unused class row stays zero.
        const oneHot = tf.cast(tf.oneHot(tf.slice(idTensor, [start], [b]), depth), 'float32'); // [b, C']
        return tf.add(sums, tf.matMul(oneHot, tf.slice(unit, [start, 0], [b, d]), true, false)) as tf.Tensor2D;
      });
      sums.dispose();
      sums = next;
    }
    return [sums, tf.sum(tf.square(unit), 1) as tf.Tensor1D];
  });
  return { classSums, squares, ids, classes, n, d };
}

function finish(sums: Float32Array, squares: Float32Array, parts: Parts): SameDiffGapResult {
  const { ids, classes, n, d } = parts;
  const counts = new Float64Array(classes);
  for (let i = 0; i < n; i++) counts[ids[i]!]! += 1;
  let q = 0;
  for (let i = 0; i < n; i++) q += squares[i]!;
  const total = new Float64Array(d);
  let withinSq = 0;
  let samePairs = 0;
  let sumCountSq = 0;
  for (let c = 0; c < classes; c++) {
    let normSq = 0;
    for (let j = 0; j < d; j++) {
      const v = sums[c * d + j]!;
      normSq += v * v;
      total[j]! += v;
    }
    withinSq += normSq;
    const nc = counts[c]!;
    samePairs += nc * (nc - 1);
    sumCountSq += nc * nc;
  }
  let totalSq = 0;
  for (let j = 0; j < d; j++) totalSq += total[j]! * total[j]!;
  const diffPairs = n * n - sumCountSq;
  const same = samePairs > 0 ? (withinSq - q) / samePairs : NaN;
  const diff = diffPairs > 0 ? (totalSq - withinSq) / diffPairs : NaN;
  return { same, diff, gap: same - diff };
}
