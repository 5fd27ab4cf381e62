import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

import { assertNumber, checkBoolean, checkOptions, checkSize, checkTensor } from './checks.js';

/** Options of {@link sinusoidalEmbedding}. */
export interface SinusoidalEmbeddingOptions {
  /** The longest period, P in the formula. Default 10,000 (Transformer, DDPM). */
  maxPeriod?: number;
  /**
   * Put the cosines first (`[cos | sin]`, guided-diffusion's `timestep_embedding` order). Default `false`:
   * `[sin | cos]`.
   */
  cosFirst?: boolean;
}

/**
 * The fixed sinusoidal embedding of scalar positions or diffusion timesteps ("Attention Is All You
 * Need" §3.5; DDPM / guided-diffusion `timestep_embedding`), with h = ⌊dim / 2⌋:
 *
 *     ω_i  = P^(−i / h) = exp(−ln(P) · i / h),           i = 0 … h − 1
 *     e(t) = [ sin(t·ω_0), …, sin(t·ω_{h−1}), cos(t·ω_0), …, cos(t·ω_{h−1}) ]   (+ one 0 if dim is odd)
 *
 * so the first half holds sines and the second half cosines, frequencies decreasing from 1 to
 * P^(−(h−1)/h). With `cosFirst` the halves swap (guided-diffusion's order; diffusers'
 * `flip_sin_to_cos=True`). diffusers' default `downscale_freq_shift=1` divides by h − 1 instead of h:
 * not this function.
 *
 * @param t - `[B]` positions or timesteps (float32 or int32; fractional values allowed).
 * @param dim - output width (≥ 2).
 * @returns `[B, dim]` float32, no parameters.
 * @throws {ShapeError} if `t` is not rank 1. @throws {InvalidArgumentError} if `dim` < 2 or `t` is not numeric.
 *
 * @remarks
 * Differentiable in `t`. O(B·dim).
 *
 * @example
 * sinusoidalEmbedding(tf.tensor1d([0]), 4).print(); // [[0, 0, 1, 1]]
 */
export function sinusoidalEmbedding(t: tf.Tensor1D, dim: number, options?: SinusoidalEmbeddingOptions): tf.Tensor2D {
  const op = 'sinusoidalEmbedding';
  const opts = checkOptions(op, options);
  const tt = checkTensor(op, 't', t);
  if (tt.rank !== 1) throw new ShapeError(op, 't', '[B]', tt.shape);
  if (tt.dtype !== 'float32' && tt.dtype !== 'int32')
    throw new InvalidArgumentError(op, 't', `must have dtype float32 or int32, got ${tt.dtype}`);
  checkSize(op, 'dim', dim);
  if (dim < 2) throw new InvalidArgumentError(op, 'dim', `must be an integer >= 2, got ${dim}`);
  const maxPeriod = assertNumber(op, 'maxPeriod', opts.maxPeriod ?? 10_000, Number.MIN_VALUE);
  const cosFirst = checkBoolean(op, 'cosFirst', opts.cosFirst ?? false);
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(maxPeriod) * i) / half);
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.cast(tt, 'float32'), [-1, 1]), tf.tensor2d(freqs, [1, half])); // [B, h]
    const parts = cosFirst ? [tf.cos(args), tf.sin(args)] : [tf.sin(args), tf.cos(args)];
    if (dim % 2 === 1) parts.push(tf.zeros([tt.shape[0]!, 1]));
    return tf.concat(parts, 1) as tf.Tensor2D;
  });
}
