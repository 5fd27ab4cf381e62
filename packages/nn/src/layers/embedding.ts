import * as tf from '@tensorflow/tfjs-core';

import { Module, checkParameterBudget, toRng } from '../module.js';
import type { InitSeed } from '../module.js';
import { assertInteger, checkIds, checkOptions, checkSize } from './checks.js';

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /**
   * A row that starts at zero and receives no gradient (PyTorch `padding_idx`), e.g. 0 for BERT's
   * `[PAD]`. Default: none.
   */
  paddingIdx?: number;
  /** Seed (or generator) of the initialization. Default 0. */
  seed?: InitSeed;
}

/** Upper bound on the elements of one one-hot chunk in the fallback gradient (4 Mi floats = 16 MiB). */
const ONE_HOT_CHUNK_ELEMENTS = 1 << 22;

/**
 * A lookup table of `num` learned vectors, PyTorch `nn.Embedding(num, dim, padding_idx)`:
 *
 *     y[..., :] = weight[ids[...], :]
 *
 * Parameter (PyTorch name): `weight` `[num, dim]`, init N(0, 1) as PyTorch, with the `paddingIdx`
 * row set to zero. Count: num·dim.
 *
 * @remarks
 * - **Ids are not range-checked**: that would read them back from the device. An id outside
 *   [0, num) makes tfjs's cpu backend throw from its GatherV2 kernel; GPU backends return a zero row.
 * - **Gradient.** The lookup is `tf.gather` wrapped in `tf.customGrad`, so the table's gradient does
 *   not depend on tfjs's own GatherV2 gradient (which needs `UnsortedSegmentSum`, missing on wasm
 *   in tfjs 4.22): when the active backend has `UnsortedSegmentSum` (cpu, webgl, webgpu, or wasm
 *   once `@geolip/nn/backend` registers it) it is `unsortedSegmentSum(dy, ids, num)`; otherwise it is
 *   `oneHot(ids)ᵀ·dy`, in chunks of ⌊2²² / num⌋ ids so the one-hot block stays ≤ 16 MiB (the one-hot
 *   is built as int32 and cast, working around wasm's float `OneHot` bug). Both give the same sums.
 *   The `paddingIdx` row's gradient is zero (PyTorch semantics). The ids get no gradient.
 * - O(N·dim) forward for N ids; stays on the backend.
 *
 * @example
 * const emb = new Embedding(10, 4, { paddingIdx: 0, seed: 0 });
 * emb.forward(tf.tensor2d([[3, 1, 0]], [1, 3], 'int32')).shape; // [1, 3, 4]; the last row is zeros
 */
export class Embedding extends Module {
  readonly num: number;
  readonly dim: number;
  readonly paddingIdx: number | null;
  /** `[num, dim]`. */
  readonly weight: tf.Variable<tf.Rank.R2>;

  /** @throws {InvalidArgumentError} if a size is not a positive integer or `paddingIdx` is not in [0, num). */
  constructor(num: number, dim: number, options?: EmbeddingOptions) {
    super();
    const op = 'Embedding';
    const opts = checkOptions(op, options);
    this.num = checkSize(op, 'num', num);
    this.dim = checkSize(op, 'dim', dim);
    this.paddingIdx =
      opts.paddingIdx === undefined ? null : assertInteger(op, 'paddingIdx', opts.paddingIdx, 0, num - 1);
    this.weight = this.addParameter(
      'weight',
      normalTable(num, dim, this.paddingIdx, opts.seed),
    ) as tf.Variable<tf.Rank.R2>;
  }

  /**
   * @param ids - int32 token ids of any shape `[...S]`, usually `[B, L]`; each in [0, num) (not checked).
   * @returns `[...S, dim]` float32.
   * @throws {InvalidArgumentError} if `ids` is not an int32 tensor.
   */
  forward(ids: tf.Tensor): tf.Tensor {
    const op = 'Embedding.forward';
    this.assertLive('forward');
    checkIds(op, 'ids', ids);
    return embeddingLookup(this.weight, ids, this.paddingIdx);
  }
}

/** N(0, 1) `[num, dim]`, row-major draws (as `normalInit`), with the `paddingIdx` row zeroed. */
export function normalTable(
  num: number,
  dim: number,
  paddingIdx: number | null,
  seed: InitSeed | undefined,
): tf.Tensor2D {
  checkParameterBudget([num, dim]);
  const rng = toRng(seed);
  const data = new Float32Array(num * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  if (paddingIdx !== null) data.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
  return tf.tensor2d(data, [num, dim]);
}

/**
 * `table[ids]` (`[...S]` int32 → `[...S, D]`) with the gradient described in {@link Embedding}.
 * Internal: no argument checks.
 */
function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor, paddingIdx: number | null = null): tf.Tensor {
  const [num, dim] = table.shape;
  return tf.tidy(() => {
    const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
    const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const t = args[0] as tf.Tensor2D;
      (args[1] as tf.GradSaveFunc)([flat]);
      return {
        value: tf.gather(t, flat) as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          embeddingTableGradient(dy as tf.Tensor2D, saved[0] as tf.Tensor1D, num, paddingIdx),
      };
    });
    const rows = lookup(table);
    return tf.reshape(rows, [...ids.shape, dim]);
  });
}

/** Test hooks of {@link embeddingTableGradient}. */
export interface TableGradientOptions {
  /** Take the one-hot path even where `UnsortedSegmentSum` exists. */
  forceOneHot?: boolean;
  /** Elements per one-hot chunk (default 2²²). */
  chunkElements?: number;
}

/**
 * Σ over the ids of dy's rows into a `[num, D]` table (rows never looked up are zero; the
 * `paddingIdx` row is zero). Internal: `dy` `[N, D]`, `ids` `[N]` int32.
 */
export function embeddingTableGradient(
  dy: tf.Tensor2D,
  ids: tf.Tensor1D,
  num: number,
  paddingIdx: number | null,
  options: TableGradientOptions = {},
): tf.Tensor2D {
  return tf.tidy(() => {
    let grad: tf.Tensor2D;
    if (!options.forceOneHot && tf.getKernel('UnsortedSegmentSum', tf.getBackend()) !== undefined) {
      grad = tf.unsortedSegmentSum(dy, ids, num);
    } else {
      const n = ids.shape[0];
      const chunk = Math.max(1, Math.floor((options.chunkElements ?? ONE_HOT_CHUNK_ELEMENTS) / num));
      grad = tf.zeros([num, dy.shape[1]]) as tf.Tensor2D; // n = 0 stays zero
      for (let start = 0; start < n; start += chunk) {
        const size = Math.min(chunk, n - start);
        // int32 then cast: wasm float OneHot bug
        const oneHot = tf.cast(tf.oneHot(tf.slice(ids, [start], [size]), num), 'float32');
        const part = tf.matMul(oneHot, tf.slice(dy, [start, 0], [size, -1]), true, false) as tf.Tensor2D;
        grad = start === 0 ? part : (tf.add(grad, part) as tf.Tensor2D);
      }
    }
    if (paddingIdx !== null) {
      const keep = new Float32Array(num).fill(1);
      keep[paddingIdx] = 0;
      grad = tf.mul(grad, tf.tensor2d(keep, [num, 1]));
    }
    return grad;
  });
}
