import { createRng, InvalidArgumentError, linalg, Matrix, type Rng } from '@geolip/geometry';

import { checkChoice, checkInteger, checkNumber } from './internal/module-checks.js';

/** How {@link initializeAnchors} places the anchors (spec §4.1). */
export type AnchorInit = 'xavier' | 'orthogonal' | 'repulsion';

/** The initializations {@link initializeAnchors} accepts. */
export const ANCHOR_INITS: readonly AnchorInit[] = Object.freeze(['xavier', 'orthogonal', 'repulsion']);

/** Options of {@link initializeAnchors}. */
export interface InitializeAnchorsOptions {
  /** Default `'repulsion'` (the author's library default). */
  init?: AnchorInit;
  /** Seed of the generator. Default 0. */
  seed?: number;
  /** A generator to draw from instead of `seed` (its stream advances). */
  rng?: Rng;
  /** Repulsion iterations. Default 200 (spec §4.1). Only for `init: 'repulsion'`. */
  repulsionSteps?: number;
  /** Step size s of V ← rownorm(V − s·V[j(i)]). Default 0.05 (spec §4.1). In (0, 1). */
  repulsionStrength?: number;
}

/**
 * Initial anchors on the unit sphere S^{D−1}, in float64 on the CPU (spec §4.1).
 *
 *     xavier:      G ~ N(0, 2/(K + D))^{K×D};  anchors = rownorm(G)
 *     orthogonal:  K ≤ D: Q from QR(randn(D, K)), anchors = Qᵀ (K orthonormal rows)
 *                  K > D: the first D anchors are Qᵀ from QR(randn(D, D)); the other K − D are
 *                  normalized Gaussians
 *     repulsion:   start from orthogonal, then `repulsionSteps` times (see {@link repelAnchors}):
 *                  S = V Vᵀ with diag(S) = −2;  j(i) = argmax_j S_ij;  V ← rownorm(V − s·V[j(i)])
 *
 * @param count - K, the number of anchors (≥ 2).
 * @param dim - D, the ambient dimension (≥ 1).
 * @returns `[K, D]` a float64 {@link Matrix} of unit rows.
 *
 * @throws {InvalidArgumentError} if `count` < 2, `dim` < 1, or an option is out of range.
 *
 * @remarks
 * - Float64 on the CPU with the seeded generator of `@geolip/geometry` (xoshiro128**): the same seed
 *   gives the same anchors on every backend and platform. PyTorch's draws cannot be reproduced, so
 *   results match the author's statistically, not bit for bit.
 * - The QR is Householder with diag(R) ≥ 0, so Q is a deterministic function of the Gaussian draw.
 * - Cost: repulsion is `repulsionSteps` products V·Vᵀ, O(steps·K²·D): K = 256, D = 128 takes about a
 *   second.
 * - When K ≤ D the orthogonal start has off-diagonal cosines at rounding level (≈1e-16), so the
 *   first repulsion step picks its "nearest" neighbour among rounding noise; spec §4.1 notes that
 *   the result is no longer orthogonal and asks for the loop anyway, for parity.
 *
 * @example
 * const v = initializeAnchors(64, 128, { seed: 1 }); // Matrix [64, 128], pairwise cos in ≈ [−0.08, 0.02]
 *
 * @see `geolip_core/core/associate/constellation.py` (`init_anchors`), `uniform_hypersphere_init`.
 */
export function initializeAnchors(count: number, dim: number, options: InitializeAnchorsOptions = {}): Matrix {
  const op = 'initializeAnchors';
  checkInteger(op, 'count', count, 2);
  checkInteger(op, 'dim', dim, 1);
  const init = checkChoice(op, 'init', options.init ?? 'repulsion', ANCHOR_INITS);
  const steps = checkInteger(op, 'repulsionSteps', options.repulsionSteps ?? 200, 0);
  const strength = checkRepulsionStrength(op, 'repulsionStrength', options.repulsionStrength ?? 0.05);
  const rng = resolveRng(op, options);
  if (init === 'xavier') {
    const std = Math.sqrt(2 / (count + dim));
    const g = gaussian(count, dim, rng);
    for (let i = 0; i < g.data.length; i++) g.data[i]! *= std;
    return normalizeRows(g);
  }
  const v = orthogonalAnchors(count, dim, rng);
  return init === 'repulsion' ? repelAnchors(v, { steps, strength }) : v;
}

/** Options of {@link repelAnchors}. */
export interface RepelAnchorsOptions {
  /** Iterations. Default 200. */
  steps?: number;
  /** Step size s. Default 0.05. In (0, 1). */
  strength?: number;
  /** The first `fixedRows` rows repel the others but never move. Default 0. */
  fixedRows?: number;
}

/** Cosines this close to the largest count as ties in {@link repelAnchors} (the first index wins). */
const REPULSION_TIE = 1e-12;

