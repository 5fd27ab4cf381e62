import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { assertFloatTensor, assertInteger, assertNumber } from '@geolip/geometry/checks';

import { Module } from '../module.js';

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions {
  /** Added to the variance. Default `1e-5` (PyTorch's default). */
  eps?: number;
}

/**
 * Group normalization (PyTorch `nn.GroupNorm(groups, channels, eps)`), **channels-last**.
 *
 * The C channels split into G contiguous groups of C/G; each sample's group is normalized over
 * all its spatial positions and its C/G channels, then scaled and shifted per channel:
 *
 *     y = (x − mean_{b,g}) / √(var_{b,g} + eps) · weight[c] + bias[c]     (biased variance)
 *
 * Parameters: `weight` `[C]` (init 1), `bias` `[C]` (init 0); names and layouts as PyTorch.
 *
 * **Layout: NHWC `[B, H, W, C]` here (any `[B, ..., C]` works); PyTorch is NCHW `[B, C, H, W]`.**
 * Channel c belongs to group ⌊c / (C/G)⌋ in both, so the weights need no conversion.
 *
 * @remarks
 * - G = 1 is a layer norm over (H, W, C) with per-channel affine; G = C is instance norm.
 * - O(B·H·W·C); one new tensor, intermediates disposed.
 *
 * @example
 * const gn = new GroupNorm(4, 16);
 * gn.forward(tf.randomNormal([2, 8, 8, 16]) as tf.Tensor4D); // [2, 8, 8, 16]
 */
export class GroupNorm extends Module {
  readonly groups: number;
  readonly channels: number;
  readonly eps: number;
  /** `[C]`. */
  readonly weight: tf.Variable;
  /** `[C]`. */
  readonly bias: tf.Variable;

  /**
   * @param groups - G ≥ 1, dividing `channels`.
   * @param channels - C ≥ 1.
   * @throws {InvalidArgumentError} If a size is not a positive integer, `channels % groups ≠ 0`, or eps ≤ 0.
   */
  constructor(groups: number, channels: number, options: GroupNormOptions = {}) {
    super();
    const op = 'GroupNorm';
    this.groups = assertInteger(op, 'groups', groups, 1);
    this.channels = assertInteger(op, 'channels', channels, 1);
    if (channels % groups !== 0) {
      throw new InvalidArgumentError(op, 'groups', `must divide channels (${channels}), got ${groups}`);
    }
    this.eps = assertNumber(op, 'eps', options.eps ?? 1e-5, 0);
    if (this.eps === 0) throw new InvalidArgumentError(op, 'eps', 'must be > 0, got 0');
    this.weight = this.addParameter('weight', tf.ones([channels]));
    this.bias = this.addParameter('bias', tf.zeros([channels]));
  }

  /**
   * @param x - `[B, H, W, C]` float32 (NHWC; more generally `[B, ..., C]` with rank ≥ 2).
   * @returns The same shape.
   * @throws {ShapeError} If `x` has rank < 2 or its last axis is not C.
   */
  forward<T extends tf.Tensor>(x: T): T {
    const op = 'GroupNorm.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x, 2);
    if (x.shape[x.rank - 1] !== this.channels) {
      throw new ShapeError(op, 'x', `[B, ..., ${this.channels}]`, x.shape);
    }
    return tf.tidy(() => {
      const g = this.groups;
      const grouped = tf.reshape(x, [x.shape[0]!, -1, g, this.channels / g]);
      const { mean, variance } = tf.moments(grouped, [1, 3], true);
      const normed = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(tf.reshape(normed, x.shape), this.weight), this.bias) as T;
    });
  }
}
