import { FormatError, InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { bestThreshold } from '@geolip/metrics';

/** What {@link ParaphraseThreshold.fit} found, on the data it was fitted on. */
export interface ParaphraseFit {
  /** The chosen threshold t: "paraphrase" iff cos ≥ t. */
  threshold: number;
  /** F1 of the positive class at t: 2·tp / (2·tp + fp + fn). */
  f1: number;
  /** tp / (tp + fp). */
  precision: number;
  /** tp / (tp + fn). */
  recall: number;
  /** (tp + tn) / N. */
  accuracy: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** The JSON form of a {@link ParaphraseThreshold} ({@link ParaphraseThreshold.toJSON}). */
export interface ParaphraseThresholdJSON {
  type: 'ParaphraseThreshold';
  version: 1;
  /** The threshold, or null when not fitted. */
  threshold: number | null;
  /** The fit's metrics on its own data, or null. */
  fit: ParaphraseFit | null;
}

/**
 * Paraphrase detection by a cosine threshold (the card's MRPC protocol, spec §13.1): predict
 * "paraphrase" iff cos(u, v) ≥ t, with t chosen to maximize F1 on the positive class. No weights.
 *
 * {@link ParaphraseThreshold.fit} sweeps every distinct cut of the fitted cosines:
 * - the midpoints (a + b)/2 between consecutive sorted unique values a > b (each separates the values ≥ a
 *   from those ≤ b), and
 * - the smallest value itself (every fitted pair predicted positive).
 *
 * The sweep is `bestThreshold` of `@geolip/metrics` (one implementation of the best-F1 cut): ties (several cuts
 * with the same F1) go to the **highest** threshold, the most conservative cut. If a midpoint rounds onto b
 * (adjacent floats), a itself is used.
 *
 * @remarks [INFER] choices:
 * - Midpoints rather than the card's apparent 0.01 grid: the grid can only lose F1 on the fitted data, and
 *   a midpoint does not sit on a fitted value, so a tiny perturbation does not flip it.
 * - The all-positive cut is the smallest fitted cosine, not −∞, so the threshold is always finite (and JSON-safe);
 *   a new cosine below every fitted one is then predicted negative.
 * - The threshold does not depend on the order of the pairs (only on the multiset of (cos, label)).
 * - O(N log N): one sort, then a sweep with running counts.
 *
 * @example
 * const pt = new ParaphraseThreshold();
 * pt.fit([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0]); // threshold 0.55, F1 6/7
 * pt.predict([0.95, 0.3]);                                      // Uint8Array [1, 0]
 * const again = ParaphraseThreshold.fromJSON(JSON.parse(JSON.stringify(pt)));
 */
export class ParaphraseThreshold {
  private t: number | null;
  private lastFit: ParaphraseFit | null = null;

  /**
   * @param threshold - a known threshold (e.g. 0.71, the card's), or none to {@link ParaphraseThreshold.fit} later.
   * @throws {InvalidArgumentError} for a threshold that is not a finite number.
   */
  constructor(threshold?: number) {
    if (threshold !== undefined && (typeof threshold !== 'number' || !Number.isFinite(threshold))) {
      throw new InvalidArgumentError(
        'ParaphraseThreshold',
        'threshold',
        `must be a finite number, got ${String(threshold)}`,
      );
    }
    this.t = threshold ?? null;
  }

  /** The threshold, or null before {@link ParaphraseThreshold.fit}. */
  get threshold(): number | null {
    return this.t;
  }

  /** The metrics of the last fit on its own data, or null. */
  get fitResult(): ParaphraseFit | null {
    return this.lastFit === null ? null : { ...this.lastFit };
  }

  /**
   * Chooses and stores the threshold maximizing F1 on the positive class (see the class notes).
   *
   * @param cosines - `[N]` cosine similarities of the pairs (any finite numbers).
   * @param labels - `[N]` 1 = paraphrase, 0 = not; at least one 1.
   * @returns the chosen threshold and its metrics on (cosines, labels).
   * @throws {ShapeError} if the lengths differ. @throws {NonFiniteError} for NaN or ±Infinity in `cosines`.
   * @throws {InvalidArgumentError} for a non-array, a label other than 0/1, or no positive label.
   */
  fit(cosines: ArrayLike<number>, labels: ArrayLike<number>): ParaphraseFit {
    const op = 'ParaphraseThreshold.fit';
    const n = checkCosines(op, cosines);
    if (!isArrayLike(labels))
      throw new InvalidArgumentError(op, 'labels', `must be an array of 0/1 labels, got ${typeName(labels)}`);
    if (labels.length !== n) throw new ShapeError(op, 'labels', `[N=${n}] (the length of 'cosines')`, [labels.length]);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const y = labels[i];
      if (y !== 0 && y !== 1) throw new InvalidArgumentError(op, `labels[${i}]`, `must be 0 or 1, got ${String(y)}`);
      pos += y;
    }
    if (pos === 0)
      throw new InvalidArgumentError(
        op,
        'labels',
        'must hold at least one positive (1): F1 of the positive class is 0 at every threshold',
      );
    // The sweep is @geolip/metrics' bestThreshold (F1, ties → the highest cut); its "all positive" cut (−∞) is
    // reported here as the smallest fitted cosine, which predicts the same (every fitted pair positive) and
    // stays finite.
    const best = bestThreshold(cosines, labels, { metric: 'f1' });
    let min = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) if (cosines[j]! < min) min = cosines[j]!;
    const bestT = best.threshold === Number.NEGATIVE_INFINITY ? min : best.threshold;
    const fit: ParaphraseFit = {
      threshold: bestT,
      f1: best.f1,
      precision: best.precision,
      recall: best.recall,
      accuracy: best.accuracy,
      tp: best.tp,
      fp: best.fp,
      tn: best.tn,
      fn: best.fn,
    };
    this.t = bestT;
    this.lastFit = fit;
    return { ...fit };
  }

  /**
   * @param cosines - `[N]` cosine similarities.
   * @returns `[N]` 1 iff cos ≥ threshold.
   * @throws {InvalidArgumentError} before a fit (no threshold) or for a non-array.
   * @throws {NonFiniteError} for NaN or ±Infinity in `cosines`.
   */
  predict(cosines: ArrayLike<number>): Uint8Array {
    const op = 'ParaphraseThreshold.predict';
    if (this.t === null)
      throw new InvalidArgumentError(
        op,
        'this',
        'has no threshold: call fit(cosines, labels) first or pass one to the constructor',
      );
    const n = checkCosines(op, cosines);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = cosines[i]! >= this.t ? 1 : 0;
    return out;
  }

  /** `{ type: 'ParaphraseThreshold', version: 1, threshold, fit }` (what `JSON.stringify` writes). */
  toJSON(): ParaphraseThresholdJSON {
    return {
      type: 'ParaphraseThreshold',
      version: 1,
      threshold: this.t,
      fit: this.lastFit === null ? null : { ...this.lastFit },
    };
  }

  /**
   * Rebuilds from {@link ParaphraseThreshold.toJSON} (an object, or its JSON text).
   * @throws {FormatError} naming `json` for another type or version, or a threshold that is not a finite number or
   *   null.
   */
  static fromJSON(json: ParaphraseThresholdJSON | string): ParaphraseThreshold {
    const op = 'ParaphraseThreshold.fromJSON';
    let value: unknown = json;
    if (typeof json === 'string') {
      try {
        value = JSON.parse(json);
      } catch (error) {
        throw new FormatError(op, 'json', 'is not valid JSON', { cause: error });
      }
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new FormatError(op, 'json', 'must be an object');
    const o = value as Record<string, unknown>;
    if (o.type !== 'ParaphraseThreshold')
      throw new FormatError(op, 'json', `has type ${JSON.stringify(o.type)}, expected "ParaphraseThreshold"`);
    if (o.version !== 1)
      throw new FormatError(op, 'json', `has version ${JSON.stringify(o.version)}; this build reads version 1`);
    const t = o.threshold;
    if (t !== null && (typeof t !== 'number' || !Number.isFinite(t)))
      throw new FormatError(op, 'json', `has threshold ${JSON.stringify(t)}; expected a finite number or null`);
    const out = new ParaphraseThreshold(t ?? undefined);
    const fit = o.fit;
    if (fit !== undefined && fit !== null) {
      if (typeof fit !== 'object' || Array.isArray(fit))
        throw new FormatError(op, 'json', 'has a "fit" that is not an object');
      const f = fit as Record<string, unknown>;
      for (const key of ['threshold', 'f1', 'precision', 'recall', 'accuracy', 'tp', 'fp', 'tn', 'fn'] as const) {
        if (typeof f[key] !== 'number' || !Number.isFinite(f[key]))
          throw new FormatError(op, 'json', `has fit.${key} = ${JSON.stringify(f[key])}; expected a finite number`);
      }
      out.lastFit = { ...(f as unknown as ParaphraseFit) };
    }
    return out;
  }
}

function checkCosines(op: string, cosines: unknown): number {
  if (!isArrayLike(cosines))
    throw new InvalidArgumentError(op, 'cosines', `must be an array of numbers, got ${typeName(cosines)}`);
  let count = 0;
  let first = -1;
  for (let i = 0; i < cosines.length; i++) {
    const c = cosines[i];
    if (typeof c !== 'number') throw new InvalidArgumentError(op, `cosines[${i}]`, `must be a number, got ${typeof c}`);
    if (!Number.isFinite(c)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count > 0) throw new NonFiniteError(op, 'cosines', count, first);
  return cosines.length;
}

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

function typeName(x: unknown): string {
  return x === null ? 'null' : typeof x;
}
