import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { argsortDesc, checkFinite, checkLabels, checkSameLength } from './check.js';
import type { NumericArray } from './check.js';
import { rankUnchecked } from './correlation.js';

/** Binary classification metrics at one threshold (predict 1 iff score ≥ threshold). */
export interface ClassificationMetrics {
  threshold: number;
  /** (tp + tn) / N. */
  accuracy: number;
  /** tp / (tp + fp); 0 when nothing is predicted positive (sklearn's zero_division=0). */
  precision: number;
  /** tp / (tp + fn); 0 when there are no positives. */
  recall: number;
  /** 2·tp / (2·tp + fp + fn); 0 when that denominator is 0. */
  f1: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Metric that {@link bestThreshold} maximizes. */
export type ThresholdMetric = 'f1' | 'accuracy';

function metricsFromCounts(threshold: number, tp: number, fp: number, tn: number, fn: number): ClassificationMetrics {
  const n = tp + fp + tn + fn;
  return {
    threshold,
    accuracy: n === 0 ? 0 : (tp + tn) / n,
    precision: tp + fp === 0 ? 0 : tp / (tp + fp),
    recall: tp + fn === 0 ? 0 : tp / (tp + fn),
    f1: 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn),
    tp,
    fp,
    tn,
    fn,
  };
}

function checkBinary(op: string, scores: NumericArray, labels: NumericArray): number {
  checkSameLength(op, 'scores', scores, 'labels', labels);
  checkFinite(op, 'scores', scores);
  return checkLabels(op, 'labels', labels);
}

/**
 * Area under the ROC curve, AUC = U / (n₁·n₀) with the Mann–Whitney U statistic; a tied
 * (positive, negative) pair counts ½. Equals sklearn's `roc_auc_score(labels, scores)`.
 *
 * @param scores - `[N]` scores, higher = more likely positive.
 * @param labels - `[N]` 0/1 labels, both classes present.
 * @returns AUC in [0, 1]: 1 for a perfect ranking, 0.5 when all scores are equal.
 * @throws {ShapeError} `labels` length differs from `scores`.
 * @throws {NonFiniteError} NaN or ±Infinity in `scores`.
 * @throws {InvalidArgumentError} A label other than 0/1, or only one class present.
 * @remarks O(N log N), via average ranks: U = R₁ − n₁(n₁+1)/2.
 * @example
 * ```ts
 * rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.75
 * ```
 */
export function rocAuc(scores: NumericArray, labels: NumericArray): number {
  const op = 'rocAuc';
  const n1 = checkBinary(op, scores, labels);
  const n0 = labels.length - n1;
  if (n1 === 0 || n0 === 0) throw new InvalidArgumentError(op, 'labels', 'must contain both classes (0 and 1)');
  const r = rankUnchecked(scores);
  let r1 = 0;
  for (let i = 0; i < r.length; i++) if (labels[i] === 1) r1 += r[i]!;
  return (r1 - (n1 * (n1 + 1)) / 2) / (n1 * n0);
}

/**
 * Accuracy, precision, recall and F1 when predicting 1 iff score ≥ `threshold`.
 *
 * @param scores - `[N]` scores.
 * @param labels - `[N]` 0/1 labels.
 * @param threshold - Decision threshold (±Infinity allowed: −∞ predicts all positive, +∞ none).
 * @returns Metrics and the confusion counts. Zero-denominator ratios are 0.
 * @throws {ShapeError} `labels` length differs from `scores`.
 * @throws {NonFiniteError} NaN or ±Infinity in `scores`.
 * @throws {InvalidArgumentError} A label other than 0/1, or `threshold` is NaN.
 * @example
 * ```ts
 * // MRPC test trivial baseline: predict 1 for all (1147 positive, 578 negative)
 * const labels = [...Array(1147).fill(1), ...Array(578).fill(0)];
 * classificationAt(labels.map(() => 0), labels, -Infinity).f1; // 2·1147/(2·1147+578) ≈ 0.79875
 * ```
 */
export function classificationAt(scores: NumericArray, labels: NumericArray, threshold: number): ClassificationMetrics {
  const op = 'classificationAt';
  checkBinary(op, scores, labels);
  if (Number.isNaN(threshold)) throw new InvalidArgumentError(op, 'threshold', 'must not be NaN');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const pred = scores[i]! >= threshold;
    if (labels[i] === 1) pred ? tp++ : fn++;
    else pred ? fp++ : tn++;
  }
  return metricsFromCounts(threshold, tp, fp, tn, fn);
}

