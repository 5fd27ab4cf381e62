import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { readTensorSync } from '@geolip/geometry/checks';

import { bindShapes, checkFloat } from './checks.js';

/** Gold similarity scores of {@link cosentLoss}: any finite numbers (e.g. STS-B's 0–5), one per pair. */
export type ScoresLike = tf.Tensor1D | readonly number[] | Float32Array | Float64Array;

/** Options of {@link cosentLoss}. */
export interface CosentOptions {
  /** λ, the scale of the cosine differences. Default 20 (Su 2022). > 0. */
  scale?: number;
}

/** Reads finite scores of length `b` to the CPU (a tensor with `dataSync`). */
function readScores(op: string, argument: string, scores: unknown, b: number): Float64Array {
  let values: ArrayLike<number>;
  let shape: readonly number[];
  if (scores instanceof tf.Tensor) {
    if (scores.rank !== 1) throw new ShapeError(op, argument, `[B=${b}]`, scores.shape);
    values = readTensorSync(op, argument, scores);
    shape = scores.shape;
  } else if (Array.isArray(scores) || scores instanceof Float32Array || scores instanceof Float64Array) {
    values = scores as ArrayLike<number>;
    shape = [values.length];
  } else {
    throw new InvalidArgumentError(
      op,
      argument,
      'must be a tf.Tensor1D, a number[], a Float32Array or a Float64Array, ' +
        `got ${scores === null ? 'null' : typeof scores}`,
    );
  }
  if (shape[0] !== b) throw new ShapeError(op, argument, `[B=${b}]`, shape);
  const out = new Float64Array(b);
  for (let i = 0; i < b; i++) {
    const v = Number(values[i]);
    if (!Number.isFinite(v))
      throw new InvalidArgumentError(op, argument, `must be finite, got ${String(v)} at index ${i}`);
    out[i] = v;
  }
  return out;
}

/**
 * CoSENT loss (Su 2022, "CoSENT: a more efficient sentence vector scheme than Sentence-BERT"): a ranking loss on the
 * cosines of sentence pairs. Every ordered couple of pairs whose gold scores differ asks the higher-scored pair to
 * have the higher cosine:
 *
 *     c_i = cos(u_i, v_i)
 *     L = log(1 + Σ_{(i, j): s_i > s_j} exp(λ (c_j − c_i)))
 *
 * Couples with equal scores add nothing; with no couple at all (every score equal) L = log 1 = 0.
 *
 * @param u - `[B, D]` first sentences of the pairs (any norm: the cosine normalizes them).
 * @param v - `[B, D]` second sentences.
 * @param scores - `[B]` gold similarities (only their order matters), read to the CPU.
 * @param options - `scale` λ (default 20).
 * @returns scalar loss ≥ 0; one new tensor. Gradient flows to `u` and `v`.
 *
 * @throws {ShapeError} if `u` and `v` are not the same `[B, D]` or `scores` is not `[B]`.
 * @throws {InvalidArgumentError} for non-float32 embeddings, non-finite scores or a non-positive scale.
 *
 * @remarks O(B²) terms, computed as a masked log-sum-exp over the B×B matrix of λ(c_j − c_i) with a leading 0
 * (the "1 +"); the mask is built on the CPU from the scores, so no comparison op sits on the gradient path.
 * A zero row gets cosine 0 (its norm is clamped at 1e-12).
 *
 * @example
 * // Two pairs, s = [1, 0], cosines c = [0, 1]: L = log(1 + e^{λ(1 − 0)}); at λ = 1, log(1 + e) ≈ 1.3133.
 * const u = tf.tensor2d([[1, 0], [1, 0]]);
 * const v = tf.tensor2d([[0, 1], [1, 0]]);
 * cosentLoss(u, v, [1, 0], { scale: 1 }).dataSync()[0]; // ≈ 1.3133
 */
export function cosentLoss(u: tf.Tensor2D, v: tf.Tensor2D, scores: ScoresLike, options: CosentOptions = {}): tf.Scalar {
  const op = 'cosentLoss';
  const shapes = bindShapes(op);
  checkFloat(op, shapes, 'u', u, ['B', 'D']);
  checkFloat(op, shapes, 'v', v, ['B', 'D']);
  const scale = options.scale ?? 20;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0)
    throw new InvalidArgumentError(op, 'options.scale', `must be a finite number > 0, got ${String(scale)}`);
  const b = u.shape[0];
  const s = readScores(op, 'scores', scores, b);
  // penalty[i, j] = 0 where s_i > s_j (a term), else a large negative number (exp underflows to 0).
  const penalty = new Float32Array(b * b);
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) penalty[i * b + j] = s[i]! > s[j]! ? 0 : -1e12;
  return tf.tidy(() => {
    const norm = (x: tf.Tensor2D) => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12));
    const c = tf.sum(tf.mul(norm(u), norm(v)), 1); // [B]
    // diff[i, j] = λ (c_j − c_i)
    const diff = tf.mul(scale, tf.sub(tf.reshape(c, [1, b]), tf.reshape(c, [b, 1])));
    const terms = tf.add(tf.reshape(diff, [b * b]), tf.tensor1d(penalty));
    return tf.logSumExp(tf.concat([tf.zeros([1]), terms])) as tf.Scalar;
  });
}
