import { FormatError, InvalidArgumentError } from '../errors.js';
import { assertInteger, assertNumber, bindShapes } from '../checks/assert-shape.js';
import { Matrix, toMatrix, type MatrixLike } from '../linalg/matrix.js';

/**
 * Mergeable streaming statistics in float64.
 *
 * Both accumulators keep `(count, mean, co-moment)` rather than raw sums (Σx, ΣxᵀX): each batch is
 * reduced exactly as a two-pass computation would (its own mean, then the centred co-moment), and
 * batches or shards are combined with the pairwise update of Chan, Golub & LeVeque (1979):
 *
 *     n = n_a + n_b,   δ = μ_b − μ_a
 *     μ = μ_a + δ · n_b / n
 *     M = M_a + M_b + (n_a · n_b / n) · δ δᵀ          (M = Σ (x − μ)(x − μ)ᵀ, the co-moment)
 *
 * Unlike raw sums, this never subtracts two large nearly equal numbers (the catastrophic
 * cancellation of ΣxᵀX/n − μμᵀ when |μ| ≫ σ), so a covariance reduced over many shards agrees with
 * the all-at-once two-pass answer to ~1e-12 relative or better, whatever the merge order (tested).
 */

/** Serialized form of {@link RunningMoments}, as written by `toJSON()` (plain JSON numbers, exact in float64). */
export interface RunningMomentsJSON {
  kind: 'RunningMoments';
  version: 1;
  /** D, the number of features. */
  dim: number;
  /** Rows seen so far. */
  count: number;
  /** `[D]` running mean. */
  mean: number[];
  /** `[D·D]` row-major co-moment Σ (x − μ)(x − μ)ᵀ (full symmetric matrix, not divided by anything). */
  comoment: number[];
}

/** Serialized form of {@link RunningCrossMoments}, as written by `toJSON()`. */
export interface RunningCrossMomentsJSON {
  kind: 'RunningCrossMoments';
  version: 1;
  /** Dx, the width of the `x` rows. */
  dimX: number;
  /** Dy, the width of the `y` rows. */
  dimY: number;
  count: number;
  /** `[Dx]` running mean of `x`. */
  meanX: number[];
  /** `[Dy]` running mean of `y`. */
  meanY: number[];
  /** `[Dx·Dy]` row-major cross co-moment Σ (x − μ_x)ᵀ(y − μ_y). */
  comoment: number[];
}

/** Options of {@link RunningMoments.covariance} and {@link RunningCrossMoments.crossCovariance}. */
export interface CovarianceOptions {
  /** Delta degrees of freedom: the co-moment is divided by `count − ddof`. Default 1 (unbiased, as `numpy.cov`). */
  ddof?: number;
}

/**
 * Running mean and covariance of D features, updated batch by batch and mergeable across shards.
 *
 *     μ = (1/n) Σ_i x_i                         covariance = M / (n − ddof)
 *     M = Σ_i (x_i − μ)(x_i − μ)ᵀ               (the co-moment, what is stored)
 *
 * Batches are folded in with the Chan–Golub–LeVeque pairwise update (see the module note), so
 * `a.update(x1).merge(b.update(x2))` equals one `update` of the stacked rows up to rounding (≤ 1e-12
 * relative), in any order. Shard jobs can persist an accumulator with `JSON.stringify(m)` and a
 * reducer can restore it with {@link RunningMoments.fromJSON}; the float64 values survive JSON exactly.
 *
 * @remarks
 * - float64 throughout; every batch is converted with `toMatrix` (a tensor is read with `dataSync`)
 *   and checked for NaN/±Infinity ({@link NonFiniteError}).
 * - Memory O(D²) (a 768-feature accumulator holds 4.7 MB); `update` costs O(n·D²/2), `merge` O(D²).
 * - With `count ≤ ddof` the covariance is NaN-filled (as numpy, without the warning); `mean()` of an
 *   empty accumulator is NaN-filled.
 *
 * @example
 * const all = new RunningMoments(2).update([[1, 2], [3, 5], [5, 4]]);
 * const shardA = new RunningMoments(2).update([[1, 2]]);
 * const shardB = RunningMoments.fromJSON(JSON.parse(JSON.stringify(new RunningMoments(2).update([[3, 5], [5, 4]]))));
 * shardA.merge(shardB).covariance().toArray(); // [[4, 2], [2, 2.3333333333333335]], as all.covariance()
 *
 * @see {@link RunningCrossMoments} for the cross-covariance of paired rows.
 */
