/**
 * `KSimplexFeatures`: the 11-feature k-simplex layer of the Dual-Stream ViT's geo stream (spec §9.1–§9.2,
 * a count-compatible reconstruction, not recovered code).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, simplexVolumeSquared } from '@geolip/geometry';
import { assertFloatTensor } from '@geolip/geometry/checks';
import { LayerNorm, Linear, Module, toRng } from '@geolip/nn';
import type { InitSeed } from '@geolip/nn';

/** Options of {@link KSimplexFeatures}. */
export interface KSimplexFeaturesOptions {
  /** k: the simplex has k + 1 vertices. Default 4 (the card's pentachoron: 10 edges + 1 volume = 11 features). */
  k?: number;
  /** E: the dimension the vertices live in (≥ k). Default 8. */
  vertexDim?: number;
  /** LayerNorm epsilon of the feature norm. Default 1e-5. */
  eps?: number;
  /** Seeds the two Linear layers. Default 0. */
  seed?: InitSeed;
}

/** What {@link KSimplexFeatures.forward} returns: new tensors the caller disposes. */
export interface KSimplexFeaturesOutput {
  /** `[..., d]` the residual update (the caller adds it to the stream). */
  update: tf.Tensor;
  /** `[...]` the squared volume V² of each token's simplex (for the CM loss of spec §8.7). */
  volumeSquared: tf.Tensor;
  /** Scalar: the fraction of simplices with V² > 0 ("CM validity", spec §1.3). No gradient. */
  validity: tf.Scalar;
}

/**
 * The k(k+1)/2 vertex pairs (i, j), i < j, in the feature order (0,1), (0,2), …, (k−1,k) (spec §9.2 step 2).
 */
export function simplexEdgePairs(k: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i <= k; i++) for (let j = i + 1; j <= k; j++) pairs.push([i, j]);
  return pairs;
}

/**
 * A regular k-simplex with unit edges, centered at the origin, in R^E (E ≥ k), as `[k+1, E]` row-major
 * float64: vertex i = (e_i − c)/√2 with e_i the i-th standard basis vector and c = (1/(k+1))·Σ_{i≤k} e_i.
 * This is the spec's SimplexFactory "regular" simplex (√((k+1)/k) at i, −1/k elsewhere), centered and
 * scaled to unit edge: both reduce to the same points.
 * @throws {InvalidArgumentError} if k < 1 or E < k + 1 is not met (E ≥ k + 1 is needed for this embedding).
 */
export function regularSimplexTemplate(k: number, vertexDim: number): Float64Array {
  const op = 'regularSimplexTemplate';
  if (!Number.isInteger(k) || k < 1)
    throw new InvalidArgumentError(op, 'k', `must be an integer >= 1, got ${String(k)}`);
  if (!Number.isInteger(vertexDim) || vertexDim < k + 1)
    throw new InvalidArgumentError(op, 'vertexDim', `must be an integer >= k + 1 = ${k + 1}, got ${String(vertexDim)}`);
  const n = k + 1;
  const out = new Float64Array(n * vertexDim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[i * vertexDim + j] = ((i === j ? 1 : 0) - 1 / n) / Math.SQRT2;
  }
  return out;
}

/**
 * The KSimplex feature layer (spec §9.2, [PARAM-FIT] reconstruction). For each token h ∈ R^d:
 *
 *     V   = T + reshape(h·W_def + b_def, [k+1, E])     T: regular k-simplex template (unit edge, centered)
 *     d²  = [‖V_i − V_j‖²  for i < j]                   k(k+1)/2 squared edges, order (0,1), (0,2), …
 *     V²  = Cayley–Menger squared volume of V           (spec §1.1; prefactor −1/9216 at k = 4)
 *     f   = LayerNorm([d², V²])                         k(k+1)/2 + 1 features (11 at k = 4)
 *     out = f·W_out + b_out                             [d], the residual update
 *
 * Parameters (PyTorch names): `deform` (Linear d → (k+1)·E, bias), `feature_norm` (LayerNorm(11)),
 * `out_proj` (Linear 11 → d). Count at d = 192, k = 4, E = 8: 7,720 + 22 + 2,304 = **10,046** (spec §9.2).
 * The template T is a constant, not a parameter: it is neither counted nor in `stateDict()` ([INFER]: a
 * PyTorch `register_buffer` would put it in the state dict; it is the same deterministic value here).
 *
 * @remarks
 * - V² runs through `simplexVolumeSquared` of `@geolip/geometry` (the Gram form det(E Eᵀ)/(k!)², equal to
 *   the CM determinant times its prefactor; differentiable). It is ≥ 0 up to float32 rounding, so the
 *   validity fraction is 1 unless a simplex collapses.
 * - The edges are one matmul with a constant ±1 pair matrix: differentiable on every backend.
 * - O(N·(d·(k+1)·E + k²·E + k³)) for N tokens.
 *
 * @example
 * const ks = new KSimplexFeatures(192, { seed: 0 });
 * ks.paramCount(); // 10,046
 * const { update, validity } = ks.forward(tf.randomNormal([2, 64, 192])); // [2, 64, 192], scalar
 */
export class KSimplexFeatures extends Module {
  readonly dim: number;
  readonly k: number;
  readonly vertexDim: number;
  /** k(k+1)/2 + 1. */
  readonly numFeatures: number;
  readonly deform: Linear;
  readonly featureNorm: LayerNorm;
  readonly outProj: Linear;
  /** `[k+1, E]` the template (float32 constant, owned by this module). */
  private readonly template: tf.Tensor2D;
  /** `[k+1, k(k+1)/2]`: column p has +1 at i and −1 at j for pair p = (i, j). */
  private readonly pairMatrix: tf.Tensor2D;

