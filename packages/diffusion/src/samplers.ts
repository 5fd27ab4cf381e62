import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, createRng } from '@geolip/geometry';

import { FLOW_CONVENTIONS, seededNormal } from './flow-matching.js';
import type { FlowConvention, VelocityModel } from './flow-matching.js';

/** A velocity field v(x, t): returns a new tensor the shape of x (the solvers dispose it). */
export type VelocityField = (x: tf.Tensor, t: number) => tf.Tensor;

/** The ODE solvers {@link odeSolve} accepts. */
export type OdeMethod = 'euler' | 'heun';

export const ODE_METHODS: readonly OdeMethod[] = Object.freeze(['euler', 'heun']);

/** Options of {@link odeSolve}, {@link eulerSolve} and {@link heunSolve}. */
export interface OdeSolveOptions {
  /** N ≥ 1 uniform steps. Default 50. */
  steps?: number;
  /** Start time. Default 1 (noise end of the `'noise_at_1'` convention). */
  tStart?: number;
  /** End time. Default 0. */
  tEnd?: number;
}

function checkSteps(op: string, steps: unknown): number {
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1) {
    throw new InvalidArgumentError(op, 'steps', `must be an integer >= 1, got ${String(steps)}`);
  }
  return steps;
}

function checkTime(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new InvalidArgumentError(op, name, `must be a finite number, got ${String(v)}`);
  return v;
}

/**
 * Integrates dx/dt = v(x, t) from `tStart` to `tEnd` over N uniform steps, h = (tEnd − tStart)/N,
 * t_k = tStart + k·h:
 *
 *     euler:  x_{k+1} = x_k + h·v(x_k, t_k)                                   (1 evaluation per step)
 *     heun:   x̃ = x_k + h·v(x_k, t_k);  x_{k+1} = x_k + h/2·(v(x_k, t_k) + v(x̃, t_{k+1}))   (2 per step)
 *
 * Euler is exact for a constant field; Heun (the trapezoid rule) is exact for fields affine in t
 * that do not depend on x. Heun corrects on every step, the last one included (a flow-matching field
 * is finite at t = 0, unlike an EDM denoiser at σ = 0).
 *
 * @param velocity - v(x, t); its results are disposed here.
 * @param x - the start state (not disposed).
 * @returns a new tensor, the state at `tEnd`. Intermediates are disposed.
 * @throws {InvalidArgumentError} If `steps` < 1 or not an integer, an unknown method, or a non-finite time.
 * @example
 * odeSolve((x) => tf.onesLike(x), tf.zeros([2]), { steps: 4, tStart: 0, tEnd: 1 }); // [1, 1]
 */
export function odeSolve(
  velocity: VelocityField,
  x: tf.Tensor,
  options: OdeSolveOptions & { method?: OdeMethod } = {},
  op = 'odeSolve',
): tf.Tensor {
  const method = options.method ?? 'euler';
  if (!ODE_METHODS.includes(method))
    throw new InvalidArgumentError(op, 'method', `must be 'euler' or 'heun', got ${String(method)}`);
  const steps = checkSteps(op, options.steps ?? 50);
  const t0 = checkTime(op, 'tStart', options.tStart ?? 1);
  const t1 = checkTime(op, 'tEnd', options.tEnd ?? 0);
  if (typeof velocity !== 'function')
    throw new InvalidArgumentError(op, 'velocity', 'must be a function (x, t) => tf.Tensor');
  if (!(x instanceof tf.Tensor)) throw new InvalidArgumentError(op, 'x', 'must be a tf.Tensor');
  const h = (t1 - t0) / steps;
  let state = tf.clone(x);
  for (let k = 0; k < steps; k++) {
    const t = t0 + k * h;
    const tNext = k === steps - 1 ? t1 : t0 + (k + 1) * h;
    const next = tf.tidy(() => {
      const v0 = velocity(state, t);
      if (v0.rank !== state.rank || v0.shape.some((s, i) => s !== state.shape[i]))
        throw new ShapeError(op, 'velocity', `[${state.shape.join(', ')}] (the shape of x)`, v0.shape);
      const euler = tf.add(state, tf.mul(v0, h));
      if (method === 'euler') return euler;
      const v1 = velocity(euler, tNext);
      return tf.add(state, tf.mul(tf.add(v0, v1), h / 2));
    });
    state.dispose();
    state = next;
  }
  return state;
}

