/**
 * `SentenceEmbedder`: sentences in, unit embeddings out. A {@link CaptionEncoder} with its tokenizer, loaded from a
 * safetensors file written by `geolip-train run text-consensus` (or the weights bundled with this package, see
 * {@link loadGeolipText}). It has the shape of `@geolip/bench`'s `Embedder` (`name`, `dim`, `params`, `embed`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, NonFiniteError } from '@geolip/geometry';
import { assertFiniteOutput } from '@geolip/geometry/checks';
import type { BinarySource } from '@geolip/io';

import { CaptionEncoder } from './caption-encoder.js';
import { assertTextArray } from './check-texts.js';
import {
  cosineSimilarity,
  cosineSimilarityPairwise,
  Embeddings,
  EMBEDDING_PRECISIONS,
  quantizeEmbeddings,
} from './embeddings.js';
import type { EmbeddingPrecision, EmbeddingRows, QuantizeOptions } from './embeddings.js';
import type { CaptionEncoderConfig } from './caption-encoder.js';
import { CAPTION_ENCODER_TYPE, textModels } from './models.js';
import type { BertTokenizer } from './tokenizer/bert-tokenizer.js';
import { bundledAssetPath, loadBertUncasedTokenizer } from './tokenizer/bundled.js';
import { importUnbundled } from '@geolip/geometry/internal';
import type { OrtEmbedderOptions, OrtSentenceEmbedder } from './ort/ort-embedder.js';

/**
 * Options of `loadGeolipText({ runtime: 'ort' })`: the model on onnxruntime-node (an optional peer dependency,
 * `@geolip/text/ort`), `device` `'cpu'` (default) or `'webgpu'`. Returns an `OrtSentenceEmbedder` (same `embed`).
 */
export type LoadGeolipTextOrtOptions = OrtEmbedderOptions & {
  runtime: 'ort';
  weights?: string;
  tokenizer?: BertTokenizer;
};

/** File name of the weights bundled with this package, under its `weights/` folder. */
export const GEOLIP_TEXT_WEIGHTS_FILE = 'geolip-text.safetensors';

/** Options of {@link SentenceEmbedder.fromWeights} and {@link loadGeolipText}. */
export interface SentenceEmbedderOptions {
  /** Sentences per forward pass. Default 128. */
  batchSize?: number;
  /** Name reported as `embedder.name`. Default: the file's `geolip.name` metadata, else `caption-encoder`. */
  name?: string;
  /** The tokenizer; default the bundled bert-base-uncased one (Node). Required in a browser. */
  tokenizer?: BertTokenizer;
}

/** What {@link SentenceEmbedder.encode}'s `onProgress` receives after each batch. */
export interface EncodeProgress {
  /** Sentences embedded so far. */
  done: number;
  /** Sentences in the call. */
  total: number;
}

/** Options of {@link SentenceEmbedder.encode} (sentence-transformers' `encode` arguments, in camelCase). */
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

/** The metadata keys a weights file carries (written by the text-consensus recipe). */
export interface SentenceEmbedderMetadata {
  config: CaptionEncoderConfig;
  /** Token limit per sentence, `[CLS]` and `[SEP]` included; longer sentences are truncated. */
  maxLength: number;
  /** Every `geolip.*` metadata entry of the file, as written. */
  raw: Record<string, string>;
}

const OP = 'SentenceEmbedder.fromWeights';

/** The embedder's settings from a file's metadata, read once by `readModelMetadata` (legacy keys included). */
function parseMetadata(
  config: CaptionEncoderConfig,
  extra: Record<string, unknown>,
  meta: Record<string, string>,
): SentenceEmbedderMetadata {
  const tokenizer = extra.tokenizer;
  if (tokenizer !== undefined && tokenizer !== 'bert-base-uncased') {
    throw new FormatError(
      OP,
      'source',
      `metadata 'geolip.tokenizer' is '${String(tokenizer)}'; only 'bert-base-uncased' is supported`,
    );
  }
  const maxLength = Number(extra.maxLength ?? config.maxPositions);
  if (!Number.isInteger(maxLength) || maxLength < 3 || maxLength > config.maxPositions) {
    throw new FormatError(
      OP,
      'source',
      `metadata 'geolip.maxLength' must be an integer in [3, ${config.maxPositions}], got ${String(extra.maxLength)}`,
    );
  }
  const raw = Object.fromEntries(Object.entries(meta).filter(([k]) => k.startsWith('geolip.')));
  return { config, maxLength, raw };
}

/**
 * A sentence encoder ready to embed: `embed(texts)` returns `N × dim` row-major unit vectors.
 *
 * @example
 * ```ts
 * const model = await loadGeolipText();                       // bundled weights (Node)
 * const rows = await model.embed(['A dog runs on the beach.', 'A puppy is running by the sea.']);
 * let cos = 0;
 * for (let j = 0; j < model.dim; j++) cos += rows[j]! * rows[model.dim + j]!;   // rows are unit vectors
 * model.dispose();
 * ```
 */
