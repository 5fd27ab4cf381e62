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
  type EmbeddingInput,
  type HeadBody,
  type HeadLayout,
} from './inputs.js';

/** Options of {@link TaggingHead}. */
export interface TaggingHeadOptions {
  /** D: width of the (frozen) sentence embeddings. Positive integer. */
  embedDim: number;
  /** C: number of tags (80 for the COCO categories). Positive integer. */
  classes: number;
  /** `'card'` (default): the card's `Linear(D, C)` → sigmoid; `'mlp'`: Linear → GELU → Linear. */
  layout?: HeadLayout;
  /** Width of the hidden layer, layout `'mlp'` only (an error with `'card'`). Default 256. [INFER] */
  hidden?: number;
  /** Seed of the initialization. Default 0. */
  seed?: number;
}

/** One batch of {@link TaggingHead.loss}: B embeddings and their multi-hot tags. */
export interface TaggingBatch {
  /** `[B, D]` sentence embeddings. */
  x: EmbeddingInput;
  /** `[B, C]` targets in [0, 1]: multi-hot 0/1, or soft (smoothed) targets. */
  labels: EmbeddingInput;
}

const OPTIONS = ['embedDim', 'classes', 'layout', 'hidden', 'seed'] as const;

/**
 * Multi-label tagging on a frozen sentence embedding (e.g. the COCO categories a caption mentions). The card layout
 * (default):
 *
 *     logits = Linear(D → C)(x)                                              [B, C]   the card's Linear(768, n)
 *     loss   = mean_{b,c} max(z, 0) − z·y + log(1 + exp(−|z|))               BCE with logits (z = logit)
 *     predict: 1 iff σ(z) ≥ threshold                                        the card's sigmoid
 *
 * The loss is PyTorch's `BCEWithLogitsLoss()` (mean over all B·C entries) in its overflow-free form.
 *
 * Parameters (PyTorch names): card: `linear.weight` `[C, D]`, `linear.bias` `[C]`, D·C + C (61,520 at D = 768,
 * C = 80). MLP (`layout: 'mlp'`, Linear(D, h) → GELU → Linear(h, C)): `net.0.weight` `[h, D]`, `net.0.bias` `[h]`,
 * `net.2.weight` `[C, h]`, `net.2.bias` `[C]`; D·h + h + C·h + C.
 *
 * @remarks [INFER]: an unweighted mean over tags; the MLP layout's hidden width 256, GELU, no dropout.
 *
 * @example
 * const head = new TaggingHead({ embedDim: 768, classes: 80 });
 * const tags = head.predict(embeddings, 0.5);   // [B, 80] int32 0/1
 */
export class TaggingHead extends Module {
  readonly embedDim: number;
  readonly classes: number;
  /** `'card'` (one Linear layer) or `'mlp'`. */
  readonly layout: HeadLayout;
  /** The hidden width of the MLP layout; null for the card layout. */
  readonly hidden: number | null;
  private readonly body: HeadBody;

  /**
   * @throws {InvalidArgumentError} for a size that is not a positive integer, a bad layout, `hidden` with the card
   *   layout, or an unknown option.
   */
  constructor(options: TaggingHeadOptions) {
    super();
    const op = 'TaggingHead';
    const opts = optionsObject<TaggingHeadOptions>(op, options, OPTIONS);
    this.embedDim = positiveInteger(op, 'options.embedDim', opts.embedDim);
    this.classes = positiveInteger(op, 'options.classes', opts.classes);
    const choice = headLayout(op, opts.layout, opts.hidden);
    this.layout = choice.layout;
    this.hidden = choice.hidden;
    const body = makeHeadBody(choice, this.embedDim, this.classes, seedOption(op, opts.seed));
    this.body = this.addModule(body.name, body.module);
  }

  /**
   * Tag logits.
   * @param x - `[B, D]` embeddings (tensor or rows).
   * @returns `[B, C]` logits: one new tensor.
   * @throws {ShapeError} if `x` is not `[B, D]`. @throws {InvalidArgumentError} for a non-float32 tensor.
   */
  forward(x: EmbeddingInput): tf.Tensor2D {
    const op = 'TaggingHead.forward';
    this.assertLive('forward');
    return tf.tidy(() => this.body.forward(matrixInput(op, 'x', x, new ShapeBinder(op), ['B', this.embedDim])));
  }

  /** Tag probabilities `[B, C]`: σ(logits). */
  probabilities(x: EmbeddingInput): tf.Tensor2D {
    this.assertLive('probabilities');
    return tf.tidy(() => tf.sigmoid(this.forward(x)));
  }

  /**
   * Multi-hot predictions.
   * @param threshold - probability threshold in [0, 1]. Default 0.5 (logit ≥ 0).
   * @returns `[B, C]` int32, 1 iff σ(logit) ≥ threshold.
   * @throws {InvalidArgumentError} for a threshold outside [0, 1] or not a number.
   */
  predict(x: EmbeddingInput, threshold = 0.5): tf.Tensor2D {
    const op = 'TaggingHead.predict';
    this.assertLive('predict');
    if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
      throw new InvalidArgumentError(op, 'threshold', `must be a probability in [0, 1], got ${String(threshold)}`);
    }
    return tf.tidy(() => tf.cast(tf.greaterEqual(tf.sigmoid(this.forward(x)), threshold), 'int32') as tf.Tensor2D);
  }

  /**
   * Binary cross-entropy with logits, mean over B·C. The `TrainableModel.loss` of `@geolip/train`.
   * @param batch - `{ x: [B, D], labels: [B, C] }`; array labels must lie in [0, 1].
   * @returns a scalar ≥ 0 (ln 2 ≈ 0.6931 for zero logits).
   * @throws {ShapeError} for mismatched shapes. @throws {InvalidArgumentError} for B = 0 or a bad label.
   */
  loss(batch: TaggingBatch, _ctx?: unknown): tf.Scalar {
    const op = 'TaggingHead.loss';
    this.assertLive('loss');
    const b = batchObject<TaggingBatch>(op, batch);
    return tf.tidy(() => {
      const shapes = new ShapeBinder(op);
      const x = matrixInput(op, 'batch.x', b.x, shapes, ['B', this.embedDim]);
      const y = matrixInput(op, 'batch.labels', b.labels, shapes, ['B', this.classes], (t) =>
        t >= 0 && t <= 1 ? null : `must be in [0, 1], got ${t}`,
      );
      if (x.shape[0] === 0) throw new InvalidArgumentError(op, 'batch', 'must hold at least one row');
      const z = this.body.forward(x);
      // max(z, 0) − z·y + log(1 + exp(−|z|)), PyTorch's BCEWithLogits without overflow.
      const perEntry = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
      return tf.mean(perEntry) as tf.Scalar;
    });
  }
}
