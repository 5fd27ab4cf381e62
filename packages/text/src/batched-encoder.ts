/**
 * The part of a sentence embedder that does not depend on the runtime: argument checks, tokenization, batching by
 * token length (rows back in input order), the finiteness check, progress, and `encode`'s truncation, normalisation
 * and quantisation. `SentenceEmbedder` (tfjs) and `OrtSentenceEmbedder` (onnxruntime-node) extend
 * {@link BatchedSentenceEncoder} and supply only `runBatch`: one padded batch through their model.
 */
import { InvalidArgumentError, NonFiniteError } from '@geolip/geometry';
import { assertFiniteOutput } from '@geolip/geometry/checks';

import { assertTextArray } from './check-texts.js';
import {
  cosineSimilarity,
  cosineSimilarityPairwise,
  Embeddings,
  EMBEDDING_PRECISIONS,
  quantizeEmbeddings,
} from './embeddings.js';
import type { EmbeddingPrecision, EmbeddingRows, QuantizeOptions } from './embeddings.js';
import type { BertTokenizer } from './tokenizer/bert-tokenizer.js';

/** The inference runtime an embedder runs on: tfjs (any backend) or onnxruntime-node. */
export type TextRuntime = 'tfjs' | 'ort';

/** What {@link TextEmbedder.encode}'s `onProgress` receives after each batch. */
export interface EncodeProgress {
  /** Sentences embedded so far. */
  done: number;
  /** Sentences in the call. */
  total: number;
}

/** Options of {@link TextEmbedder.encode} (sentence-transformers' `encode` arguments, in camelCase). */
export interface EncodeOptions extends QuantizeOptions {
  /** Sentences per forward pass, for this call. Default: the model's `batchSize` (128). */
  batchSize?: number;
  /** L2-normalise each row (after `truncateDim`). Default true. */
  normalize?: boolean;
  /** Keep the first `truncateDim` dimensions. Default: all (`dim`). */
  truncateDim?: number;
  /** `'float32'` (default), `'int8'`, `'uint8'`, `'binary'` or `'ubinary'`: see {@link quantizeEmbeddings}. */
  precision?: EmbeddingPrecision;
  /** Called after each forward pass with the sentences done so far. */
  onProgress?: (progress: EncodeProgress) => void;
}

/**
 * What `loadGeolipText()` returns on either runtime: `SentenceEmbedder` (tfjs) and `OrtSentenceEmbedder`
 * (onnxruntime-node) both implement it, with the same values (to 1e-5) for the same weights.
 */
export interface TextEmbedder {
  /** `'tfjs'` or `'ort'`: which runtime computes the embeddings. */
  readonly runtime: TextRuntime;
  readonly name: string;
  /** Embedding width. */
  readonly dim: number;
  /** Parameter count (0 when unknown, e.g. a bare ONNX file). */
  readonly params: number;
  /** Token limit per sentence, `[CLS]` and `[SEP]` included. */
  readonly maxLength: number;
  /** Sentences per forward pass (`embed`, and `encode`'s default). */
  readonly batchSize: number;
  readonly tokenizer: BertTokenizer;
  /** `texts.length × dim` row-major float32 unit rows, in input order. */
  embed(texts: readonly string[]): Promise<Float32Array>;
  /** sentence-transformers' `encode`: see {@link BatchedSentenceEncoder.encode}. */
  encode(sentences: string | readonly string[], options?: EncodeOptions): Promise<Embeddings>;
  /** Cosine similarity of every row of `a` with every row of `b` (default `a`). */
  similarity(a: EmbeddingRows, b?: EmbeddingRows): number[][];
  /** Row i of `a` against row i of `b`. */
  similarityPairwise(a: EmbeddingRows, b: EmbeddingRows): number[];
  /** Frees the model. */
  dispose(): void;
}

/**
 * The runtime-independent half of a sentence embedder (see the module comment). Subclasses set the fields and
 * implement {@link BatchedSentenceEncoder.runBatch}; error messages name `<className>.embed` / `.encode`.
 */
