// Average precision and macro mAP (spec §13.3), used by the coco-soup recipe and re-exported by @geolip/bench.
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { argsortDesc, assertBinaryLabels, assertFiniteData, assertSameLength } from '@geolip/geometry/internal';

/** Numeric vector input of the metrics (read as float64). */
type NumericArray = ArrayLike<number>;

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
  assertSameLength(op, 'scores', scores, 'labels', labels);
  assertFiniteData(op, 'scores', scores);
  const pos = assertBinaryLabels(op, 'labels', labels);
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
export function meanAveragePrecision(scores: NumericArray, targets: NumericArray, numClasses: number): MeanAveragePrecision {
  const op = 'meanAveragePrecision';
  if (!Number.isInteger(numClasses) || numClasses <= 0) {
    throw new InvalidArgumentError(op, 'numClasses', `must be a positive integer, got ${numClasses}`);
  }
  assertSameLength(op, 'scores', scores, 'targets', targets);
  if (scores.length % numClasses !== 0) {
    throw new ShapeError(op, 'scores', `[N·C] with C=${numClasses}`, [scores.length], 'length is not a multiple of C');
  }
  assertFiniteData(op, 'scores', scores);
  assertBinaryLabels(op, 'targets', targets);
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
