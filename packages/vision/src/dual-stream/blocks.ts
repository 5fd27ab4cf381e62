/**
 * The two-stream blocks of the Dual-Stream ViT (spec §9.3): `CrossBlock` (bidirectional cross-attention
 * between a geo and a std stream) and `DualStreamBlock` (the same plus the KSimplex feature layer on the geo
 * stream).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { FeedForward, LayerNorm, Module, MultiHeadAttention, toRng } from '@geolip/nn';
import type { InitSeed } from '@geolip/nn';

import { KSimplexFeatures } from './ksimplex.js';

/** Options of {@link CrossBlock} and {@link DualStreamBlock}. */
export interface CrossBlockOptions {
  /** Attention heads (must divide dim). Default 8 (the card's N_HEADS). */
  heads?: number;
  /** FFN hidden width. Default 4·dim. */
  ffDim?: number;
  /** LayerNorm epsilon. Default 1e-5. */
  eps?: number;
  /** Seeds every sub-layer. Default 0. */
  seed?: InitSeed;
}

/** Options of {@link DualStreamBlock}. */
export interface DualStreamBlockOptions extends CrossBlockOptions {
  /** k of the KSimplex layer. Default 4. */
  k?: number;
  /** Vertex dimension of the KSimplex layer. Default 8. */
  vertexDim?: number;
}

/** What a block's `forward` returns: new tensors the caller disposes. */
export interface CrossBlockOutput {
  /** `[B, T, d]`. */
  geo: tf.Tensor3D;
  /** `[B, T, d]`. */
  std: tf.Tensor3D;
}

/** What {@link DualStreamBlock.forward} returns. */
export interface DualStreamBlockOutput extends CrossBlockOutput {
  /** `[B, T]` V² of each geo token's simplex. */
  volumeSquared: tf.Tensor2D;
  /** Scalar: the fraction of those simplices with V² > 0. */
  validity: tf.Scalar;
}

/** Layer normalization without affine parameters (the KSimplex pre-norm; see {@link DualStreamBlock}). */
function plainLayerNorm(x: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
  });
}

/**
 * A bidirectional cross block (spec §9.3, v6's "CrossBlock: bidirectional, no KSimplex"), pre-norm residual,
 * on a geo stream g and a std stream s, both `[B, T, d]`:
 *
 *     ĝ = geo_norm1(g₀)                       ŝ = std_norm1(s₀)                  (pre-block, normalized)
 *     g = g₀ + geo_attn(ĝ)                     s = s₀ + std_attn(ŝ)
 *     g = g + geo_cross(q = geo_norm2(g), kv = ŝ)
 *                                              s = s + std_cross(q = std_norm2(s), kv = ĝ)
 *     g = g + geo_ffn(geo_norm3(g))            s = s + std_ffn(std_norm3(s))
 *
 * [INFER] Each stream's cross-attention reads the *pre-block* values of the other stream (spec §9.3: for
 * symmetry), normalized by that stream's first LayerNorm (ĝ, ŝ: the exact count leaves no LayerNorm for the
 * keys/values of their own).
 *
 * Parameters (PyTorch names): `geo_norm1`, `geo_attn` (`nn.MultiheadAttention`: `in_proj_weight`,
 * `in_proj_bias`, `out_proj.*`), `geo_norm2`, `geo_cross`, `geo_norm3`, `geo_ffn` (`linear1`, `linear2`),
 * then the same under `std_`. Count per stream at d = 192, FFN 768: 384 + 148,224 + 384 + 148,224 + 384 +
 * 295,872 = 593,472 (spec §9.2), so 1,186,944 per block.
 *
 * @example
 * const block = new CrossBlock(192, { seed: 0 });
 * const { geo, std } = block.forward(g, s); // [B, T, 192] each
 */
