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
  pairFeaturesOf,
  positiveInteger,
  seedOption,
  vectorInput,
  type EmbeddingInput,
  type HeadBody,
  type HeadLayout,
  type VectorInput,
} from './inputs.js';

/**
 * The class order of {@link NliHead}: index 0 = entailment, 1 = neutral, 2 = contradiction (the order of
 * SNLI/MultiNLI in HuggingFace `datasets`). SICK's `entailment_label` maps ENTAILMENT → 0, NEUTRAL → 1,
 * CONTRADICTION → 2.
 */
export const NLI_LABELS = Object.freeze(['entailment', 'neutral', 'contradiction'] as const);

/** One of {@link NLI_LABELS}. */
export type NliLabel = (typeof NLI_LABELS)[number];

/** Options of {@link NliHead}. */
export interface NliHeadOptions {
  /** D: width of the (frozen) sentence embeddings. Positive integer. */
  embedDim: number;
  /** `'card'` (default): the card's `Linear(4D, 3)` on the pair features; `'mlp'`: Linear → GELU → Linear. */
  layout?: HeadLayout;
  /** Width of the hidden layer, layout `'mlp'` only (an error with `'card'`). Default 256. [INFER] */
  hidden?: number;
  /** Seed of the initialization. Default 0. */
  seed?: number;
}

/** One batch of {@link NliHead.loss}: B (premise, hypothesis) pairs and their class indices. */
export interface NliBatch {
  /** `[B, D]` premise embeddings. */
  u: EmbeddingInput;
  /** `[B, D]` hypothesis embeddings. */
  v: EmbeddingInput;
  /** `[B]` class indices in {0, 1, 2} (see {@link NLI_LABELS}); a float32 tensor is cast to int32. */
  label: VectorInput;
}

const OPTIONS = ['embedDim', 'layout', 'hidden', 'seed'] as const;
const CLASSES = NLI_LABELS.length;

/**
 * Natural-language inference on a frozen sentence embedding (3 classes, order {@link NLI_LABELS}). The card layout
 * (default):
 *
 *     f      = [u, v, |u − v|, u ⊙ v]                        [B, 4D]   the card's cat(a, b, |a − b|, a·b)
 *     logits = Linear(4D → 3)(f)                              [B, 3]    the card's Linear(3072, 3) at D = 768
 *     loss   = mean_b −log softmax(logits_b)[y_b]              softmax cross-entropy
 *
 * Parameters (PyTorch names): card: `linear.weight` `[3, 4D]`, `linear.bias` `[3]`, 12D + 3 (9,219 at D = 768).
 * MLP (`layout: 'mlp'`, f → Linear(4D, h) → GELU → Linear(h, 3)): `net.0.weight` `[h, 4D]`, `net.0.bias` `[h]`,
 * `net.2.weight` `[3, h]`, `net.2.bias` `[3]`; 4D·h + h + 3h + 3 (787,459 at D = 768, h = 256).
 *
 * @remarks The card's layout is as the card gives it; the MLP layout is [INFER] (hidden width 256, GELU, no
 * dropout). The cross-entropy uses log-softmax against a one-hot target (no gather, whose gradient the wasm backend
 * lacks).
 *
 * @example
 * const head = new NliHead({ embedDim: 768 });          // Linear(3072, 3): 9,219 parameters
 * const logits = head.forward(premises, hypotheses);   // [B, 3]
 * const classes = head.predict(premises, hypotheses);  // [B] int32; NLI_LABELS[i] names them
 */
export class NliHead extends Module {
  readonly embedDim: number;
  /** `'card'` (one Linear layer) or `'mlp'`. */
  readonly layout: HeadLayout;
  /** The hidden width of the MLP layout; null for the card layout. */
  readonly hidden: number | null;
  private readonly body: HeadBody;

  /**
   * @throws {InvalidArgumentError} for a size that is not a positive integer, a bad layout, `hidden` with the card
   *   layout, or an unknown option.
   */
  constructor(options: NliHeadOptions) {
    super();
    const op = 'NliHead';
    const opts = optionsObject<NliHeadOptions>(op, options, OPTIONS);
    this.embedDim = positiveInteger(op, 'options.embedDim', opts.embedDim);
    const choice = headLayout(op, opts.layout, opts.hidden);
    this.layout = choice.layout;
    this.hidden = choice.hidden;
    const body = makeHeadBody(choice, 4 * this.embedDim, CLASSES, seedOption(op, opts.seed));
    this.body = this.addModule(body.name, body.module);
  }

  /**
   * Class logits.
   * @param u - `[B, D]` premise embeddings. @param v - `[B, D]` hypothesis embeddings.
   * @returns `[B, 3]` logits (entailment, neutral, contradiction): one new tensor.
   * @throws {ShapeError} for mismatched shapes. @throws {InvalidArgumentError} for a non-float32 tensor.
   */
  forward(u: EmbeddingInput, v: EmbeddingInput): tf.Tensor2D {
    const op = 'NliHead.forward';
    this.assertLive('forward');
    return tf.tidy(() => {
      const shapes = new ShapeBinder(op);
      const ut = matrixInput(op, 'u', u, shapes, ['B', this.embedDim]);
      const vt = matrixInput(op, 'v', v, shapes, ['B', this.embedDim]);
      return this.body.forward(pairFeaturesOf(ut, vt));
    });
  }

  /** Class probabilities `[B, 3]` (softmax of {@link NliHead.forward}). */
  probabilities(u: EmbeddingInput, v: EmbeddingInput): tf.Tensor2D {
    this.assertLive('probabilities');
    return tf.tidy(() => tf.softmax(this.forward(u, v)));
  }

  /**
   * The predicted class of each pair.
   * @returns `[B]` int32 indices into {@link NLI_LABELS} (argmax of the logits; ties → the lower index).
   */
  predict(u: EmbeddingInput, v: EmbeddingInput): tf.Tensor1D {
    this.assertLive('predict');
    return tf.tidy(() => tf.argMax(this.forward(u, v), 1) as tf.Tensor1D);
  }

  /**
   * Softmax cross-entropy, mean over the batch. The `TrainableModel.loss` of `@geolip/train`.
   * @param batch - `{ u: [B, D], v: [B, D], label: [B] }`; array labels must be 0, 1 or 2.
   * @returns a scalar ≥ 0 (ln 3 ≈ 1.0986 for uniform logits).
   * @throws {ShapeError} for mismatched shapes. @throws {InvalidArgumentError} for B = 0 or a bad label.
   */
  loss(batch: NliBatch, _ctx?: unknown): tf.Scalar {
    const op = 'NliHead.loss';
    this.assertLive('loss');
    const b = batchObject<NliBatch>(op, batch);
    return tf.tidy(() => {
      const shapes = new ShapeBinder(op);
      const ut = matrixInput(op, 'batch.u', b.u, shapes, ['B', this.embedDim]);
      const vt = matrixInput(op, 'batch.v', b.v, shapes, ['B', this.embedDim]);
      const label = vectorInput(op, 'batch.label', b.label, shapes, 'B', 'int32', (y) =>
        Number.isInteger(y) && y >= 0 && y < CLASSES
          ? null
          : `must be a class index 0, 1 or 2 (${NLI_LABELS.join(', ')}), got ${y}`,
      );
      if (ut.shape[0] === 0) throw new InvalidArgumentError(op, 'batch', 'must hold at least one pair');
      const logProbs = tf.logSoftmax(this.body.forward(pairFeaturesOf(ut, vt)));
      const oneHot = tf.cast(tf.oneHot(label, CLASSES), 'float32');
      return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), 1))) as tf.Scalar;
    });
  }
}