export abstract class BatchedSentenceEncoder implements TextEmbedder {
  abstract readonly runtime: TextRuntime;
  abstract readonly name: string;
  abstract readonly dim: number;
  abstract readonly params: number;
  abstract readonly maxLength: number;
  abstract readonly batchSize: number;
  abstract readonly tokenizer: BertTokenizer;

  /** The class name used in error messages (`SentenceEmbedder`, `OrtSentenceEmbedder`). */
  protected abstract readonly opName: string;

  /**
   * One padded batch: `rows` are token ids (`[CLS] … [SEP]`, at most `maxLength`), the result is
   * `rows.length × dim` unit rows in the same order.
   */
  protected abstract runBatch(rows: readonly (readonly number[])[]): Promise<Float32Array>;

  /** Throws (naming `op`) when the embedder cannot run, e.g. after `dispose()`. Default: never. */
  protected assertUsable(_op: string): void {}

  /**
   * Embeds sentences. Empty strings are allowed (`[CLS] [SEP]` only); sentences longer than `maxLength` word pieces
   * are truncated. Sentences are batched by token length (fewer pads), and the rows come back in input order.
   *
   * @returns `texts.length × dim` row-major float32, each row of unit norm.
   * @throws {InvalidArgumentError} `texts` not an array, or an element that is not a string or a hole of a sparse
   *   array (names its index).
   * @throws {NonFiniteError} naming the model (`error.model` is the embedder's `name`) when a batch's embeddings
   *   hold NaN or ±Infinity (e.g. weights loaded with `allowNonFinite`, or that overflow); one pass over each
   *   batch's values.
   */
  async embed(texts: readonly string[]): Promise<Float32Array> {
    const op = `${this.opName}.embed`;
    assertTextArray(op, 'texts', texts);
    this.assertUsable(op);
    return this.forwardRows(op, texts, this.batchSize);
  }

  /**
   * Embeds sentences, sentence-transformers style: `encode(sentences, { batchSize, normalize, truncateDim,
   * precision, onProgress })`. A single string gives one row. Steps, in order: the encoder's unit rows → the first
   * `truncateDim` dimensions (Matryoshka-style truncation) → L2 normalisation (`normalize`, default true: the rows
   * are unit vectors, as `embed` gives; false keeps truncated rows as they are) → quantisation to `precision`
   * ({@link quantizeEmbeddings}: int8 / uint8 ranges from `ranges` or `calibration`, else from these rows).
   *
   * @example
   * ```ts
   * const model = await loadGeolipText();
   * const e = await model.encode(['A man is playing the cello.', 'A man seated is playing the cello.']);
   * e.shape;                       // [2, 100]; e.row(0) is a Float32Array view, e.toArray() a number[][]
   * model.similarity(e, e)[0][1];  // ≈ 0.9
   * ```
   * @throws {InvalidArgumentError} naming the argument: `sentences` not a string or an array of strings, a bad
   *   option (`batchSize` not a positive integer, `truncateDim` outside [1, dim], an unknown `precision`, a
   *   non-function `onProgress`). @throws {NonFiniteError} as `embed`.
   */
  async encode(sentences: string | readonly string[], options: EncodeOptions = {}): Promise<Embeddings> {
    const op = `${this.opName}.encode`;
    const texts = typeof sentences === 'string' ? [sentences] : sentences;
    assertTextArray(op, 'sentences', texts);
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError(op, 'options', 'must be an object');
    const {
      batchSize = this.batchSize,
      normalize = true,
      truncateDim = this.dim,
      precision = 'float32',
      onProgress,
    } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new InvalidArgumentError(op, 'options.batchSize', `must be a positive integer, got ${String(batchSize)}`);
    if (!Number.isInteger(truncateDim) || truncateDim < 1 || truncateDim > this.dim)
      throw new InvalidArgumentError(
        op,
        'options.truncateDim',
        `must be an integer in [1, ${this.dim}], got ${String(truncateDim)}`,
      );
    if (typeof normalize !== 'boolean')
      throw new InvalidArgumentError(op, 'options.normalize', `must be a boolean, got ${typeof normalize}`);
    if (!EMBEDDING_PRECISIONS.includes(precision))
      throw new InvalidArgumentError(
        op,
        'options.precision',
        `must be one of ${EMBEDDING_PRECISIONS.join(', ')}, got ${JSON.stringify(precision)}`,
      );
    if (onProgress !== undefined && typeof onProgress !== 'function')
      throw new InvalidArgumentError(op, 'options.onProgress', 'must be a function');
    this.assertUsable(op);
    const full = await this.forwardRows(op, texts, batchSize, onProgress);
    const n = texts.length;
    const d = truncateDim;
    let data = full;
    if (d < this.dim) {
      data = new Float32Array(n * d);
      for (let i = 0; i < n; i++) data.set(full.subarray(i * this.dim, i * this.dim + d), i * d);
    }
    if (normalize && d < this.dim) {
      for (let i = 0; i < n; i++) {
        const row = data.subarray(i * d, (i + 1) * d);
        let s = 0;
        for (let k = 0; k < d; k++) s += row[k]! * row[k]!;
        const r = Math.sqrt(s);
        if (r > 0) for (let k = 0; k < d; k++) row[k]! /= r;
      }
    }
    const floats = new Embeddings(data, d);
    if (precision === 'float32') return floats;
    const quantize: QuantizeOptions = {};
    if (options.ranges !== undefined) quantize.ranges = options.ranges;
    if (options.calibration !== undefined) quantize.calibration = options.calibration;
    return quantizeEmbeddings(floats, precision, quantize);
  }