export class CrossBlock extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly ffDim: number;
  protected readonly eps: number;
  protected readonly geoNorm1: LayerNorm;
  protected readonly geoAttn: MultiHeadAttention;
  /** The KSimplex layer (DualStreamBlock only). */
  readonly ksimplex: KSimplexFeatures | null;
  protected readonly geoNorm2: LayerNorm;
  protected readonly geoCross: MultiHeadAttention;
  protected readonly geoNorm3: LayerNorm;
  protected readonly geoFfn: FeedForward;
  protected readonly stdNorm1: LayerNorm;
  protected readonly stdAttn: MultiHeadAttention;
  protected readonly stdNorm2: LayerNorm;
  protected readonly stdCross: MultiHeadAttention;
  protected readonly stdNorm3: LayerNorm;
  protected readonly stdFfn: FeedForward;

  /** @throws {InvalidArgumentError} if a size is not a positive integer or `heads` does not divide `dim`. */
  constructor(dim: number, options: CrossBlockOptions = {}) {
    super();
    const op = new.target.name;
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${String(options)}`);
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)
      throw new InvalidArgumentError(op, 'dim', `must be a positive integer, got ${String(dim)}`);
    const heads = options.heads ?? 8;
    if (!Number.isInteger(heads) || heads < 1 || dim % heads !== 0)
      throw new InvalidArgumentError(
        op,
        'heads',
        `must be a positive integer dividing dim=${dim}, got ${String(heads)}`,
      );
    const ffDim = options.ffDim ?? 4 * dim;
    if (!Number.isInteger(ffDim) || ffDim < 1)
      throw new InvalidArgumentError(op, 'ffDim', `must be a positive integer, got ${String(ffDim)}`);
    this.dim = dim;
    this.heads = heads;
    this.ffDim = ffDim;
    this.eps = options.eps ?? 1e-5;
    const rng = toRng(options.seed);
    const eps = this.eps;
    const ks = this instanceof DualStreamBlock; // the subclass adds the KSimplex layer
    this.geoNorm1 = this.addModule('geo_norm1', new LayerNorm(dim, { eps }));
    this.geoAttn = this.addModule('geo_attn', new MultiHeadAttention(dim, heads, { seed: rng }));
    const dso = options as DualStreamBlockOptions;
    this.ksimplex = ks
      ? this.addModule('ksimplex', new KSimplexFeatures(dim, { k: dso.k, vertexDim: dso.vertexDim, eps, seed: rng }))
      : null;
    this.geoNorm2 = this.addModule('geo_norm2', new LayerNorm(dim, { eps }));
    this.geoCross = this.addModule('geo_cross', new MultiHeadAttention(dim, heads, { seed: rng }));
    this.geoNorm3 = this.addModule('geo_norm3', new LayerNorm(dim, { eps }));
    this.geoFfn = this.addModule('geo_ffn', new FeedForward(dim, ffDim, { seed: rng }));
    this.stdNorm1 = this.addModule('std_norm1', new LayerNorm(dim, { eps }));
    this.stdAttn = this.addModule('std_attn', new MultiHeadAttention(dim, heads, { seed: rng }));
    this.stdNorm2 = this.addModule('std_norm2', new LayerNorm(dim, { eps }));
    this.stdCross = this.addModule('std_cross', new MultiHeadAttention(dim, heads, { seed: rng }));
    this.stdNorm3 = this.addModule('std_norm3', new LayerNorm(dim, { eps }));
    this.stdFfn = this.addModule('std_ffn', new FeedForward(dim, ffDim, { seed: rng }));
  }

  /**
   * @param geo - `[B, T, d]` float32.
   * @param std - `[B, T', d]` float32 (same B; T' may differ from T).
   * @returns the updated streams, `[B, T, d]` and `[B, T', d]`.
   * @throws {ShapeError} naming `geo` or `std` if it is not `[B, T, d]` or the batch sizes differ.
   */
  forward(geo: tf.Tensor3D, std: tf.Tensor3D): CrossBlockOutput {
    const r = this.run(`${this.className}.forward`, geo, std);
    return { geo: r.geo, std: r.std };
  }

  /** Shared by both block kinds: runs the block, with the KSimplex step when the block has one. */
  protected run(
    op: string,
    geo: tf.Tensor3D,
    std: tf.Tensor3D,
  ): CrossBlockOutput & { volumeSquared?: tf.Tensor2D; validity?: tf.Scalar } {
    this.assertLive('forward');
    for (const [name, t] of [
      ['geo', geo],
      ['std', std],
    ] as const) {
      if (!(t instanceof tf.Tensor))
        throw new InvalidArgumentError(op, name, `must be a tf.Tensor, got ${t === null ? 'null' : typeof t}`);
      if (t.rank !== 3 || t.shape[2] !== this.dim) throw new ShapeError(op, name, `[B, T, ${this.dim}]`, t.shape);
      if (t.dtype !== 'float32') throw new InvalidArgumentError(op, name, `must have dtype float32, got ${t.dtype}`);
    }
    if (std.shape[0] !== geo.shape[0])
      throw new ShapeError(op, 'std', `[B=${geo.shape[0]}, T, ${this.dim}]`, std.shape);
    return tf.tidy(() => {
      const gHat = this.geoNorm1.forward(geo);
      const sHat = this.stdNorm1.forward(std);
      let g: tf.Tensor3D = tf.add(geo, this.geoAttn.forward(gHat));
      let extra: { volumeSquared?: tf.Tensor2D; validity?: tf.Scalar } = {};
      if (this.ksimplex !== null) {
        const ks = this.ksimplex.forward(plainLayerNorm(g, this.eps));
        g = tf.add(g, ks.update);
        extra = { volumeSquared: ks.volumeSquared as tf.Tensor2D, validity: ks.validity };
      }
      g = tf.add(g, this.geoCross.forward(this.geoNorm2.forward(g), sHat, sHat));
      g = tf.add(g, this.geoFfn.forward(this.geoNorm3.forward(g)));
      let s: tf.Tensor3D = tf.add(std, this.stdAttn.forward(sHat));
      s = tf.add(s, this.stdCross.forward(this.stdNorm2.forward(s), gHat, gHat));
      s = tf.add(s, this.stdFfn.forward(this.stdNorm3.forward(s)));
      return { geo: g, std: s, ...extra };
    });
  }
}

