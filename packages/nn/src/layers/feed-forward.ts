import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@geolip/geometry';
import { assertFloatTensor } from '@geolip/geometry/checks';

import { biasGelu, gelu } from '../functional/gelu.js';
import { linear } from '../functional/linear.js';
import { Module, toRng } from '../module.js';
import type { InitSeed } from '../module.js';
import { checkBoolean, checkChoice, checkOptions, checkSize } from './checks.js';
import { Linear } from './linear.js';

/** The hidden activation: exact GELU (PyTorch `'gelu'`), tanh-approximated GELU, or ReLU. */
export type FeedForwardActivation = 'gelu' | 'gelu_tanh' | 'relu';

/** The activations {@link FeedForward} and {@link TransformerEncoderLayer} accept. */
export const FEED_FORWARD_ACTIVATIONS: readonly FeedForwardActivation[] = Object.freeze(['gelu', 'gelu_tanh', 'relu']);

/** Options of {@link FeedForward}. */
export interface FeedForwardOptions {
  /** Default `'gelu'` (exact erf form). */
  activation?: FeedForwardActivation;
  /** Biases on both linears. Default `true`. */
  bias?: boolean;
  /** Seed (or generator) of the initialization. Default 0. */
  seed?: InitSeed;
}

/**
 * The position-wise feed-forward block of a transformer layer:
 *
 *     y = linear2( act( linear1(x) ) )        linear1: d → ff,  linear2: ff → d
 *
 * Parameters (PyTorch names, as in `nn.TransformerEncoderLayer`): `linear1.weight`, `linear1.bias`,
 * `linear2.weight`, `linear2.bias`. Count: 2·d·ff + ff + d. Both linears initialized as PyTorch's
 * `nn.Linear` (see {@link Linear}).
 *
 * @remarks
 * - GELU runs as {@link biasGelu}(x·W1, b1) so the bias add fuses with the activation when a fused
 *   kernel is registered.
 *
 * @example
 * const ffn = new FeedForward(384, 1536, { seed: 0 });
 * ffn.paramCount(); // 1,181,568
 */
export class FeedForward extends Module {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly activation: FeedForwardActivation;
  readonly linear1: Linear;
  readonly linear2: Linear;

  /** @throws {InvalidArgumentError} if a size is not a positive integer or `activation` is unknown. */
  constructor(dim: number, hiddenDim: number, options?: FeedForwardOptions) {
    super();
    const op = 'FeedForward';
    const opts = checkOptions(op, options);
    this.dim = checkSize(op, 'dim', dim);
    this.hiddenDim = checkSize(op, 'hiddenDim', hiddenDim);
    this.activation = checkChoice(op, 'activation', opts.activation ?? 'gelu', FEED_FORWARD_ACTIVATIONS);
    const bias = checkBoolean(op, 'bias', opts.bias ?? true);
    const rng = toRng(opts.seed);
    this.linear1 = this.addModule('linear1', new Linear(dim, hiddenDim, { bias, seed: rng }));
    this.linear2 = this.addModule('linear2', new Linear(hiddenDim, dim, { bias, seed: rng }));
  }

  /**
   * @param x - `[..., d]` float32.
   * @returns `[..., d]`.
   * @throws {ShapeError} if the last size of `x` is not d.
   */
  forward<T extends tf.Tensor>(x: T): T {
    const op = 'FeedForward.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x, 1);
    if (x.shape[x.rank - 1] !== this.dim) throw new ShapeError(op, 'x', `[..., ${this.dim}]`, x.shape);
    return feedForward(x, this.linear1, this.linear2, this.activation);
  }
}

/** linear2(act(linear1(x))) without argument checks (shared with {@link TransformerEncoderLayer}). */
export function feedForward<T extends tf.Tensor>(
  x: T,
  linear1: Linear,
  linear2: Linear,
  activation: FeedForwardActivation,
): T {
  return tf.tidy(() => {
    let h: tf.Tensor;
    if (activation === 'relu') {
      h = tf.relu(linear(x, linear1.weight, linear1.bias ?? undefined));
    } else {
      const approximate = activation === 'gelu_tanh' ? 'tanh' : 'none';
      const pre = linear(x, linear1.weight);
      h = linear1.bias ? biasGelu(pre, linear1.bias, approximate) : gelu(pre, approximate);
    }
    return linear(h, linear2.weight, linear2.bias ?? undefined) as T;
  });
}
