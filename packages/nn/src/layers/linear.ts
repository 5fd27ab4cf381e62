import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@geolip/geometry';
import { assertFloatTensor } from '@geolip/geometry/checks';

import { linear } from '../functional/linear.js';
import { Module, toRng, uniformInit } from '../module.js';
import type { InitSeed } from '../module.js';
import { checkBoolean, checkOptions, checkSize } from './checks.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias. Default `true`. */
  bias?: boolean;
  /** Seed (or generator) of the initialization. Default 0. */
  seed?: InitSeed;
}

/**
 * Affine map over the last axis, PyTorch `nn.Linear(inDim, outDim, bias)`:
 *
 *     y = x·W + b          W: [in, out] here (PyTorch stores Wᵀ: [out, in]),  b: [out]
 *
 * Parameters (PyTorch names): `weight` (layout `'linear'`: `[in, out]` here, `[out, in]` in
 * {@link Module.stateDict}), `bias` `[out]`. Count: in·out + out.
 *
 * Initialization as PyTorch's default (kaiming-uniform with a = √5): weight and bias both
 * U(−1/√in, 1/√in), drawn from a seeded generator (weight first, row-major in the `[in, out]` layout).
 *
 * @remarks
 * - Calls {@link linear} (the functional form that takes fused kernels when they are registered).
 * - O(N·in·out) for N rows; stays on the backend; differentiable.
 *
 * @example
 * const fc = new Linear(4, 3, { seed: 0 });
 * fc.forward(tf.ones([2, 5, 4])).shape; // [2, 5, 3]
 * fc.paramCount();                      // 15
 */
export class Linear extends Module {
  readonly inDim: number;
  readonly outDim: number;
  /** `[in, out]`. */
  readonly weight: tf.Variable<tf.Rank.R2>;
  /** `[out]`, or null without bias. */
  readonly bias: tf.Variable<tf.Rank.R1> | null;

  /** @throws {InvalidArgumentError} if a size is not a positive integer or an option has the wrong type. */
  constructor(inDim: number, outDim: number, options?: LinearOptions) {
    super();
    const op = 'Linear';
    const opts = checkOptions(op, options);
    this.inDim = checkSize(op, 'inDim', inDim);
    this.outDim = checkSize(op, 'outDim', outDim);
    const hasBias = checkBoolean(op, 'bias', opts.bias ?? true);
    const rng = toRng(opts.seed);
    const bound = 1 / Math.sqrt(inDim);
    this.weight = this.addParameter(
      'weight',
      uniformInit([inDim, outDim], bound, rng),
      'linear',
    ) as tf.Variable<tf.Rank.R2>;
    this.bias = hasBias
      ? (this.addParameter('bias', uniformInit([outDim], bound, rng)) as tf.Variable<tf.Rank.R1>)
      : null;
  }

  /**
   * @param x - `[..., in]` float32.
   * @returns `[..., out]`.
   * @throws {ShapeError} if the last size of `x` is not `in`.
   */
  forward<T extends tf.Tensor>(x: T): T {
    const op = 'Linear.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x, 1);
    if (x.shape[x.rank - 1] !== this.inDim) throw new ShapeError(op, 'x', `[..., ${this.inDim}]`, x.shape);
    return linear(x, this.weight, this.bias ?? undefined) as T;
  }
}
