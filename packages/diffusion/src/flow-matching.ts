import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, createRng } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { assertFloatTensor } from '@geolip/geometry/checks';

/**
 * Where noise and data sit on the time axis:
 * - `'noise_at_1'` (default, spec §12.3): x_t = (1 − t)·x0 + t·ε, v* = ε − x0; sample from t = 1 to 0.
 * - `'data_at_1'` (the "Lune" convention): x_t = t·x0 + (1 − t)·ε, v* = x0 − ε; sample from t = 0 to 1.
 * In both, dx_t/dt = v*, so the sampler integrates dx/dt = v_θ toward the data end.
 */
export type FlowConvention = 'noise_at_1' | 'data_at_1';

export const FLOW_CONVENTIONS: readonly FlowConvention[] = Object.freeze(['noise_at_1', 'data_at_1']);

/** How training times are drawn: U(0, 1), or logit-normal t = σ(m + s·z), z ~ N(0, 1) (SD3). */
export type TimeSampling = 'uniform' | 'logit_normal';

export const TIME_SAMPLINGS: readonly TimeSampling[] = Object.freeze(['uniform', 'logit_normal']);

/** Options of {@link sampleTimes}. */
export interface SampleTimesOptions {
  /** Default `'uniform'` (spec §12.3). */
  sampling?: TimeSampling;
  /** m of the logit-normal. Default 0. */
  mean?: number;
  /** s of the logit-normal (> 0). Default 1. */
  std?: number;
}

/**
 * n training times in [0, 1] from `rng` (the seeded generator of `@geolip/geometry`, so the same seed
 * gives the same times on every backend).
 *
 *     uniform:       t = u,            u ~ U(0, 1)
 *     logit_normal:  t = σ(m + s·z),   z ~ N(0, 1)
 *
 * @throws {InvalidArgumentError} On n < 1, an unknown sampling or a non-positive std.
 * @example
 * sampleTimes(4, createRng(0), { sampling: 'logit_normal' }); // Float32Array(4), concentrated near 0.5
 */