export class SentenceEmbedder {
  readonly name: string;
  /** Embedding width (the encoder's `outDim`). */
  readonly dim: number;
  /** Parameter count of the encoder. */
  readonly params: number;
  readonly maxLength: number;
  readonly batchSize: number;
  readonly metadata: SentenceEmbedderMetadata;

  private constructor(
    readonly model: CaptionEncoder,
    readonly tokenizer: BertTokenizer,
    metadata: SentenceEmbedderMetadata,
    options: SentenceEmbedderOptions,
  ) {
    this.metadata = metadata;
    this.name = options.name ?? metadata.raw['geolip.name'] ?? 'caption-encoder';
    this.dim = model.outputDim;
    this.params = model.paramCount();
    this.maxLength = metadata.maxLength;
    this.batchSize = options.batchSize ?? 128;
  }

  /**
   * Loads a safetensors file with `geolip.model = caption-encoder` metadata (F32 or F16 weights).
   *
   * @param source - the file's bytes, a URL (fetched; in a browser also a URL relative to the page) or, under Node, a
   *   path.
   * @throws {InvalidArgumentError} bad `source` or `batchSize`. @throws {FormatError} missing or inconsistent metadata,
   *   or weights that do not match the config (the error names the parameter). @throws {BackendError} when no tfjs
   *   backend is active and none can be initialized (without `initBackend()`, the best available one is chosen).
   */
  static async fromWeights(source: BinarySource, options: SentenceEmbedderOptions = {}): Promise<SentenceEmbedder> {
    const { batchSize = 128 } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new InvalidArgumentError(OP, 'options.batchSize', `must be a positive integer, got ${batchSize}`);
    // One read, one parse: the registry reads the metadata (`geolip.type`, or the legacy `geolip.model`) and loads.
    const loaded = await textModels.loadPretrained<CaptionEncoder, CaptionEncoderConfig>(source, {
      type: CAPTION_ENCODER_TYPE,
      op: OP,
    });
    const model = loaded.model;
    let meta: SentenceEmbedderMetadata;
    let tokenizer: BertTokenizer;
    try {
      meta = parseMetadata(loaded.config, loaded.extra, loaded.rawMetadata);
      tokenizer = options.tokenizer ?? (await loadBertUncasedTokenizer());
      if (tokenizer.vocabSize !== meta.config.vocabSize) {
        throw new FormatError(
          OP,
          'source',
          `the weights expect a vocabulary of ${meta.config.vocabSize} tokens, ` +
            `the tokenizer has ${tokenizer.vocabSize}`,
        );
      }
    } catch (e) {
      model.dispose();
      throw e;
    }
    return new SentenceEmbedder(model, tokenizer, meta, { ...options, batchSize });
  }

