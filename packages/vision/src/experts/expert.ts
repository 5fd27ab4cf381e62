/** The batching loop shared by the image experts. */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

import { normalizeRowsInPlace, readInput, type ResolvedOptions } from './input.js';
import type { ImageExpert } from './types.js';

/** What a model contributes to {@link makeImageExpert}. */
export interface BackboneSpec {
  name: string;
  dim: number;
  params: number;
  /** Side of the square input. */
  side: number;
  /** `[B, side, side, 3]` NHWC float32 in [0, 1] → `[B, dim]` pooled features; called inside `tf.tidy`. */
  forward(x: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

/** Wraps a backbone into an {@link ImageExpert}: reads, preprocesses and embeds `batchSize` images at a time. */
export function makeImageExpert(spec: BackboneSpec, options: ResolvedOptions): ImageExpert {
  const { name, dim, params, side } = spec;
  let disposed = false;
  return {
    name,
    dim,
    params,
    async embed(inputs: readonly string[]): Promise<Float32Array> {
      if (disposed) throw new InvalidArgumentError(name, 'this', 'the expert was disposed');
      if (!Array.isArray(inputs)) throw new InvalidArgumentError(name, 'inputs', 'must be an array of image paths');
      const out = new Float32Array(inputs.length * dim);
      const pixels = side * side * 3;
      for (let start = 0; start < inputs.length; start += options.batchSize) {
        const end = Math.min(inputs.length, start + options.batchSize);
        const batch = new Float32Array((end - start) * pixels);
        for (let i = start; i < end; i++)
          batch.set(await readInput(name, i, inputs[i], side, options.fit), (i - start) * pixels);
        const y = tf.tidy(() => spec.forward(tf.tensor4d(batch, [end - start, side, side, 3])));
        try {
          if (y.shape[0] !== end - start || y.shape[1] !== dim)
            throw new ShapeError(name, 'features', `[B=${end - start}, D=${dim}]`, y.shape, 'unexpected model output');
          out.set((await y.data()) as Float32Array, start * dim);
        } finally {
          y.dispose();
        }
      }
      if (options.normalize) normalizeRowsInPlace(out, dim);
      return out;
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      spec.dispose();
    },
  };
}
