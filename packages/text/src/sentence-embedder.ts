/**
 * `SentenceEmbedder`: sentences in, unit embeddings out. A {@link CaptionEncoder} with its tokenizer, loaded from a
 * safetensors file written by `geolip-train run text-consensus` (or the weights bundled with this package, see
 * {@link loadGeolipText}). It has the shape of `@geolip/bench`'s `Embedder` (`name`, `dim`, `params`, `embed`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, FormatError, InvalidArgumentError, NonFiniteError } from '@geolip/geometry';
import { assertFiniteOutput } from '@geolip/geometry/checks';
import type { BinarySource } from '@geolip/io';

import { CaptionEncoder } from './caption-encoder.js';
import { assertTextArray } from './check-texts.js';
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
   *   backend is ready (call `initBackend()` first).
   */
  static async fromWeights(source: BinarySource, options: SentenceEmbedderOptions = {}): Promise<SentenceEmbedder> {
    const { batchSize = 128 } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new InvalidArgumentError(OP, 'options.batchSize', `must be a positive integer, got ${batchSize}`);
    requireBackend(OP);
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
    const n = texts.length;
    const out = new Float32Array(n * this.dim);
    const encoded = texts.map((t) => this.tokenizer.encode(t, { maxLength: this.maxLength }).inputIds);
    const order = Array.from(encoded.keys()).sort((a, b) => encoded[a]!.length - encoded[b]!.length);
    for (let s = 0; s < n; s += this.batchSize) {
      const rows = order.slice(s, s + this.batchSize);
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
 *   briefly, never printed whole). @throws {BackendError} when no tfjs backend is ready: call `initBackend()` first.
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
  requireBackend('loadGeolipText');
  const path = await bundledAssetPath('loadGeolipText', 'weights', entry.file);
  return SentenceEmbedder.fromWeights(path, { name: weights, ...rest });
}

/** Throws a {@link BackendError} naming `op` when tfjs has no backend (tfjs itself throws an untyped error later). */
function requireBackend(op: string): void {
  let name: string | undefined;
  try {
    name = tf.getBackend();
  } catch {
    name = undefined;
  }
  if (!name)
    throw new BackendError(
      op,
      'no tfjs backend is ready: call initBackend() (from @geolip/nn/backend or @geolip/geometry/backend) first',
    );
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
