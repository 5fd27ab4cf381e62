import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertInteger, assertNumber } from '../checks/assert-shape.js';
import { Matrix, toMatrix, type MatrixLike } from '../linalg/matrix.js';
import {
  centerColumns,
  frobeniusDistance,
  normalizeRowsInPlace,
  procrustesCore,
  readBoolean,
  rowCosines,
} from './procrustes.js';
import { whitenCore, type WhitenResult } from './whiten.js';

/** Options of {@link gpa}. */
export interface GpaOptions {
  /**
   * Alignment rounds (each: E Procrustes fits, then a new consensus). Integer ≥ 1, default 5 (the cards'
   * "5-iteration GPA").
   */
  iterations?: number;
  /** Subtract each view's column mean first. Default `true`. (Whitening always centres.) */
  center?: boolean;
  /** ZCA-whiten each view first ({@link whiten}, with `shrinkage`). Default `false`. */
  whiten?: boolean;
  /** Covariance shrinkage of the whitening, when `whiten` is on. Default 1e-3. */
  shrinkage?: number;
  /** L2-normalize every preprocessed row before aligning. Default `true`. */
  rowNormalize?: boolean;
  /**
   * Initial consensus: `'first'` (default) the first preprocessed view, which also fixes the gauge
   * (the consensus lives in view 0's frame); `'mean'` the row-normalized mean of the unaligned views.
   */
  reference?: 'first' | 'mean';
  /**
   * Stop before `iterations` once the consensus moves less than this between rounds, measured as
   * ‖M_new − M_old‖_F / ‖M_old‖_F. Default: none (always run `iterations` rounds).
   */
  tolerance?: number;
  /** Allow det R_e = −1 (see {@link procrustes}). Default `true`, as geolip-core. */
  allowReflection?: boolean;
}

/** Diagnostics of {@link gpa}. */
export interface GpaDiagnostics {
  /** `[E]` per view: mean over rows of cos(aligned_e[i], c_i). */
  cosineToConsensus: number[];
  /** max_e − min_e of the per-view mean cosine distance 1 − cosineToConsensus[e] (spec §3.4 step 5). */
  equidistance: number;
  /** Relative change ‖M_new − M_old‖_F / ‖M_old‖_F of the consensus in the last round. */
  lastChange: number;
}

/** Result of {@link gpa}. */
export interface GpaResult {
  /** `E × [N, D]` the preprocessed views after alignment: aligned_e = pre(X_e)·R_e. */
  aligned: Matrix[];
  /** `E × [D, D]` R_e, from the preprocessed view e to the consensus frame. */
  rotations: Matrix[];
  /** `[N, D]` consensus c_i = normalize(Σ_e aligned_e[i]): the row-normalized centroid. */
  consensus: Matrix;
  /** Rounds actually run (fewer than `options.iterations` when `tolerance` stopped early). */
  iterations: number;
  /** `E × [D]` the column means removed from each view (zeros when neither `center` nor `whiten`). */
  means: Float64Array[];
  /** `E` whitenings, when `whiten` is on (so new rows of view e can be preprocessed the same way). */
  whitenings?: WhitenResult[];
  diagnostics: GpaDiagnostics;
}

/**
 * Generalized Procrustes analysis: rotates E views of the same N samples into one frame and
 * returns their consensus (spec §3.4, reconstructed [INFER]).
 *
 *     pre(X_e) = rownorm(whiten?(X_e − μ_e))                       (step 1; each part optional)
 *     M ← pre(X_1)        (or rownorm(mean_e pre(X_e)))             (step 2)
 *     repeat `iterations` times:                                    (step 3)
 *         R_e = argmin_{RᵀR=I} ‖pre(X_e)·R − M‖_F,   aligned_e = pre(X_e)·R_e
 *         M ← rownorm(mean_e aligned_e)
 *     consensus = M,  c_i = normalize(Σ_e aligned_e[i])              (step 4)
 *     equidistance = max_e d_e − min_e d_e,   d_e = mean_i (1 − cos(aligned_e[i], c_i))   (step 5)
 *
 * Choices for the [INFER] parts:
 * - Each round fits R_e from the *preprocessed* view to the current consensus, rather than
 *   composing X_e ← X_e·R_e; the optimum is the same (R for X·Q is Qᵀ·R*), with no accumulated
 *   rounding, and `rotations` are directly the total R_e.
 * - The consensus is always row-normalized (the step-4 "normalized centroid"), even with
 *   `rowNormalize: false`.
 * - Views must have the same width D (no zero-padding): reduce wider views with {@link pca} first.
 * - Equidistance is the max − min spread (not the std) of the per-view mean cosine distances.
 *
 * @param views - `E × [N, D]` views, E ≥ 2, same N and D; a {@link Matrix}, nested arrays or tensors.
 * @param options - see {@link GpaOptions}: iterations 5, center, rowNormalize, reference 'first'.
 * @returns Aligned views, rotations, consensus, rounds run and the diagnostics.
 *
 * @throws {InvalidArgumentError} If `views` is not an array of at least 2 matrices, or an option is invalid.
 * @throws {ShapeError} If a view is not `[N, D]` with the N and D of `views[0]`.
 * @throws {NonFiniteError} If a view holds NaN or ±Infinity.
 *
 * @remarks
 * - float64 on the CPU. Cost per round: E Procrustes fits, each ≈ 2·N·D² multiply-adds plus one
 *   D×D SVD (≈ 1.25 s at D = 768 in Node 20). Measured (tools/perf/geometry/alignment-bench.mjs, N = 2000,
 *   3 views, 5 rounds, Node 20, 2 cores): ≈ 0.6 s at D = 128, ≈ 34 s at D = 768, of which the 15
 *   SVDs are a little over half.
 * - Deterministic; with `reference: 'first'` the result is gauge-fixed to view 0's frame, so
 *   runs that differ only by a rotation of the inputs give the same consensus up to that rotation.
 *
 * @example
 * const shape = [[1, 0], [0, 1], [-1, 0], [0, -1], [1, 1]];
 * const turned = shape.map(([a, b]) => [-b, a]); // the same shape rotated by 90°
 * const { consensus, diagnostics } = gpa([shape, turned], { center: false });
 * diagnostics.equidistance; // ≈ 0: both views coincide after alignment
 *
 * @see {@link procrustes}, {@link whiten}; spec §3.4.
 */
