import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { Module } from '@geolip/nn';

import {
  ShapeBinder,
  batchObject,
  headLayout,
  makeHeadBody,
  matrixInput,
  optionsObject,
  positiveInteger,
  seedOption,
  vectorInput,
  type EmbeddingInput,
  type HeadBody,
  type HeadLayout,
  type VectorInput,
} from './inputs.js';

/** Options of {@link SentimentHead}. */
export interface SentimentHeadOptions {
  /** D: width of the (frozen) sentence embeddings. Positive integer. */
  embedDim: number;
  /** C: number of sentiment classes (e.g. 2 for negative/positive, 5 for SST-5). Integer ≥ 2. */
  classes: number;
  /** `'card'` (default): the card's `Linear(D, C)`; `'mlp'`: Linear → GELU → Linear. */
  layout?: HeadLayout;
  /** Width of the hidden layer, layout `'mlp'` only (an error with `'card'`). Default 256. [INFER] */
  hidden?: number;
  /** Seed of the initialization. Default 0. */
  seed?: number;
}

/** One batch of {@link SentimentHead.loss}: B embeddings and their class indices. */
export interface SentimentBatch {
  /** `[B, D]` sentence embeddings. */
  x: EmbeddingInput;
  /** `[B]` class indices in {0, …, C − 1}; a float32 tensor is cast to int32. */
  label: VectorInput;
}

const OPTIONS = ['embedDim', 'classes', 'layout', 'hidden', 'seed'] as const;

/**
 * Single-label sentiment classification on a frozen sentence embedding (the card's sentiment use). The card layout
 * (default):
 *
 *     logits = Linear(D → C)(x)                                [B, C]   the card's Linear(768, C)
 *     loss   = mean_b −log softmax(logits_b)[y_b]              softmax cross-entropy
 *     predict: argmax_c logits                                 [B]
 *
 * Parameters (PyTorch names): card: `linear.weight` `[C, D]`, `linear.bias` `[C]`, D·C + C (1,538 at D = 768,
 * C = 2). MLP (`layout: 'mlp'`): `net.0.weight` `[h, D]`, `net.0.bias`, `net.2.weight` `[C, h]`, `net.2.bias`;
 * D·h + h + C·h + C.
 *
 * @remarks The card names the classes' count C but not the classes: their meaning and order are the training
 * data's. The cross-entropy uses log-softmax against a one-hot target, as {@link NliHead} does.
 *
 * @example
 * const head = new SentimentHead({ embedDim: 768, classes: 2 });
 * const classes = head.predict(embeddings);   // [B] int32
 */
export class SentimentHead extends Module {
  readonly embedDim: number;
  readonly classes: number;
  /** `'card'` (one Linear layer) or `'mlp'`. */
  readonly layout: HeadLayout;
  /** The hidden width of the MLP layout; null for the card layout. */
  readonly hidden: number | null;
  private readonly body: HeadBody;

  /**
   * @throws {InvalidArgumentError} for a size that is not a positive integer, fewer than 2 classes, a bad layout,
   *   `hidden` with the card layout, or an unknown option.
   */
  constructor(options: SentimentHeadOptions) {
    super();
    const op = 'SentimentHead';
    const opts = optionsObject<SentimentHeadOptions>(op, options, OPTIONS);
    this.embedDim = positiveInteger(op, 'options.embedDim', opts.embedDim);
    this.classes = positiveInteger(op, 'options.classes', opts.classes);
    if (this.classes < 2)
      throw new InvalidArgumentError(op, 'options.classes', `must be at least 2, got ${this.classes}`);
    const choice = headLayout(op, opts.layout, opts.hidden);
    this.layout = choice.layout;
    this.hidden = choice.hidden;
    const body = makeHeadBody(choice, this.embedDim, this.classes, seedOption(op, opts.seed));
    this.body = this.addModule(body.name, body.module);
  }

  /**
   * Class logits.
   * @param x - `[B, D]` embeddings (tensor or rows).
   * @returns `[B, C]` logits: one new tensor.
   * @throws {ShapeError} if `x` is not `[B, D]`. @throws {InvalidArgumentError} for a non-float32 tensor.
   */
  forward(x: EmbeddingInput): tf.Tensor2D {
    const op = 'SentimentHead.forward';
    this.assertLive('forward');
    return tf.tidy(() => this.body.forward(matrixInput(op, 'x', x, new ShapeBinder(op), ['B', this.embedDim])));
  }

  /** Class probabilities `[B, C]` (softmax of {@link SentimentHead.forward}). */
  probabilities(x: EmbeddingInput): tf.Tensor2D {
    this.assertLive('probabilities');
    return tf.tidy(() => tf.softmax(this.forward(x)));
  }

  /** The predicted class of each row: `[B]` int32 (argmax of the logits; ties → the lower index). */
  predict(x: EmbeddingInput): tf.Tensor1D {
    this.assertLive('predict');
    return tf.tidy(() => tf.argMax(this.forward(x), 1) as tf.Tensor1D);
  }

  /**
   * Softmax cross-entropy, mean over the batch. The `TrainableModel.loss` of `@geolip/train`.
   * @param batch - `{ x: [B, D], label: [B] }`; array labels must be integers in [0, C).
   * @returns a scalar ≥ 0 (ln C for uniform logits).
   * @throws {ShapeError} for mismatched shapes. @throws {InvalidArgumentError} for B = 0 or a bad label.
   */
  loss(batch: SentimentBatch, _ctx?: unknown): tf.Scalar {
    const op = 'SentimentHead.loss';
    this.assertLive('loss');
    const b = batchObject<SentimentBatch>(op, batch);
    const C = this.classes;
    return tf.tidy(() => {
      const shapes = new ShapeBinder(op);
      const x = matrixInput(op, 'batch.x', b.x, shapes, ['B', this.embedDim]);
      const label = vectorInput(op, 'batch.label', b.label, shapes, 'B', 'int32', (y) =>
        Number.isInteger(y) && y >= 0 && y < C ? null : `must be a class index in [0, ${C}), got ${y}`,
      );
      if (x.shape[0] === 0) throw new InvalidArgumentError(op, 'batch', 'must hold at least one row');
      const logProbs = tf.logSoftmax(this.body.forward(x));
      const oneHot = tf.cast(tf.oneHot(label, C), 'float32');
      return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), 1))) as tf.Scalar;
    });
  }
}
