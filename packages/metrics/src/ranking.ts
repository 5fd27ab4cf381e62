// Ranking metrics: average precision and macro mAP (spec §13.3), retrieval recall@K.
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { argsortDesc, checkFinite, checkLabels, checkSameLength } from './check.js';
import type { NumericArray } from './check.js';

/**
 * Average precision as defined by sklearn's `average_precision_score`:
 * AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct score thresholds in decreasing order (R₀ = 0), with
 * no interpolation. Tied scores form one threshold.
 *
 * @param scores - `[N]` scores.
 * @param labels - `[N]` 0/1 labels with at least one positive.
 * @returns AP in [0, 1].
 * @throws {ShapeError} `labels` length differs from `scores`.
 * @throws {NonFiniteError} NaN or ±Infinity in `scores`.
 * @throws {InvalidArgumentError} A label other than 0/1, or no positive label.
 * @remarks O(N log N).
 * @example
 * ```ts
 * averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.8333…
 * ```
 */
export function averagePrecision(scores: NumericArray, labels: NumericArray): number {
  const op = 'averagePrecision';
  checkSameLength(op, 'scores', scores, 'labels', labels);
  checkFinite(op, 'scores', scores);
  const pos = checkLabels(op, 'labels', labels);
  if (pos === 0) throw new InvalidArgumentError(op, 'labels', 'must contain at least one positive');
  return apUnchecked(scores, labels, pos);
}

function apUnchecked(scores: NumericArray, labels: NumericArray, pos: number): number {
  const order = argsortDesc(scores);
  const n = order.length;
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  let i = 0;
  while (i < n) {
    const v = scores[order[i]!];
    while (i < n && scores[order[i]!] === v) {
      if (labels[order[i]!] === 1) tp++;
      else fp++;
      i++;
    }
    const recall = tp / pos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

/** Result of {@link meanAveragePrecision}. */
export interface MeanAveragePrecision {
  /** Mean of the per-class AP over the classes with ≥ 1 positive. NaN if there are none. */
  map: number;
  /** Number of classes that entered the mean. */
  classesUsed: number;
  /** `[C]` AP of each class; NaN for classes without a positive. */
  perClass: Float64Array;
}

/**
 * Macro mean average precision for multi-label classification (e.g. COCO's 80 categories).
 *
 * mAP = (1/|K|) Σ_{c∈K} AP(scores[:, c], targets[:, c]), K = classes with at least one positive.
 *
 * @param scores - `[N·C]` row-major scores (N images, C classes).
 * @param targets - `[N·C]` row-major 0/1 targets (e.g. `loadCocoInstances(...).targets`).
 * @param numClasses - C.
 * @returns `{ map, classesUsed, perClass }`.
 * @throws {ShapeError} `targets` length differs from `scores`, or the length is not a multiple of C.
 * @throws {NonFiniteError} NaN or ±Infinity in `scores`.
 * @throws {InvalidArgumentError} C not a positive integer, or a target other than 0/1.
 * @remarks O(C·N log N); copies one column at a time.
 * @example
 * ```ts
 * meanAveragePrecision([0.9, 0.1, 0.2, 0.8], [1, 0, 0, 1], 2).map; // 1
 * ```
 */
export function meanAveragePrecision(
  scores: NumericArray,
  targets: NumericArray,
  numClasses: number,
): MeanAveragePrecision {
  const op = 'meanAveragePrecision';
  if (!Number.isInteger(numClasses) || numClasses <= 0) {
    throw new InvalidArgumentError(op, 'numClasses', `must be a positive integer, got ${numClasses}`);
  }
  checkSameLength(op, 'scores', scores, 'targets', targets);
  if (scores.length % numClasses !== 0) {
    throw new ShapeError(op, 'scores', `[N·C] with C=${numClasses}`, [scores.length], 'length is not a multiple of C');
  }
  checkFinite(op, 'scores', scores);
  checkLabels(op, 'targets', targets);
  const n = scores.length / numClasses;
  const perClass = new Float64Array(numClasses);
  const s = new Float64Array(n);
  const t = new Uint8Array(n);
  let sum = 0;
  let used = 0;
  for (let c = 0; c < numClasses; c++) {
    let pos = 0;
    for (let i = 0; i < n; i++) {
      s[i] = scores[i * numClasses + c]!;
      t[i] = targets[i * numClasses + c]!;
      pos += t[i]!;
    }
    if (pos === 0) {
      perClass[c] = Number.NaN;
      continue;
    }
    perClass[c] = apUnchecked(s, t, pos);
    sum += perClass[c]!;
    used++;
  }
  return { map: used === 0 ? Number.NaN : sum / used, classesUsed: used, perClass };
}

/**
 * Ground truth of {@link recallAtK}: a function giving the relevant gallery indices of query q, or `[Nq]` single
 * relevant index per query.
 */
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
 * @param relevant - `(q) => Iterable<number>` of relevant gallery indices, or an `[Nq]` array with one relevant
 *   index per query.
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
  if (!Number.isInteger(nq) || nq <= 0)
    throw new InvalidArgumentError(op, 'nq', `must be a positive integer, got ${nq}`);
  if (!Number.isInteger(ng) || ng <= 0)
    throw new InvalidArgumentError(op, 'ng', `must be a positive integer, got ${ng}`);
  if (similarity.length !== nq * ng)
    throw new ShapeError(op, 'similarity', `[Nq·Ng = ${nq}·${ng} = ${nq * ng}]`, [similarity.length]);
  for (const k of ks)
    if (!Number.isInteger(k) || k <= 0)
      throw new InvalidArgumentError(op, 'ks', `must hold positive integers, got ${k}`);
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
      if (!Number.isInteger(r) || r < 0 || r >= ng)
        throw new InvalidArgumentError(op, 'relevant', `query ${q}: index ${r} is outside [0, ${ng})`);
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
