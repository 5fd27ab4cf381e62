import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

import { hasKernel } from '../kernels/index.js';
import { KERNELS } from '../kernels/names.js';
import { checkFloatShape, checkMask, checkOptions, checkSize, checkTensor } from '../layers/checks.js';

/** The score a masked key gets (finite, so a fully masked row stays finite: see {@link scaledDotProductAttention}). */
export const MASKED_SCORE = -1e9;

/** Options of {@link scaledDotProductAttention}. */
export interface ScaledDotProductAttentionOptions {
  /** Number of heads; divides d and dv. */
  heads: number;
  /** `[B, Lk]`, 1 (or true) = a real key, 0 (or false) = padding; float32, int32 or bool. */
  keyPaddingMask?: tf.Tensor;
  /** Additive float32 bias on the scores, `[Lq, Lk]` or `[B, Lq, Lk]`, clamped below at −1e9. */
  attnMask?: tf.Tensor;
}

/**
 * Multi-head scaled dot-product attention on projected, not yet head-split tensors (the core of
 * `MultiHeadAttention`). With h = d / heads and hv = dv / heads, per batch row and head:
 *
 *     S = (q·(1/√h))·kᵀ + max(attnMask, −1e9)                [Lq, Lk]
 *     S = S·m + (1 − m)·(−1e9)                               m = keyPaddingMask (per key)
 *     ctx = softmax(S)·v                                     over the keys, [Lq, hv]
 *
 * and the heads are concatenated back to `[B, Lq, dv]`. A query whose keys are all padded gets the uniform
 * average of the values (its scores are all exactly −1e9).
 *
 * On a backend with the fused `GeolipAttention` kernels (webgpu after `initBackend` from `@geolip/nn/backend`)
 * the forward pass is one dispatch and the backward four (row statistics, dq, dk, dv), each reading q, k and v in
 * this layout with head offsets; elsewhere the composed tfjs ops run (scale, reshape and transpose per tensor,
 * two batched matmuls, the masks, softmax). Both give the same values (parity-tested).
 *
 * @remarks On the fused path the masks are constants: no gradient flows to `attnMask` (the composed path
 *   differentiates it like any input). Pass a trainable score bias on a backend without the kernels, or through
 *   `MultiHeadAttention.forward` with `needWeights: true`, which keeps the composed ops.
 *
 * @param q - `[B, Lq, d]` float32.
 * @param k - `[B, Lk, d]` float32.
 * @param v - `[B, Lk, dv]` float32.
 * @returns `[B, Lq, dv]`. Differentiable in q, k and v.
 * @throws {ShapeError} naming the argument whose shape is wrong; {@link InvalidArgumentError} if `heads` does not
 *   divide d and dv.
 *
 * @example
 * const q = tf.randomNormal([2, 5, 32]) as tf.Tensor3D;
 * scaledDotProductAttention(q, q, q, { heads: 4 }).shape; // [2, 5, 32]
 */
export function scaledDotProductAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  options: ScaledDotProductAttentionOptions,
): tf.Tensor3D {
  const op = 'scaledDotProductAttention';
  const opts = checkOptions(op, options);
  const heads = checkSize(op, 'heads', opts.heads);
  const [B, Lq, d] = checkFloatShape(op, 'q', q, ['B', 'Lq', 'd']) as [number, number, number];
  const Lk = checkFloatShape(op, 'k', k, [B, 'Lk', d])[1]!;
  const dv = checkFloatShape(op, 'v', v, [B, Lk, 'dv'])[2]!;
  if (d % heads !== 0 || dv % heads !== 0)
    throw new InvalidArgumentError(op, 'heads', `must divide d=${d} and dv=${dv}, got ${heads}`);
  if (opts.attnMask !== undefined) checkAttnMask(op, opts.attnMask, B, Lq, Lk);
  return tf.tidy(() => {
    const keyMask =
      opts.keyPaddingMask === undefined
        ? null
        : checkMask(op, 'keyPaddingMask', opts.keyPaddingMask, [B, Lk], ['B', 'Lk']);
    const attnMask = opts.attnMask ?? null;
    if (hasKernel(KERNELS.attention) && B * Lq * Lk * d * dv > 0)
      return fusedAttention(q, k, v, heads, keyMask, attnMask);
    return composedAttention(q, k, v, heads, keyMask, attnMask).ctx;
  });
}

