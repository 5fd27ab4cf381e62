import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { Module } from '@geolip/nn';

import {
  ShapeBinder,
  headLayout,
  makeHeadBody,
  batchObject,
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
 * What the similarity head reads from a pair: `'product'` u ⊙ v (`[B, D]`), `'abs-diff'` |u − v| (`[B, D]`), or
 * `'features'` [u, v, |u − v|, u ⊙ v] (`[B, 4D]`).
 */
export type SimilarityPairInput = 'product' | 'abs-diff' | 'features';

const PAIR_INPUTS: readonly SimilarityPairInput[] = ['product', 'abs-diff', 'features'];

/** Options of {@link SimilarityHead}. */
export interface SimilarityHeadOptions {
  /** D: width of the (frozen) sentence embeddings. 768 for CaptionBERT. Positive integer. */
  embedDim: number;
  /**
   * `'card'` (default): the card's single `Linear(D, 1)` on `pairInput`; `'mlp'`: Linear → GELU → Linear, this
   * package's earlier [INFER] head.
   */
  layout?: HeadLayout;
  /** Width of the hidden layer, layout `'mlp'` only (an error with `'card'`). Default 256. [INFER] */
  hidden?: number;
  /**
   * What the head reads from the pair. Default `'product'` (u ⊙ v) for the card layout, `'features'` for the MLP.
   * [INFER]: the card gives `Linear(768, 1)` but not how a pair becomes one 768-wide vector; u ⊙ v is symmetric in
   * (u, v) and makes the head a learned weighted cosine (Σ_k w_k·u_k·v_k + b); `'abs-diff'` is the other symmetric
   * D-wide choice.
   */
  pairInput?: SimilarityPairInput;
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

const OPTIONS = ['embedDim', 'layout', 'hidden', 'pairInput', 'range', 'seed'] as const;

/**
 * Semantic-similarity regression on a frozen sentence embedding (the card's STS use). The card layout (default):
 *
 *     p     = u ⊙ v                                        [B, D]   (pairInput 'product'; [INFER])
 *     logit = Linear(D → 1)(p)                             [B]      the card's Linear(768, 1)
 *     score = min + (max − min) · σ(logit)                 [B], in (min, max): the card's sigmoid × 5 at [0, 5]
 *     loss  = mean_b (score_b − gold_b)²                    MSE on the gold scale
 *
 * Parameters (PyTorch names): card: `linear.weight` `[1, D]`, `linear.bias` `[1]` (D + 1: 769 at D = 768; 4D + 1
 * with pairInput 'features'). MLP (`layout: 'mlp'`, f = [u, v, |u − v|, u ⊙ v] → Linear(4D, h) → GELU →
 * Linear(h, 1)): `net.0.weight` `[h, 4D]`, `net.0.bias`, `net.2.weight` `[1, h]`, `net.2.bias`; 4D·h + 2h + 1
 * (786,945 at D = 768, h = 256).
 *
 * It is a {@link Module} with `getWeights()` and `loss(batch)`, so `train()` of `@geolip/train` trains it
 * directly: `train({ model: head, data: (step, rng) => ({ u, v, score }), steps })`.
 *
 * @remarks [INFER]: the card's pair input (u ⊙ v by default, |u − v| as an option); the MLP layout's features,
 * hidden width, GELU and no dropout; MSE on the gold scale. With 'product' or 'abs-diff' the head is symmetric in
 * (u, v); with 'features' it is not (u and v have their own weights), as in Sentence-BERT.
 *
 * @example
 * const head = new SimilarityHead({ embedDim: 768 });          // the card: Linear(768, 1) on u ⊙ v, σ × 5
 * const scores = head.forward(embA, embB);                     // [B] in (0, 5)
 * const loss = head.loss({ u: embA, v: embB, score: [4.2, 0.5] });
 */
export class SimilarityHead extends Module {
  readonly embedDim: number;
  /** `'card'` (one Linear layer) or `'mlp'`. */
  readonly layout: HeadLayout;
  /** The hidden width of the MLP layout; null for the card layout. */
  readonly hidden: number | null;
  /** What the head reads from a pair (see {@link SimilarityPairInput}). */
  readonly pairInput: SimilarityPairInput;
  /** `[min, max]` of the scores. */
  readonly range: readonly [number, number];
  private readonly body: HeadBody;

  /**
   * @throws {InvalidArgumentError} for a size that is not a positive integer, a bad range, layout or pairInput,
   *   `hidden` with the card layout, or an unknown option.
   */
  constructor(options: SimilarityHeadOptions) {
    super();
    const op = 'SimilarityHead';
    const opts = optionsObject<SimilarityHeadOptions>(op, options, OPTIONS);
    this.embedDim = positiveInteger(op, 'options.embedDim', opts.embedDim);
    const choice = headLayout(op, opts.layout, opts.hidden);
    this.layout = choice.layout;
    this.hidden = choice.hidden;
    const pairInput = opts.pairInput ?? (choice.layout === 'card' ? 'product' : 'features');
    if (!PAIR_INPUTS.includes(pairInput))
      throw new InvalidArgumentError(
        op,
        'options.pairInput',
        `must be 'product', 'abs-diff' or 'features', got ${JSON.stringify(pairInput)}`,
      );
    this.pairInput = pairInput;
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
    const inDim = pairInput === 'features' ? 4 * this.embedDim : this.embedDim;
    const body = makeHeadBody(choice, inDim, 1, seedOption(op, opts.seed));
    this.body = this.addModule(body.name, body.module);
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
    const p =
      this.pairInput === 'product'
        ? tf.mul(u, v)
        : this.pairInput === 'abs-diff'
          ? tf.abs(tf.sub(u, v))
          : pairFeaturesOf(u, v);
    const logit = tf.reshape(this.body.forward(p as tf.Tensor2D), [-1]);
    return tf.add(min, tf.mul(max - min, tf.sigmoid(logit))) as tf.Tensor1D;
  }
}
