import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';

import {
  type AnchorSource,
  checkAnchorSource,
  checkInteger,
  checkMatrix,
  describeValue,
  readSync,
  unitAnchors,
} from './internal.js';

/** Entries of one `[blockRows, A]` cosine block, by default (8 MB of float32). */
const BLOCK_ENTRIES = 1 << 21;

/** Options of {@link anchorUtilisation}. */
export interface AnchorUtilisationOptions {
  /** Rows of the `[blockRows, A]` score block computed at once. Default `max(1, ⌊2²¹/A⌋)`. */
  blockRows?: number;
}

/** Result of {@link anchorUtilisation} and {@link utilisationFromCounts}. */
export interface AnchorUtilisation {
  /** `[A]` util[a] = number of counted rows whose nearest anchor (argmax cosine) is a. */
  counts: Int32Array;
  /** Rows counted: Σ counts (the finite rows). */
  rows: number;
  /** Rows left out because they hold NaN or ±Infinity (0 from {@link utilisationFromCounts}). */
  nonFiniteRows: number;
  /** Active anchors: #{a : util[a] > 0} (spec §4.4). */
  active: number;
  /**
   * Normalized entropy of the nearest-anchor histogram, in percent of its maximum ln A:
   * 100 · H / ln A with H = −Σ p_a ln p_a, p_a = util[a]/rows. 100 = every anchor equally used,
   * 0 = one anchor takes every row. NaN when no row was counted.
   */
  entropy: number;
  /**
   * Gini coefficient of the counts (mean-absolute-difference form):
   * G = Σ_a Σ_b |util[a] − util[b]| / (2 · A · Σ_a util[a]). 0 = equal use; (A − 1)/A = one anchor
   * takes every row (the maximum for A anchors; not rescaled to 1). NaN when no row was counted.
   */
  gini: number;
}

/**
 * How evenly a set of embeddings uses the anchors: the nearest-anchor histogram, the number of
 * active anchors (spec §4.4), its normalized entropy and its Gini coefficient (spec §2.5 [INFER]).
 *
 *     nearest_i = argmax_a ⟨e_i, Â_a⟩          (Â = rownorm(anchors); e_i need not be unit)
 *     util[a]   = #{i : nearest_i = a}          active = #{a : util[a] > 0}
 *     p_a = util[a] / Σ util                    entropy = 100 · (−Σ_a p_a ln p_a) / ln A   (%, 0 ln 0 = 0)
 *     gini = Σ_a Σ_b |util[a] − util[b]| / (2 · A · Σ util)
 *          = Σ_{k=1..A} (2k − A − 1) · u_(k) / (A · Σ util)   with u_(1) ≤ … ≤ u_(A) sorted ascending
 *
 * @param embeddings - `[N, D]` embeddings (any norm; only directions matter), float32.
 * @param anchors - `[A, D]` anchors, raw or unit rows, or an object with `normalizedAnchors()`; A ≥ 2.
 * @param options - `blockRows`: rows scored at once (bounds memory to `[blockRows, A]`).
 * @returns `{ counts [A], rows, nonFiniteRows, active, entropy (%), gini }`.
 *
 * @throws {ShapeError} If `embeddings` is not `[N, D]` with N ≥ 1, or the anchors are not
 *   `[A, D]` with the same D and A ≥ 2 (the error names `'anchors'`).
 * @throws {InvalidArgumentError} If an argument is not a float32 tensor / anchor source, or
 *   `blockRows` is not a positive integer.
 * @throws {BackendError} If the backend cannot read synchronously (webgpu in Node): use
 *   {@link anchorUtilisationAsync}.
 *
 * @remarks
 * - **Non-finite rows** (any NaN or ±Infinity entry) are left out of the histogram and reported in
 *   `nonFiniteRows`; they never change the other rows' counts. With no finite row, `counts` is all
 *   zero, `active` is 0, and `entropy` and `gini` are NaN.
 * - A zero embedding row has cosine 0 with every anchor and, as in the Python argmax, counts for the
 *   lowest index with the largest score. argmax ties go to the lowest index on the cpu backend.
 * - The Gini is the standard (population) coefficient, whose maximum for A anchors is (A − 1)/A;
 *   it is not rescaled by A/(A − 1).
 * - Scores are `[blockRows, A]` float32 blocks on the active backend; only the N nearest indices and
 *   N finiteness flags are read back (`dataSync`). O(N·A·D). Leaks no tensors.
 *
 * @example
 * const e = tf.tensor2d([[1, 0], [0.9, 0.1], [1, 0.2], [0.7, -0.1]]);
 * const anchors = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
 * anchorUtilisation(e, anchors);
 * // { counts: Int32Array [4, 0, 0], rows: 4, nonFiniteRows: 0, active: 1, entropy: 0, gini: 0.6667 (= 2/3) }
 *
 * @see {@link utilisationFromCounts} for the statistics of a histogram you already have.
 */
