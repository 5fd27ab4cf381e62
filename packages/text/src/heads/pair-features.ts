import * as tf from '@tensorflow/tfjs-core';

import { ShapeBinder, matrixInput, pairFeaturesOf, type EmbeddingInput } from './inputs.js';

/**
 * The pair features the similarity and NLI heads read (InferSent / Sentence-BERT):
 *
 *     f = [u, v, |u − v|, u ⊙ v]
 *
 * @param u - `[B, D]` embeddings of the first sentences (tensor or rows).
 * @param v - `[B, D]` embeddings of the second sentences.
 * @returns `[B, 4D]`: columns 0..D−1 are u, D..2D−1 v, 2D..3D−1 |u − v|, 3D..4D−1 u ⊙ v. One new tensor.
 * @throws {ShapeError} if `u` is not rank 2 or `v` is not `[B, D]` with u's sizes.
 * @throws {InvalidArgumentError} for a non-float32 tensor or an input that is neither a tensor nor rows.
 *
 * @example
 * pairFeatures([[1, 2]], [[3, 0]]).print(); // [[1, 2, 3, 0, 2, 2, 3, 0]]
 */
export function pairFeatures(u: EmbeddingInput, v: EmbeddingInput): tf.Tensor2D {
  const op = 'pairFeatures';
  return tf.tidy(() => {
    const shapes = new ShapeBinder(op);
    const ut = matrixInput(op, 'u', u, shapes, ['B', 'D']);
    const vt = matrixInput(op, 'v', v, shapes, ['B', 'D']);
    return pairFeaturesOf(ut, vt);
  });
}
