import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

import { Module } from '../module.js';
import type { InitSeed } from '../module.js';
import { checkFloatShape, checkOptions, checkSize } from './checks.js';
import { normalTable } from './embedding.js';

/** Options of {@link PositionEmbedding}. */
export interface PositionEmbeddingOptions {
  /** Seed (or generator) of the initialization. Default 0. */
  seed?: InitSeed;
}

/**
 * Learned absolute position embedding: one vector per position 0 … maxLen − 1, the
 * `nn.Embedding(maxLen, dim)` that BERT-style encoders index with `arange(L)`:
 *
 *     forward(L) = weight[0 : L, :]                 [L, D]
 *     addTo(x)   = x + weight[0 : L, :]             x: [B, L, D], broadcast over B
 *
 * Parameter (PyTorch name): `weight` `[maxLen, dim]`, init N(0, 1) as PyTorch's `nn.Embedding`.
 * Count: maxLen·dim.
 *
 * @remarks
 * - A slice, not a gather: no `UnsortedSegmentSum` in its gradient, so it trains on every backend.
 *
 * @example
 * const pos = new PositionEmbedding(16, 8, { seed: 1 });
 * pos.forward(5).shape;                 // [5, 8]
 * pos.addTo(tf.zeros([2, 5, 8])).shape; // [2, 5, 8]
 */
export class PositionEmbedding extends Module {
  readonly maxLen: number;
  readonly dim: number;
  /** `[maxLen, dim]`. */
  readonly weight: tf.Variable<tf.Rank.R2>;

  /** @throws {InvalidArgumentError} if a size is not a positive integer. */
  constructor(maxLen: number, dim: number, options?: PositionEmbeddingOptions) {
    super();
    const op = 'PositionEmbedding';
    const opts = checkOptions(op, options);
    this.maxLen = checkSize(op, 'maxLen', maxLen);
    this.dim = checkSize(op, 'dim', dim);
    this.weight = this.addParameter('weight', normalTable(maxLen, dim, null, opts.seed)) as tf.Variable<tf.Rank.R2>;
  }

  /**
   * The first `length` position vectors.
   * @returns `[length, dim]`.
   * @throws {InvalidArgumentError} if `length` is not an integer in [1, maxLen].
   */
  forward(length: number): tf.Tensor2D {
    const op = 'PositionEmbedding.forward';
    this.assertLive('forward');
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > this.maxLen) {
      throw new InvalidArgumentError(
        op,
        'length',
        `must be an integer in [1, ${this.maxLen}] (maxLen), got ${String(length)}`,
      );
    }
    return tf.slice(this.weight, [0, 0], [length, this.dim]);
  }

  /**
   * `x` plus the position vectors of its L positions.
   * @param x - `[B, L, dim]` float32 with L ≤ maxLen.
   * @returns `[B, L, dim]`.
   * @throws {ShapeError} if `x` is not `[B, L, dim]`, or L > maxLen.
   */
  addTo(x: tf.Tensor3D): tf.Tensor3D {
    const op = 'PositionEmbedding.addTo';
    this.assertLive('addTo');
    const [, length] = checkFloatShape(op, 'x', x, ['B', 'L', this.dim]);
    if (length! > this.maxLen)
      throw new ShapeError(op, 'x', `[B, L, ${this.dim}]`, x.shape, `L must be at most maxLen=${this.maxLen}`);
    return tf.tidy(() => tf.add(x, tf.slice(this.weight, [0, 0], [length!, this.dim])));
  }
}
