import * as tf from '@tensorflow/tfjs-core';
import {
  InvalidArgumentError,
  Matrix,
  NonFiniteError,
  normalize,
  ShapeError,
  toMatrix,
  type MatrixLike,
  type Rng,
} from '@geolip/geometry';
import { Module } from '@geolip/nn';

import {
  ANCHOR_INITS,
  gaussian,
  initializeAnchors,
  normalizeRows,
  repelAnchors,
  resolveRng,
  type AnchorInit,
} from './anchor-init.js';
import {
  checkChoice,
  checkInteger,
  checkMatrixTensor,
  checkNumber,
  describe,
  readSync,
} from './internal/module-checks.js';

/**
 * How anchor dropout shows up in the output of {@link Constellation.triangulate} (spec §4.3).
 * - `'mask'` (default): fixed width K; dropped columns are set to 0 (tri ⊙ keep), so a Patchwork
 *   downstream still sees K columns.
 * - `'subset'`: only the kept columns, width K' = Σ keep (the author's `Constellation` behaviour);
 *   {@link TriangulateWithDropoutResult.anchorIds} maps columns back to anchor ids.
 */
export type DropoutMode = 'mask' | 'subset';

/** The dropout modes {@link Constellation} accepts. */
export const DROPOUT_MODES: readonly DropoutMode[] = Object.freeze(['mask', 'subset']);

/** Options of the {@link Constellation} constructor. */
export interface ConstellationOptions {
  /** K, the number of anchors (≥ 2). */
  anchors: number;
  /** D, the ambient dimension of the anchors and of the inputs (≥ 1). */
  dim: number;
  /** Initialization (spec §4.1). Default `'repulsion'`. See {@link initializeAnchors}. */
  init?: AnchorInit;
  /** Seeds the initialization and the dropout stream. Default 0. */
  seed?: number;
  /** Repulsion iterations for `init: 'repulsion'`. Default 200. */
  repulsionSteps?: number;
  /** Repulsion step size. Default 0.05. */
  repulsionStrength?: number;
  /** Anchor dropout probability p ∈ [0, 1], applied only by `triangulate(x, { training: true })`. Default 0. */
  dropout?: number;
  /** Default `'mask'`. */
  dropoutMode?: DropoutMode;
}

/** The configuration of a {@link Constellation}, as stored in a checkpoint's metadata. */
export interface ConstellationConfig {
  /** K. */
  anchors: number;
  /** D. */
  dim: number;
  /** Anchor dropout probability. */
  dropout: number;
  dropoutMode: DropoutMode;
}

/** Options of {@link Constellation.fromAnchors}. */
export interface FromAnchorsOptions {
  /** Seeds the dropout stream (and, in {@link Constellation.fromData}, the Gaussians of the free slots). Default 0. */
  seed?: number;
  /** Default 0. */
  dropout?: number;
  /** Default `'mask'`. */
  dropoutMode?: DropoutMode;
}

/** Options of {@link Constellation.fromData}. */
export interface FromDataOptions extends FromAnchorsOptions {
  /** K, the number of anchors; at least the number of classes C. */
  anchors: number;
  /**
   * How many slots after the C centroids hold midpoints of the most-confused centroid pairs.
   * Default min(C, K − C, C(C−1)/2). At most min(K − C, C(C−1)/2).
   */
  confusedPairs?: number;
  /** Repulsion iterations for the free slots. Default 200. */
  repulsionSteps?: number;
  /** Repulsion step size. Default 0.05. */
  repulsionStrength?: number;
}

/** Options of {@link Constellation.triangulate}. */
export interface TriangulateOptions {
  /** Apply anchor dropout. Default false (evaluation: no dropout). */
  training?: boolean;
  /** Overrides the constellation's dropout probability for this call, in [0, 1]. */
  dropout?: number;
  /** Draw the keep mask from this generator instead of the constellation's own stream. */
  rng?: Rng;
}

