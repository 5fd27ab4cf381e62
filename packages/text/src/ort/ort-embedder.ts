/**
 * `OrtSentenceEmbedder`: the {@link SentenceEmbedder} contract (`TextEmbedder`: `name`, `dim`, `params`,
 * `maxLength`, `batchSize`, `embed(texts)` → `N × dim` row-major unit rows, `encode`, `similarity`,
 * `similarityPairwise`, `dispose()`) run by onnxruntime-node instead of tfjs. The batching, checks and `encode`'s
 * truncation / normalisation / quantisation are the shared `BatchedSentenceEncoder`'s; this class runs one batch.
 * It runs the ONNX export of a GeoLIP text model ({@link loadGeolipTextOrt}) or any ONNX sentence encoder with a
 * WordPiece `tokenizer.json` ({@link OrtSentenceEmbedder.fromOnnx}; e.g. a transformers.js folder).
 *
 * onnxruntime-node is an optional peer dependency of `@geolip/text`, loaded at run time: install it with
 * `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (the skip stops its install script from fetching the
 * CUDA provider from outside npm; the CPU and WebGPU providers ship in the package).
 */
import { BackendError, FormatError, InvalidArgumentError } from '@geolip/geometry';

import { BatchedSentenceEncoder } from '../batched-encoder.js';
import { packageRequire } from '../experts/require.js';
import { textModels } from '../models.js';
import { captionEncoderOnnxFromFile } from '../onnx/caption-encoder-onnx.js';
import type { BertTokenizer } from '../tokenizer/bert-tokenizer.js';
import { bundledAssetPath, loadBertUncasedTokenizer } from '../tokenizer/bundled.js';

/** Where an {@link OrtSentenceEmbedder} runs: onnxruntime-node's CPU or WebGPU (Dawn) execution provider. */
export type OrtDevice = 'cpu' | 'webgpu';

/** The part of onnxruntime-node's API this module uses (structural: no compile-time dependency). */
interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array | string, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: string, data: BigInt64Array | Float32Array, dims: readonly number[]) => OrtTensor;
  env?: { versions?: { common?: string } };
}

/** How to install the peer, for error messages. */
export const ORT_INSTALL_HINT =
  'install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (an optional peer dependency of ' +
  '@geolip/text; the skip keeps its install script from downloading CUDA files from outside npm)';

/**
 * onnxruntime-node, loaded from where `@geolip/text` is installed.
 * @throws {BackendError} naming `op` when it is not installed (the message says how to install it).
 */
export function loadOnnxRuntime(op: string): OrtModule {
  try {
    return packageRequire('onnxruntime-node') as OrtModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND')
      throw new BackendError(
        op,
        `the 'ort' runtime needs onnxruntime-node, which is not installed: ${ORT_INSTALL_HINT}`,
        [{ name: 'ort', reason: 'onnxruntime-node not found' }],
      );
    throw new BackendError(op, `onnxruntime-node failed to load: ${(e as Error).message}`, [
      { name: 'ort', reason: (e as Error).message },
    ]);
  }
}