export function gpa(views: readonly MatrixLike[], options: GpaOptions = {}): GpaResult {
  const op = 'gpa';
  const iterations = assertInteger(op, 'options.iterations', options.iterations ?? 5, 1);
  const center = readBoolean(op, 'options.center', options.center, true);
  const doWhiten = readBoolean(op, 'options.whiten', options.whiten, false);
  const rowNormalize = readBoolean(op, 'options.rowNormalize', options.rowNormalize, true);
  const allowReflection = readBoolean(op, 'options.allowReflection', options.allowReflection, true);
  const reference = options.reference ?? 'first';
  if (reference !== 'first' && reference !== 'mean') {
    throw new InvalidArgumentError(op, 'options.reference', `must be 'first' or 'mean', got ${String(reference)}`);
  }
  const tolerance =
    options.tolerance === undefined ? undefined : assertNumber(op, 'options.tolerance', options.tolerance, 0);
  if (!Array.isArray(views) || views.length < 2) {
    throw new InvalidArgumentError(
      op,
      'views',
      `must be an array of at least 2 views, got ${Array.isArray(views) ? `${views.length}` : typeof views}`,
    );
  }

  const raw = views.map((v, e) => toMatrix(op, `views[${e}]`, v));
  const [n, d] = raw[0]!.shape;
  raw.forEach((m, e) => {
    if (m.rows !== n || m.cols !== d) {
      throw new ShapeError(
        op,
        `views[${e}]`,
        `[N=${n}, D=${d}]`,
        m.shape,
        m.rows === n ? 'all views must have the same width; reduce wider ones with pca first' : undefined,
      );
    }
  });

  // Step 1: preprocess.
  const means: Float64Array[] = [];
  const whitenings: WhitenResult[] = [];
  const pre = raw.map((m, e) => {
    let out: Matrix;
    if (doWhiten) {
      const w = whitenCore(op, `views[${e}]`, m, { shrinkage: options.shrinkage });
      whitenings.push(w);
      means.push(w.mean);
      // Copy only when normalizing in place (`whitened` is returned in `whitenings`).
      out = rowNormalize ? w.whitened.clone() : w.whitened;
    } else if (center) {
      const c = centerColumns(m);
      means.push(c.mean);
      out = c.centered;
    } else {
      means.push(new Float64Array(d));
      // The caller's matrix is only read below, so it is copied only to normalize in place.
      out = rowNormalize ? m.clone() : m;
    }
    return rowNormalize ? normalizeRowsInPlace(out) : out;
  });

  // Step 2: initial consensus.
  let consensus = reference === 'first' ? normalizeRowsInPlace(pre[0]!.clone()) : rowNormalizedMean(pre);

  // Step 3: rounds.
  let aligned: Matrix[] = pre;
  let rotations: Matrix[] = [];
  let rounds = 0;
  let lastChange = NaN;
  for (let it = 0; it < iterations; it++) {
    const fits = pre.map((p) => procrustesCore(p, consensus, { allowReflection, center: false }));
    aligned = fits.map((f) => f.aligned);
    rotations = fits.map((f) => f.rotation);
    const next = rowNormalizedMean(aligned);
    const norm = Math.sqrt(consensus.data.reduce((s, v) => s + v * v, 0));
    lastChange = norm > 0 ? frobeniusDistance(next, consensus) / norm : frobeniusDistance(next, consensus);
    consensus = next;
    rounds++;
    if (tolerance !== undefined && lastChange < tolerance) break;
  }

  // Steps 4–5: diagnostics against the final consensus.
  const cosineToConsensus = aligned.map((a) => {
    const c = rowCosines(a, consensus);
    let s = 0;
    for (let i = 0; i < c.length; i++) s += c[i]!;
    return s / c.length;
  });
  const distances = cosineToConsensus.map((c) => 1 - c);
  const equidistance = Math.max(...distances) - Math.min(...distances);

  return {
    aligned,
    rotations,
    consensus,
    iterations: rounds,
    means,
    ...(doWhiten ? { whitenings } : {}),
    diagnostics: { cosineToConsensus, equidistance, lastChange },
  };
}

/** rownorm(mean_e views[e]). */
function rowNormalizedMean(views: readonly Matrix[]): Matrix {
  const first = views[0]!;
  const out = new Matrix(first.rows, first.cols);
  const o = out.data;
  for (const v of views) for (let i = 0; i < o.length; i++) o[i] = o[i]! + v.data[i]!;
  const inv = 1 / views.length;
  for (let i = 0; i < o.length; i++) o[i] = o[i]! * inv;
  return normalizeRowsInPlace(out);
}