  /**
   * Embeds sentences. Empty strings are allowed (`[CLS] [SEP]` only); sentences longer than `maxLength` word pieces
   * are truncated. Sentences are batched by token length (fewer pads), and the rows come back in input order.
   *
   * @returns `texts.length × dim` row-major float32, each row of unit norm.
   * @throws {InvalidArgumentError} `texts` not an array, or an element that is not a string or a hole of a sparse
   *   array (names its index).
   * @throws {NonFiniteError} naming the model (`error.model` is {@link SentenceEmbedder.name}) when a batch's
   *   embeddings hold NaN or ±Infinity (e.g. weights loaded with `allowNonFinite`, or that overflow); one pass over
   *   each batch's values.
   */
  async embed(texts: readonly string[]): Promise<Float32Array> {
    const op = 'SentenceEmbedder.embed';
    assertTextArray(op, 'texts', texts);
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
   *   non-function `onProgress`). @throws {NonFiniteError} as {@link SentenceEmbedder.embed}.
   */
  async encode(sentences: string | readonly string[], options: EncodeOptions = {}): Promise<Embeddings> {
    const op = 'SentenceEmbedder.encode';
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

  /** The forward passes: `texts.length × dim` unit rows in input order, batched by token length. */
  private async forwardRows(
    op: string,
    texts: readonly string[],
    batchSize: number,
    onProgress?: (progress: EncodeProgress) => void,
  ): Promise<Float32Array> {
    const n = texts.length;
    const out = new Float32Array(n * this.dim);
    const encoded = texts.map((t) => this.tokenizer.encode(t, { maxLength: this.maxLength }).inputIds);
    const order = Array.from(encoded.keys()).sort((a, b) => encoded[a]!.length - encoded[b]!.length);
    for (let s = 0; s < n; s += batchSize) {
      const rows = order.slice(s, s + batchSize);
      const len = Math.max(...rows.map((r) => encoded[r]!.length));
      const ids = new Int32Array(rows.length * len);
      const mask = new Float32Array(rows.length * len);
      rows.forEach((r, i) => {
        ids.set(encoded[r]!, i * len);
        mask.fill(1, i * len, i * len + encoded[r]!.length);
      });
      const y = tf.tidy(() =>
        this.model.forward(tf.tensor2d(ids, [rows.length, len], 'int32'), tf.tensor2d(mask, [rows.length, len])),
      );
      let data: Float32Array;
      try {
        data = (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
      try {
        assertFiniteOutput(op, this.name, 'embedding', data);
      } catch (e) {
        // Report the flat index in the output (input order), not in the batch (sorted by length).
        if (!(e instanceof NonFiniteError)) throw e;
        const at = rows[Math.floor(e.firstIndex / this.dim)]! * this.dim + (e.firstIndex % this.dim);
        throw new NonFiniteError(op, 'embedding', e.count, at, { model: this.name });
      }
      rows.forEach((r, i) => out.set(data.subarray(i * this.dim, (i + 1) * this.dim), r * this.dim));
      onProgress?.({ done: Math.min(s + batchSize, n), total: n });
    }
    return out;
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}

/**
 * The GeoLIP text student bundled with this package (`weights/geolip-text.safetensors`, fp16): a CaptionEncoder
 * distilled by `geolip-train run text-consensus` from the consensus of USE lite and averaged GloVe (see the
 * README for its config, its training run and its benchmark numbers). Node only; in a browser, pass the file's
 * URL (`@geolip/text/weights/geolip-text.safetensors`): `SentenceEmbedder.fromWeights(url, { tokenizer })`, with
 * `BertTokenizer.fromFile(vocabUrl)`. `options.weights` names another file of `textModels.shipped()` (default
 * `geolip-text`). With `options.runtime: 'ort'` the same weights run on onnxruntime-node instead (an optional peer;
 * `device: 'cpu' | 'webgpu'`), returning an `OrtSentenceEmbedder` with the same `embed` contract (`@geolip/text/ort`).
 * @throws {InvalidArgumentError} naming `options.weights` when it is not a shipped name (the value is described
 *   briefly, never printed whole). @throws {BackendError} when no backend is active and none can be initialized.
 *   Without `initBackend()` the best available backend is chosen (wasm in Node) and named once on stderr.
 */
export async function loadGeolipText(options: LoadGeolipTextOrtOptions): Promise<OrtSentenceEmbedder>;
export async function loadGeolipText(
  options?: SentenceEmbedderOptions & { weights?: string; runtime?: 'tfjs' },
): Promise<SentenceEmbedder>;
export async function loadGeolipText(
  options: (SentenceEmbedderOptions & { weights?: string; runtime?: 'tfjs' }) | LoadGeolipTextOrtOptions = {},
): Promise<SentenceEmbedder | OrtSentenceEmbedder> {
  // --- runtime hook (issue 25): `runtime: 'ort'` runs the same weights on onnxruntime-node (`@geolip/text/ort`).
  if (options !== null && typeof options === 'object' && options.runtime === 'ort') {
    const { runtime: _runtime, ...ortOptions } = options;
    const ort = await importUnbundled<typeof import('./ort/index.js')>('@geolip/text/ort');
    return ort.loadGeolipTextOrt(ortOptions);
  }
  if (options !== null && typeof options === 'object' && options.runtime !== undefined && options.runtime !== 'tfjs')
    throw new InvalidArgumentError(
      'loadGeolipText',
      'options.runtime',
      `must be 'tfjs' or 'ort', got ${describeValue(options.runtime)}`,
    );
  // --- end of the runtime hook
  const {
    weights = 'geolip-text',
    runtime: _tfjs,
    ...rest
  } = options as SentenceEmbedderOptions & {
    weights?: string;
    runtime?: 'tfjs';
  };
  const shipped = textModels.shipped();
  const entry = typeof weights === 'string' && Object.hasOwn(shipped, weights) ? shipped[weights] : undefined;
  if (entry === undefined)
    throw new InvalidArgumentError(
      'loadGeolipText',
      'options.weights',
      `must name shipped weights (${Object.keys(shipped).join(', ')}), got ${describeValue(weights)}`,
    );
  // Used before initBackend(): choose the best backend now (said once on stderr) instead of tfjs's "No backend".
  const { ensureBackend } = await import('@geolip/nn/backend');
  await ensureBackend('loadGeolipText');
  const path = await bundledAssetPath('loadGeolipText', 'weights', entry.file);
  return SentenceEmbedder.fromWeights(path, { name: weights, ...rest });
}

/** A short description of any value for an error message: a string (cut at 80 characters), a type and a size. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length} elements`;
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  return `${typeof value} ${String(value)}`;
}
