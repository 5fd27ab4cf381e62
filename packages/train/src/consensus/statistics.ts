import {
  InvalidArgumentError,
  Matrix,
  RunningCrossMoments,
  RunningMoments,
  ShapeError,
  linalg,
  toMatrix,
  type MatrixLike,
  type RunningCrossMomentsJSON,
  type RunningMomentsJSON,
} from '@geolip/geometry';
import type { ConsensusProjector } from './types.js';

/** Serialized form of {@link ConsensusStatistics} (`toJSON()`; float64 values survive JSON exactly). */
export interface ConsensusStatisticsJSON {
  kind: 'ConsensusStatistics';
  version: 1;
  targetDim: number;
  target: RunningMomentsJSON;
  experts: { name: string; moments: RunningMomentsJSON; cross: RunningCrossMomentsJSON }[];
}

/**
 * Mergeable sufficient statistics of the calibration step (spec §3.6 step 4), accumulated shard by shard.
 *
 * For every expert e it keeps, over the rows seen so far, the count, the means μ_e and μ_Y, the
 * co-moment M_ee = Σ (x − μ_e)ᵀ(x − μ_e), the target co-moment M_YY and the cross co-moment
 * M_eY = Σ (x − μ_e)ᵀ(y − μ_Y), in geometry's {@link RunningMoments} / {@link RunningCrossMoments}
 * (Chan–Golub–LeVeque pairwise updates). That is all whitened Procrustes needs:
 *
 *     W_e = ZCA(M_ee / (n − 1)),  W_Y = ZCA(M_YY / (n − 1))
 *     W_e·M_eY·W_Y = U·S·Vᵀ,  R_e = U·Vᵀ,  L_e = W_e·R_e·W_Y⁻¹,  b_e = μ_Y − μ_e·L_e
 *
 * What is mergeable: everything stored here. `update` and `merge` in any order and any shard split
 * give the all-at-once statistics to ~1e-12 relative, hence the same projectors.
 *
 * What is NOT mergeable: the GPA and the PCA (iterative, and global over the E experts). Run
 * {@link buildConsensus} on a fit subset (or all rows) first; then stream every shard's raw expert
 * rows together with its calibration targets `Y` (`calibrationTargets`, i.e. the GPA consensus after
 * the PCA, for the same rows) through `update`, merge the shards, and call
 * {@link fitProjectorsFromStatistics}. Only the row-normalization-free (affine) variant of whitened
 * Procrustes can be streamed this way: row normalization of the whitened rows needs the final
 * whitening, so it would take a second pass.
 *
 * @example
 * const shard = new ConsensusStatistics([{ name: 'a', dim: 48 }, { name: 'b', dim: 64 }], 32);
 * shard.update({ a: xa, b: xb }, y);               // per shard, any number of times
 * const all = shardA.merge(shardB);                // or ConsensusStatistics.fromJSON(json)
 * const projectors = fitProjectorsFromStatistics(all);
 */
export class ConsensusStatistics {
  readonly targetDim: number;
  readonly experts: readonly { readonly name: string; readonly dim: number }[];
  /** Running moments of the calibration targets Y (`[K]` mean, `[K, K]` co-moment). */
  readonly target: RunningMoments;
  /** Per expert, in `experts` order: moments of the raw rows and cross moments with Y. */
  readonly perExpert: { moments: RunningMoments; cross: RunningCrossMoments }[];

  /**
   * @param experts - `E` experts `{ name, dim: D_e }` (E ≥ 1, names unique).
   * @param targetDim - K, the width of the calibration targets.
   * @throws {InvalidArgumentError} On bad names, widths or K.
   */
  constructor(experts: readonly { name: string; dim: number }[], targetDim: number) {
    const op = 'ConsensusStatistics';
    if (!Array.isArray(experts) || experts.length < 1)
      throw new InvalidArgumentError(op, 'experts', 'must be a non-empty array');
    if (!Number.isInteger(targetDim) || targetDim < 1)
      throw new InvalidArgumentError(op, 'targetDim', `must be an integer ≥ 1, got ${String(targetDim)}`);
    const seen = new Set<string>();
    experts.forEach((e, i) => {
      if (typeof e?.name !== 'string' || e.name.length === 0 || seen.has(e.name))
        throw new InvalidArgumentError(op, `experts[${i}].name`, 'must be a unique non-empty string');
      if (!Number.isInteger(e.dim) || e.dim < targetDim)
        throw new InvalidArgumentError(
          op,
          `experts[${i}].dim`,
          `must be an integer ≥ targetDim=${targetDim}, got ${String(e.dim)}`,
        );
      seen.add(e.name);
    });
    this.targetDim = targetDim;
    this.experts = experts.map((e) => ({ name: e.name, dim: e.dim }));
    this.target = new RunningMoments(targetDim);
    this.perExpert = this.experts.map((e) => ({
      moments: new RunningMoments(e.dim),
      cross: new RunningCrossMoments(e.dim, targetDim),
    }));
  }

