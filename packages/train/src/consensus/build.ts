import {
  InvalidArgumentError,
  Matrix,
  ShapeError,
  effectiveDimension,
  gpa,
  linalg,
  pca,
  pentachoronCV,
  toMatrix,
  whitenedProcrustes,
  type MatrixLike,
} from '@geolip/geometry';
import type { ConsensusDiagnostics, ConsensusExpert, ConsensusModel, ConsensusProjector } from './types.js';

/** Options of {@link buildConsensus}. */
export interface BuildConsensusOptions {
  /**
   * Common width W for the GPA. Experts with D_e > W are reduced by their own PCA to W; experts
   * with D_e = W are used as they are. Integer in [1, min_e D_e]. Default min_e D_e.
   */
  width?: number;
  /**
   * K, the dimension of the consensus space: PCA of the GPA consensus to K (spec §3.5). Integer in [1, W];
   * default W (no PCA).
   */
  targetDim?: number;
  /** GPA rounds. Default 5 (the cards' "5-iteration GPA"). */
  iterations?: number;
  /** Covariance shrinkage ε of the calibration whitenings (spec §3.3). Default 1e-3. */
  shrinkage?: number;
}

/** Result of {@link buildConsensus}. */
export interface ConsensusResult extends ConsensusModel {
  /**
   * `[N, K]` the calibration target: the GPA consensus after the PCA, before any normalization
   * (what each projector was fitted to, and what {@link ConsensusStatistics} should be fed).
   */
  calibrationTargets: Matrix;
}

const OP = 'buildConsensus';

/**
 * Builds consensus targets and Procrustes-initialized projectors from E ≥ 2 experts on the same
 * N samples (spec §3.4–3.6):
 *
 *     1. V_e = PCA_W(X_e) if D_e > W, else X_e                     (common width W, default min D_e)
 *     2. GPA(V_1..V_E; centre, row-normalize, 5 rounds) → M       (M = normalized centroid, [N, W])
 *     3. Y = PCA_K(M)                                              ([N, K]; Y = M when K = W)
 *     4. p_e(x) = x·L_e + b_e,  L_e = W_e·R_e·W_Y⁻¹,  b_e = μ_Y − μ_e·L_e
 *        (whitened Procrustes from RAW X_e [N, D_e] to Y, full rank, no row normalization)
 *     5. c = normalize(mean_e normalize(p_e(X_e)))                  (targets, [N, K])
 *
 * @param experts - `E` experts `{ name, features: [N, D_e] }`; widths may differ, N must agree.
 * @param options - `width` (min D_e), `targetDim` (W), `iterations` (5), `shrinkage` (1e-3).
 * @returns `targets` `[N, K]`, `projectors` (`linear` `[D_e, K]`, `bias` `[K]`), `diagnostics`,
 *   `experts` (names), `config` and `calibrationTargets` `[N, K]`.
 *
 * @throws {InvalidArgumentError} If fewer than 2 experts, a name is empty or repeated, or an option is out of range.
 * @throws {ShapeError} If an expert is not rank 2 or its N differs from the first expert's (the message names it).
 * @throws {NonFiniteError} If an expert holds NaN or ±Infinity (the argument names it).
 *
 * @remarks
 * - Step 1 [INFER]: GPA needs equal widths (geometry `gpa`); a wider expert is reduced by its own
 *   PCA (an isometry onto its top-W variance subspace, so nothing is lost when its rank ≤ W).
 * - Step 4 uses geometry `whitenedProcrustes` with `rowNormalize: false`, so that `x·linear + bias`
 *   equals its `aligned` output exactly (the row-normalized variant is not affine, spec §3.2 step 4).
 *   It needs K ≤ D_e, which holds since K ≤ W ≤ D_e. The projector is fitted from the RAW expert
 *   space (not the PCA-reduced view), so it applies to new raw features directly.
 * - Step 5 is spec §3.6 step 6; no LayerNorm is included (that is a trainable part of the soup, §10.3).
 * - Deterministic: float64 on the CPU. Cost ≈ E whitenings of D_e (eigh), E PCAs, E·iterations
 *   Procrustes SVDs at W, plus O(N·D_e·K) products; a tensor argument is read with `dataSync`.
 *
 * @example
 * const { targets, projectors, diagnostics } = buildConsensus(
 *   [{ name: 'clip', features: clipFeatures }, { name: 'dino', features: dinoFeatures }],
 *   { targetDim: 128 },
 * );
 * applyProjector(projectors[0]!, newClipFeatures); // [M, 128] unit rows
 *
 * @see geometry `gpa`, `pca`, `whitenedProcrustes`; {@link fitProjectorsFromStatistics} for the streaming fit.
 */
