import * as tf from '@tensorflow/tfjs-core';

import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertInteger, bindShapes } from '../checks/assert-shape.js';

/**
 * Shared plumbing of the tensor diagnostics (internal, not re-exported): argument checks, row
 * normalization and the row-block size that keeps every N×N product below ~2M entries.
 * @internal
 */

/** Entries of one `[blockRows, N]` similarity block, by default (8 MB of float32). */
const BLOCK_ENTRIES = 1 << 21;

/** Options shared by the row-blocked diagnostics. */
export interface RowBlockOptions {
  /**
   * Rows of the `[blockRows, N]` cosine block computed at once. Default `max(1, ⌊2²¹/N⌋)`, i.e. about
   * 8 MB of float32 per block whatever N is (N = 20 000 gives blocks of 104 rows); a block lives
   * with a few same-sized temporaries (mask, masked copy) until its row results are extracted.
   */
  blockRows?: number;
}

/** @internal Checks `embeddings` is a `[N ≥ 2, D]` tensor and returns N, D. */
export function checkEmbeddings(op: string, embeddings: unknown): [number, number] {
  if (!(embeddings instanceof tf.Tensor)) {
    throw new InvalidArgumentError(
      op,
      'embeddings',
      'must be a tf.Tensor2D, got ' +
        (embeddings === null ? 'null' : Array.isArray(embeddings) ? 'an array' : typeof embeddings),
    );
  }
  const [n, d] = bindShapes(op).check('embeddings', embeddings, ['N', 'D']) as [number, number];
  if (n < 2)
    throw new ShapeError(
      op,
      'embeddings',
      '[N, D] with N ≥ 2',
      embeddings.shape,
      'need at least two rows to form pairs',
    );
  return [n, d];
}

/** @internal Validates `blockRows` (or picks the default) for N rows. */
export function resolveBlockRows(op: string, n: number, options: RowBlockOptions | undefined): number {
  if (options?.blockRows === undefined) return Math.max(1, Math.min(n, Math.floor(BLOCK_ENTRIES / n)));
  return Math.min(n, assertInteger(op, 'options.blockRows', options.blockRows, 1));
}

/**
 * @internal Labels as compact class ids 0..C−1 (in order of first appearance) plus C.
 * @throws {ShapeError} If `labels` does not hold N entries.
 * @throws {InvalidArgumentError} If a label is not an integer.
 */
export function compactLabels(
  op: string,
  labels: Int32Array | readonly number[],
  n: number,
): { ids: Int32Array; classes: number } {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) {
    throw new InvalidArgumentError(
      op,
      'labels',
      `must be an Int32Array or an array of integers, got ${labels === null ? 'null' : typeof labels}`,
    );
  }
  if (labels.length !== n) throw new ShapeError(op, 'labels', `[N=${n}]`, [labels.length]);
  const ids = new Int32Array(n);
  const map = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (typeof label !== 'number' || !Number.isInteger(label)) {
      throw new InvalidArgumentError(op, 'labels', `must hold integers, got ${String(label)} at index ${i}`);
    }
    let id = map.get(label);
    if (id === undefined) {
      id = map.size;
      map.set(label, id);
    }
    ids[i] = id;
  }
  return { ids, classes: map.size };
}

/** @internal Rows divided by max(‖row‖, 1e-12) (as torch `F.normalize`): a zero row stays zero. */
export function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const xf = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    return tf.div(xf, tf.maximum(tf.norm(xf, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
  });
}
