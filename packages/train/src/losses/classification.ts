import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';

import { assertNumber, bindShapes, checkFloat, oneHotFloat, readLabels, type LabelsLike } from './checks.js';

/** Options of {@link bceWithLabelSmoothing}. */
export interface BceOptions {
  /** ε, the label smoothing. Default 0.1 (dual-stream v6 card, spec §8.3). In [0, 1). */
  smoothing?: number;
}

/**
 * Binary cross-entropy with logits and label smoothing (spec §8.3), mean over all B·C entries.
 *
 *     y_s = y·(1 − ε) + ε/C;   L = mean_{b,c} [max(x, 0) − x·y_s + log(1 + e^{−|x|})]
 *
 * @param logits - `[B, C]` raw scores.
 * @param targets - `[B, C]` float32 targets, 0/1 (one-hot or multi-label).
 * @param options - `smoothing` ε (default 0.1; 0 gives plain `BCEWithLogits`).
 * @returns scalar loss; one new tensor.
 *
 * @throws {ShapeError} if `logits` is not `[B, C]` or `targets` is not the same `[B, C]`.
 * @throws {InvalidArgumentError} for non-float32 inputs or ε outside [0, 1).
 *
 * @remarks
 * - [INFER] The card gives "BCE with label smoothing 0.1" but no formula; this uses the spec's
 *   suggestion y(1 − ε) + ε/C (the multi-class smoothing applied per entry), so with C = 10 and
 *   ε = 0.1 a positive becomes 0.91 and a negative 0.01.
 * - The stable form above equals −[y_s log σ(x) + (1 − y_s) log(1 − σ(x))] without overflow.
 * - Targets are not checked to be 0/1 (that would read data). O(B·C); stays on the backend; a NaN
 *   logit makes the loss NaN.
 *
 * @example
 * // log 2 ≈ 0.6931472
 * bceWithLabelSmoothing(tf.tensor2d([[0, 0]]), tf.tensor2d([[1, 0]]), { smoothing: 0 }).dataSync()[0];
 *
 * @see torch.nn.functional.binary_cross_entropy_with_logits.
 */
export function bceWithLabelSmoothing(logits: tf.Tensor2D, targets: tf.Tensor2D, options: BceOptions = {}): tf.Scalar {
  const op = 'bceWithLabelSmoothing';
  const shapes = bindShapes(op);
  checkFloat(op, shapes, 'logits', logits, ['B', 'C']);
  checkFloat(op, shapes, 'targets', targets, ['B', 'C']);
  const eps = assertNumber(op, 'smoothing', options.smoothing ?? 0.1, 0, 1);
  if (eps >= 1) throw new InvalidArgumentError(op, 'smoothing', `must be in [0, 1), got ${eps}`);
  const c = logits.shape[1];
  return tf.tidy(() => {
    const y = eps === 0 ? targets : tf.add(tf.mul(targets, 1 - eps), eps / c);
    const perEntry = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(perEntry) as tf.Scalar;
  });
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** ε: targets become (1 − ε)·onehot + ε/C (PyTorch's `label_smoothing`). Default 0. In [0, 1]. */
  labelSmoothing?: number;
}

/**
 * Softmax cross-entropy against integer class labels, mean over the batch.
 *
 *     t = (1 − ε)·onehot(y) + ε/C;   L = −(1/B) Σ_b Σ_c t_bc · log softmax(x_b)_c
 *
 * @param logits - `[B, C]` raw scores.
 * @param labels - `[B]` class ids in [0, C): an int32 `tf.Tensor1D` (read to the CPU), a `number[]` or an `Int32Array`.
 * @param options - `labelSmoothing` ε (default 0).
 * @returns scalar loss; one new tensor.
 *
 * @throws {ShapeError} if `logits` is not `[B, C]` or `labels` is not `[B]`.
 * @throws {InvalidArgumentError} for non-integer labels, labels outside [0, C), a non-float32 `logits` or ε
 *   outside [0, 1].
 *
 * @remarks
 * - Labels are read to the CPU and validated there; the one-hot is built as int32 and cast (the
 *   wasm backend's float oneHot is wrong). Gradient flows to `logits` only.
 * - O(B·C); a NaN logit makes its row's term NaN.
 *
 * @example
 * crossEntropy(tf.tensor2d([[0, 0]]), [1]).dataSync()[0]; // log 2 ≈ 0.6931472
 *
 * @see torch.nn.functional.cross_entropy.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: LabelsLike, options: CrossEntropyOptions = {}): tf.Scalar {
  const op = 'crossEntropy';
  const shapes = bindShapes(op);
  checkFloat(op, shapes, 'logits', logits, ['B', 'C']);
  const eps = assertNumber(op, 'labelSmoothing', options.labelSmoothing ?? 0, 0, 1);
  const [b, c] = logits.shape;
  const y = readLabels(op, 'labels', labels, b, c);
  return tf.tidy(() => {
    const hot = oneHotFloat(y, c);
    const t = eps === 0 ? hot : tf.add(tf.mul(hot, 1 - eps), eps / c);
    return tf.neg(tf.div(tf.sum(tf.mul(t, tf.logSoftmax(logits, 1))), b)) as tf.Scalar;
  });
}
