import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

import { Module, toRng } from '../module.js';
import type { InitSeed } from '../module.js';
import {
  assertInteger,
  assertNumber,
  checkBoolean,
  checkChoice,
  checkFloatShape,
  checkIds,
  checkMaskShape,
  checkOptions,
  checkSize,
} from './checks.js';
import { Embedding } from './embedding.js';
import { FEED_FORWARD_ACTIVATIONS } from './feed-forward.js';
import type { FeedForwardActivation } from './feed-forward.js';
import { LayerNorm } from './layer-norm.js';
import { ModuleList } from './module-list.js';
import { PositionEmbedding } from './position-embedding.js';
import { TransformerEncoderLayer } from './transformer-encoder-layer.js';

/** Options of {@link TransformerEncoder}. */
export interface TransformerEncoderOptions {
  /** Token vocabulary size; omit for an encoder fed embeddings only ({@link TransformerEncoder.encodeEmbeddings}). */
  vocabSize?: number;
  /** Length of the learned absolute position table; omit for none. */
  maxPositions?: number;
  /** d, the model width. */
  dModel: number;
  /** Attention heads (must divide dModel). */
  heads: number;
  /** FFN hidden width. */
  ffDim: number;
  /** Number of layers. */
  layers: number;
  /** A LayerNorm after the last layer (`norm.*`). Default `true`. */
  finalNorm?: boolean;
  /** Padding token id (its embedding row starts at zero and gets no gradient); `null` for none. Default 0. */
  paddingIdx?: number | null;
  /** Pre-norm layers. Default `true`. */
  normFirst?: boolean;
  /** FFN activation. Default `'gelu'`. */
  activation?: FeedForwardActivation;
  /** LayerNorm epsilon everywhere. Default `1e-5`. */
  eps?: number;
  /** Seed (or generator) of the initialization. Default 0. */
  seed?: InitSeed;
}

/**
 * A BERT-style encoder stack: token and learned position embeddings, N
 * {@link TransformerEncoderLayer}s with a key-padding mask, and a final LayerNorm (spec §10.1 steps 2–4):
 *
 *     x = token_emb[ids] + pos_emb[0 : L]          [B, L, d]
 *     x = layers.N−1( … layers.0(x, mask) … )
 *     y = norm(x)                                  [B, L, d]
 *
 * Parameters (names): `token_emb.weight` `[vocab, d]`, `pos_emb.weight` `[maxPositions, d]`,
 * `layers.{i}.*` (see {@link TransformerEncoderLayer}), `norm.weight`, `norm.bias`. CaptionBERT-8192's
 * configuration (vocab 30,522, positions 8,192, d 384, 6 heads, FFN 1536, 6 layers, final norm) has
 * 11,720,448 + 3,145,728 + 10,646,784 + 768 = 25,513,728 parameters.
 *
 * @remarks
 * - Ids are not range-checked (see {@link Embedding}); L > maxPositions throws.
 * - Initialization: token and position tables N(0, 1) (padding row 0), layers as PyTorch, from one
 *   seeded stream in registration order.
 *
 * @example
 * const enc = new TransformerEncoder({
 *   vocabSize: 30522,
 *   maxPositions: 8192,
 *   dModel: 384,
 *   heads: 6,
 *   ffDim: 1536,
 *   layers: 6,
 * });
 * enc.paramCount(); // 25,513,728
 * const hidden = enc.forward(ids, attentionMask);        // ids [B, L] int32 → [B, L, 384]
 * const pooled = maskedMeanPool(hidden, attentionMask);  // [B, 384]
 */
export class TransformerEncoder extends Module {
  readonly dModel: number;
  readonly numLayers: number;
  readonly tokenEmb: Embedding | null;
  readonly posEmb: PositionEmbedding | null;
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm | null;

