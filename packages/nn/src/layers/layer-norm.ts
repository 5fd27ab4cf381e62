import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@geolip/geometry';
import { assertFloatTensor } from '@geolip/geometry/checks';

import { layerNorm } from '../functional/layer-norm.js';
import { Module } from '../module.js';
import { assertNumber, checkOptions, checkSize } from './checks.js';

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance. Default `1e-5` (PyTorch's default). */
  eps?: number;
}

/**
 * Layer normalization over the last axis, PyTorch `nn.LayerNorm(dim, eps)` (elementwise affine):
 *
 *     y = (x − mean(x)) / √(var(x) + eps) · weight + bias        var biased (÷ D)
 *
 * Parameters (PyTorch names): `weight` `[D]` (init 1), `bias` `[D]` (init 0). Count: 2·D.
 *
 * @remarks
 * - Calls {@link layerNorm} (the functional form that takes fused kernels when registered).
 * - A constant row gives `bias` (its variance is 0, so the normalized value is 0/√eps = 0).
 *
 * @example
 * const ln = new LayerNorm(3);
 * ln.forward(tf.tensor2d([[1, 2, 3]])).print(); // [[-1.2247, 0, 1.2247]]
 */
export class LayerNorm extends Module {
  readonly dim: number;
  readonly eps: number;
  /** `[D]` scale. */
  readonly weight: tf.Variable<tf.Rank.R1>;
  /** `[D]` shift. */
  readonly bias: tf.Variable<tf.Rank.R1>;

  /** @throws {InvalidArgumentError} if `dim` is not a positive integer or `eps` is not a positive number. */
  constructor(dim: number, options?: LayerNormOptions) {
    super();
    const op = 'LayerNorm';
    const opts = checkOptions(op, options);
    this.dim = checkSize(op, 'dim', dim);
    this.eps = assertNumber(op, 'eps', opts.eps ?? 1e-5, Number.MIN_VALUE);
    this.weight = this.addParameter('weight', tf.ones([dim])) as tf.Variable<tf.Rank.R1>;
    this.bias = this.addParameter('bias', tf.zeros([dim])) as tf.Variable<tf.Rank.R1>;
  }

  /**
   * @param x - `[..., D]` float32.
   * @returns `[..., D]`.
   * @throws {ShapeError} if the last size of `x` is not D.
   */
  forward<T extends tf.Tensor>(x: T): T {
    const op = 'LayerNorm.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x, 1);
    if (x.shape[x.rank - 1] !== this.dim) throw new ShapeError(op, 'x', `[..., ${this.dim}]`, x.shape);
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