  /** @throws {InvalidArgumentError} if `dim` is not a positive integer, k < 1 or vertexDim < k + 1. */
  constructor(dim: number, options: KSimplexFeaturesOptions = {}) {
    super();
    const op = 'KSimplexFeatures';
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${String(options)}`);
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)
      throw new InvalidArgumentError(op, 'dim', `must be a positive integer, got ${String(dim)}`);
    const k = options.k ?? 4;
    const vertexDim = options.vertexDim ?? 8;
    const template = regularSimplexTemplate(k, vertexDim); // checks k and vertexDim
    this.dim = dim;
    this.k = k;
    this.vertexDim = vertexDim;
    const pairs = simplexEdgePairs(k);
    this.numFeatures = pairs.length + 1;
    const rng = toRng(options.seed);
    this.deform = this.addModule('deform', new Linear(dim, (k + 1) * vertexDim, { seed: rng }));
    this.featureNorm = this.addModule('feature_norm', new LayerNorm(this.numFeatures, { eps: options.eps ?? 1e-5 }));
    this.outProj = this.addModule('out_proj', new Linear(this.numFeatures, dim, { seed: rng }));
    // Non-persistent buffers: owned by the module (disposed with it, and by a loader whose build fails), not in the
    // state dict.
    this.template = tf.tensor2d(Float32Array.from(template), [k + 1, vertexDim]);
    this.addBuffer('template', this.template, { persistent: false });
    const p = new Float32Array((k + 1) * pairs.length);
    pairs.forEach(([i, j], c) => {
      p[i * pairs.length + c] = 1;
      p[j * pairs.length + c] = -1;
    });
    this.pairMatrix = tf.tensor2d(p, [k + 1, pairs.length]);
    this.addBuffer('pair_matrix', this.pairMatrix, { persistent: false });
  }

  /**
   * The simplex of each token: template plus deformation.
   * @param h - `[..., d]` float32.
   * @returns `[..., k+1, E]`.
   * @throws {ShapeError} if the last size of `h` is not d.
   */
  vertices(h: tf.Tensor): tf.Tensor {
    const op = 'KSimplexFeatures.vertices';
    this.check(op, h);
    return tf.tidy(() =>
      tf.add(tf.reshape(this.deform.forward(h), [...h.shape.slice(0, -1), this.k + 1, this.vertexDim]), this.template),
    );
  }

  /**
   * The k(k+1)/2 + 1 raw geometric features [d² …, V²] of each token (before the LayerNorm).
   * @param h - `[..., d]` float32.
   * @returns `[..., k(k+1)/2 + 1]`.
   * @throws {ShapeError} if the last size of `h` is not d.
   */
  features(h: tf.Tensor): tf.Tensor {
    const op = 'KSimplexFeatures.features';
    this.check(op, h);
    return tf.tidy(() => {
      const { edges, vol2 } = this.geometry(h);
      return tf.concat([edges, tf.expandDims(vol2, -1)], -1);
    });
  }

  /**
   * @param h - `[..., d]` float32 (the geo stream's tokens, `[B, T, d]` in the ViT).
   * @returns the residual update `[..., d]`, V² `[...]` and the CM validity fraction; see
   *   {@link KSimplexFeaturesOutput}.
   * @throws {ShapeError} if the last size of `h` is not d.
   */
  forward(h: tf.Tensor): KSimplexFeaturesOutput {
    const op = 'KSimplexFeatures.forward';
    this.check(op, h);
    return tf.tidy(() => {
      const { edges, vol2 } = this.geometry(h);
      const f = this.featureNorm.forward(tf.concat([edges, tf.expandDims(vol2, -1)], -1));
      const update = this.outProj.forward(f);
      const validity = tf.mean(tf.cast(tf.greater(vol2, 0), 'float32')) as tf.Scalar;
      return { update, volumeSquared: vol2, validity };
    });
  }

  private check(op: string, h: unknown): void {
    this.assertLive(op.split('.')[1]!);
    const t = assertFloatTensor(op, 'h', h, 1);
    if (t.shape[t.rank - 1] !== this.dim) throw new ShapeError(op, 'h', `[..., ${this.dim}]`, t.shape);
  }

  /** Squared edges `[..., P]` and V² `[...]`. */
  private geometry(h: tf.Tensor): { edges: tf.Tensor; vol2: tf.Tensor } {
    const lead = h.shape.slice(0, -1);
    const n = lead.reduce((a, b) => a * b, 1);
    const verts = tf.add(
      tf.reshape(this.deform.forward(h), [n, this.k + 1, this.vertexDim]),
      this.template,
    ) as tf.Tensor3D;
    // [N, E, k+1] · [k+1, P] → [N, E, P]: the edge vectors V_i − V_j, coordinate by coordinate.
    const vt = tf.reshape(tf.transpose(verts, [0, 2, 1]), [n * this.vertexDim, this.k + 1]);
    const diff = tf.reshape(tf.matMul(vt, this.pairMatrix), [n, this.vertexDim, this.numFeatures - 1]);
    const edges = tf.reshape(tf.sum(tf.square(diff), 1), [...lead, this.numFeatures - 1]);
    const vol2 = tf.reshape(simplexVolumeSquared(verts), lead);
    return { edges, vol2 };
  }
}