/** {@link odeSolve} with `method: 'euler'`. */
export function eulerSolve(velocity: VelocityField, x: tf.Tensor, options: OdeSolveOptions = {}): tf.Tensor {
  return odeSolve(velocity, x, { ...options, method: 'euler' }, 'eulerSolve');
}

/** {@link odeSolve} with `method: 'heun'`. */
export function heunSolve(velocity: VelocityField, x: tf.Tensor, options: OdeSolveOptions = {}): tf.Tensor {
  return odeSolve(velocity, x, { ...options, method: 'heun' }, 'heunSolve');
}

/** Options of {@link sample}. */
export interface SampleOptions {
  /** One class label per image to generate (integers in [0, numClasses)). */
  labels: readonly number[] | Int32Array;
  /** `[H, W, C]` of one image. Default: from `model.config` (`imageSize`, `channels`) when the model has one. */
  imageShape?: readonly [number, number, number];
  /** N ≥ 1 solver steps. Default 50. */
  steps?: number;
  /** Default `'euler'` (spec §12.3: "euler discrete ODE flow matching"). */
  method?: OdeMethod;
  /** Seed of the start noise (the seeded generator of `@geolip/geometry`). Default 0. */
  seed?: number;
  /** Must match training. Default `'noise_at_1'`: integrate t = 1 → 0. */
  convention?: FlowConvention;
  /** Number of classes, to range-check labels. Default: `model.config.numClasses` when present. */
  numClasses?: number;
}

/**
 * Class-conditional generation: ε ~ N(0, I) from a seeded generator, then the ODE dx/dt = v_θ(x, t, c)
 * from the noise end to the data end (t = 1 → 0 for `'noise_at_1'`, 0 → 1 for `'data_at_1'`).
 * The same seed, labels and weights give the same images on a given backend.
 *
 * @param model - the velocity network (e.g. a {@link GlfmModel}).
 * @returns `[B, H, W, C]` float32 samples (B = labels.length), the model's data scale (e.g. [−1, 1]).
 * @throws {InvalidArgumentError} If `steps` < 1, a label is not an integer (or out of range with
 *   `numClasses`), the labels are empty, or the method / convention is unknown.
 * @example
 * const images = sample(model, { labels: [0, 1, 2], imageShape: [28, 28, 1], steps: 20, seed: 7 });
 */
export function sample(model: VelocityModel, options: SampleOptions): tf.Tensor4D {
  const op = 'sample';
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(op, 'options', 'must be an object');
  const config = (model as { config?: { imageSize?: number; channels?: number; numClasses?: number } }).config;
  const numClasses = options.numClasses ?? config?.numClasses;
  const steps = checkSteps(op, options.steps ?? 50);
  const convention = options.convention ?? 'noise_at_1';
  if (!FLOW_CONVENTIONS.includes(convention))
    throw new InvalidArgumentError(op, 'convention', `must be 'noise_at_1' or 'data_at_1', got ${String(convention)}`);
  const labels = options.labels;
  if (labels === undefined || labels === null || typeof labels.length !== 'number' || labels.length === 0) {
    throw new InvalidArgumentError(op, 'labels', 'must be a non-empty array of integer class labels');
  }
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || (numClasses !== undefined && l >= numClasses)) {
      throw new InvalidArgumentError(
        op,
        'labels',
        `must hold integers in [0, ${numClasses ?? '∞'}), got ${l} at index ${i}`,
      );
    }
  }
  const shape =
    options.imageShape ??
    (config?.imageSize !== undefined && config.channels !== undefined
      ? [config.imageSize, config.imageSize, config.channels]
      : undefined);
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new InvalidArgumentError(op, 'imageShape', `must be [H, W, C] positive integers, got ${String(shape)}`);
  }
  const b = labels.length;
  const rng = createRng(options.seed ?? 0);
  const noise = seededNormal([b, ...shape], rng);
  const labelTensor = tf.tensor1d(Int32Array.from(labels), 'int32');
  try {
    const [tStart, tEnd] = convention === 'noise_at_1' ? [1, 0] : [0, 1];
    const field: VelocityField = (x, t) =>
      tf.tidy(() => model.forward(x as tf.Tensor4D, tf.fill([b], t) as tf.Tensor1D, labelTensor));
    return odeSolve(field, noise, { steps, tStart, tEnd, method: options.method ?? 'euler' }, op) as tf.Tensor4D;
  } finally {
    tf.dispose([noise, labelTensor]);
  }
}