  /** Rows seen so far. */
  get count(): number {
    return this.target.count;
  }

  /**
   * Folds in one batch of paired rows.
   * @param features - every expert's `[B, D_e]` raw rows, by name.
   * @param targets - `[B, K]` calibration targets of the same B samples.
   * @throws {ShapeError} If a batch has the wrong width or a different B (the message names the expert).
   * @throws {InvalidArgumentError} If an expert is missing from `features`.
   * @throws {NonFiniteError} If a batch holds NaN or ±Infinity.
   */
  update(features: Readonly<Record<string, MatrixLike>>, targets: MatrixLike): this {
    const op = 'ConsensusStatistics.update';
    const y = toMatrix(op, 'targets', targets);
    if (y.cols !== this.targetDim) throw new ShapeError(op, 'targets', `[B, K=${this.targetDim}]`, y.shape);
    const xs = this.experts.map((e) => {
      const value = features[e.name];
      if (value === undefined) throw new InvalidArgumentError(op, `features.${e.name}`, 'is missing');
      const x = toMatrix(op, `features['${e.name}']`, value);
      if (x.rows !== y.rows || x.cols !== e.dim)
        throw new ShapeError(op, `features['${e.name}']`, `[B=${y.rows}, D_e=${e.dim}]`, x.shape);
      return x;
    });
    this.target.update(y);
    xs.forEach((x, e) => {
      this.perExpert[e]!.moments.update(x);
      this.perExpert[e]!.cross.update(x, y);
    });
    return this;
  }

  /**
   * Merges another shard's statistics into this one (same experts, widths and K).
   * @throws {InvalidArgumentError} If the layouts differ.
   */
  merge(other: ConsensusStatistics): this {
    const op = 'ConsensusStatistics.merge';
    const same =
      other.targetDim === this.targetDim &&
      other.experts.length === this.experts.length &&
      other.experts.every((e, i) => e.name === this.experts[i]!.name && e.dim === this.experts[i]!.dim);
    if (!same) throw new InvalidArgumentError(op, 'other', 'must have the same experts, widths and targetDim');
    this.target.merge(other.target);
    this.perExpert.forEach((p, e) => {
      p.moments.merge(other.perExpert[e]!.moments);
      p.cross.merge(other.perExpert[e]!.cross);
    });
    return this;
  }

  toJSON(): ConsensusStatisticsJSON {
    return {
      kind: 'ConsensusStatistics',
      version: 1,
      targetDim: this.targetDim,
      target: this.target.toJSON(),
      experts: this.experts.map((e, i) => ({
        name: e.name,
        moments: this.perExpert[i]!.moments.toJSON(),
        cross: this.perExpert[i]!.cross.toJSON(),
      })),
    };
  }

  /** Restores `toJSON()` output. @throws {InvalidArgumentError} If `json` is not one. */
  static fromJSON(json: unknown): ConsensusStatistics {
    const j = json as ConsensusStatisticsJSON;
    if (
      typeof j !== 'object' ||
      j === null ||
      j.kind !== 'ConsensusStatistics' ||
      j.version !== 1 ||
      !Array.isArray(j.experts)
    ) {
      throw new InvalidArgumentError(
        'ConsensusStatistics.fromJSON',
        'json',
        'is not a ConsensusStatistics JSON (kind/version)',
      );
    }
    const out = new ConsensusStatistics(
      j.experts.map((e) => ({ name: e.name, dim: e.moments.dim })),
      j.targetDim,
    );
    const mutable = out as {
      target: RunningMoments;
      perExpert: { moments: RunningMoments; cross: RunningCrossMoments }[];
    };
    mutable.target = RunningMoments.fromJSON(j.target);
    mutable.perExpert = j.experts.map((e) => ({
      moments: RunningMoments.fromJSON(e.moments),
      cross: RunningCrossMoments.fromJSON(e.cross),
    }));
    return out;
  }
}

/** Options of {@link fitProjectorsFromStatistics}. */
export interface FitProjectorsOptions {
  /** Whitening shrinkage ε (spec §3.3). Default 1e-3, as {@link buildConsensus}. */
  shrinkage?: number;
  /** Whitening eigenvalue floor. Default 1e-10. */
  floor?: number;
}