/** The version of the installed onnxruntime-node, or null when it is not installed. */
export function onnxRuntimeVersion(): string | null {
  try {
    return (packageRequire('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}

/** Options of {@link OrtSentenceEmbedder.fromOnnx} and {@link loadGeolipTextOrt}. */
export interface OrtEmbedderOptions {
  /** Execution provider. Default `'cpu'`. */
  device?: OrtDevice;
  /** Sentences per run. Default 128. */
  batchSize?: number;
  /** Intra-op threads (CPU). Default: onnxruntime's own choice (the physical cores). */
  threads?: number;
  /** Reported as `embedder.name`. */
  name?: string;
  /** Token limit per sentence, `[CLS]` and `[SEP]` included. Default 512 (fromOnnx), the file's (loadGeolipText). */
  maxLength?: number;
  /**
   * For a model whose output is per token (`[B, L, H]`): `'mean'` (masked mean, default) or `'cls'` (the first
   * token). A `[B, H]` output is taken as it is.
   */
  pooling?: 'mean' | 'cls';
  /** L2-normalize the rows (default true; an exported GeoLIP model is normalized already). */
  normalize?: boolean;
  /** Parameter count to report as `params` (unknown for a bare ONNX file: default 0). */
  params?: number;
}

const EMBED = 'OrtSentenceEmbedder.embed';

export class OrtSentenceEmbedder extends BatchedSentenceEncoder {
  readonly runtime = 'ort' as const;
  protected readonly opName = 'OrtSentenceEmbedder';
  readonly name: string;
  readonly dim: number;
  readonly params: number;
  readonly maxLength: number;
  readonly batchSize: number;
  readonly device: OrtDevice;
  /** The graph output read (`sentence_embedding`, else `last_hidden_state`, else the first). */
  readonly outputName: string;
  private readonly pooling: 'mean' | 'cls';
  private readonly normalize: boolean;
  private released = false;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    readonly tokenizer: BertTokenizer,
    dim: number,
    options: Required<Pick<OrtEmbedderOptions, 'device' | 'batchSize' | 'maxLength' | 'pooling' | 'normalize'>> & {
      name: string;
      params: number;
    },
  ) {
    super();
    this.name = options.name;
    this.dim = dim;
    this.params = options.params;
    this.maxLength = options.maxLength;
    this.batchSize = options.batchSize;
    this.device = options.device;
    this.pooling = options.pooling;
    this.normalize = options.normalize;
    const outs = session.outputNames;
    this.outputName = outs.includes('sentence_embedding')
      ? 'sentence_embedding'
      : outs.includes('last_hidden_state')
        ? 'last_hidden_state'
        : outs[0]!;
  }

  /**
   * Opens an ONNX sentence encoder: `model` is the file's bytes or a path. Its inputs must include `input_ids` (and
   * may include `attention_mask`, `token_type_ids`, fed as int64). The width `dim` is found by embedding one
   * sentence.
   * @throws {BackendError} when onnxruntime-node is missing or cannot open the model; {@link InvalidArgumentError}
   *   naming the option at fault; {@link FormatError} when the graph has no `input_ids` input.
   */
  static async fromOnnx(
    model: Uint8Array | string,
    tokenizer: BertTokenizer,
    options: OrtEmbedderOptions = {},
  ): Promise<OrtSentenceEmbedder> {
    const op = 'OrtSentenceEmbedder.fromOnnx';
    if (!(model instanceof Uint8Array) && typeof model !== 'string')
      throw new InvalidArgumentError(op, 'model', 'must be the bytes of an .onnx file or its path');
    const o = checkOptions(op, options, 512);
    const ort = loadOnnxRuntime(op);
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: [o.device],
        graphOptimizationLevel: 'all',
        ...(options.threads !== undefined ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
      });
    } catch (e) {
      throw new BackendError(
        op,
        `onnxruntime-node could not open the model on '${o.device}': ${(e as Error).message}`,
        [{ name: `ort-${o.device}`, reason: (e as Error).message }],
      );
    }
    if (!session.inputNames.includes('input_ids')) {
      await session.release();
      throw new FormatError(op, 'model', `has inputs ${session.inputNames.join(', ')}; expected input_ids`);
    }
    const embedder = new OrtSentenceEmbedder(ort, session, tokenizer, 0, { ...o, name: options.name ?? 'onnx' });
    const probe = await embedder.runBatch([tokenizer.encode('a', { maxLength: o.maxLength }).inputIds]);
    (embedder as { dim: number }).dim = probe.length;
    return embedder;
  }

  /** Refuses to run after {@link OrtSentenceEmbedder.dispose}. */
  protected override assertUsable(op: string): void {
    if (this.released) throw new InvalidArgumentError(op, 'this', 'was disposed');
  }

  /** One padded batch through the session: `rows.length × dim` (pooled and normalized as configured). */
  protected async runBatch(rows: readonly (readonly number[])[]): Promise<Float32Array> {
    const b = rows.length;
    const len = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(b * len);
    const mask = new BigInt64Array(b * len);
    rows.forEach((r, i) => {
      for (let j = 0; j < r.length; j++) {
        ids[i * len + j] = BigInt(r[j]!);
        mask[i * len + j] = 1n;
      }
    });
    const feeds: Record<string, OrtTensor> = {};
    const T = this.ort.Tensor;
    for (const name of this.session.inputNames) {
      if (name === 'input_ids') feeds[name] = new T('int64', ids, [b, len]);
      else if (name === 'attention_mask') feeds[name] = new T('int64', mask, [b, len]);
      else if (name === 'token_type_ids') feeds[name] = new T('int64', new BigInt64Array(b * len), [b, len]);
      else throw new FormatError(EMBED, 'model', `has an input '${name}' this embedder does not know how to feed`);
    }
    const result = await this.session.run(feeds);
    const y = result[this.outputName]!;
    const data = y.data as Float32Array;
    let pooled: Float32Array;
    if (y.dims.length === 2) pooled = Float32Array.from(data);
    else if (y.dims.length === 3) {
      const h = y.dims[2]!;
      pooled = new Float32Array(b * h);
      for (let i = 0; i < b; i++) {
        if (this.pooling === 'cls') {
          pooled.set(data.subarray(i * len * h, i * len * h + h), i * h);
          continue;
        }
        const n = rows[i]!.length;
        for (let t = 0; t < n; t++) for (let k = 0; k < h; k++) pooled[i * h + k]! += data[(i * len + t) * h + k]!;
        for (let k = 0; k < h; k++) pooled[i * h + k]! /= Math.max(n, 1);
      }
    } else
      throw new FormatError(EMBED, 'model', `output '${this.outputName}' has rank ${y.dims.length}; expected 2 or 3`);
    if (this.normalize) {
      const h = pooled.length / b;
      for (let i = 0; i < b; i++) {
        let ss = 0;
        for (let k = 0; k < h; k++) ss += pooled[i * h + k]! ** 2;
        const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
        for (let k = 0; k < h; k++) pooled[i * h + k]! *= inv;
      }
    }
    return pooled;
  }

  /** Releases the onnxruntime session. */
  override dispose(): void {
    if (this.released) return;
    this.released = true;
    void this.session.release();
  }
}

function checkOptions(
  op: string,
  options: OrtEmbedderOptions,
  defaultMaxLength: number,
): Required<Pick<OrtEmbedderOptions, 'device' | 'batchSize' | 'maxLength' | 'pooling' | 'normalize'>> & {
  params: number;
} {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(op, 'options', 'must be an object');
  const { device = 'cpu', batchSize = 128, maxLength = defaultMaxLength, pooling = 'mean', normalize = true } = options;
  if (device !== 'cpu' && device !== 'webgpu')
    throw new InvalidArgumentError(op, 'options.device', `must be 'cpu' or 'webgpu', got ${String(device)}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InvalidArgumentError(op, 'options.batchSize', `must be a positive integer, got ${String(batchSize)}`);
  if (!Number.isInteger(maxLength) || maxLength < 3)
    throw new InvalidArgumentError(op, 'options.maxLength', `must be an integer ≥ 3, got ${String(maxLength)}`);
  if (pooling !== 'mean' && pooling !== 'cls')
    throw new InvalidArgumentError(op, 'options.pooling', `must be 'mean' or 'cls', got ${String(pooling)}`);
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1))
    throw new InvalidArgumentError(op, 'options.threads', `must be a positive integer, got ${String(options.threads)}`);
  return { device, batchSize, maxLength, pooling, normalize: normalize !== false, params: options.params ?? 0 };
}

/**
 * The bundled GeoLIP text model (as `loadGeolipText`) on onnxruntime-node: its weights are turned into an ONNX graph
 * in memory and run by onnxruntime. `options.weights` names shipped weights (default `geolip-text`).
 * @throws {BackendError} when onnxruntime-node is not installed (the message says how to install it).
 */
export async function loadGeolipTextOrt(
  options: OrtEmbedderOptions & { weights?: string; tokenizer?: BertTokenizer } = {},
): Promise<OrtSentenceEmbedder> {
  const op = 'loadGeolipText';
  const { weights = 'geolip-text', tokenizer, ...rest } = options;
  const shipped = textModels.shipped();
  const entry = typeof weights === 'string' && Object.hasOwn(shipped, weights) ? shipped[weights] : undefined;
  if (entry === undefined)
    throw new InvalidArgumentError(
      op,
      'options.weights',
      `must name shipped weights (${Object.keys(shipped).join(', ')})`,
    );
  loadOnnxRuntime(op);
  const path = await bundledAssetPath(op, 'weights', entry.file);
  const model = await captionEncoderOnnxFromFile(path, { op });
  const tok = tokenizer ?? (await loadBertUncasedTokenizer());
  return OrtSentenceEmbedder.fromOnnx(model.onnx, tok, {
    maxLength: model.maxLength,
    params: model.params,
    name: weights,
    normalize: false,
    ...rest,
  });
}