  /** @throws {InvalidArgumentError} if a size is not a positive integer or an option is invalid. */
  constructor(options: TransformerEncoderOptions) {
    super();
    const op = 'TransformerEncoder';
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', 'must be an object');
    const opts = checkOptions(op, options);
    this.dModel = checkSize(op, 'dModel', opts.dModel);
    const heads = checkSize(op, 'heads', opts.heads);
    const ffDim = checkSize(op, 'ffDim', opts.ffDim);
    this.numLayers = assertInteger(op, 'layers', opts.layers, 0);
    const vocab = opts.vocabSize === undefined ? null : checkSize(op, 'vocabSize', opts.vocabSize);
    const maxPositions = opts.maxPositions === undefined ? null : checkSize(op, 'maxPositions', opts.maxPositions);
    const paddingIdx = opts.paddingIdx === undefined ? 0 : opts.paddingIdx;
    const finalNorm = checkBoolean(op, 'finalNorm', opts.finalNorm ?? true);
    const normFirst = checkBoolean(op, 'normFirst', opts.normFirst ?? true);
    const activation = checkChoice(op, 'activation', opts.activation ?? 'gelu', FEED_FORWARD_ACTIVATIONS);
    const eps = assertNumber(op, 'eps', opts.eps ?? 1e-5, Number.MIN_VALUE);
    if (this.dModel % heads !== 0)
      throw new InvalidArgumentError(op, 'heads', `must divide dModel=${this.dModel}, got ${heads}`);
    if (vocab !== null && paddingIdx !== null) assertInteger(op, 'paddingIdx', paddingIdx, 0, vocab - 1);
    const rng = toRng(opts.seed);
    this.tokenEmb =
      vocab === null
        ? null
        : this.addModule(
            'token_emb',
            new Embedding(vocab, this.dModel, { paddingIdx: paddingIdx ?? undefined, seed: rng }),
          );
    this.posEmb =
      maxPositions === null
        ? null
        : this.addModule('pos_emb', new PositionEmbedding(maxPositions, this.dModel, { seed: rng }));
    this.layers = this.addModule('layers', new ModuleList<TransformerEncoderLayer>());
    for (let i = 0; i < this.numLayers; i++) {
      this.layers.append(
        new TransformerEncoderLayer(this.dModel, heads, ffDim, { normFirst, activation, eps, seed: rng }),
      );
    }
    this.norm = finalNorm ? this.addModule('norm', new LayerNorm(this.dModel, { eps })) : null;
  }

  /**
   * Token ids to hidden states: {@link embed} then {@link encodeEmbeddings}.
   * @param ids - `[B, L]` int32, L ≤ maxPositions.
   * @param attentionMask - `[B, L]`, 1 = real token, 0 = padding (float32, int32 or bool). Default: all real.
   * @returns `[B, L, d]`.
   * @throws {InvalidArgumentError} without a token table, or if `ids` is not int32.
   * @throws {ShapeError} if `ids` is not rank 2, L > maxPositions, or the mask is not `[B, L]`.
   */
  forward(ids: tf.Tensor2D, attentionMask?: tf.Tensor): tf.Tensor3D {
    const op = 'TransformerEncoder.forward';
    this.assertLive('forward');
    this.checkIdsArgument(op, ids);
    if (attentionMask !== undefined) checkMaskShape(op, 'attentionMask', attentionMask, ids.shape, ['B', 'L']);
    return tf.tidy(() => this.encodeEmbeddings(this.embed(ids), attentionMask));
  }

  /**
   * `token_emb[ids] + pos_emb[0 : L]` (the position term only when the encoder has a position table).
   * @param ids - `[B, L]` int32.
   * @returns `[B, L, d]`.
   */
  embed(ids: tf.Tensor2D): tf.Tensor3D {
    const op = 'TransformerEncoder.embed';
    this.assertLive('embed');
    this.checkIdsArgument(op, ids);
    return tf.tidy(() => {
      const tokens = this.tokenEmb!.forward(ids) as tf.Tensor3D;
      return this.posEmb ? tf.add(tokens, this.posEmb.forward(ids.shape[1])) : tokens;
    });
  }

  /**
   * The layers and the final norm on embeddings the caller made (ViT patches, or {@link embed}'s
   * output). Adds **no** position embedding.
   * @param x - `[B, L, d]` float32.
   * @param mask - `[B, L]`, 1 = real, 0 = padding. Default: all real.
   * @returns `[B, L, d]`.
   * @throws {ShapeError} if `x` is not `[B, L, d]` or `mask` not `[B, L]`.
   */
  encodeEmbeddings(x: tf.Tensor3D, mask?: tf.Tensor): tf.Tensor3D {
    const op = 'TransformerEncoder.encodeEmbeddings';
    this.assertLive('encodeEmbeddings');
    const [B, L] = checkFloatShape(op, 'x', x, ['B', 'L', this.dModel]) as [number, number, number];
    if (mask !== undefined) checkMaskShape(op, 'mask', mask, [B, L], ['B', 'L']);
    return tf.tidy(() => {
      let h = x;
      for (const layer of this.layers) h = layer.forward(h, { keyPaddingMask: mask });
      return this.norm ? this.norm.forward(h) : h === x ? tf.clone(x) : h;
    });
  }

  private checkIdsArgument(op: string, ids: tf.Tensor2D): void {
    if (this.tokenEmb === null)
      throw new InvalidArgumentError(
        op,
        'ids',
        'needs a token table: construct with vocabSize, or call encodeEmbeddings',
      );
    checkIds(op, 'ids', ids, 2);
    if (this.posEmb && ids.shape[1] > this.posEmb.maxLen) {
      throw new ShapeError(op, 'ids', '[B, L]', ids.shape, `L must be at most maxPositions=${this.posEmb.maxLen}`);
    }
  }
}
