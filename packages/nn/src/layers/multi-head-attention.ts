import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

import { MASKED_SCORE, checkAttnMask, composedAttention, scaledDotProductAttention } from '../functional/attention.js';
import { linear } from '../functional/linear.js';
import { Module, toRng, xavierUniform } from '../module.js';
import type { InitSeed } from '../module.js';
import { checkBoolean, checkFloatShape, checkMask, checkOptions, checkSize, describe } from './checks.js';
import { Linear } from './linear.js';

/** Options of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionOptions {
  /** Biases on the input and output projections. Default `true`. */
  bias?: boolean;
  /** Width of `key` (default d). With kdim or vdim ≠ d the projections are separate (`q_proj_weight`, …). */
  kdim?: number;
  /** Width of `value` (default d). */
  vdim?: number;
  /** Seed (or generator) of the initialization. Default 0. */
  seed?: InitSeed;
}

/** Masks and flags of {@link MultiHeadAttention.forward}. */
export interface AttentionOptions {
  /**
   * `[B, Lk]`, **1 (or true) = a real token, 0 (or false) = padding** (float32, int32 or bool). This is
   * the opposite of PyTorch's boolean `key_padding_mask`, where True marks padding; it is the
   * Hugging Face `attention_mask` convention. Padded keys get zero weight.
   */
  keyPaddingMask?: tf.Tensor;
  /**
   * Additive float32 bias on the scores, `[Lq, Lk]` or `[B, Lq, Lk]` (PyTorch's float `attn_mask`;
   * a boolean PyTorch mask converts as True → −∞). Values below −1e9 (−Infinity included) are
   * clamped to −1e9.
   */
  attnMask?: tf.Tensor;
  /** Also return the attention weights averaged over heads. Default `false`. */
  needWeights?: boolean;
}

/** What {@link MultiHeadAttention.forward} returns with `needWeights: true`. */
export interface AttentionResult {
  /** `[B, Lq, d]`. */
  output: tf.Tensor3D;
  /** `[B, Lq, Lk]`, the softmax weights averaged over heads (PyTorch `average_attn_weights=True`). */
  weights: tf.Tensor3D;
}

export { MASKED_SCORE };

/**
 * Multi-head scaled dot-product attention, PyTorch `nn.MultiheadAttention(d, heads, bias, kdim, vdim,
 * batch_first=True)` (no dropout, no `add_bias_kv`, no `add_zero_attn`). With h = d / heads:
 *
 *     Q = query·Wqᵀ + bq,  K = key·Wkᵀ + bk,  V = value·Wvᵀ + bv          split into heads of width h
 *     A = softmax( Q·Kᵀ / √h + attnMask  (masked keys → −1e9) )            over the keys
 *     out = concat_heads(A·V)·Woᵀ + bo                                     [B, Lq, d]
 *
 * Parameters (PyTorch names and order):
 * - kdim = vdim = d: `in_proj_weight` (PyTorch `[3d, d]` = [Wq; Wk; Wv]; stored here transposed,
 *   `[d, 3d]`, with layout `'linear'`, so x·W needs no transposed matmul), `in_proj_bias` `[3d]`;
 * - otherwise: `q_proj_weight` `[d, d]`, `k_proj_weight` `[d, kdim]`, `v_proj_weight` `[d, vdim]`
 *   (PyTorch shapes; stored transposed, layout `'linear'`), `in_proj_bias` `[3d]`;
 * - `out_proj.weight` `[d, d]`, `out_proj.bias` `[d]` (a {@link Linear}).
 *
 * Count (kdim = vdim = d, bias): 4d² + 4d. Initialization as PyTorch's `_reset_parameters`: the
 * in-projection Xavier-uniform (fan-in d, fan-out 3d for the packed matrix; per matrix otherwise),
 * in-projection and output biases 0, `out_proj.weight` U(±1/√d).
 *
 * @remarks
 * - **Masking** fills the scores of padded keys with exactly −1e9 (`s·m + (1 − m)·(−1e9)`), not
 *   −∞. A query whose keys are *all* padded therefore gets the exact uniform average of the values
 *   (PyTorch returns NaN for such rows). Rows masked entirely through `attnMask` get scores s − 1e9,
 *   which float32 rounds to (nearly) equal values: approximately the uniform average. Mask values
 *   other than 0/1 are not checked (that would read data).
 * - Self-attention (key and value omitted, or the same tensor as query) runs one `[d, 3d]` matmul;
 *   key === value runs two.
 * - Calls {@link linear} for every projection and {@link scaledDotProductAttention} for the attention core
 *   (one fused dispatch forward and four backward on webgpu; `needWeights: true` keeps the composed ops).
 *   O(B·(Lq + Lk)·d² + B·Lq·Lk·d). Differentiable; on the fused path `attnMask` gets no gradient.
 *
 * @example
 * const mha = new MultiHeadAttention(32, 4, { seed: 0 });
 * const x = tf.randomNormal([2, 7, 32]) as tf.Tensor3D;
 * const mask = tf.tensor2d([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]]);
 * mha.forward(x, { keyPaddingMask: mask }).shape; // [2, 7, 32]
 */
