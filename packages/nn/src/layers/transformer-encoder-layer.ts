import * as tf from '@tensorflow/tfjs-core';

import { Module, toRng } from '../module.js';
import type { InitSeed } from '../module.js';
import {
  assertNumber,
  checkBoolean,
  checkChoice,
  checkFloatShape,
  checkMaskShape,
  checkOptions,
  checkSize,
} from './checks.js';
import { FEED_FORWARD_ACTIVATIONS, feedForward } from './feed-forward.js';
import type { FeedForwardActivation } from './feed-forward.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { MultiHeadAttention } from './multi-head-attention.js';

/** Options of {@link TransformerEncoderLayer}. */
export interface TransformerEncoderLayerOptions {
  /** Pre-norm (`norm_first=True`, default) or post-norm (the original Transformer). */
  normFirst?: boolean;
  /** FFN activation. Default `'gelu'` (exact erf form; PyTorch's own default is `'relu'`). */
  activation?: FeedForwardActivation;
  /** LayerNorm epsilon. Default `1e-5`. */
  eps?: number;
  /** Biases everywhere (PyTorch `bias=True`). Default `true`. */
  bias?: boolean;
  /** Seed (or generator) of the initialization. Default 0. */
  seed?: InitSeed;
}

/** Masks of {@link TransformerEncoderLayer.forward}. */
export interface EncoderLayerForwardOptions {
  /** `[B, L]`, 1 = real token, 0 = padding (the opposite of PyTorch's `src_key_padding_mask`). */
  keyPaddingMask?: tf.Tensor;
  /** Additive `[L, L]` or `[B, L, L]` score bias (PyTorch's float `src_mask`). */
  attnMask?: tf.Tensor;
}

/**
 * One transformer encoder layer, PyTorch `nn.TransformerEncoderLayer(d, heads, ff, dropout=0,
 * activation, layer_norm_eps=eps, batch_first=True, norm_first)`:
 *
 *     normFirst:   x = x + SA(norm1(x));   x = x + FF(norm2(x))
 *     otherwise:   x = norm1(x + SA(x));   x = norm2(x + FF(x))
 *     SA = self-attention with the key-padding mask,  FF(x) = linear2(act(linear1(x)))
 *
 * Parameters (PyTorch names and order): `self_attn.in_proj_weight`, `self_attn.in_proj_bias`,
 * `self_attn.out_proj.weight`, `self_attn.out_proj.bias`, `linear1.weight`, `linear1.bias`,
 * `linear2.weight`, `linear2.bias`, `norm1.weight`, `norm1.bias`, `norm2.weight`, `norm2.bias`.
 * Count (bias): 4d² + 4d + 2·d·ff + ff + d + 4d = 1,774,464 at d = 384, ff = 1536 (spec §10).
 *
 * @remarks
 * - Padded positions are still computed as queries (they attend to the real keys), as in PyTorch's
 *   non-nested path; pool with {@link maskedMeanPool} to drop them.
 * - Initialization as PyTorch (see {@link MultiHeadAttention}, {@link Linear}, {@link LayerNorm}),
 *   from one seeded stream in the order self_attn, linear1, linear2.
 *
 * @example
 * const layer = new TransformerEncoderLayer(384, 6, 1536, { seed: 0 });
 * layer.paramCount(); // 1,774,464
 * layer.forward(x, { keyPaddingMask: mask }); // x [B, L, 384] → [B, L, 384]
 */
export class TransformerEncoderLayer extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly ffDim: number;
  readonly normFirst: boolean;
  readonly activation: FeedForwardActivation;
  readonly selfAttn: MultiHeadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;

  /**
   * @throws {InvalidArgumentError} if a size is not a positive integer, heads does not divide d, or an option is
   * invalid.
   */
  constructor(dim: number, heads: number, ffDim: number, options?: TransformerEncoderLayerOptions) {
    super();
    const op = 'TransformerEncoderLayer';
    const opts = checkOptions(op, options);
    this.dim = checkSize(op, 'dim', dim);
    this.heads = checkSize(op, 'heads', heads);
    this.ffDim = checkSize(op, 'ffDim', ffDim);
    this.normFirst = checkBoolean(op, 'normFirst', opts.normFirst ?? true);
    this.activation = checkChoice(op, 'activation', opts.activation ?? 'gelu', FEED_FORWARD_ACTIVATIONS);
    const eps = assertNumber(op, 'eps', opts.eps ?? 1e-5, Number.MIN_VALUE);
    const bias = checkBoolean(op, 'bias', opts.bias ?? true);
    const rng = toRng(opts.seed);
    this.selfAttn = this.addModule('self_attn', new MultiHeadAttention(dim, heads, { bias, seed: rng }));
    this.linear1 = this.addModule('linear1', new Linear(dim, ffDim, { bias, seed: rng }));
    this.linear2 = this.addModule('linear2', new Linear(ffDim, dim, { bias, seed: rng }));
    this.norm1 = this.addModule('norm1', new LayerNorm(dim, { eps }));
    this.norm2 = this.addModule('norm2', new LayerNorm(dim, { eps }));
  }

  /**
   * @param x - `[B, L, d]` float32.
   * @returns `[B, L, d]`.
   * @throws {ShapeError} if `x` is not `[B, L, d]` or a mask does not match it.
   */
  forward(x: tf.Tensor3D, options?: EncoderLayerForwardOptions): tf.Tensor3D {
    const op = 'TransformerEncoderLayer.forward';
    this.assertLive('forward');
    const [B, L] = checkFloatShape(op, 'x', x, ['B', 'L', this.dim]) as [number, number, number];
    const opts = checkOptions(op, options);
    if (opts.keyPaddingMask !== undefined)
      checkMaskShape(op, 'keyPaddingMask', opts.keyPaddingMask, [B, L], ['B', 'L']);
    const masks = { keyPaddingMask: opts.keyPaddingMask, attnMask: opts.attnMask };
    return tf.tidy(() => {
      const sa = (h: tf.Tensor3D): tf.Tensor3D => this.selfAttn.forward(h, masks);
      const ff = (h: tf.Tensor3D): tf.Tensor3D => feedForward(h, this.linear1, this.linear2, this.activation);
      let h = x;
      if (this.normFirst) {
        h = tf.add(h, sa(this.norm1.forward(h)));
        h = tf.add(h, ff(this.norm2.forward(h)));
      } else {
        h = this.norm1.forward(tf.add(h, sa(h)));
        h = this.norm2.forward(tf.add(h, ff(h)));
      }
      return h;
    });
  }
}