/**
 * The repulsion loop of spec §4.1: every anchor steps away from its nearest other anchor.
 *
 *     repeat `steps` times (all rows updated at once, from the previous iterate):
 *       S = V Vᵀ with the diagonal set to −2
 *       j(i) = argmax_j S_ij                   (first index on ties, as torch.argmax; cosines within 1e-12 of
 *                                               the largest are ties, so rounding noise does not decide [INFER])
 *       V_i ← (V_i − s·V_j(i)) / max(‖V_i − s·V_j(i)‖, 1e-12)     for i ≥ fixedRows
 *
 * @param anchors - `[K, D]` float64 unit rows (K ≥ 2); not modified.
 * @returns `[K, D]` a new {@link Matrix}; rows below `fixedRows` are copied unchanged.
 *
 * @throws {InvalidArgumentError} if the options are out of range or `anchors` has fewer than 2 rows.
 *
 * @remarks Float64 on the CPU; O(steps·(K − fixedRows)·K·D). With `fixedRows` it fills the free slots
 * of {@link Constellation.fromData} around the class centroids without moving them.
 *
 * @example
 * const spread = repelAnchors(initializeAnchors(256, 128, { init: 'orthogonal' }), { steps: 200 });
 */
export function repelAnchors(anchors: Matrix, options: RepelAnchorsOptions = {}): Matrix {
  const op = 'repelAnchors';
  if (!(anchors instanceof Matrix)) throw new InvalidArgumentError(op, 'anchors', 'must be a Matrix');
  const count = checkInteger(op, 'anchors.rows', anchors.rows, 2);
  const dim = anchors.cols;
  const steps = checkInteger(op, 'steps', options.steps ?? 200, 0);
  const strength = checkRepulsionStrength(op, 'strength', options.strength ?? 0.05);
  const fixed = checkInteger(op, 'fixedRows', options.fixedRows ?? 0, 0, count);
  let v = anchors.clone();
  const free = count - fixed;
  if (free === 0) return v;
  for (let step = 0; step < steps; step++) {
    const freeRows = new Matrix(free, dim, v.data.subarray(fixed * dim));
    const s = linalg.matmulTransposeB(freeRows, v); // [free, K]
    const next = v.clone();
    for (let r = 0; r < free; r++) {
      const i = fixed + r;
      // The nearest other anchor: the first index whose cosine is within TIE of the largest. Without the tolerance,
      // orthonormal rows (the orthogonal init with K ≤ D: every cosine is 0 up to rounding) would pick their
      // neighbour by the last bits of QR, which differ between JavaScript engines (Math.sin / Math.cos of the
      // Gaussian draws differ by an ulp between V8 versions), and the 200 steps then end far apart.
      const row = r * count;
      let best = -Infinity;
      for (let c = 0; c < count; c++) if (c !== i && s.data[row + c]! > best) best = s.data[row + c]!;
      let j = -1;
      for (let c = 0; c < count; c++) {
        if (c !== i && s.data[row + c]! >= best - REPULSION_TIE) {
          j = c;
          break;
        }
      }
      if (j < 0) j = i === 0 ? 1 : 0; // only reachable with NaN rows
      let norm = 0;
      for (let d = 0; d < dim; d++) {
        const value = v.data[i * dim + d]! - strength * v.data[j * dim + d]!;
        next.data[i * dim + d] = value;
        norm += value * value;
      }
      const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
      for (let d = 0; d < dim; d++) next.data[i * dim + d]! *= inv;
    }
    v = next;
  }
  return v;
}

/** K orthogonal-initialized unit rows (see {@link initializeAnchors}). @internal */
function orthogonalAnchors(count: number, dim: number, rng: Rng): Matrix {
  const square = Math.min(count, dim);
  const { q } = linalg.qr(gaussian(dim, square, rng)); // [D, min(K, D)], orthonormal columns
  const out = new Matrix(count, dim);
  for (let i = 0; i < square; i++) for (let d = 0; d < dim; d++) out.data[i * dim + d] = q.data[d * square + i]!;
  if (count > dim) {
    const rest = normalizeRows(gaussian(count - dim, dim, rng));
    out.data.set(rest.data, dim * dim);
  }
  return out;
}

/** `[rows, cols]` standard normal draws. @internal */
export function gaussian(rows: number, cols: number, rng: Rng): Matrix {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

/** Rows divided by max(‖row‖, 1e-12), in place; returns `m`. @internal */
export function normalizeRows(m: Matrix): Matrix {
  const { rows, cols, data } = m;
  for (let i = 0; i < rows; i++) {
    let norm = 0;
    for (let d = 0; d < cols; d++) norm += data[i * cols + d]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
    for (let d = 0; d < cols; d++) data[i * cols + d]! *= inv;
  }
  return m;
}

function checkRepulsionStrength(op: string, argument: string, value: unknown): number {
  const s = checkNumber(op, argument, value, 0, 1, true);
  if (s === 1) throw new InvalidArgumentError(op, argument, 'must be below 1 (s = 1 can cancel a row)');
  return s;
}

/** The generator of an options object: `rng` if given, else `createRng(seed ?? 0)`. @internal */
export function resolveRng(op: string, options: { seed?: number; rng?: Rng }): Rng {
  if (options.rng !== undefined) {
    if (typeof options.rng?.normal !== 'function')
      throw new InvalidArgumentError(op, 'rng', 'must be an Rng from createRng()');
    return options.rng;
  }
  return createRng(checkNumber(op, 'seed', options.seed ?? 0));
}