/** Options of {@link bestThreshold}. */
export interface BestThresholdOptions {
  /** Metric to maximize. Default `'f1'`. */
  metric?: ThresholdMetric;
}

/**
 * Finds the threshold maximizing F1 or accuracy by exhaustive search over every distinct cut:
 * +∞ (predict none), the midpoints between consecutive sorted unique scores, and −∞ (predict all).
 *
 * Tie-breaking: when several cuts reach the same best value, the **highest** threshold wins
 * (the most conservative cut; scanning from +∞ down, a later cut must be strictly better).
 * If a midpoint rounds onto the lower score (adjacent floats), the higher score itself is used,
 * so the cut always separates the two groups.
 *
 * @param scores - `[N]` scores.
 * @param labels - `[N]` 0/1 labels.
 * @param options - `metric`: `'f1'` (default) or `'accuracy'`.
 * @returns The chosen threshold with its metrics on (scores, labels).
 * @throws {ShapeError} `labels` length differs from `scores`.
 * @throws {NonFiniteError} NaN or ±Infinity in `scores`.
 * @throws {InvalidArgumentError} A label other than 0/1, or an unknown metric.
 * @remarks O(N log N) (one sort, then a linear sweep with running counts). The threshold may be
 *   ±Infinity (predict none / all); `JSON.stringify` writes those as `null`.
 * @example
 * ```ts
 * bestThreshold([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], { metric: 'accuracy' }).threshold; // 0.5
 * ```
 */
export function bestThreshold(
  scores: NumericArray,
  labels: NumericArray,
  options: BestThresholdOptions = {},
): ClassificationMetrics {
  const op = 'bestThreshold';
  const pos = checkBinary(op, scores, labels);
  const metric = options.metric ?? 'f1';
  if (metric !== 'f1' && metric !== 'accuracy') {
    throw new InvalidArgumentError(op, 'metric', `must be 'f1' or 'accuracy', got '${String(metric)}'`);
  }
  const n = scores.length;
  const neg = n - pos;
  const value = (tp: number, fp: number): number =>
    metric === 'f1' ? (tp === 0 ? 0 : (2 * tp) / (tp + fp + pos)) : n === 0 ? 0 : (tp + neg - fp) / n;
  const order = argsortDesc(scores);
  let bestTp = 0;
  let bestFp = 0;
  let bestT = Number.POSITIVE_INFINITY;
  let best = value(0, 0);
  let tp = 0;
  let fp = 0;
  let i = 0;
  while (i < n) {
    const v = scores[order[i]!]!;
    while (i < n && scores[order[i]!] === v) {
      if (labels[order[i]!] === 1) tp++;
      else fp++;
      i++;
    }
    let t: number;
    if (i === n) t = Number.NEGATIVE_INFINITY;
    else {
      const w = scores[order[i]!]!;
      t = (v + w) / 2;
      if (!Number.isFinite(t)) t = v / 2 + w / 2;
      if (!(t > w && t <= v)) t = v;
    }
    const m = value(tp, fp);
    if (m > best) {
      best = m;
      bestT = t;
      bestTp = tp;
      bestFp = fp;
    }
  }
  return metricsFromCounts(bestT, bestTp, bestFp, neg - bestFp, pos - bestTp);
}

/** Inputs of {@link thresholdedEvaluation}. */
export interface ThresholdedEvaluationInput {
  /** `[F]` scores of the split used to choose the threshold (e.g. MRPC train-dev). */
  fitScores: NumericArray;
  /** `[F]` 0/1 labels of the fit split. */
  fitLabels: NumericArray;
  /** `[E]` scores of the evaluation split (e.g. MRPC test). */
  evalScores: NumericArray;
  /** `[E]` 0/1 labels of the evaluation split. */
  evalLabels: NumericArray;
  /** Metric to maximize on the fit split. Default `'f1'`. */
  metric?: ThresholdMetric;
}

/** Result of {@link thresholdedEvaluation}. */
export interface ThresholdedEvaluation {
  metric: ThresholdMetric;
  /** Threshold chosen on the fit split, metrics measured on the eval split: the number to report. */
  chosen: ClassificationMetrics;
  /** Best threshold chosen on the eval split itself: an optimistic upper bound, never to be reported as the score. */
  oracle: ClassificationMetrics & { oracle: true };
  /** The chosen threshold's metrics on the fit split. */
  fit: ClassificationMetrics;
}