/** Checks an additive score mask: float32, `[Lq, Lk]` or `[B, Lq, Lk]`. */
export function checkAttnMask(op: string, value: unknown, B: number, Lq: number, Lk: number): tf.Tensor {
  const m = checkTensor(op, 'attnMask', value);
  const ok =
    (m.rank === 2 && m.shape[0] === Lq && m.shape[1] === Lk) ||
    (m.rank === 3 && m.shape[0] === B && m.shape[1] === Lq && m.shape[2] === Lk);
  if (!ok) throw new ShapeError(op, 'attnMask', `[Lq=${Lq}, Lk=${Lk}] or [B=${B}, Lq=${Lq}, Lk=${Lk}]`, m.shape);
  if (m.dtype !== 'float32')
    throw new InvalidArgumentError(op, 'attnMask', `must have dtype float32 (an additive bias), got ${m.dtype}`);
  return m;
}

/**
 * The composed tfjs ops (arguments already checked; `keyMask` float32): the reference the fused kernels are tested
 * against. Returns the context `[B, Lq, dv]` and the softmax weights `[B, H, Lq, Lk]`.
 */
export function composedAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  heads: number,
  keyMask: tf.Tensor | null,
  attnMask: tf.Tensor | null,
): { ctx: tf.Tensor3D; attn: tf.Tensor4D } {
  const [B, Lq, d] = q.shape as [number, number, number];
  const Lk = k.shape[1]!;
  const dv = v.shape[2]!;
  const H = heads;
  const h = d / H;
  const split = (t: tf.Tensor, L: number, w: number): tf.Tensor4D =>
    tf.transpose(tf.reshape(t, [B, L, H, w]), [0, 2, 1, 3]);
  const qh = split(tf.mul(q, 1 / Math.sqrt(h)), Lq, h); // [B, H, Lq, h]
  const kh = split(k, Lk, h); // [B, H, Lk, h]
  const vh = split(v, Lk, dv / H);
  let scores: tf.Tensor = tf.matMul(qh, kh, false, true); // [B, H, Lq, Lk]
  if (attnMask !== null) {
    const bias = tf.maximum(attnMask, MASKED_SCORE);
    scores = tf.add(scores, attnMask.rank === 2 ? bias : tf.expandDims(bias, 1));
  }
  if (keyMask !== null) {
    const m = tf.reshape(keyMask, [B, 1, 1, Lk]);
    scores = tf.add(tf.mul(scores, m), tf.mul(tf.sub(1, m), MASKED_SCORE));
  }
  const attn = tf.softmax(scores) as tf.Tensor4D; // over the keys
  const ctx = tf.reshape(tf.transpose(tf.matMul(attn, vh), [0, 2, 1, 3]), [B, Lq, dv]) as tf.Tensor3D;
  return { ctx, attn };
}

type Run = (name: string, inputs: Record<string, tf.Tensor>) => tf.Tensor;

function fusedAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  heads: number,
  keyMask: tf.Tensor | null,
  attnMask: tf.Tensor | null,
): tf.Tensor3D {
  const attrs = { heads } as unknown as tf.NamedAttrMap;
  const run: Run = (name, inputs) => tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
  const maskInputs = (masks: tf.Tensor[]): Record<string, tf.Tensor> => {
    const out: Record<string, tf.Tensor> = {};
    let i = 0;
    if (keyMask !== null) out.keyPaddingMask = masks[i++]!;
    if (attnMask !== null) out.attnMask = masks[i++]!;
    return out;
  };
  const masks = [keyMask, attnMask].filter((m): m is tf.Tensor => m !== null);
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const value = run(KERNELS.attention, { q: qi, k: ki, v: vi, ...maskInputs(masks) });
    // The masks are saved too: the caller's tidy may dispose them before the backward pass runs.
    save([qi, ki, vi, value, ...masks]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, out, ...savedMasks] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, ...tf.Tensor[]];
        const m = maskInputs(savedMasks);
        const stats = run(KERNELS.attentionStats, { q: qs, k: ks, dy, out, ...m });
        const all = { q: qs, k: ks, v: vs, dy, stats, ...m };
        return [
          run(KERNELS.attentionGradQ, all),
          run(KERNELS.attentionGradK, all),
          run(KERNELS.attentionGradV, { q: qs, k: ks, dy, stats, ...m }),
        ];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor;
  return f(q, k, v) as tf.Tensor3D;
}