export class MultiHeadAttention extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  /** Whether the projections are one packed `in_proj_weight` (kdim = vdim = d). */
  readonly packed: boolean;
  /** `[d, 3d]` (packed only). */
  private readonly inProjWeight: tf.Variable<tf.Rank.R2> | null = null;
  /** `[d, d]`, `[kdim, d]`, `[vdim, d]` (separate only). */
  private readonly qProjWeight: tf.Variable<tf.Rank.R2> | null = null;
  private readonly kProjWeight: tf.Variable<tf.Rank.R2> | null = null;
  private readonly vProjWeight: tf.Variable<tf.Rank.R2> | null = null;
  /** `[3d]`, or null without bias. */
  private readonly inProjBias: tf.Variable<tf.Rank.R1> | null = null;
  readonly outProj: Linear;

  /** @throws {InvalidArgumentError} if a size is not a positive integer or `heads` does not divide `dim`. */
  constructor(dim: number, heads: number, options?: MultiHeadAttentionOptions) {
    super();
    const op = 'MultiHeadAttention';
    const opts = checkOptions(op, options);
    this.dim = checkSize(op, 'dim', dim);
    this.heads = checkSize(op, 'heads', heads);
    if (dim % heads !== 0) throw new InvalidArgumentError(op, 'heads', `must divide dim=${dim}, got ${heads}`);
    this.headDim = dim / heads;
    this.kdim = checkSize(op, 'kdim', opts.kdim ?? dim);
    this.vdim = checkSize(op, 'vdim', opts.vdim ?? dim);
    const bias = checkBoolean(op, 'bias', opts.bias ?? true);
    this.packed = this.kdim === dim && this.vdim === dim;
    const rng = toRng(opts.seed);
    if (this.packed) {
      // PyTorch draws xavier on [3d, d] (fan-in d, fan-out 3d); we draw it in our [d, 3d] layout.
      this.inProjWeight = this.addParameter(
        'in_proj_weight',
        xavierUniform([dim, 3 * dim], dim, 3 * dim, rng),
        'linear',
      ) as tf.Variable<tf.Rank.R2>;
    } else {
      this.qProjWeight = this.addParameter(
        'q_proj_weight',
        xavierUniform([dim, dim], dim, dim, rng),
        'linear',
      ) as tf.Variable<tf.Rank.R2>;
      this.kProjWeight = this.addParameter(
        'k_proj_weight',
        xavierUniform([this.kdim, dim], this.kdim, dim, rng),
        'linear',
      ) as tf.Variable<tf.Rank.R2>;
      this.vProjWeight = this.addParameter(
        'v_proj_weight',
        xavierUniform([this.vdim, dim], this.vdim, dim, rng),
        'linear',
      ) as tf.Variable<tf.Rank.R2>;
    }
    if (bias) this.inProjBias = this.addParameter('in_proj_bias', tf.zeros([3 * dim])) as tf.Variable<tf.Rank.R1>;
    this.outProj = this.addModule('out_proj', new Linear(dim, dim, { bias, seed: rng }));
    const outBias = this.outProj.bias;
    if (outBias) tf.tidy(() => outBias.assign(tf.zeros([dim])));
  }

  /**
   * Attention of `query` over `key`/`value`. Forms:
   * - `forward(x, options?)`: self-attention (key = value = x);
   * - `forward(query, key, value?, options?)`: value defaults to key; `key` null/undefined = query.
   *
   * @param query - `[B, Lq, d]` float32.
   * @param key - `[B, Lk, kdim]` float32.
   * @param value - `[B, Lk, vdim]` float32.
   * @returns `[B, Lq, d]`, or {@link AttentionResult} with `needWeights: true`.
   * @throws {ShapeError} naming the argument whose shape is wrong (batch or key lengths disagree,
   *   wrong width, a mask of the wrong shape).
   */
  forward(query: tf.Tensor3D, options?: AttentionOptions & { needWeights?: false }): tf.Tensor3D;
  forward(query: tf.Tensor3D, options: AttentionOptions & { needWeights: true }): AttentionResult;
  forward(
    query: tf.Tensor3D,
    key: tf.Tensor3D | null | undefined,
    value?: tf.Tensor3D | null,
    options?: AttentionOptions & { needWeights?: false },
  ): tf.Tensor3D;
  forward(
    query: tf.Tensor3D,
    key: tf.Tensor3D | null | undefined,
    value: tf.Tensor3D | null | undefined,
    options: AttentionOptions & { needWeights: true },
  ): AttentionResult;
  forward(
    query: tf.Tensor3D,
    keyOrOptions?: tf.Tensor3D | AttentionOptions | null,
    value?: tf.Tensor3D | null,
    options?: AttentionOptions,
  ): tf.Tensor3D | AttentionResult {
    const op = 'MultiHeadAttention.forward';
    this.assertLive('forward');
    let key: tf.Tensor3D | null | undefined;
    if (keyOrOptions instanceof tf.Tensor || keyOrOptions === null || keyOrOptions === undefined) {
      key = keyOrOptions as tf.Tensor3D | null | undefined;
    } else if (
      typeof keyOrOptions === 'object' &&
      !Array.isArray(keyOrOptions) &&
      value === undefined &&
      options === undefined
    ) {
      options = keyOrOptions;
    } else {
      throw new InvalidArgumentError(
        op,
        'key',
        `must be a tf.Tensor, null or an options object, got ${describe(keyOrOptions)}`,
      );
    }
    const opts = checkOptions(op, options);
    const k = key ?? query;
    const v = value ?? k;
    const [B, Lq] = checkFloatShape(op, 'query', query, ['B', 'Lq', this.dim]) as [number, number, number];
    if (k !== query) checkFloatShape(op, 'key', k, [B, 'Lk', this.kdim]);
    if (this.kdim !== this.dim && k === query)
      throw new ShapeError(op, 'key', `[B, Lk, ${this.kdim}] (kdim ≠ d: key is required)`, query.shape);
    const Lk = k.shape[1];
    if (v !== k) checkFloatShape(op, 'value', v, [B, Lk, this.vdim]);
    if (this.vdim !== this.kdim && v === k)
      throw new ShapeError(op, 'value', `[B, Lk, ${this.vdim}] (vdim ≠ kdim: value is required)`, k.shape);
    const needWeights = checkBoolean(op, 'needWeights', opts.needWeights ?? false);
    if (opts.attnMask !== undefined) checkAttnMask(op, opts.attnMask, B, Lq, Lk);

    const result = tf.tidy(() => {
      const keyMask =
        opts.keyPaddingMask === undefined
          ? null
          : checkMask(op, 'keyPaddingMask', opts.keyPaddingMask, [B, Lk], ['B', 'Lk']);
      const [q, kp, vp] = this.project(query, k, v);
      const attnMask = opts.attnMask ?? null;
      // needWeights keeps the composed ops (the fused kernels never form the weights).
      const { ctx, attn } = needWeights
        ? composedAttention(q, kp, vp, this.heads, keyMask, attnMask)
        : {
            ctx: scaledDotProductAttention(q as tf.Tensor3D, kp as tf.Tensor3D, vp as tf.Tensor3D, {
              heads: this.heads,
              keyPaddingMask: keyMask ?? undefined,
              attnMask: attnMask ?? undefined,
            }),
            attn: null,
          };
      const output = linear(ctx, this.outProj.weight, this.outProj.bias ?? undefined) as tf.Tensor3D;
      return attn !== null ? { output, weights: tf.mean(attn, 1) as tf.Tensor3D } : { output };
    });
    return needWeights ? (result as AttentionResult) : result.output;
  }

  /** Q, K, V as `[B, L, d]` each. */
  private project(query: tf.Tensor3D, key: tf.Tensor3D, value: tf.Tensor3D): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const d = this.dim;
    const b = this.inProjBias;
    const biasPart = (i: number): tf.Tensor1D | undefined => (b ? tf.slice(b, [i * d], [d]) : undefined);
    if (this.packed) {
      const W = this.inProjWeight!;
      if (key === query && value === query) {
        const qkv = linear(query, W, b ?? undefined); // [B, L, 3d]
        return tf.split(qkv, 3, 2) as [tf.Tensor, tf.Tensor, tf.Tensor];
      }
      const q = linear(query, tf.slice(W, [0, 0], [d, d]), biasPart(0));
      if (key === value) {
        const kv = linear(key, tf.slice(W, [0, d], [d, 2 * d]), b ? tf.slice(b, [d], [2 * d]) : undefined);
        const [k, v] = tf.split(kv, 2, 2) as [tf.Tensor, tf.Tensor];
        return [q, k, v];
      }
      return [
        q,
        linear(key, tf.slice(W, [0, d], [d, d]), biasPart(1)),
        linear(value, tf.slice(W, [0, 2 * d], [d, d]), biasPart(2)),
      ];
    }
    return [
      linear(query, this.qProjWeight!, biasPart(0)),
      linear(key, this.kProjWeight!, biasPart(1)),
      linear(value, this.vProjWeight!, biasPart(2)),
    ];
  }
}