/** What {@link Constellation.triangulateWithDropout} returns. */
export interface TriangulateWithDropoutResult {
  /** `[B, K]` (mode `'mask'`, dropped columns 0) or `[B, K']` (mode `'subset'`, kept columns only). */
  tri: tf.Tensor2D;
  /** `[K]` the keep mask that was used: 1 = kept, 0 = dropped. All ones when no dropout was applied. */
  keep: Uint8Array;
  /** `[K]` or `[K']` the anchor id of each column of `tri` (0..K−1 in mode `'mask'`). */
  anchorIds: Int32Array;
}

/** Options of {@link Constellation.nearest}. */
export interface NearestOptions {
  /** `[K]` keep mask (1/true = eligible); dropped anchors are never chosen. Default: all anchors. */
  keep?: ArrayLike<number | boolean>;
}

/** Options of {@link Constellation.softAssign}. */
export interface SoftAssignOptions {
  /** Softmax temperature τ > 0. Default 0.1 (the author's `assign_temp`). */
  temperature?: number;
}

/** Seed offset between the initialization stream and the dropout stream of one seed. */
const DROPOUT_STREAM = 0x5bd1e995;

/** Set by the static factories right before `new`, consumed by the constructor (keeps the signature clean). */
let pendingValues: tf.Tensor2D | Float32Array | null = null;

/**
 * A constellation: K trainable anchors on the unit sphere S^{D−1} against which embeddings are
 * triangulated (spec §4). A `Module` of `@geolip/nn`: one parameter `anchors` `[K, D]` and an optional
 * buffer `home` `[K, D]` (set by {@link Constellation.saveHome}), so `getWeights()` gives the live
 * variable, `stateDict()` / `loadStateDict()` copy in and out under the names of a PyTorch module with a
 * parameter `anchors` and a buffer `home`, and a model holds it directly as a child module.
 *
 *     Â   = rownorm(anchors)              re-normalized on every use; the raw variable is unconstrained
 *     x̂   = rownorm(x)                    inputs are normalized on use too (see triangulate)
 *     cos = x̂ Âᵀ,   tri = 1 − cos ∈ [0, 2],   nearest = argmax_a cos,   assign = softmax(cos / τ)
 *
 * @example
 * const c = new Constellation({ anchors: 64, dim: 128, seed: 1 });  // repulsion init
 * const tri = c.triangulate(embeddings);                           // [B, 64]
 * const p = new Patchwork({ anchors: 64, compartments: 8, compartmentDim: 64 });
 * const features = p.apply(tri);                                    // [B, 512]
 * c.paramCount() + p.paramCount();                                // 84,480 (spec §5)
 *
 * @see `geolip_core/core/associate/constellation.py` (`Constellation`).
 */
export class Constellation extends Module {
  /** `[K, D]` the raw trainable anchors (not constrained to unit norm; every method normalizes them). */
  readonly anchors: tf.Variable<tf.Rank.R2>;
  /** K. */
  readonly numAnchors: number;
  /** D. */
  readonly dim: number;
  /** Default anchor dropout probability of {@link Constellation.triangulate} in training. */
  readonly dropout: number;
  /** See {@link DropoutMode}. */
  readonly dropoutMode: DropoutMode;

  private keepMask: Uint8Array | null = null;
  private readonly dropoutRng: Rng;

