import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { checkFinite } from './check.js';
import type { NumericArray } from './check.js';

// Average precision and mAP moved to @geolip/train (its coco-soup recipe needs them; train cannot import bench).
export { averagePrecision, meanAveragePrecision } from '@geolip/train';
export type { MeanAveragePrecision } from '@geolip/train';

/** Ground truth of {@link recallAtK}: a function giving the relevant gallery indices of query q, or `[Nq]` single relevant index per query. */
export type RetrievalRelevance = ((q: number) => Iterable<number>) | ArrayLike<number>;

/** Result of {@link recallAtK}. */
export interface RecallAtK {
  /** Recall@K for each requested K (fraction of queries with a relevant item in the top K). */
  recall: Record<number, number>;
  /** `[Nq]` 1-based rank of the best-ranked relevant item of each query. */
  ranks: Int32Array;
  /** Median of `ranks` (mean of the two middle values for even Nq). */
  medianRank: number;
  /** Mean of `ranks`. */
  meanRank: number;
}

/**
 * Retrieval Recall@K from a query × gallery similarity matrix, for either direction
 * (text→image: one relevant image per caption; image→text: ~5 relevant captions per image).
 *
 * rank(q) = 1 + #{non-relevant g : s[q, g] ≥ max_{relevant r} s[q, r]}; R@K = mean_q [rank(q) ≤ K].
 * Ties are resolved **pessimistically** (a tied non-relevant item counts as ranked above), so
 * constant similarities do not earn recall.
 *
 * @param similarity - `[Nq·Ng]` row-major similarities (higher = more similar).
 * @param nq - Nq, number of queries.
 * @param ng - Ng, gallery size.
 * @param relevant - `(q) => Iterable<number>` of relevant gallery indices, or an `[Nq]` array with one relevant index per query.
 * @param ks - Cut-offs, default `[1, 5, 10]`.
 * @returns Recall per K, per-query ranks, median and mean rank.
 * @throws {ShapeError} `similarity.length ≠ nq·ng`, or an array `relevant` has length ≠ nq.
 * @throws {NonFiniteError} NaN or ±Infinity in `similarity`.
 * @throws {InvalidArgumentError} Bad nq/ng/ks, a query with no relevant item, or a relevant index outside [0, Ng).
 * @remarks O(Nq·Ng).
 * @example
 * ```ts
 * const sim = [0.9, 0.1, 0.2, 0.3, 0.1, 0.2]; // 2 queries × 3 gallery
 * recallAtK(sim, 2, 3, Int32Array.from([0, 2]), [1, 2]).recall; // { 1: 0.5, 2: 1 }
 * ```
 */
export function recallAtK(
  similarity: NumericArray,
  nq: number,
  ng: number,
  relevant: RetrievalRelevance,
  ks: readonly number[] = [1, 5, 10],
): RecallAtK {
  const op = 'recallAtK';
  if (!Number.isInteger(nq) || nq <= 0) throw new InvalidArgumentError(op, 'nq', `must be a positive integer, got ${nq}`);
  if (!Number.isInteger(ng) || ng <= 0) throw new InvalidArgumentError(op, 'ng', `must be a positive integer, got ${ng}`);
  if (similarity.length !== nq * ng) throw new ShapeError(op, 'similarity', `[Nq·Ng = ${nq}·${ng} = ${nq * ng}]`, [similarity.length]);
  for (const k of ks) if (!Number.isInteger(k) || k <= 0) throw new InvalidArgumentError(op, 'ks', `must hold positive integers, got ${k}`);
  checkFinite(op, 'similarity', similarity);
  const fn = typeof relevant === 'function' ? relevant : null;
  const arr = typeof relevant === 'function' ? null : relevant;
  if (arr && arr.length !== nq) throw new ShapeError(op, 'relevant', `[Nq=${nq}]`, [arr.length]);
  const ranks = new Int32Array(nq);
  const isRel = new Uint8Array(ng);
  for (let q = 0; q < nq; q++) {
    const rel: number[] = fn ? [...fn(q)] : [arr![q]!];
    if (rel.length === 0) throw new InvalidArgumentError(op, 'relevant', `query ${q} has no relevant item`);
    const base = q * ng;
    let best = Number.NEGATIVE_INFINITY;
    for (const r of rel) {
      if (!Number.isInteger(r) || r < 0 || r >= ng) throw new InvalidArgumentError(op, 'relevant', `query ${q}: index ${r} is outside [0, ${ng})`);
      isRel[r] = 1;
      if (similarity[base + r]! > best) best = similarity[base + r]!;
    }
    let ahead = 0;
    for (let g = 0; g < ng; g++) if (!isRel[g] && similarity[base + g]! >= best) ahead++;
    ranks[q] = ahead + 1;
    for (const r of rel) isRel[r] = 0;
  }
  const recall: Record<number, number> = {};
  for (const k of ks) {
    let hit = 0;
    for (let q = 0; q < nq; q++) if (ranks[q]! <= k) hit++;
    recall[k] = hit / nq;
  }
  const sorted = Int32Array.from(ranks).sort();
  const mid = nq >> 1;
  const medianRank = nq % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  let total = 0;
  for (let q = 0; q < nq; q++) total += ranks[q]!;
  return { recall, ranks, medianRank, meanRank: total / nq };
}