export class RunningMoments {
  /** D, the number of features. */
  readonly dim: number;
  #count = 0;
  #mean: Float64Array;
  #comoment: Float64Array;

  /**
   * @param dim - D ≥ 1, the number of features (columns of every batch).
   * @throws {InvalidArgumentError} If `dim` is not a positive integer.
   */
  constructor(dim: number) {
    this.dim = assertInteger('RunningMoments', 'dim', dim, 1);
    this.#mean = new Float64Array(dim);
    this.#comoment = new Float64Array(dim * dim);
  }

  /** Rows seen so far (over all updates and merges). */
  get count(): number {
    return this.#count;
  }

  /**
   * Folds a batch of rows into the statistics.
   * @param batch - `[n, D]` rows; n = 0 is a no-op.
   * @returns `this`, for chaining.
   * @throws {ShapeError} If `batch` is not `[n, D]`.
   * @throws {NonFiniteError} If `batch` holds NaN or ±Infinity.
   */
  update(batch: MatrixLike): this {
    const op = 'RunningMoments.update';
    const x = toMatrix(op, 'batch', batch);
    bindShapes(op).check('batch', x, ['n', this.dim]);
    if (x.rows === 0) return this;
    const mean = columnMean(x);
    const comoment = centeredGram(x, mean);
    this.#combine(x.rows, mean, comoment);
    return this;
  }

  /**
   * Merges another accumulator into this one (Chan–Golub–LeVeque). `other` is not modified.
   * @param other - an accumulator over the same D features.
   * @returns `this`, for chaining.
   * @throws {ShapeError} If `other.dim` differs.
   */
  merge(other: RunningMoments): this {
    if (!(other instanceof RunningMoments)) {
      throw new InvalidArgumentError('RunningMoments.merge', 'other', 'must be a RunningMoments');
    }
    bindShapes('RunningMoments.merge').check('other', { shape: [other.dim] }, [this.dim]);
    if (other.#count === 0) return this;
    this.#combine(other.#count, other.#mean, other.#comoment);
    return this;
  }

  #combine(nb: number, meanB: Float64Array, comomentB: Float64Array): void {
    const na = this.#count;
    const D = this.dim;
    if (na === 0) {
      this.#count = nb;
      this.#mean = meanB.slice();
      this.#comoment = comomentB.slice();
      return;
    }
    const n = na + nb;
    const delta = new Float64Array(D);
    for (let i = 0; i < D; i++) delta[i] = meanB[i]! - this.#mean[i]!;
    const scale = (na * nb) / n;
    const M = this.#comoment;
    for (let i = 0; i < D; i++) {
      const di = delta[i]! * scale;
      const row = i * D;
      for (let j = 0; j < D; j++) M[row + j] = M[row + j]! + comomentB[row + j]! + di * delta[j]!;
    }
    const f = nb / n;
    for (let i = 0; i < D; i++) this.#mean[i] = this.#mean[i]! + delta[i]! * f;
    this.#count = n;
  }

  /** `[D]` mean of all rows seen (a copy); NaN-filled while `count` is 0. */
  mean(): Float64Array {
    return this.#count === 0 ? new Float64Array(this.dim).fill(NaN) : this.#mean.slice();
  }