export function buildConsensus(
  experts: readonly ConsensusExpert[],
  options: BuildConsensusOptions = {},
): ConsensusResult {
  const { names, matrices } = validateExperts(OP, experts);
  const n = matrices[0]!.rows;
  const dims = matrices.map((m) => m.cols);
  const minDim = Math.min(...dims);
  const width = readInteger(OP, 'options.width', options.width, minDim, 1, minDim);
  const targetDim = readInteger(OP, 'options.targetDim', options.targetDim, width, 1, width);
  const iterations = readInteger(OP, 'options.iterations', options.iterations, 5, 1, Number.MAX_SAFE_INTEGER);
  const shrinkage = options.shrinkage ?? 1e-3;
  if (typeof shrinkage !== 'number' || !(shrinkage >= 0 && shrinkage <= 1)) {
    throw new InvalidArgumentError(OP, 'options.shrinkage', `must be a number in [0, 1], got ${String(shrinkage)}`);
  }

  // 1. Common width.
  const views = matrices.map((m) => (m.cols > width ? pca(m, width).projected : m));
  // 2. GPA.
  const g = gpa(views, { iterations, center: true, rowNormalize: true });
  // 3. PCA of the consensus space.
  let calibrationTargets = g.consensus;
  let pcaExplainedVarianceRatio = 1;
  if (targetDim < width) {
    const p = pca(g.consensus, targetDim);
    calibrationTargets = p.projected;
    pcaExplainedVarianceRatio = p.explainedVarianceRatio.reduce((a, b) => a + b, 0);
  }
  // 4. Per-expert whitened Procrustes calibration from the raw space.
  const projectors: ConsensusProjector[] = matrices.map((m, e) => {
    const fit = whitenedProcrustes(m, calibrationTargets, { rowNormalize: false, shrinkage });
    return { name: names[e]!, linear: fit.linear, bias: fit.bias };
  });
  // 5. Targets and diagnostics.
  const projected = projectors.map((p, e) => applyProjectorCore(p, matrices[e]!));
  const targets = normalizedMean(projected, n, targetDim);
  const diagnostics: ConsensusDiagnostics = {
    ...agreement(projected, targets),
    consensusCV: pentachoronCV(targets).cv,
    effectiveDimension: effectiveDimension(targets),
    gpaCosineToConsensus: g.diagnostics.cosineToConsensus,
    gpaEquidistance: g.diagnostics.equidistance,
    pcaExplainedVarianceRatio,
  };
  return {
    targets,
    projectors,
    diagnostics,
    experts: names,
    config: { width, targetDim, iterations, shrinkage, inputDims: dims },
    calibrationTargets,
  };
}

/**
 * Applies a consensus projector and L2-normalizes each row: normalize(x·linear + bias).
 *
 * @param projector - A projector from {@link buildConsensus}, {@link fitProjectorsFromStatistics} or
 *   {@link loadConsensus}.
 * @param x - `[M, D_e]` raw expert features.
 * @param options - `normalize` (default `true`): `false` returns the affine output x·linear + bias.
 * @returns `[M, K]` rows in the consensus space (unit rows unless `normalize: false`; zero rows stay zero).
 * @throws {ShapeError} If `x` is not `[M, D_e]`.
 * @throws {NonFiniteError} If `x` holds NaN or ±Infinity.
 * @remarks float64 on the CPU, O(M·D_e·K).
 * @example
 * const z = applyProjector(result.projectors[0]!, features); // [M, K] unit rows
 */