  /**
   * Creates K anchors in R^D, initialized in float64 on the CPU with a seeded generator
   * (see {@link initializeAnchors}) and stored as a float32 `tf.Variable`.
   *
   * @throws {InvalidArgumentError} if `anchors` < 2, `dim` < 1, or an option is out of range.
   */
  constructor(options: ConstellationOptions) {
    super();
    const op = 'Constellation';
    const given = pendingValues;
    pendingValues = null;
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describe(options)}`);
    this.numAnchors = checkInteger(op, 'anchors', options.anchors, 2);
    this.dim = checkInteger(op, 'dim', options.dim, 1);
    this.dropout = checkNumber(op, 'dropout', options.dropout ?? 0, 0, 1);
    this.dropoutMode = checkChoice(op, 'dropoutMode', options.dropoutMode ?? 'mask', DROPOUT_MODES);
    const seed = checkNumber(op, 'seed', options.seed ?? 0);
    this.dropoutRng = resolveRng(op, { seed: (seed >>> 0) ^ DROPOUT_STREAM });
    if (given instanceof tf.Tensor) {
      this.anchors = this.addParameter('anchors', tf.clone(given)) as tf.Variable<tf.Rank.R2>;
    } else {
      let values = given;
      if (values === null) {
        checkChoice(op, 'init', options.init ?? 'repulsion', ANCHOR_INITS);
        const m = initializeAnchors(this.numAnchors, this.dim, {
          init: options.init,
          seed,
          repulsionSteps: options.repulsionSteps,
          repulsionStrength: options.repulsionStrength,
        });
        values = Float32Array.from(m.data);
      }
      this.anchors = this.addParameter(
        'anchors',
        tf.tensor2d(values, [this.numAnchors, this.dim], 'float32'),
      ) as tf.Variable<tf.Rank.R2>;
    }
    this.addBuffer('home', null, { optional: true, shape: [this.numAnchors, this.dim] });
  }

  /**
   * A constellation whose anchors are the given values (copied; not normalized, as the raw variable
   * never is). Used by {@link loadConstellation} and for anchors computed elsewhere.
   *
   * @param anchors - `[K, D]` initial anchor values, K ≥ 2: a float32 tensor (copied on the backend,
   *   no read), a float64 {@link Matrix} or nested arrays.
   * @returns a new Constellation (the caller disposes it).
   *
   * @throws {ShapeError} if `anchors` is not `[K, D]` with K ≥ 2.
   * @throws {NonFiniteError} if CPU-side values (Matrix, arrays) hold NaN/Inf.
   * @throws {InvalidArgumentError} for a non-float32 tensor or bad options.
   *
   * @example
   * const c = Constellation.fromAnchors([[1, 0], [0, 1]]);
   * c.triangulate(tf.tensor2d([[1, 0]])).print(); // [[0, 1]]
   */
  static fromAnchors(anchors: tf.Tensor2D | MatrixLike, options: FromAnchorsOptions = {}): Constellation {
    const op = 'Constellation.fromAnchors';
    let values: tf.Tensor2D | Float32Array;
    let shape: [number, number];
    if (anchors instanceof tf.Tensor) {
      shape = checkMatrixTensor(op, 'anchors', anchors, 'K', 'D');
      values = anchors;
    } else {
      const m = toMatrix(op, 'anchors', anchors);
      assertFinite(op, 'anchors', m.data);
      shape = m.shape;
      values = Float32Array.from(m.data);
    }
    if (shape[0] < 2 || shape[1] < 1) throw new ShapeError(op, 'anchors', '[K, D] with K >= 2 and D >= 1', shape);
    return construct(values, { ...options, anchors: shape[0], dim: shape[1] });
  }

  /**
   * Anchors crystallized from labelled data (spec §4.1 "from data", [INFER] details):
   *
   *     classes   c_0 < c_1 < … < c_{C−1}: the distinct label values, ascending
   *     slot k < C:            μ_k = rownorm(Σ_{n: label_n = c_k} rownorm(e_n))   (class centroid)
   *     slots C … C+P−1:       rownorm(μ_i + μ_j) for the P most-confused pairs i < j, where
   *                            "most confused" = highest centroid cosine ⟨μ_i, μ_j⟩ (ties: smaller i, then j)
   *     remaining slots:       normalized Gaussians, then `repulsionSteps` repulsion steps in which only
   *                            these slots move, pushed away from every anchor (centroids included)
   *
   * @param embeddings - `[N, D]` embeddings (rows are normalized before averaging): a tensor (read
   *   with `dataSync`), a float64 {@link Matrix} or nested arrays.
   * @param labels - `[N]` integer class labels (any integer values; a tensor is read with `dataSync`).
   * @returns a new Constellation with K = `options.anchors` anchors of dimension D.
   *
   * @throws {ShapeError} if `embeddings` is not `[N, D]` or `labels` is not `[N]`.
   * @throws {NonFiniteError} if `embeddings` holds NaN/Inf.
   * @throws {InvalidArgumentError} if a label is not an integer, C > K, or `confusedPairs` is out of range.
   *
   * @remarks
   * - Reads the data to the CPU and works in float64; on backends without synchronous reads (webgpu in
   *   Node) pass `await Matrix.fromTensorAsync(embeddings)`.
   * - A pair whose centroids are antipodal (‖μ_i + μ_j‖ < 1e-12) has no midpoint; it is skipped and its
   *   slot is repulsion-filled. The default number of pairs, min(C, K − C, C(C−1)/2), is a choice (the
   *   author's crystallization code was not available).
   * - Cost: O(N·D + C²·D) plus the repulsion, O(steps·(K − C − P)·K·D).
   *
   * @example
   * const c = Constellation.fromData(embeddings, labels, { anchors: 64, seed: 0 }); // slots 0..C−1 = centroids
   */
  static fromData(
    embeddings: tf.Tensor2D | MatrixLike,
    labels: tf.Tensor1D | ArrayLike<number>,
    options: FromDataOptions,
  ): Constellation {
    const op = 'Constellation.fromData';
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describe(options)}`);
    const count = checkInteger(op, 'anchors', options.anchors, 2);
    if (embeddings instanceof tf.Tensor) checkMatrixTensor(op, 'embeddings', embeddings, 'N', 'D');
    const e = toMatrix(op, 'embeddings', embeddings);
    assertFinite(op, 'embeddings', e.data);
    const [n, dim] = e.shape;
    if (n < 1 || dim < 1) throw new ShapeError(op, 'embeddings', '[N, D] with N >= 1 and D >= 1', e.shape);
    let labelValues: ArrayLike<number>;
    if (labels instanceof tf.Tensor) {
      if (labels.rank !== 1) throw new ShapeError(op, 'labels', `[N=${n}]`, labels.shape);
      labelValues = readSync(op, 'labels', labels, 'pass the labels as an array');
    } else {
      if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
        throw new InvalidArgumentError(
          op,
          'labels',
          `must be a tf.Tensor1D or an array of integers, got ${describe(labels)}`,
        );
      }
      labelValues = labels;
    }
    if (labelValues.length !== n) throw new ShapeError(op, 'labels', `[N=${n}]`, [labelValues.length]);
    for (let i = 0; i < n; i++) {
      if (!Number.isInteger(labelValues[i])) {
        throw new InvalidArgumentError(op, 'labels', `must hold integers, got ${String(labelValues[i])} at index ${i}`);
      }
    }

    const classes = [...new Set(Array.from(labelValues))].sort((a, b) => a - b);
    const numClasses = classes.length;
    if (numClasses > count)
      throw new InvalidArgumentError(
        op,
        'anchors',
        `must be at least the number of classes C=${numClasses}, got ${count}`,
      );
    const slotOf = new Map(classes.map((c, k) => [c, k]));
    const maxPairs = Math.min(count - numClasses, (numClasses * (numClasses - 1)) / 2);
    const pairs = checkInteger(
      op,
      'confusedPairs',
      options.confusedPairs ?? Math.min(numClasses, maxPairs),
      0,
      maxPairs,
    );

    const v = new Matrix(count, dim);
    const unit = normalizeRows(e.clone());
    for (let i = 0; i < n; i++) {
      const k = slotOf.get(labelValues[i]!)!;
      for (let d = 0; d < dim; d++) v.data[k * dim + d]! += unit.data[i * dim + d]!;
    }
    const centroids = normalizeRows(new Matrix(numClasses, dim, v.data.slice(0, numClasses * dim)));
    v.data.set(centroids.data, 0);

    let filled = numClasses;
    if (pairs > 0) {
      const candidates: { i: number; j: number; cos: number }[] = [];
      for (let i = 0; i < numClasses; i++) {
        for (let j = i + 1; j < numClasses; j++) {
          let cos = 0;
          for (let d = 0; d < dim; d++) cos += centroids.data[i * dim + d]! * centroids.data[j * dim + d]!;
          candidates.push({ i, j, cos });
        }
      }
      candidates.sort((a, b) => b.cos - a.cos || a.i - b.i || a.j - b.j);
      for (const { i, j } of candidates) {
        if (filled === numClasses + pairs) break;
        let norm = 0;
        for (let d = 0; d < dim; d++) norm += (centroids.data[i * dim + d]! + centroids.data[j * dim + d]!) ** 2;
        norm = Math.sqrt(norm);
        if (norm < 1e-12) continue;
        for (let d = 0; d < dim; d++)
          v.data[filled * dim + d] = (centroids.data[i * dim + d]! + centroids.data[j * dim + d]!) / norm;
        filled++;
      }
    }
    if (filled < count) {
      const rng = resolveRng(op, { seed: options.seed });
      v.data.set(normalizeRows(gaussian(count - filled, dim, rng)).data, filled * dim);
    }
    const anchors =
      filled < count
        ? repelAnchors(v, {
            steps: options.repulsionSteps ?? 200,
            strength: options.repulsionStrength ?? 0.05,
            fixedRows: filled,
          })
        : v;
    return construct(Float32Array.from(anchors.data), {
      seed: options.seed,
      dropout: options.dropout,
      dropoutMode: options.dropoutMode,
      anchors: count,
      dim,
    });
  }

  /** The configuration (what a checkpoint stores next to the weights). */
  get config(): ConstellationConfig {
    return { anchors: this.numAnchors, dim: this.dim, dropout: this.dropout, dropoutMode: this.dropoutMode };
  }

  /**
   * The anchors projected onto the sphere: Â = anchors / max(‖anchors‖, 1e-12), row by row.
   * @returns `[K, D]` unit rows; one new tensor (the caller disposes it). Differentiable.
   */
  normalizedAnchors(): tf.Tensor2D {
    return normalize(this.anchors as tf.Tensor2D);
  }

  /**
   * Cosine of every input against every anchor: cos = x̂ Âᵀ, with x̂ = rownorm(x).
   *
   * @param x - `[B, D]` embeddings (normalized here; see {@link Constellation.triangulate}).
   * @returns `[B, K]` cosines in [−1, 1]; one new tensor.
   * @throws {ShapeError} if `x` is not `[B, D]`. @throws {InvalidArgumentError} if `x` is not float32.
   */
  cosine(x: tf.Tensor2D): tf.Tensor2D {
    this.checkInput('Constellation.cosine', x);
    return tf.tidy(() => this.cosineUnchecked(x));
  }

  /**
   * Triangulation: the cosine distance of every input to every anchor (spec §4.2), with optional
   * anchor dropout in training (spec §4.3).
   *
   *     tri = 1 − x̂ Âᵀ,   x̂ = x / max(‖x‖, 1e-12),   Â = anchors / max(‖anchors‖, 1e-12)
   *     training, p > 0:  keep_a = [U_a > p], U ~ U(0, 1)^K, forced to keep at least 2 anchors
   *       mode 'mask':    tri ⊙ keep          (fixed width K; dropped columns are 0)
   *       mode 'subset':  tri[:, keep]        (width K' = Σ keep)
   *
   * @param x - `[B, D]` float32 embeddings, one per row; need not be unit-norm.
   * @returns `[B, K]` (`[B, K']` in training with mode `'subset'`) distances in [0, 2].
   *
   * @throws {ShapeError} if `x` is not `[B, D]`:
   *   `Constellation.triangulate: 'x' must have shape [B, D=16], got [4, 8]`.
   * @throws {InvalidArgumentError} if `x` is not float32 or `dropout` is outside [0, 1].
   *
   * @remarks
   * - **Inputs are normalized on use.** The author's code assumes unit-norm inputs and does not check;
   *   checking would need a GPU→CPU read, and normalizing costs one O(B·D) pass, so x̂ = rownorm(x) is
   *   always used. A zero row gives x̂ = 0, so its triangulation is 1 for every anchor (its gradient
   *   with respect to x is NaN, in that row only: √ at 0 inside `normalize`). NaN/Inf in a row makes
   *   that row NaN and leaves every other row unchanged; nothing throws.
   * - **Dropout** draws the mask on the CPU from the constellation's seeded stream (or `options.rng`);
   *   it applies only when `training` is true and p > 0. If fewer than 2 anchors survive, anchors are
   *   switched on in a random order (drawn from the same stream) until exactly 2 are kept; the author's
   *   code switches on anchors 0 and 1, which would favour those two. The width-K mask mode is the
   *   spec's [INFER] recommendation (the author's subset output cannot feed a fixed-width Patchwork);
   *   kept entries are not rescaled by 1/(1 − p). The mask used is in {@link Constellation.lastKeep};
   *   {@link Constellation.triangulateWithDropout} also returns the column ids.
   * - Differentiable with respect to `x` and the anchors. O(B·K·D); stays on the backend; one new tensor.
   *
   * @example
   * const c = Constellation.fromAnchors([[1, 0], [0, 1]]);
   * c.triangulate(tf.tensor2d([[1, 0], [3, 3]])).print(); // [[0, 1], [0.2928932, 0.2928932]]
   */
  triangulate(x: tf.Tensor2D, options: TriangulateOptions = {}): tf.Tensor2D {
    return this.triangulateImpl('Constellation.triangulate', x, options).tri;
  }

  /**
   * {@link Constellation.triangulate} that also returns the keep mask and the anchor id of each column.
   *
   * @param x - `[B, D]` float32 embeddings.
   * @returns `{ tri: [B, K] or [B, K'], keep: [K] Uint8Array, anchorIds: [K] or [K'] Int32Array }`;
   *   `tri` is one new tensor, the arrays are plain CPU arrays.
   * @throws as {@link Constellation.triangulate}.
   *
   * @example
   * const { tri, keep, anchorIds } = c.triangulateWithDropout(x, { training: true, dropout: 0.5 });
   */
  triangulateWithDropout(x: tf.Tensor2D, options: TriangulateOptions = {}): TriangulateWithDropoutResult {
    return this.triangulateImpl('Constellation.triangulateWithDropout', x, options);
  }

  /** `[K]` the keep mask of the last triangulation (1 = kept; all ones without dropout); null before the first. */
  get lastKeep(): Uint8Array | null {
    return this.keepMask ? this.keepMask.slice() : null;
  }

  /**
   * The nearest anchor of every input: argmax_a cos(x̂, Â_a), restricted to kept anchors when a keep
   * mask is given (dropped anchors get −∞).
   *
   * @param x - `[B, D]` float32 embeddings.
   * @returns `[B]` int32 anchor ids in 0..K−1 (original ids, also with a mask); one new tensor.
   *
   * @throws {ShapeError} if `x` is not `[B, D]`.
   * @throws {InvalidArgumentError} if `x` is not float32, or `keep` is not K entries with at least one kept.
   *
   * @throws {NonFiniteError} if `x` holds NaN or ±Infinity (such a row has no nearest anchor), on the backends whose
   * tensors live in CPU memory (cpu, wasm, tensorflow).
   *
   * @remarks Ties resolve to the smallest id (tfjs argMax). Not differentiable. O(B·K·D). On cpu, wasm and
   * tensorflow one boolean is read back (`dataSync`) for the finiteness check, and `x` itself only when that check
   * fails. On the GPU backends (webgpu, webgl) the check is not made: it would stall the pipeline on a GPU→CPU read
   * every call (webgpu in Node cannot read synchronously at all), and a NaN row gives an unspecified id for that row
   * only; check the input with `tf.isFinite` yourself where that matters.
   *
   * @example
   * Constellation.fromAnchors([[1, 0], [0, 1]]).nearest(tf.tensor2d([[0.2, 0.9]])).print(); // [1]
   */
  nearest(x: tf.Tensor2D, options: NearestOptions = {}): tf.Tensor1D {
    const op = 'Constellation.nearest';
    this.checkInput(op, x);
    checkFiniteRows(op, x);
    let bias: Float32Array | null = null;
    if (options.keep !== undefined) {
      const keep = this.checkKeep(op, options.keep);
      bias = Float32Array.from(keep, (k) => (k ? 0 : -Infinity));
    }
    return tf.tidy(() => {
      let cos = this.cosineUnchecked(x);
      if (bias) cos = tf.add(cos, tf.tensor2d(bias, [1, this.numAnchors]));
      return tf.argMax(cos, 1) as tf.Tensor1D;
    });
  }

  /**
   * Soft assignment of every input to the anchors (spec §4.2):
   *
   *     assign = softmax(x̂ Âᵀ / τ)   over the anchors
   *
   * @param x - `[B, D]` float32 embeddings.
   * @returns `[B, K]` rows summing to 1; one new tensor. Differentiable.
   * @throws {ShapeError} if `x` is not `[B, D]`. @throws {InvalidArgumentError} if `x` is not float32 or τ ≤ 0.
   *
   * @example
   * Constellation.fromAnchors([[1, 0], [0, 1]]).softAssign(tf.tensor2d([[1, 0]]), { temperature: 1 }).print();
   * // [[0.7310586, 0.2689414]]   (softmax of [1, 0])
   */
  softAssign(x: tf.Tensor2D, options: SoftAssignOptions = {}): tf.Tensor2D {
    const op = 'Constellation.softAssign';
    this.checkInput(op, x);
    const temperature = checkNumber(op, 'temperature', options.temperature ?? 0.1, 0, Infinity, true);
    return tf.tidy(() => tf.softmax(tf.div(this.cosineUnchecked(x), temperature)) as tf.Tensor2D);
  }

  /**
   * Stores a copy of the current normalized anchors as the home position (spec §4.5), the
   * reference for drift measurements: the buffer `home` of the state dict. Replaces (and disposes) a previous home.
   */
  saveHome(): void {
    this.assertLive('saveHome');
    this.setBuffer('home', this.normalizedAnchors());
  }

  /**
   * `[K, D]` the home anchors saved by {@link Constellation.saveHome} (unit rows), or null. Owned by the
   * constellation: do not dispose.
   */
  get home(): tf.Tensor2D | null {
    return this.isDisposed ? null : (this.getBuffer('home') as tf.Tensor2D | null);
  }

  // -------------------------------------------------------------------------------------------

  private checkInput(op: string, x: unknown): void {
    checkMatrixTensor(op, 'x', x, 'B', 'D', this.dim);
  }

  private cosineUnchecked(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(normalize(x), normalize(this.anchors as tf.Tensor2D), false, true);
  }

  private checkKeep(op: string, keep: unknown): Uint8Array {
    if (keep === null || typeof keep !== 'object' || typeof (keep as ArrayLike<unknown>).length !== 'number') {
      throw new InvalidArgumentError(op, 'keep', `must be an array of ${this.numAnchors} flags, got ${describe(keep)}`);
    }
    const flags = keep as ArrayLike<unknown>;
    if (flags.length !== this.numAnchors)
      throw new InvalidArgumentError(op, 'keep', `must have K=${this.numAnchors} entries, got ${flags.length}`);
    const out = Uint8Array.from({ length: flags.length }, (_, i) => (flags[i] ? 1 : 0));
    if (!out.some((k) => k === 1)) throw new InvalidArgumentError(op, 'keep', 'must keep at least one anchor');
    return out;
  }

  private drawKeep(p: number, rng: Rng): Uint8Array {
    const k = this.numAnchors;
    const keep = new Uint8Array(k);
    let kept = 0;
    for (let a = 0; a < k; a++) {
      if (rng.uniform() > p) {
        keep[a] = 1;
        kept++;
      }
    }
    if (kept < 2) {
      for (const a of rng.choose(k, k)) {
        if (kept >= 2) break;
        if (!keep[a]) {
          keep[a] = 1;
          kept++;
        }
      }
    }
    return keep;
  }

  private triangulateImpl(op: string, x: tf.Tensor2D, options: TriangulateOptions): TriangulateWithDropoutResult {
    this.checkInput(op, x);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describe(options)}`);
    const p = checkNumber(op, 'dropout', options.dropout ?? this.dropout, 0, 1);
    if (options.rng !== undefined && typeof options.rng?.uniform !== 'function')
      throw new InvalidArgumentError(op, 'rng', 'must be an Rng from createRng()');
    const k = this.numAnchors;
    const active = options.training === true && p > 0;
    const keep = active ? this.drawKeep(p, options.rng ?? this.dropoutRng) : new Uint8Array(k).fill(1);
    const subset = active && this.dropoutMode === 'subset';
    const anchorIds = subset
      ? Int32Array.from(Array.from(keep).flatMap((v, a) => (v ? [a] : [])))
      : Int32Array.from({ length: k }, (_, a) => a);
    this.keepMask = keep;
    const tri = tf.tidy((): tf.Tensor2D => {
      const full = tf.sub(1, this.cosineUnchecked(x)) as tf.Tensor2D;
      if (!active) return full;
      if (!subset) return tf.mul(full, tf.tensor2d(Float32Array.from(keep), [1, k])) as tf.Tensor2D;
      // Column selection as a 0/1 matmul: exact, and differentiable on every backend (gather's
      // gradient needs UnsortedSegmentSum, which the wasm backend lacks).
      const select = new Float32Array(k * anchorIds.length);
      anchorIds.forEach((a, column) => (select[a * anchorIds.length + column] = 1));
      return tf.matMul(full, tf.tensor2d(select, [k, anchorIds.length]));
    });
    return { tri, keep: keep.slice(), anchorIds };
  }
}

/** `new Constellation(options)` with the given initial values instead of an initialization. */
function construct(values: tf.Tensor2D | Float32Array, options: ConstellationOptions): Constellation {
  pendingValues = values;
  try {
    return new Constellation(options);
  } finally {
    pendingValues = null;
  }
}

function assertFinite(op: string, argument: string, data: ArrayLike<number>): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count > 0) throw new NonFiniteError(op, argument, count, first);
}

/** Backends whose tensors live on the GPU: no synchronous finiteness read there (see {@link Constellation.nearest}). */
const GPU_BACKENDS = new Set(['webgpu', 'webgl']);

/** Throws {@link NonFiniteError} naming `op` and `'x'` when `x` holds NaN or ±Infinity; reads one boolean if not. */
function checkFiniteRows(op: string, x: tf.Tensor2D): void {
  if (GPU_BACKENDS.has(tf.getBackend())) return;
  const anyBad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(x))));
  let bad: boolean;
  try {
    bad = readSync(op, 'x', anyBad)[0] !== 0;
  } finally {
    anyBad.dispose();
  }
  if (!bad) return;
  const data = readSync(op, 'x', x);
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      count++;
      if (first < 0) first = i;
    }
  }
  throw new NonFiniteError(op, 'x', count, first);
}
