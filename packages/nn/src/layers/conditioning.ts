import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { assertFloatTensor, assertInteger, assertNumber, bindShapes } from '@geolip/geometry/checks';

import { Module, normalInit, toRng } from '../module.js';
import type { InitSeed } from '../module.js';
import { Linear } from './linear.js';
import { sinusoidalEmbedding } from './sinusoidal-embedding.js';

/** SiLU (swish): `x · σ(x)`, elementwise. @internal */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

/** Options of {@link TimeEmbedding}. */
export interface TimeEmbeddingOptions {
  /**
   * t is multiplied by this before the sinusoids. Default 1000, so flow-matching times in [0, 1]
   * span the frequencies the way DDPM's integer steps 0..999 do [INFER: spec §12 only says
   * "sinusoidal time embedding"].
   */
  timeScale?: number;
  /** The longest period, 10 000 in DDPM / guided-diffusion. Default 10 000. */
  maxPeriod?: number;
  /** Seeds the initialization. Default 0. */
  seed?: InitSeed;
}

/**
 * Time conditioning of a diffusion / flow-matching network: sinusoids → Linear → SiLU → Linear
 * (guided-diffusion's `time_embed`):
 *
 *     emb(t) = linear2(SiLU(linear1(sinusoidal(t, dim))))
 *
 * Parameters (PyTorch names): `linear1.weight` `[hidden, dim]`, `linear1.bias`, `linear2.weight`
 * `[hidden, hidden]`, `linear2.bias` (here the weights are `[in, out]`, layout `'linear'`).
 * Count: dim·hidden + hidden + hidden² + hidden.
 *
 * The sinusoids are guided-diffusion's `timestep_embedding` of s·t (s = `timeScale`, default 1000):
 * {@link sinusoidalEmbedding} with `cosFirst: true`,
 *
 *     fᵢ = exp(−ln(maxPeriod) · i / half),  i = 0 … half − 1,  half = dim / 2
 *     e(t) = [cos(s·t·f₀) … cos(s·t·f_{half−1}), sin(s·t·f₀) … sin(s·t·f_{half−1})]
 *
 * @example
 * const te = new TimeEmbedding(64, 256, { seed: 1 });
 * te.forward(tf.tensor1d([0.1, 0.9])).shape; // [2, 256]
 */
export class TimeEmbedding extends Module {
  readonly dim: number;
  readonly hidden: number;
  readonly timeScale: number;
  readonly maxPeriod: number;
  private readonly linear1: Linear;
  private readonly linear2: Linear;

  /**
   * @param dim - sinusoid width, even ≥ 2.
   * @param hidden - output width ≥ 1.
   * @throws {InvalidArgumentError} On an odd or non-positive size or a bad option.
   */
  constructor(dim: number, hidden: number, options: TimeEmbeddingOptions = {}) {
    super();
    const op = 'TimeEmbedding';
    this.dim = assertInteger(op, 'dim', dim, 2);
    if (dim % 2 !== 0) throw new InvalidArgumentError(op, 'dim', `must be even, got ${dim}`);
    this.hidden = assertInteger(op, 'hidden', hidden, 1);
    this.timeScale = assertNumber(op, 'timeScale', options.timeScale ?? 1000);
    this.maxPeriod = assertNumber(op, 'maxPeriod', options.maxPeriod ?? 10000, Number.MIN_VALUE);
    const rng = toRng(options.seed);
    this.linear1 = this.addModule('linear1', new Linear(dim, hidden, { seed: rng }));
    this.linear2 = this.addModule('linear2', new Linear(hidden, hidden, { seed: rng }));
  }

  /**
   * @param t - `[B]` float32 times (flow matching: in [0, 1]).
   * @returns `[B, hidden]`.
   * @throws {ShapeError} If `t` is not rank 1.
   */
  forward(t: tf.Tensor1D): tf.Tensor2D {
    const op = 'TimeEmbedding.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 't', t);
    bindShapes(op).check('t', t, ['B']);
    return tf.tidy(() => {
      const e = sinusoidalEmbedding(tf.mul(t, this.timeScale), this.dim, { maxPeriod: this.maxPeriod, cosFirst: true });
      return this.linear2.forward(silu(this.linear1.forward(e)));
    });
  }
}