export function anchorUtilisation(
  embeddings: tf.Tensor2D,
  anchors: AnchorSource,
  options: AnchorUtilisationOptions = {},
): AnchorUtilisation {
  const op = 'anchorUtilisation';
  const parts = build(op, embeddings, anchors, options);
  try {
    const hint = 'use anchorUtilisationAsync';
    const nearest = readSync(op, 'embeddings', parts.nearest, hint) as Int32Array;
    const finite = readSync(op, 'embeddings', parts.finite, hint);
    return finish(nearest, finite, parts.a);
  } finally {
    parts.nearest.dispose();
    parts.finite.dispose();
  }
}

/**
 * {@link anchorUtilisation} reading its result with `await tensor.data()` (no blocking GPU read;
 * works on webgpu in Node). Same arguments, same result.
 * @param embeddings - `[N, D]` embeddings, float32.
 * @param anchors - `[A, D]` anchors or an object with `normalizedAnchors()`; A ≥ 2.
 * @returns `{ counts [A], rows, nonFiniteRows, active, entropy (%), gini }`.
 * @throws {ShapeError} If the shapes disagree (see {@link anchorUtilisation}).
 * @example
 * const u = await anchorUtilisationAsync(e, anchors); // u.active, u.entropy, u.gini
 */
export async function anchorUtilisationAsync(
  embeddings: tf.Tensor2D,
  anchors: AnchorSource,
  options: AnchorUtilisationOptions = {},
): Promise<AnchorUtilisation> {
  const parts = build('anchorUtilisationAsync', embeddings, anchors, options);
  try {
    const [nearest, finite] = await Promise.all([parts.nearest.data(), parts.finite.data()]);
    return finish(nearest as Int32Array, finite, parts.a);
  } finally {
    parts.nearest.dispose();
    parts.finite.dispose();
  }
}

/**
 * The statistics of {@link anchorUtilisation} for a nearest-anchor histogram you already have
 * (for example the `util` buffer of an AnchorPush step): active count, entropy % and Gini, with
 * the same formulas.
 *
 *     active = #{a : c_a > 0}    entropy = 100 · (−Σ p_a ln p_a) / ln A    gini = Σ|c_a − c_b| / (2·A·Σc)
 *
 * @param counts - `[A]` non-negative finite counts (need not be integers), A ≥ 2.
 * @returns `{ counts (an Int32Array copy, rounded), rows = Σ counts, nonFiniteRows: 0, active, entropy, gini }`.
 * @throws {InvalidArgumentError} If `counts` holds fewer than 2 entries or a negative / non-finite one.
 * @example
 * utilisationFromCounts([4, 0, 0, 0]); // active 1, entropy 0, gini 0.75 (= (A − 1)/A)
 * utilisationFromCounts([2, 2, 2, 2]); // active 4, entropy 100, gini 0
 */