export function sampleTimes(n: number, rng: Rng, options: SampleTimesOptions = {}): Float32Array {
  const op = 'sampleTimes';
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(op, 'n', `must be an integer >= 1, got ${String(n)}`);
  const sampling = options.sampling ?? 'uniform';
  if (!TIME_SAMPLINGS.includes(sampling))
    throw new InvalidArgumentError(op, 'sampling', `must be 'uniform' or 'logit_normal', got ${String(sampling)}`);
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  if (!Number.isFinite(mean)) throw new InvalidArgumentError(op, 'mean', `must be finite, got ${mean}`);
  if (!(std > 0) || !Number.isFinite(std))
    throw new InvalidArgumentError(op, 'std', `must be a finite number > 0, got ${std}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = sampling === 'uniform' ? rng.uniform() : 1 / (1 + Math.exp(-(mean + std * rng.normal())));
  return out;
}

/** `n` standard normal values from `rng`, as a float32 tensor of `shape`. */
export function seededNormal(shape: number[], rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return tf.tensor(data, shape, 'float32');
}

/** Result of {@link interpolate}: new tensors owned by the caller. */
export interface FlowPair {
  /** x_t, the shape of x0. */
  xt: tf.Tensor;
  /** v*, the velocity target, the shape of x0. */
  target: tf.Tensor;
}

function checkConvention(op: string, c: unknown): FlowConvention {
  if (!FLOW_CONVENTIONS.includes(c as FlowConvention))
    throw new InvalidArgumentError(op, 'convention', `must be 'noise_at_1' or 'data_at_1', got ${String(c)}`);
  return c as FlowConvention;
}

/**
 * The rectified-flow interpolant and its velocity target (spec §12.3):
 *
 *     noise_at_1:  x_t = (1 − t)·x0 + t·ε,   v* = ε − x0
 *     data_at_1:   x_t = t·x0 + (1 − t)·ε,   v* = x0 − ε
 *
 * @param x0 - `[B, ...]` float32 data.
 * @param noise - ε, the shape of x0.
 * @param t - `[B]` float32 times (one per sample, broadcast over the other axes).
 * @throws {ShapeError} If noise's shape differs from x0's or t is not `[B]`.
 * @example
 * const { xt, target } = interpolate(tf.ones([1, 2]), tf.zeros([1, 2]), tf.tensor1d([0.25]));
 * // xt = [[0.75, 0.75]], target = [[-1, -1]]
 */
export function interpolate(
  x0: tf.Tensor,
  noise: tf.Tensor,
  t: tf.Tensor1D,
  options: { convention?: FlowConvention } = {},
): FlowPair {
  const op = 'interpolate';
  const convention = checkConvention(op, options.convention ?? 'noise_at_1');
  assertFloatTensor(op, 'x0', x0, 1);
  assertFloatTensor(op, 'noise', noise);
  assertFloatTensor(op, 't', t);
  if (noise.rank !== x0.rank || noise.shape.some((s, i) => s !== x0.shape[i]))
    throw new ShapeError(op, 'noise', `[${x0.shape.join(', ')}] (the shape of x0)`, noise.shape);
  if (t.rank !== 1 || t.shape[0] !== x0.shape[0]) throw new ShapeError(op, 't', `[B=${x0.shape[0]}]`, t.shape);
  return tf.tidy(() => {
    const tb = tf.reshape(t, [x0.shape[0]!, ...x0.shape.slice(1).map(() => 1)]);
    const [atData, atNoise] = convention === 'noise_at_1' ? [tf.sub(1, tb), tb] : [tb, tf.sub(1, tb)];
    const xt = tf.add(tf.mul(atData, x0), tf.mul(atNoise, noise));
    const target = convention === 'noise_at_1' ? tf.sub(noise, x0) : tf.sub(x0, noise);
    return { xt, target };
  });
}

/** Mean squared error over every element, `mean((pred − target)²)` (a scalar). */
export function velocityMse(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  const op = 'velocityMse';
  assertFloatTensor(op, 'pred', pred);
  assertFloatTensor(op, 'target', target);
  if (pred.rank !== target.rank || pred.shape.some((s, i) => s !== target.shape[i]))
    throw new ShapeError(op, 'target', `[${pred.shape.join(', ')}] (the shape of pred)`, target.shape);
  return tf.tidy(() => tf.mean(tf.squaredDifference(pred, target)) as tf.Scalar);
}

/**
 * The velocity cosine: per sample, the cosine between the predicted and the target velocity over all H·W·C values,
 * averaged over the batch (a scalar):
 *
 *     cos_b = ⟨vec v_θ,b, vec v*_b⟩ / (‖vec v_θ,b‖·‖vec v*_b‖ + 1e-12),   result = mean_b cos_b
 *
 * [INFER] the card's "velocity cosine" ("0.949 of 768 triangulation dims against 16,384 unconstrained"): how well
 * the direction of the velocity is predicted, whatever its length; the glfm recipe logs it per epoch beside the loss.
 * @param pred - `[B, …]` predicted velocities; `target` the same shape.
 * @example
 * velocityCosine(tf.tensor2d([[1, 0], [1, 1]]), tf.tensor2d([[2, 0], [-1, 1]])).dataSync()[0]; // (1 + 0) / 2 = 0.5
 */
export function velocityCosine(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  const op = 'velocityCosine';
  assertFloatTensor(op, 'pred', pred, 1);
  assertFloatTensor(op, 'target', target);
  if (pred.rank < 1 || pred.rank !== target.rank || pred.shape.some((s, i) => s !== target.shape[i]))
    throw new ShapeError(op, 'target', `[${pred.shape.join(', ')}] (the shape of pred)`, target.shape);
  return tf.tidy(() => {
    const b = pred.shape[0]!;
    const p = tf.reshape(pred, [b, -1]);
    const v = tf.reshape(target, [b, -1]);
    const dot = tf.sum(tf.mul(p, v), 1);
    const norms = tf.add(tf.mul(tf.norm(p, 'euclidean', 1), tf.norm(v, 'euclidean', 1)), 1e-12);
    return tf.mean(tf.div(dot, norms)) as tf.Scalar;
  });
}

/** Anything that predicts a velocity for (x_t, t, labels), such as {@link GlfmModel}. */
export interface VelocityModel {
  forward(x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D): tf.Tensor4D;
}

/** Options of {@link flowMatchingLoss}. */
export interface FlowMatchingLossOptions extends SampleTimesOptions {
  /** Generator of the noise and the times (advanced by each call). Default `createRng(seed)`. */
  rng?: Rng;
  /** Seed used when `rng` is not given. Default 0 (so every call draws the same noise and times). */
  seed?: number;
  /** Fixed noise ε (the shape of x0) instead of drawing it. */
  noise?: tf.Tensor4D;
  /** Fixed times `[B]` instead of drawing them. */
  t?: tf.Tensor1D;
  /** Default `'noise_at_1'`. */
  convention?: FlowConvention;
}

/**
 * The flow-matching loss of one batch (spec §12.3), a scalar usable inside `tf.variableGrads`:
 *
 *     t ~ sampling,  ε ~ N(0, I),  (x_t, v*) = interpolate(x0, ε, t),  L = mean((v_θ(x_t, t, c) − v*)²)
 *
 * @param model - the velocity network.
 * @param x0 - `[B, H, W, C]` float32 data (the card scales images to [−1, 1]).
 * @param labels - `[B]` int32 class labels.
 * @example
 * const rng = createRng(1);
 * const { value, grads } = tf.variableGrads(() => flowMatchingLoss(model, x0, labels, { rng }));
 */
export function flowMatchingLoss(
  model: VelocityModel,
  x0: tf.Tensor4D,
  labels: tf.Tensor1D,
  options: FlowMatchingLossOptions = {},
): tf.Scalar {
  const op = 'flowMatchingLoss';
  assertFloatTensor(op, 'x0', x0);
  if (x0.rank !== 4) throw new ShapeError(op, 'x0', '[B, H, W, C]', x0.shape);
  const b = x0.shape[0];
  const rng = options.rng ?? createRng(options.seed ?? 0);
  return tf.tidy(() => {
    const t = options.t ?? tf.tensor1d(sampleTimes(b, rng, options));
    const noise = options.noise ?? (seededNormal(x0.shape, rng) as tf.Tensor4D);
    const { xt, target } = interpolate(x0, noise, t, { convention: options.convention });
    return velocityMse(model.forward(xt as tf.Tensor4D, t, labels), target);
  });
}