/** Options of {@link ClassEmbedding}. */
export interface ClassEmbeddingOptions {
  /**
   * Add one extra row, index `numClasses`, for the "no class" label of classifier-free guidance
   * (train with some labels replaced by {@link ClassEmbedding.nullLabel}). Default `false`.
   */
  nullClass?: boolean;
  /** Seeds the initialization (N(0, 1), PyTorch `nn.Embedding`'s default). Default 0. */
  seed?: InitSeed;
}

/**
 * Class conditioning: a learned table of one `dim`-vector per class (PyTorch `nn.Embedding`), with an
 * optional extra "null" row for classifier-free guidance.
 *
 * Parameter: `weight` `[numClasses (+1), dim]`, layout as PyTorch.
 *
 * @remarks
 * - The lookup is `oneHot(labels) · weight` (built as int32 then cast), not `tf.gather`: the wasm
 *   backend has no `UnsortedSegmentSum`, so `gather` has no gradient there. Cost O(B·rows·dim),
 *   fine for class tables.
 * - Labels are not range-checked (that would read tensor data): an out-of-range label gives a zero
 *   row (the one-hot row is all zeros).
 *
 * @example
 * const ce = new ClassEmbedding(10, 128, { nullClass: true });
 * ce.forward(tf.tensor1d([3, ce.nullLabel], 'int32')).shape; // [2, 128]
 */
export class ClassEmbedding extends Module {
  readonly numClasses: number;
  readonly dim: number;
  readonly hasNullClass: boolean;
  /** `[rows, dim]`. */
  readonly weight: tf.Variable;

  /**
   * @param numClasses - ≥ 1 (not counting the null row).
   * @param dim - ≥ 1.
   * @throws {InvalidArgumentError} On a non-positive size.
   */
  constructor(numClasses: number, dim: number, options: ClassEmbeddingOptions = {}) {
    super();
    const op = 'ClassEmbedding';
    this.numClasses = assertInteger(op, 'numClasses', numClasses, 1);
    this.dim = assertInteger(op, 'dim', dim, 1);
    this.hasNullClass = options.nullClass ?? false;
    const rows = numClasses + (this.hasNullClass ? 1 : 0);
    this.weight = this.addParameter('weight', normalInit([rows, dim], 1, toRng(options.seed)));
  }

  /** The label of the null ("unconditional") row, `numClasses`. @throws {InvalidArgumentError} Without `nullClass`. */
  get nullLabel(): number {
    if (!this.hasNullClass)
      throw new InvalidArgumentError('ClassEmbedding.nullLabel', 'nullClass', 'was not enabled in the constructor');
    return this.numClasses;
  }

  /**
   * @param labels - `[B]` int32 labels in [0, numClasses) (or `nullLabel`).
   * @returns `[B, dim]`.
   * @throws {ShapeError} If `labels` is not rank 1.
   * @throws {InvalidArgumentError} If `labels` is not int32.
   */
  forward(labels: tf.Tensor1D): tf.Tensor2D {
    const op = 'ClassEmbedding.forward';
    this.assertLive('forward');
    if (!(labels instanceof tf.Tensor))
      throw new InvalidArgumentError(op, 'labels', `must be a tf.Tensor, got ${typeof labels}`);
    if (labels.rank !== 1) throw new ShapeError(op, 'labels', '[B]', labels.shape);
    if (labels.dtype !== 'int32')
      throw new InvalidArgumentError(op, 'labels', `must have dtype int32, got ${labels.dtype}`);
    return tf.tidy(() => {
      const oneHot = tf.cast(tf.oneHot(labels, this.weight.shape[0]!, 1, 0, 'int32'), 'float32') as tf.Tensor2D;
      return tf.matMul(oneHot, this.weight as tf.Tensor2D);
    });
  }
}