export function applyProjector(
  projector: ConsensusProjector,
  x: MatrixLike,
  options: { normalize?: boolean } = {},
): Matrix {
  const op = 'applyProjector';
  const m = toMatrix(op, 'x', x);
  if (m.cols !== projector.linear.rows) throw new ShapeError(op, 'x', `[M, D_e=${projector.linear.rows}]`, m.shape);
  const out = affine(projector, m);
  if (options.normalize ?? true) normalizeRows(out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers (shared with statistics.ts)
// ---------------------------------------------------------------------------------------------

/** @internal Checks the expert list and converts every feature matrix, naming the expert in errors. */
function validateExperts(op: string, experts: readonly ConsensusExpert[]): { names: string[]; matrices: Matrix[] } {
  if (!Array.isArray(experts) || experts.length < 2) {
    throw new InvalidArgumentError(
      op,
      'experts',
      `must be an array of at least 2 experts, got ${Array.isArray(experts) ? experts.length : typeof experts}`,
    );
  }
  const names: string[] = [];
  const matrices: Matrix[] = [];
  experts.forEach((expert, e) => {
    const name = expert?.name;
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidArgumentError(op, `experts[${e}].name`, 'must be a non-empty string');
    if (names.includes(name)) throw new InvalidArgumentError(op, `experts[${e}].name`, `repeats the name '${name}'`);
    const argument = `experts[${e}] ('${name}').features`;
    const m = toMatrix(op, argument, expert.features);
    if (m.rows < 2 || m.cols < 1) throw new ShapeError(op, argument, '[N, D_e] with N ≥ 2 and D_e ≥ 1', m.shape);
    const n0 = matrices[0]?.rows;
    if (n0 !== undefined && m.rows !== n0) {
      throw new ShapeError(
        op,
        argument,
        `[N=${n0}, D_e]`,
        m.shape,
        `expert '${name}' has ${m.rows} rows, expert '${names[0]}' has ${n0}`,
      );
    }
    names.push(name);
    matrices.push(m);
  });
  return { names, matrices };
}

function readInteger(op: string, argument: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(op, argument, `must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

/** @internal x·L + b, no checks. */
function affine(p: ConsensusProjector, x: Matrix): Matrix {
  const out = linalg.matmul(x, p.linear);
  const k = out.cols;
  for (let r = 0; r < out.rows; r++)
    for (let j = 0; j < k; j++) out.data[r * k + j] = out.data[r * k + j]! + p.bias[j]!;
  return out;
}

/** @internal normalize(x·L + b), no checks. */
function applyProjectorCore(p: ConsensusProjector, x: Matrix): Matrix {
  return normalizeRows(affine(p, x));
}

/** @internal In-place row L2 normalization (x / max(‖x‖, 1e-12)). */
function normalizeRows(m: Matrix): Matrix {
  const d = m.cols;
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += m.data[r * d + j]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < d; j++) m.data[r * d + j] = m.data[r * d + j]! * inv;
  }
  return m;
}

/**
 * The normalized centroid of E views of the same N samples: normalize(mean_e X_e), each row scaled to unit length
 * (the consensus targets of unit-row projected views). `views` are `[n, k]` matrices; no checks (a view of another
 * size gives wrong rows).
 */
export function normalizedMean(views: readonly Matrix[], n: number, k: number): Matrix {
  const out = new Matrix(n, k);
  for (const v of views) for (let i = 0; i < out.data.length; i++) out.data[i] = out.data[i]! + v.data[i]!;
  return normalizeRows(out);
}

/** @internal Per-view mean cosine to unit-row targets and the equidistance spread. */
function agreement(
  unitViews: readonly Matrix[],
  targets: Matrix,
): { cosineToConsensus: number[]; equidistance: number } {
  const k = targets.cols;
  const cosineToConsensus = unitViews.map((v) => {
    let total = 0;
    for (let r = 0; r < targets.rows; r++) {
      let dot = 0;
      for (let j = 0; j < k; j++) dot += v.data[r * k + j]! * targets.data[r * k + j]!;
      total += dot;
    }
    return total / targets.rows;
  });
  const distances = cosineToConsensus.map((c) => 1 - c);
  return { cosineToConsensus, equidistance: Math.max(...distances) - Math.min(...distances) };
}
