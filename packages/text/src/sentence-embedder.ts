/**
 * `SentenceEmbedder`: sentences in, unit embeddings out. A {@link CaptionEncoder} with its tokenizer, loaded from a
 * safetensors file written by `geolip-train run text-consensus` (or the weights bundled with this package, see
 * {@link loadGeolipText}). It has the shape of `@geolip/bench`'s `Embedder` (`name`, `dim`, `params`, `embed`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import type { BinarySource } from '@geolip/io';

import { BatchedSentenceEncoder } from './batched-encoder.js';
import type { TextEmbedder } from './batched-encoder.js';
import { CaptionEncoder } from './caption-encoder.js';
import type { CaptionEncoderConfig } from './caption-encoder.js';
import { CAPTION_ENCODER_TYPE, textModels } from './models.js';
import type { BertTokenizer } from './tokenizer/bert-tokenizer.js';
import { bundledAssetPath, loadBertUncasedTokenizer } from './tokenizer/bundled.js';
import { importUnbundled, isNode } from '@geolip/geometry/internal';
import { chooseTextRuntime } from './runtime-choice.js';
import type { TextRuntimeChoice } from './runtime-choice.js';
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

export type { EncodeOptions, EncodeProgress, TextEmbedder, TextRuntime } from './batched-encoder.js';

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
export class SentenceEmbedder extends BatchedSentenceEncoder {
  readonly runtime = 'tfjs' as const;
  protected readonly opName = 'SentenceEmbedder';
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
    super();
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

  /** One padded batch through the CaptionEncoder: `rows.length × dim` unit rows. */
  protected async runBatch(rows: readonly (readonly number[])[]): Promise<Float32Array> {
    const len = Math.max(...rows.map((r) => r.length));
    const ids = new Int32Array(rows.length * len);
    const mask = new Float32Array(rows.length * len);
    rows.forEach((r, i) => {
      ids.set(r, i * len);
      mask.fill(1, i * len, i * len + r.length);
    });
    const y = tf.tidy(() =>
      this.model.forward(tf.tensor2d(ids, [rows.length, len], 'int32'), tf.tensor2d(mask, [rows.length, len])),
    );
    try {
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}

/** Options of `loadGeolipText()` without `runtime` (or `runtime: 'tfjs'`): the ones both runtimes take. */
export interface LoadGeolipTextOptions extends SentenceEmbedderOptions {
  /** A name of `textModels.shipped()`. Default `geolip-text`. */
  weights?: string;
}

/**
 * Absolute path of shipped weights, by a name of `textModels.shipped()` (default `geolip-text`): the file
 * `loadGeolipText({ weights: name })` reads. Node only. Use it to identify the exact weights (hash the file), to copy
 * them, or to load them elsewhere (`SentenceEmbedder.fromWeights(path)`).
 * @throws {InvalidArgumentError} naming `name` when it is not a shipped name.
 */
export async function shippedTextWeightsPath(name = 'geolip-text'): Promise<string> {
  const op = 'shippedTextWeightsPath';
  const shipped = textModels.shipped();
  const entry = typeof name === 'string' && Object.hasOwn(shipped, name) ? shipped[name] : undefined;
  if (entry === undefined)
    throw new InvalidArgumentError(
      op,
      'name',
      `must name shipped weights (${Object.keys(shipped).join(', ')}), got ${describeValue(name)}`,
    );
  return bundledAssetPath(op, 'weights', entry.file);
}

/**
 * The GeoLIP text student bundled with this package (`weights/geolip-text.safetensors`, fp16): a CaptionEncoder
 * distilled by `geolip-train run text-consensus` from the consensus of USE lite and averaged GloVe, then fine-tuned
 * with CoSENT on STS-B train and SICK train by `geolip-train run text-cosent` (see the README for its config, its
 * training runs and its benchmark numbers). Node only; in a browser, pass the file's
 * URL (`@geolip/text/weights/geolip-text.safetensors`): `SentenceEmbedder.fromWeights(url, { tokenizer })`, with
 * `BertTokenizer.fromFile(vocabUrl)`. `options.weights` names another file of `textModels.shipped()` (default
 * `geolip-text`).
 *
 * **The runtime.** `runtime: 'tfjs'` returns a `SentenceEmbedder` (tfjs tensors underneath: the model is
 * `embedder.model`); `runtime: 'ort'` runs the same weights on onnxruntime-node (an optional peer; `device: 'cpu' |
 * 'webgpu'`, `threads`), returning an `OrtSentenceEmbedder` (`@geolip/text/ort`). Without `runtime`,
 * `GEOLIP_RUNTIME` (`tfjs`, `ort`, `auto`) decides, else the rule of {@link chooseTextRuntime}: `'ort'` in Node when
 * onnxruntime-node is installed and no GPU tfjs backend was chosen (4.4× faster than tfjs-wasm on the 2-core CPU
 * machine), else `'tfjs'`. An automatic choice of `'ort'` is said in one `[geolip]` line on stderr, once per process
 * (`GEOLIP_LOG=silent` hides it; `GEOLIP_LOG=debug` also says why tfjs was chosen). Both return a
 * {@link TextEmbedder}: `embed`, `encode`, `similarity`, `similarityPairwise`, the same values to 1e-5.
 * @throws {InvalidArgumentError} naming `options.weights` when it is not a shipped name (the value is described
 *   briefly, never printed whole), `options.runtime` or `GEOLIP_RUNTIME` for an unknown runtime, `options.device` /
 *   `options.threads` when the runtime is tfjs. @throws {BackendError} when no tfjs backend is active and none can be
 *   initialized, or `'ort'` was asked for and onnxruntime-node is missing (the message says how to install it).
 *   Without `initBackend()` the best available tfjs backend is chosen (wasm in Node) and named once on stderr.
 */
export async function loadGeolipText(options: LoadGeolipTextOrtOptions): Promise<OrtSentenceEmbedder>;
export async function loadGeolipText(options: LoadGeolipTextOptions & { runtime: 'tfjs' }): Promise<SentenceEmbedder>;
export async function loadGeolipText(options?: LoadGeolipTextOptions & { runtime?: undefined }): Promise<TextEmbedder>;
export async function loadGeolipText(
  options: (LoadGeolipTextOptions & { runtime?: 'tfjs' }) | LoadGeolipTextOrtOptions = {},
): Promise<TextEmbedder> {
  const op = 'loadGeolipText';
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(op, 'options', 'must be an object');
  const { runtime: _runtime, ...rest } = options as LoadGeolipTextOrtOptions;
  const weights = options.weights ?? 'geolip-text';
  const shipped = textModels.shipped();
  const entry = typeof weights === 'string' && Object.hasOwn(shipped, weights) ? shipped[weights] : undefined;
  if (entry === undefined)
    throw new InvalidArgumentError(
      op,
      'options.weights',
      `must name shipped weights (${Object.keys(shipped).join(', ')}), got ${describeValue(weights)}`,
    );
  const choice = await resolveRuntime(op, options.runtime, (options as LoadGeolipTextOrtOptions).device);
  if (choice.runtime === 'ort') {
    const ort = await importUnbundled<typeof import('./ort/index.js')>('@geolip/text/ort');
    return ort.loadGeolipTextOrt(rest);
  }
  for (const key of ['device', 'threads'] as const)
    if ((options as Partial<LoadGeolipTextOrtOptions>)[key] !== undefined)
      throw new InvalidArgumentError(
        op,
        `options.${key}`,
        `is an option of runtime 'ort', and the runtime is 'tfjs' (${choice.reason}); pass runtime: 'ort'`,
      );
  const { weights: _weights, ...tfjsOptions } = rest as LoadGeolipTextOptions;
  // Used before initBackend(): choose the best backend now (said once on stderr) instead of tfjs's "No backend".
  const { ensureBackend } = await import('@geolip/nn/backend');
  await ensureBackend(op);
  const path = await bundledAssetPath(op, 'weights', entry.file);
  return SentenceEmbedder.fromWeights(path, { name: weights, ...tfjsOptions });
}

let autoOrtReported = false;

/**
 * The runtime for one `loadGeolipText` call ({@link chooseTextRuntime} with this process's facts), reported through
 * `GEOLIP_LOG`. Outside Node the runtime is always tfjs (onnxruntime-node is a Node package).
 */
async function resolveRuntime(op: string, option: unknown, device: unknown): Promise<TextRuntimeChoice> {
  if (!isNode()) return chooseTextRuntime(op, { option, env: undefined, ortInstalled: () => false, tfjsBackend: null });
  const env = process.env.GEOLIP_RUNTIME;
  const active = tf.getBackend() as string | null | undefined;
  const tfjsBackend = active || process.env.GEOLIP_BACKEND?.trim().toLowerCase() || null;
  // `@geolip/text/ort` (Node-only) says whether onnxruntime-node resolves, without loading its native binding.
  const ort =
    option === undefined ? await importUnbundled<typeof import('./ort/index.js')>('@geolip/text/ort') : undefined;
  const choice = chooseTextRuntime(op, {
    option,
    env,
    tfjsBackend,
    ortInstalled: () => ort?.onnxRuntimeVersion() != null,
  });
  const { resolveLogLevel } = await import('@geolip/geometry/backend');
  const level = resolveLogLevel(op);
  if (choice.source !== 'auto') {
    if (level === 'debug') console.error(`[geolip] ${op}: runtime ${choice.runtime} (${choice.reason})`);
    return choice;
  }
  if (choice.runtime === 'ort' && ort !== undefined) {
    try {
      ort.loadOnnxRuntime(op);
    } catch (e) {
      // Installed but unusable (e.g. no native binding for this platform): tfjs, and say why.
      const reason = (e as Error).message;
      if (level !== 'silent') console.error(`[geolip] ${reason}; using tfjs`);
      return { runtime: 'tfjs', source: 'auto', reason };
    }
    if (level !== 'silent' && !autoOrtReported) {
      autoOrtReported = true;
      console.error(
        `[geolip] ${op}: no runtime chosen, using ort (onnxruntime-node ${ort.onnxRuntimeVersion() ?? '?'}, ` +
          `${device === 'webgpu' ? 'webgpu' : 'cpu'}); ` +
          "pass runtime: 'tfjs' or set GEOLIP_RUNTIME=tfjs for tfjs",
      );
    }
  } else if (level === 'debug') console.error(`[geolip] ${op}: runtime tfjs (${choice.reason})`);
  return choice;
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