/**
 * A dual-stream block (spec §9.3): a {@link CrossBlock} whose geo stream also gets the KSimplex feature layer
 * right after its self-attention:
 *
 *     g = g + ksimplex(LN₀(g))          LN₀: layer normalization without affine parameters
 *
 * [INFER] The spec writes KSimplex(LN g); a LayerNorm(d) with parameters there would add 2d = 384 per block,
 * which the exact geo-stream count (1,281,340 = std stream + 2 × 10,046) excludes, so the pre-norm here has
 * no parameters. Parameters: those of {@link CrossBlock} plus `ksimplex.*` ({@link KSimplexFeatures}):
 * 1,186,944 + 10,046 = 1,196,990 at d = 192.
 *
 * @example
 * const block = new DualStreamBlock(192, { seed: 0 });
 * const { geo, std, validity } = block.forward(g, s);
 */
export class DualStreamBlock extends CrossBlock {
  declare readonly ksimplex: KSimplexFeatures;

  /** @throws {InvalidArgumentError} as {@link CrossBlock}, or for k / vertexDim out of range. */
  constructor(dim: number, options: DualStreamBlockOptions = {}) {
    super(dim, options);
  }

  /**
   * @param geo - `[B, T, d]` float32.
   * @param std - `[B, T', d]` float32.
   * @returns the updated streams, V² per geo token `[B, T]` and the CM validity fraction.
   * @throws {ShapeError} naming `geo` or `std` if it is not `[B, T, d]` or the batch sizes differ.
   */
  override forward(geo: tf.Tensor3D, std: tf.Tensor3D): DualStreamBlockOutput {
    const r = this.run('DualStreamBlock.forward', geo, std);
    return { geo: r.geo, std: r.std, volumeSquared: r.volumeSquared!, validity: r.validity! };
  }
}
