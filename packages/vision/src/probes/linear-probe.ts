/**
 * A linear probe: softmax regression on frozen feature rows, the baseline that says what a head on top of the same
 * features adds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';

import { accuracyOf, checkRows, checkSizes, checkSplit, unitRows } from './features.js';
import type { LabeledFeatures } from './features.js';

/** Options of {@link fitLinearProbe}. */
export interface LinearProbeOptions {
  /** Feature width. */
  dim: number;
  classes: number;
  /** Full-batch Adam steps. Default 500. */
  steps?: number;
  /** Adam learning rate. Default 0.05. */
  lr?: number;
  /** L2 penalty l2·‖W‖² added to the mean cross-entropy. Default 0 (the validation split picks the step instead). */
  l2?: number;
  /** Measure the validation accuracy every this many steps (and after the last). Default 10. */
  evalEvery?: number;
  /** L2-normalize every row first (as GeoFractalDavid does with its input). Default true. */
  normalize?: boolean;
}

/** A fitted {@link fitLinearProbe}: the weights of its best validation step, on the host. */
export interface LinearProbe {
  /** The step whose weights are kept: the best validation accuracy (the earliest of equal ones). */
  step: number;
  valAccuracy: number;
  /** Validation accuracy every `evalEvery` steps. */
  history: { step: number; valAccuracy: number }[];
  /** `[n]` argmax class of each row of `x` (`[n·dim]`); ties go to the lower class. */
  predict(x: Float32Array): Int32Array;
  /** `[n·classes]` the logits W x̃ + b of each row of `x` (`[n·dim]`): per-class scores, e.g. for a mAP. */
  scores(x: Float32Array): Float32Array;
  /** Share of `split`'s rows predicted as labelled. */
  accuracy(split: LabeledFeatures): number;
}

/**
 * Fits softmax regression W x̃ + b on the training rows and keeps the weights of the step with the best validation
 * accuracy.
 *
 *     x̃ = (x̂ − μ) / σ      x̂ = x/‖x‖ (with `normalize`), μ, σ per column over the training rows (σ = 1 where 0)
 *     loss = mean_i CE(softmax(W x̃_i + b), y_i) + l2·‖W‖²      W, b from zeros, full-batch Adam
 *
 * The standardization is an invertible affine map, so the probe stays linear in the features; it only conditions
 * Adam. Deterministic: no sampling anywhere.
 *
 * @param train - the rows it learns from.
 * @param val - the rows that choose the step (never the test split).
 * @throws {InvalidArgumentError} a size, step count, rate or label out of range.
 * @throws {ShapeError} a split whose `x` does not hold one row of `dim` per label.
 *
 * @remarks
 * - O(steps·n·dim·classes) on the active backend; the predictions run on the host (O(n·dim·classes)).
 * - Holds no tensors after it returns.
 *
 * @example
 * const probe = await fitLinearProbe(train, val, { dim: 128, classes: 10 });
 * probe.accuracy(test); // measured once, after the validation split chose the step
 */