/**
 * The whitened Procrustes calibration (spec §3.6 step 4, no row normalization) from merged
 * {@link ConsensusStatistics}: per expert L_e = W_e·R_e·W_Y⁻¹ and b_e = μ_Y − μ_e·L_e, with R_e the
 * polar factor U·Vᵀ of the whitened cross co-moment W_e·M_eY·W_Y.
 *
 * Equals geometry `whitenedProcrustes(X_e, Y, { rowNormalize: false })` on the stacked rows (so
 * {@link buildConsensus}'s projectors when Y is its `calibrationTargets`) up to rounding (tested to 1e-9).
 *
 * @param stats - statistics with at least 2 rows.
 * @param options - `shrinkage` (1e-3), `floor` (1e-10).
 * @returns `E` projectors (`linear` `[D_e, K]`, `bias` `[K]`), in `stats.experts` order.
 * @throws {InvalidArgumentError} If fewer than 2 rows were seen or an option is out of range.
 * @remarks float64 on the CPU: one eigh per expert (D_e) and one for K, one SVD of `[D_e, K]` each.
 */
export function fitProjectorsFromStatistics(
  stats: ConsensusStatistics,
  options: FitProjectorsOptions = {},
): ConsensusProjector[] {
  const op = 'fitProjectorsFromStatistics';
  if (stats.count < 2) throw new InvalidArgumentError(op, 'stats', `must hold at least 2 rows, got ${stats.count}`);
  const shrinkage = options.shrinkage ?? 1e-3;
  const floor = options.floor ?? 1e-10;
  if (typeof shrinkage !== 'number' || !(shrinkage >= 0 && shrinkage <= 1))
    throw new InvalidArgumentError(op, 'options.shrinkage', `must be a number in [0, 1], got ${String(shrinkage)}`);
  if (typeof floor !== 'number' || !Number.isFinite(floor) || !(floor > 0))
    throw new InvalidArgumentError(op, 'options.floor', `must be a finite number > 0, got ${String(floor)}`);
  const n = stats.count;
  const k = stats.targetDim;
  const wy = zca(stats.target.comoment(), n, shrinkage, floor);
  const muY = stats.target.mean();
  return stats.experts.map((expert, e) => {
    const { moments, cross } = stats.perExpert[e]!;
    const we = zca(moments.comoment(), n, shrinkage, floor);
    const c = linalg.matmul(linalg.matmul(we.w, cross.crossComoment()), wy.w); // [D_e, K]
    const { u, v } = linalg.svd(c);
    const rotation = linalg.matmulTransposeB(u, v); // [D_e, K]
    const linear = linalg.matmul(we.w, linalg.matmul(rotation, wy.inverse));
    const mu = moments.mean();
    const bias = muY.slice();
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let i = 0; i < expert.dim; i++) acc += mu[i]! * linear.data[i * k + j]!;
      bias[j] = bias[j]! - acc;
    }
    return { name: expert.name, linear, bias };
  });
}

/** ZCA matrix W = U·Λ^(−1/2)·Uᵀ and W⁻¹ of a co-moment, with the spec §3.3 shrinkage and floor. */
function zca(comoment: Matrix, n: number, shrinkage: number, floor: number): { w: Matrix; inverse: Matrix } {
  const d = comoment.rows;
  const c = comoment.clone();
  const divisor = Math.max(n - 1, 1);
  let trace = 0;
  for (let i = 0; i < c.data.length; i++) c.data[i] = c.data[i]! / divisor;
  for (let i = 0; i < d; i++) trace += c.data[i * d + i]!;
  const shift = (shrinkage * trace) / d;
  for (let i = 0; i < c.data.length; i++) c.data[i] = c.data[i]! * (1 - shrinkage);
  for (let i = 0; i < d; i++) c.data[i * d + i] = c.data[i * d + i]! + shift;
  const { values, vectors } = linalg.eigh(c);
  const lambda = values.map((x) => Math.max(x, floor));
  return { w: spectral(vectors, lambda, (x) => 1 / Math.sqrt(x)), inverse: spectral(vectors, lambda, Math.sqrt) };
}

function spectral(vectors: Matrix, values: Float64Array, g: (x: number) => number): Matrix {
  const d = values.length;
  const scaled = new Matrix(d, d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) scaled.data[i * d + j] = vectors.data[i * d + j]! * g(values[j]!);
  const out = linalg.matmulTransposeB(scaled, vectors);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const avg = 0.5 * (out.data[i * d + j]! + out.data[j * d + i]!);
      out.data[i * d + j] = avg;
      out.data[j * d + i] = avg;
    }
  }
  return out;
}