/**
 * Honest thresholded evaluation: choose the threshold on a fit split with {@link bestThreshold},
 * apply it to the eval split; also report the (labelled) oracle threshold tuned on eval.
 *
 * @param input - Fit and eval scores/labels and the metric.
 * @returns `{ chosen, oracle, fit }`.
 * @throws {ShapeError} Scores and labels of one split differ in length (names the argument).
 * @throws {NonFiniteError} NaN or ±Infinity in a score array.
 * @throws {InvalidArgumentError} Labels other than 0/1, or an unknown metric.
 * @example
 * ```ts
 * const r = thresholdedEvaluation({
 *   fitScores: [0.1, 0.9],
 *   fitLabels: [0, 1],
 *   evalScores: [0.3, 0.7],
 *   evalLabels: [0, 1],
 * });
 * r.chosen.threshold; // 0.5
 * r.chosen.f1; // 1
 * ```
 */
export function thresholdedEvaluation(input: ThresholdedEvaluationInput): ThresholdedEvaluation {
  const op = 'thresholdedEvaluation';
  const metric = input.metric ?? 'f1';
  checkSameLength(op, 'fitScores', input.fitScores, 'fitLabels', input.fitLabels);
  checkSameLength(op, 'evalScores', input.evalScores, 'evalLabels', input.evalLabels);
  checkFinite(op, 'fitScores', input.fitScores);
  checkFinite(op, 'evalScores', input.evalScores);
  checkLabels(op, 'fitLabels', input.fitLabels);
  checkLabels(op, 'evalLabels', input.evalLabels);
  const fit = bestThreshold(input.fitScores, input.fitLabels, { metric });
  const chosen = classificationAt(input.evalScores, input.evalLabels, fit.threshold);
  const oracle = { ...bestThreshold(input.evalScores, input.evalLabels, { metric }), oracle: true as const };
  return { metric, chosen, oracle, fit };
}

/**
 * Multi-label F1 at threshold 0.5 on probabilities, from {@link classificationAt} per class column: micro over all
 * (item, class) cells, macro over the classes with at least one positive.
 *
 * @param probs - `[N·C]` row-major probabilities (or scores; a cell is predicted positive iff ≥ 0.5).
 * @param targets - `[N·C]` row-major 0/1 targets.
 * @param numClasses - C.
 * @returns `{ micro, macro }`; NaN where the denominator is empty (no positive and no prediction anywhere / no class
 *   with a positive).
 * @throws {InvalidArgumentError} C not a positive integer, or a target other than 0/1.
 * @throws {ShapeError} `targets` length differs from `probs`, or is not a multiple of C.
 * @throws {NonFiniteError} NaN or ±Infinity in `probs`.
 * @example
 * ```ts
 * multiLabelF1([0.9, 0.2, 0.1, 0.6, 0.7, 0.4], [1, 1, 0, 0, 1, 0], 3); // { micro: 2/3, macro: 2/3 }
 * ```
 */
export function multiLabelF1(
  probs: NumericArray,
  targets: NumericArray,
  numClasses: number,
): { micro: number; macro: number } {
  const op = 'multiLabelF1';
  if (!Number.isInteger(numClasses) || numClasses <= 0) {
    throw new InvalidArgumentError(op, 'numClasses', `must be a positive integer, got ${numClasses}`);
  }
  checkSameLength(op, 'probs', probs, 'targets', targets);
  if (targets.length % numClasses !== 0) {
    throw new ShapeError(
      op,
      'targets',
      `[N·C] with C=${numClasses}`,
      [targets.length],
      'length is not a multiple of C',
    );
  }
  const n = targets.length / numClasses;
  const column = (x: NumericArray, c: number) => Float64Array.from({ length: n }, (_, i) => x[i * numClasses + c]!);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let macro = 0;
  let used = 0;
  for (let c = 0; c < numClasses; c++) {
    const m = classificationAt(column(probs, c), column(targets, c), 0.5);
    tp += m.tp;
    fp += m.fp;
    fn += m.fn;
    if (m.tp + m.fn > 0) {
      macro += m.f1;
      used++;
    }
  }
  return {
    micro: tp + fp + fn === 0 ? Number.NaN : (2 * tp) / (2 * tp + fp + fn),
    macro: used === 0 ? Number.NaN : macro / used,
  };
}