export function utilisationFromCounts(counts: ArrayLike<number>): AnchorUtilisation {
  const op = 'utilisationFromCounts';
  if (counts === null || typeof counts !== 'object' || typeof counts.length !== 'number') {
    throw new InvalidArgumentError(op, 'counts', `must be an array of counts, got ${describeValue(counts)}`);
  }
  if (counts.length < 2)
    throw new InvalidArgumentError(op, 'counts', `must hold at least 2 anchors' counts, got ${counts.length}`);
  const values = Float64Array.from(counts);
  values.forEach((c, i) => {
    if (!Number.isFinite(c) || c < 0)
      throw new InvalidArgumentError(op, 'counts', `must hold finite counts >= 0, got ${String(c)} at index ${i}`);
  });
  return { counts: Int32Array.from(values, Math.round), nonFiniteRows: 0, ...statistics(values) };
}

function build(op: string, embeddings: tf.Tensor2D, anchors: AnchorSource, options: AnchorUtilisationOptions) {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(op, 'options', `must be an object, got ${describeValue(options)}`);
  const [n, d] = checkMatrix(op, 'embeddings', embeddings, ['N', 'D']);
  checkAnchorSource(op, anchors, { dim: d, minAnchors: 2 });
  const blockOption = options.blockRows === undefined ? undefined : checkInteger(op, 'blockRows', options.blockRows, 1);
  const unit = unitAnchors(op, anchors, { dim: d, minAnchors: 2 });
  const a = unit.shape[0];
  const blockRows = Math.min(n, blockOption ?? Math.max(1, Math.floor(BLOCK_ENTRIES / a)));
  try {
    const [nearest, finite] = tf.tidy(() => {
      const nearestParts: tf.Tensor1D[] = [];
      const finiteParts: tf.Tensor1D[] = [];
      for (let start = 0; start < n; start += blockRows) {
        const b = Math.min(blockRows, n - start);
        const [idx, ok] = tf.tidy(() => {
          const rows = tf.slice(embeddings, [start, 0], [b, d]);
          // Row finiteness on the rows themselves: a NaN row's scores are NaN, and argmax of NaN is backend-defined.
          return [
            tf.argMax(tf.matMul(rows, unit, false, true), 1) as tf.Tensor1D,
            tf.all(tf.isFinite(rows), 1) as tf.Tensor1D,
          ];
        });
        nearestParts.push(idx);
        finiteParts.push(ok);
      }
      return [tf.concat(nearestParts) as tf.Tensor1D, tf.concat(finiteParts) as tf.Tensor1D];
    });
    return { nearest, finite, a };
  } finally {
    unit.dispose();
  }
}

function finish(nearest: Int32Array, finite: ArrayLike<number | boolean>, a: number): AnchorUtilisation {
  const counts = new Int32Array(a);
  let nonFiniteRows = 0;
  for (let i = 0; i < nearest.length; i++) {
    if (finite[i]) counts[nearest[i]!]! += 1;
    else nonFiniteRows++;
  }
  return { counts, nonFiniteRows, ...statistics(Float64Array.from(counts)) };
}

/** active, entropy %, Gini and total of a histogram (float64). */
function statistics(counts: Float64Array): { rows: number; active: number; entropy: number; gini: number } {
  const a = counts.length;
  let total = 0;
  let active = 0;
  for (const c of counts) {
    total += c;
    if (c > 0) active++;
  }
  if (total === 0) return { rows: 0, active: 0, entropy: NaN, gini: NaN };
  let h = 0;
  for (const c of counts) {
    if (c > 0) {
      const p = c / total;
      h -= p * Math.log(p);
    }
  }
  const sorted = Float64Array.from(counts).sort();
  let weighted = 0;
  for (let k = 0; k < a; k++) weighted += (2 * (k + 1) - a - 1) * sorted[k]!;
  const gini = weighted / (a * total);
  // Clamp rounding (e.g. −1e-17 for equal counts, 100.00000000000001 %) to the exact range.
  return { rows: total, active, entropy: Math.min(100, Math.max(0, (100 * h) / Math.log(a))), gini: Math.max(0, gini) };
}