  /** `[D, D]` co-moment M = Σ (x − μ)(x − μ)ᵀ (a copy). */
  comoment(): Matrix {
    return new Matrix(this.dim, this.dim, this.#comoment.slice());
  }

  /**
   * `[D, D]` covariance M / (count − ddof).
   * @throws {InvalidArgumentError} If `ddof` is not a finite number ≥ 0.
   */
  covariance(options: CovarianceOptions = {}): Matrix {
    const ddof = assertNumber('RunningMoments.covariance', 'ddof', options.ddof ?? 1, 0);
    return scaled(this.dim, this.dim, this.#comoment, this.#count - ddof);
  }

  /** An independent copy. */
  clone(): RunningMoments {
    const out = new RunningMoments(this.dim);
    out.#count = this.#count;
    out.#mean = this.#mean.slice();
    out.#comoment = this.#comoment.slice();
    return out;
  }

  /** Plain JSON (see {@link RunningMomentsJSON}); `JSON.stringify` calls it. */
  toJSON(): RunningMomentsJSON {
    return {
      kind: 'RunningMoments',
      version: 1,
      dim: this.dim,
      count: this.#count,
      mean: Array.from(this.#mean),
      comoment: Array.from(this.#comoment),
    };
  }

  /**
   * Restores an accumulator written by {@link RunningMoments.toJSON}.
   * @throws {FormatError} If `json` is not a valid `RunningMomentsJSON` (wrong kind or version,
   *   lengths that disagree with `dim`, non-finite numbers).
   */
  static fromJSON(json: unknown): RunningMoments {
    const op = 'RunningMoments.fromJSON';
    const obj = readHeader(op, json, 'RunningMoments');
    const dim = readCount(op, obj, 'dim', 1);
    const out = new RunningMoments(dim);
    out.#count = readCount(op, obj, 'count', 0);
    out.#mean = readNumbers(op, obj, 'mean', dim);
    out.#comoment = readNumbers(op, obj, 'comoment', dim * dim);
    return out;
  }
}

/**
 * Running cross-covariance of paired rows x ∈ ℝ^{Dx}, y ∈ ℝ^{Dy}, plus both means; mergeable across shards.
 *
 *     M_xy = Σ_i (x_i − μ_x)ᵀ (y_i − μ_y)        `[Dx, Dy]`, what is stored
 *     crossCovariance = M_xy / (n − ddof)
 *     merge: M_xy = M_a + M_b + (n_a·n_b/n) · δ_xᵀ δ_y
 *
 * This is what Procrustes needs from a dataset too large to hold at once: with centred data,
 * C = XᵀY is `crossComoment()`.
 *
 * @remarks
 * - float64, Chan–Golub–LeVeque merge (see {@link RunningMoments}); memory O(Dx·Dy), `update` O(n·Dx·Dy).
 * - It does not keep the auto-covariances of x or y; pair it with two {@link RunningMoments} when
 *   whitening is needed.
 *
 * @example
 * const m = new RunningCrossMoments(1, 2).update([[1], [2], [3]], [[2, 0], [4, 1], [6, -1]]);
 * m.crossCovariance().toArray(); // [[2, -0.5]]
 */
export class RunningCrossMoments {
  /** Dx, the width of the `x` rows. */
  readonly dimX: number;
  /** Dy, the width of the `y` rows. */
  readonly dimY: number;
  #count = 0;
  #meanX: Float64Array;
  #meanY: Float64Array;
  #comoment: Float64Array;

  /**
   * @param dimX - Dx ≥ 1.
   * @param dimY - Dy ≥ 1.
   * @throws {InvalidArgumentError} If a width is not a positive integer.
   */
  constructor(dimX: number, dimY: number) {
    this.dimX = assertInteger('RunningCrossMoments', 'dimX', dimX, 1);
    this.dimY = assertInteger('RunningCrossMoments', 'dimY', dimY, 1);
    this.#meanX = new Float64Array(dimX);
    this.#meanY = new Float64Array(dimY);
    this.#comoment = new Float64Array(dimX * dimY);
  }

  /** Row pairs seen so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Folds a batch of paired rows into the statistics.
   * @param x - `[n, Dx]` rows.
   * @param y - `[n, Dy]` rows, paired with `x` row by row; n = 0 is a no-op.
   * @returns `this`, for chaining.
   * @throws {ShapeError} If `x` is not `[n, Dx]` or `y` is not `[n, Dy]` with the same n.
   * @throws {NonFiniteError} If either holds NaN or ±Infinity.
   */
  update(x: MatrixLike, y: MatrixLike): this {
    const op = 'RunningCrossMoments.update';
    const xm = toMatrix(op, 'x', x);
    const ym = toMatrix(op, 'y', y);
    const shapes = bindShapes(op);
    shapes.check('x', xm, ['n', this.dimX]);
    shapes.check('y', ym, ['n', this.dimY]);
    if (xm.rows === 0) return this;
    const mx = columnMean(xm);
    const my = columnMean(ym);
    const comoment = centeredCross(xm, mx, ym, my);
    this.#combine(xm.rows, mx, my, comoment);
    return this;
  }

  /**
   * Merges another accumulator into this one. `other` is not modified.
   * @throws {ShapeError} If `other` has different widths.
   */
  merge(other: RunningCrossMoments): this {
    if (!(other instanceof RunningCrossMoments)) {
      throw new InvalidArgumentError('RunningCrossMoments.merge', 'other', 'must be a RunningCrossMoments');
    }
    bindShapes('RunningCrossMoments.merge').check('other', { shape: [other.dimX, other.dimY] }, [this.dimX, this.dimY]);
    if (other.#count === 0) return this;
    this.#combine(other.#count, other.#meanX, other.#meanY, other.#comoment);
    return this;
  }

  #combine(nb: number, meanXB: Float64Array, meanYB: Float64Array, comomentB: Float64Array): void {
    const na = this.#count;
    const Dx = this.dimX;
    const Dy = this.dimY;
    if (na === 0) {
      this.#count = nb;
      this.#meanX = meanXB.slice();
      this.#meanY = meanYB.slice();
      this.#comoment = comomentB.slice();
      return;
    }
    const n = na + nb;
    const dx = new Float64Array(Dx);
    const dy = new Float64Array(Dy);
    for (let i = 0; i < Dx; i++) dx[i] = meanXB[i]! - this.#meanX[i]!;
    for (let j = 0; j < Dy; j++) dy[j] = meanYB[j]! - this.#meanY[j]!;
    const scale = (na * nb) / n;
    const M = this.#comoment;
    for (let i = 0; i < Dx; i++) {
      const di = dx[i]! * scale;
      const row = i * Dy;
      for (let j = 0; j < Dy; j++) M[row + j] = M[row + j]! + comomentB[row + j]! + di * dy[j]!;
    }
    const f = nb / n;
    for (let i = 0; i < Dx; i++) this.#meanX[i] = this.#meanX[i]! + dx[i]! * f;
    for (let j = 0; j < Dy; j++) this.#meanY[j] = this.#meanY[j]! + dy[j]! * f;
    this.#count = n;
  }

  /** `[Dx]` mean of the `x` rows (a copy); NaN-filled while `count` is 0. */
  meanX(): Float64Array {
    return this.#count === 0 ? new Float64Array(this.dimX).fill(NaN) : this.#meanX.slice();
  }

  /** `[Dy]` mean of the `y` rows (a copy); NaN-filled while `count` is 0. */
  meanY(): Float64Array {
    return this.#count === 0 ? new Float64Array(this.dimY).fill(NaN) : this.#meanY.slice();
  }

  /** `[Dx, Dy]` cross co-moment Σ (x − μ_x)ᵀ(y − μ_y) (a copy). */
  crossComoment(): Matrix {
    return new Matrix(this.dimX, this.dimY, this.#comoment.slice());
  }

  /**
   * `[Dx, Dy]` cross-covariance M_xy / (count − ddof).
   * @throws {InvalidArgumentError} If `ddof` is not a finite number ≥ 0.
   */
  crossCovariance(options: CovarianceOptions = {}): Matrix {
    const ddof = assertNumber('RunningCrossMoments.crossCovariance', 'ddof', options.ddof ?? 1, 0);
    return scaled(this.dimX, this.dimY, this.#comoment, this.#count - ddof);
  }

  /** An independent copy. */
  clone(): RunningCrossMoments {
    const out = new RunningCrossMoments(this.dimX, this.dimY);
    out.#count = this.#count;
    out.#meanX = this.#meanX.slice();
    out.#meanY = this.#meanY.slice();
    out.#comoment = this.#comoment.slice();
    return out;
  }

  /** Plain JSON (see {@link RunningCrossMomentsJSON}); `JSON.stringify` calls it. */
  toJSON(): RunningCrossMomentsJSON {
    return {
      kind: 'RunningCrossMoments',
      version: 1,
      dimX: this.dimX,
      dimY: this.dimY,
      count: this.#count,
      meanX: Array.from(this.#meanX),
      meanY: Array.from(this.#meanY),
      comoment: Array.from(this.#comoment),
    };
  }

  /**
   * Restores an accumulator written by {@link RunningCrossMoments.toJSON}.
   * @throws {FormatError} If `json` is not a valid `RunningCrossMomentsJSON`.
   */
  static fromJSON(json: unknown): RunningCrossMoments {
    const op = 'RunningCrossMoments.fromJSON';
    const obj = readHeader(op, json, 'RunningCrossMoments');
    const dimX = readCount(op, obj, 'dimX', 1);
    const dimY = readCount(op, obj, 'dimY', 1);
    const out = new RunningCrossMoments(dimX, dimY);
    out.#count = readCount(op, obj, 'count', 0);
    out.#meanX = readNumbers(op, obj, 'meanX', dimX);
    out.#meanY = readNumbers(op, obj, 'meanY', dimY);
    out.#comoment = readNumbers(op, obj, 'comoment', dimX * dimY);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers (float64, trusted callers).

function columnMean(x: Matrix): Float64Array {
  const { rows, cols, data } = x;
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) mean[j] = mean[j]! + data[o + j]!;
  }
  for (let j = 0; j < cols; j++) mean[j] = mean[j]! / rows;
  return mean;
}

/** Σ_r (x_r − μ)(x_r − μ)ᵀ, computing the upper triangle and mirroring it (exactly symmetric). */
function centeredGram(x: Matrix, mean: Float64Array): Float64Array {
  const { rows, cols: D, data } = x;
  const M = new Float64Array(D * D);
  const c = new Float64Array(D);
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    for (let j = 0; j < D; j++) c[j] = data[o + j]! - mean[j]!;
    for (let i = 0; i < D; i++) {
      const ci = c[i]!;
      if (ci === 0) continue;
      const row = i * D;
      for (let j = i; j < D; j++) M[row + j] = M[row + j]! + ci * c[j]!;
    }
  }
  for (let i = 0; i < D; i++) for (let j = 0; j < i; j++) M[i * D + j] = M[j * D + i]!;
  return M;
}

/** Σ_r (x_r − μ_x)ᵀ (y_r − μ_y). */
function centeredCross(x: Matrix, mx: Float64Array, y: Matrix, my: Float64Array): Float64Array {
  const { rows, cols: Dx } = x;
  const Dy = y.cols;
  const M = new Float64Array(Dx * Dy);
  const cx = new Float64Array(Dx);
  const cy = new Float64Array(Dy);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < Dx; i++) cx[i] = x.data[r * Dx + i]! - mx[i]!;
    for (let j = 0; j < Dy; j++) cy[j] = y.data[r * Dy + j]! - my[j]!;
    for (let i = 0; i < Dx; i++) {
      const ci = cx[i]!;
      if (ci === 0) continue;
      const row = i * Dy;
      for (let j = 0; j < Dy; j++) M[row + j] = M[row + j]! + ci * cy[j]!;
    }
  }
  return M;
}

function scaled(rows: number, cols: number, data: Float64Array, divisor: number): Matrix {
  const out = new Matrix(rows, cols);
  if (divisor <= 0) out.data.fill(NaN);
  else for (let i = 0; i < data.length; i++) out.data[i] = data[i]! / divisor;
  return out;
}

function readHeader(op: string, json: unknown, kind: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FormatError(
      op,
      'json',
      `must be an object written by ${kind}.toJSON(), got ${json === null ? 'null' : typeof json}`,
    );
  }
  const obj = json as Record<string, unknown>;
  if (obj.kind !== kind) throw new FormatError(op, 'json', `must have kind '${kind}', got ${JSON.stringify(obj.kind)}`);
  if (obj.version !== 1)
    throw new FormatError(op, 'json', `has unsupported version ${JSON.stringify(obj.version)} (expected 1)`);
  return obj;
}

function readCount(op: string, obj: Record<string, unknown>, key: string, min: number): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new FormatError(op, 'json', `field '${key}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function readNumbers(op: string, obj: Record<string, unknown>, key: string, length: number): Float64Array {
  const v = obj[key];
  if (!Array.isArray(v) || v.length !== length) {
    throw new FormatError(
      op,
      'json',
      `field '${key}' must be an array of ${length} numbers, got ${Array.isArray(v) ? `length ${v.length}` : typeof v}`,
    );
  }
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new FormatError(op, 'json', `field '${key}' has a non-finite or non-numeric entry at index ${i}`);
    }
    out[i] = x;
  }
  return out;
}
