import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { Module } from '@geolip/nn';

import {
  Mlp,
  ShapeBinder,
  batchObject,
  matrixInput,
  optionsObject,
  pairFeaturesOf,
  positiveInteger,
  seedOption,
  vectorInput,
  type EmbeddingInput,
  type VectorInput,
} from './inputs.js';

/** Options of {@link SimilarityHead}. */
export interface SimilarityHeadOptions {
  /** D: width of the (frozen) sentence embeddings. 768 for CaptionBERT. Positive integer. */
  embedDim: number;
  /** Width of the hidden layer. Default 256. [INFER] */
  hidden?: number;
  /** `[min, max]` of the gold scores; predictions lie in (min, max). Default `[0, 5]` (STS-B). */
  range?: readonly [number, number];
  /** Seed of the initialization (PyTorch's default Linear init, from a seeded generator). Default 0. */
  seed?: number;
}

/** One batch of {@link SimilarityHead.loss}: B sentence pairs and their gold scores. */
export interface SimilarityBatch {
  /** `[B, D]` embeddings of the first sentences. */
  u: EmbeddingInput;
  /** `[B, D]` embeddings of the second sentences. */
  v: EmbeddingInput;
  /** `[B]` gold scores in `[min, max]` (checked when given as an array). */
  score: VectorInput;
}

const OPTIONS = ['embedDim', 'hidden', 'range', 'seed'] as const;

/**
 * Semantic-similarity regression on a frozen sentence embedding (the card's STS use):
 *
 *     f     = [u, v, |u − v|, u ⊙ v]                       [B, 4D]
 *     logit = Linear(h → 1)(GELU(Linear(4D → h)(f)))        [B]
 *     score = min + (max − min) · σ(logit)                  [B], in (min, max)
 *     loss  = mean_b (score_b − gold_b)²                     MSE on the gold scale
 *
 * Parameters (PyTorch names, a module with `net = nn.Sequential(Linear, GELU, Linear)`):
 * `net.0.weight` `[h, 4D]`, `net.0.bias` `[h]`, `net.2.weight` `[1, h]`, `net.2.bias` `[1]`.
 * Count: 4D·h + h + h + 1 (786,945 at D = 768, h = 256).
 *
 * It is a {@link Module} with `getWeights()` and `loss(batch)`, so `train()` of `@geolip/train` trains it
 * directly: `train({ model: head, data: (step, rng) => ({ u, v, score }), steps })`.
 *
 * @remarks [INFER] (the card names the task, not the head): the pair features, the hidden width, GELU,
 * no dropout, the sigmoid scaled to the gold range and MSE on that scale are this package's choices.
 * The head is not symmetric in (u, v) (u and v have their own weights), as in Sentence-BERT.
 *
 * @example
 * const head = new SimilarityHead({ embedDim: 768 });          // STS-B: range [0, 5]
 * const scores = head.forward(embA, embB);                     // [B] in (0, 5)
 * const loss = head.loss({ u: embA, v: embB, score: [4.2, 0.5] });
 */
export class SimilarityHead extends Module {
  readonly embedDim: number;
  readonly hidden: number;
  /** `[min, max]` of the scores. */
  readonly range: readonly [number, number];
  private readonly net: Mlp;

  /** @throws {InvalidArgumentError} for a size that is not a positive integer, a bad range or an unknown option. */
  constructor(options: SimilarityHeadOptions) {
    super();
    const op = 'SimilarityHead';
    const opts = optionsObject<SimilarityHeadOptions>(op, options, OPTIONS);
    this.embedDim = positiveInteger(op, 'options.embedDim', opts.embedDim);
    this.hidden = positiveInteger(op, 'options.hidden', opts.hidden ?? 256);
    const range = opts.range ?? [0, 5];
    if (
      !Array.isArray(range) ||
      range.length !== 2 ||
      !range.every((r) => typeof r === 'number' && Number.isFinite(r)) ||
      !(range[0] < range[1])
    ) {
      throw new InvalidArgumentError(
        op,
        'options.range',
        `must be [min, max] with finite min < max, got ${JSON.stringify(range)}`,
      );
    }
    this.range = Object.freeze([range[0], range[1]] as [number, number]);
    this.net = this.addModule('net', new Mlp(4 * this.embedDim, this.hidden, 1, seedOption(op, opts.seed)));
  }

  /**
   * Predicted similarity scores.
   * @param u - `[B, D]` embeddings of the first sentences (tensor or rows).
   * @param v - `[B, D]` embeddings of the second sentences.
   * @returns `[B]` scores in (min, max): one new tensor.
   * @throws {ShapeError} if `u` is not `[B, D]` or `v` not `[B, D]` with the same B.
   * @throws {InvalidArgumentError} for a non-float32 tensor or a non-array input.
   */
  forward(u: EmbeddingInput, v: EmbeddingInput): tf.Tensor1D {
    const op = 'SimilarityHead.forward';
    this.assertLive('forward');
    return tf.tidy(() => {
      const shapes = new ShapeBinder(op);
      const ut = matrixInput(op, 'u', u, shapes, ['B', this.embedDim]);
      const vt = matrixInput(op, 'v', v, shapes, ['B', this.embedDim]);
      return this.scoresOf(ut, vt);
    });
  }

  /** Same as {@link SimilarityHead.forward}: the predicted scores `[B]`. */
  predict(u: EmbeddingInput, v: EmbeddingInput): tf.Tensor1D {
    return this.forward(u, v);
  }

  /**
   * MSE between predicted and gold scores, mean over the batch (on the gold scale, so 0 ≤ loss ≤ (max − min)²).
   * The `TrainableModel.loss` of `@geolip/train` (the second argument, the step context, is ignored).
   *
   * @param batch - `{ u: [B, D], v: [B, D], score: [B] }`; arrays are checked (finite, score in [min, max]),
   *   tensors only by shape and dtype.
   * @returns a scalar, differentiable w.r.t. the head's parameters (and tensor inputs).
   * @throws {ShapeError} for mismatched shapes. @throws {InvalidArgumentError} for B = 0 or a bad value.
   */
  loss(batch: SimilarityBatch, _ctx?: unknown): tf.Scalar {
    const op = 'SimilarityHead.loss';
    this.assertLive('loss');
    const b = batchObject<SimilarityBatch>(op, batch);
    const [min, max] = this.range;
    return tf.tidy(() => {
      const shapes = new ShapeBinder(op);
      const ut = matrixInput(op, 'batch.u', b.u, shapes, ['B', this.embedDim]);
      const vt = matrixInput(op, 'batch.v', b.v, shapes, ['B', this.embedDim]);
      const gold = vectorInput(op, 'batch.score', b.score, shapes, 'B', 'float32', (s) =>
        s >= min && s <= max ? null : `must be in [${min}, ${max}], got ${s}`,
      );
      if (ut.shape[0] === 0) throw new InvalidArgumentError(op, 'batch', 'must hold at least one pair');
      return tf.mean(tf.square(tf.sub(this.scoresOf(ut, vt), gold))) as tf.Scalar;
    });
  }

  private scoresOf(u: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor1D {
    const [min, max] = this.range;
    const logit = tf.reshape(this.net.forward(pairFeaturesOf(u, v)), [-1]);
    return tf.add(min, tf.mul(max - min, tf.sigmoid(logit))) as tf.Tensor1D;
  }
}