export async function fitLinearProbe(
  train: LabeledFeatures,
  val: LabeledFeatures,
  options: LinearProbeOptions,
): Promise<LinearProbe> {
  const op = 'fitLinearProbe';
  const { dim, classes, steps = 500, lr = 0.05, l2 = 0, evalEvery = 10, normalize = true } = options;
  checkSizes(op, dim, classes);
  for (const [name, v] of [
    ['steps', steps],
    ['evalEvery', evalEvery],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new InvalidArgumentError(op, `options.${name}`, `must be a positive integer, got ${String(v)}`);
  }
  if (!(lr > 0)) throw new InvalidArgumentError(op, 'options.lr', `must be > 0, got ${String(lr)}`);
  if (!(l2 >= 0)) throw new InvalidArgumentError(op, 'options.l2', `must be >= 0, got ${String(l2)}`);
  const n = checkSplit(op, 'train', train, dim, classes);
  const nVal = checkSplit(op, 'val', val, dim, classes);
  if (n === 0) throw new InvalidArgumentError(op, 'train', 'has no rows');
  if (nVal === 0) throw new InvalidArgumentError(op, 'val', 'has no rows');

  // Column statistics of the (normalized) training rows.
  const xTrain = normalize ? unitRows(train.x, dim) : train.x;
  const mean = new Float64Array(dim);
  const scale = new Float64Array(dim);
  for (let r = 0; r < n * dim; r += dim) for (let j = 0; j < dim; j++) mean[j]! += xTrain[r + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= n;
  for (let r = 0; r < n * dim; r += dim) for (let j = 0; j < dim; j++) scale[j]! += (xTrain[r + j]! - mean[j]!) ** 2;
  for (let j = 0; j < dim; j++) {
    const sd = Math.sqrt(scale[j]! / n);
    scale[j] = sd > 1e-12 ? 1 / sd : 1;
  }
  const prepare = (x: Float32Array, alreadyNormalized = false): Float32Array => {
    const u = normalize && !alreadyNormalized ? unitRows(x, dim) : x;
    const out = new Float32Array(u.length);
    for (let r = 0; r < u.length; r += dim)
      for (let j = 0; j < dim; j++) out[r + j] = (u[r + j]! - mean[j]!) * scale[j]!;
    return out;
  };

  // Predictions always run here, on the host, so the validation accuracy that picks the step and a later
  // `accuracy(test)` are the same computation.
  const hostLogits = (u: Float32Array, i: number, wHost: Float32Array, bHost: Float32Array, logits: Float64Array) => {
    logits.set(bHost);
    for (let j = 0; j < dim; j++) {
      const v = u[i * dim + j]!;
      if (v === 0) continue;
      for (let c = 0; c < classes; c++) logits[c]! += v * wHost[j * classes + c]!;
    }
  };
  const hostPredict = (u: Float32Array, wHost: Float32Array, bHost: Float32Array): Int32Array => {
    const m = u.length / dim;
    const out = new Int32Array(m);
    const logits = new Float64Array(classes);
    for (let i = 0; i < m; i++) {
      hostLogits(u, i, wHost, bHost, logits);
      let arg = 0;
      for (let c = 1; c < classes; c++) if (logits[c]! > logits[arg]!) arg = c;
      out[i] = arg;
    }
    return out;
  };

  let best = { step: 0, valAccuracy: -1, w: new Float32Array(dim * classes), b: new Float32Array(classes) };
  const history: { step: number; valAccuracy: number }[] = [];
  const uVal = prepare(val.x);
  const w = tf.tidy(() => tf.variable(tf.zeros([dim, classes]), true));
  const b = tf.tidy(() => tf.variable(tf.zeros([classes]), true));
  const x = tf.tensor2d(prepare(xTrain, true), [n, dim]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(train.labels), 'int32'), classes));
  const optimizer = tf.train.adam(lr);
  try {
    for (let s = 1; s <= steps; s++) {
      optimizer.minimize(
        () =>
          tf.tidy(() => {
            const ce = tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar;
            return l2 > 0 ? (tf.add(ce, tf.mul(l2, tf.sum(tf.square(w)))) as tf.Scalar) : ce;
          }),
        false,
        [w, b],
      );
      if (s % evalEvery !== 0 && s !== steps) continue;
      const wHost = Float32Array.from((await w.data()) as Float32Array);
      const bHost = Float32Array.from((await b.data()) as Float32Array);
      const valAccuracy = accuracyOf(hostPredict(uVal, wHost, bHost), val.labels);
      history.push({ step: s, valAccuracy });
      if (valAccuracy > best.valAccuracy) best = { step: s, valAccuracy, w: wHost, b: bHost };
    }
  } finally {
    optimizer.dispose();
    tf.dispose([w, b, x, y]);
  }

  const predict = (rows: Float32Array): Int32Array => {
    checkRows('LinearProbe.predict', 'x', rows, dim);
    return hostPredict(prepare(rows), best.w, best.b);
  };
  return {
    step: best.step,
    valAccuracy: best.valAccuracy,
    history,
    predict,
    scores(rows: Float32Array): Float32Array {
      const m = checkRows('LinearProbe.scores', 'x', rows, dim);
      const u = prepare(rows);
      const out = new Float32Array(m * classes);
      const logits = new Float64Array(classes);
      for (let i = 0; i < m; i++) {
        hostLogits(u, i, best.w, best.b, logits);
        out.set(logits, i * classes);
      }
      return out;
    },
    accuracy(split: LabeledFeatures): number {
      checkSplit('LinearProbe.accuracy', 'split', split, dim, classes);
      return accuracyOf(predict(split.x), split.labels);
    },
  };
}