  /**
   * Cosine similarity of every row of `a` with every row of `b` (default `a`), as sentence-transformers'
   * `model.similarity`: see {@link cosineSimilarity} (float and int8 rows as numbers, packed binary rows as sign
   * vectors).
   */
  similarity(a: EmbeddingRows, b: EmbeddingRows = a): number[][] {
    return cosineSimilarity(a, b);
  }

  /** Row i of `a` against row i of `b`, for every i (sentence-transformers' `similarity_pairwise`). */
  similarityPairwise(a: EmbeddingRows, b: EmbeddingRows): number[] {
    return cosineSimilarityPairwise(a, b);
  }

  abstract dispose(): void;

  /** The forward passes: `texts.length × dim` unit rows in input order, batched by token length. */
  private async forwardRows(
    op: string,
    texts: readonly string[],
    batchSize: number,
    onProgress?: (progress: EncodeProgress) => void,
  ): Promise<Float32Array> {
    const n = texts.length;
    const dim = this.dim;
    const out = new Float32Array(n * dim);
    const encoded = texts.map((t) => this.tokenizer.encode(t, { maxLength: this.maxLength }).inputIds);
    const order = Array.from(encoded.keys()).sort((a, b) => encoded[a]!.length - encoded[b]!.length);
    for (let s = 0; s < n; s += batchSize) {
      const rows = order.slice(s, s + batchSize);
      const data = await this.runBatch(rows.map((r) => encoded[r]!));
      try {
        assertFiniteOutput(op, this.name, 'embedding', data);
      } catch (e) {
        // Report the flat index in the output (input order), not in the batch (sorted by length).
        if (!(e instanceof NonFiniteError)) throw e;
        const at = rows[Math.floor(e.firstIndex / dim)]! * dim + (e.firstIndex % dim);
        throw new NonFiniteError(op, 'embedding', e.count, at, { model: this.name });
      }
      rows.forEach((r, i) => out.set(data.subarray(i * dim, (i + 1) * dim), r * dim));
      onProgress?.({ done: Math.min(s + batchSize, n), total: n });
    }
    return out;
  }
}
