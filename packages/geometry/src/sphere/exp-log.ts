import * as tf from '@tensorflow/tfjs-core';

import { ShapeError } from '../errors.js';
import { sinc } from '../internal/grad-utils.js';
import { assertFloatTensor, assertSameShape } from '../checks/tensor-checks.js';
import { assertNumber } from '../checks/assert-shape.js';
import { geodesicDistance } from './geodesic-distance.js';

/**
 * Riemannian exponential map of S^{D−1}: walk from `basePoint` along the great circle with
 * initial velocity `tangentVec` for unit time.
 *
 *     exp_x(v) = cos(‖v‖) x + sin(‖v‖) v / ‖v‖
 *
 * @param basePoint - `[..., D]` points x on S^{D−1}.
 * @param tangentVec - `[..., D]` tangent vectors at x (⟨v, x⟩ = 0; project with {@link tangentProject}).
 * @returns `[..., D]` points on S^{D−1}.
 *
 * @throws {ShapeError} if the shapes differ. @throws {InvalidArgumentError} for non-float32 input.
 *
 * @remarks sin(‖v‖)/‖v‖ uses its Taylor expansion below 1e-4, so exp_x(0) = x exactly and the
 * map is differentiable at v = 0. Inverse of {@link logMap} for ‖v‖ < π.
 *
 * @example
 * expMap(tf.tensor2d([[1, 0]]), tf.tensor2d([[0, Math.PI / 2]])).print(); // [[0, 1]]
 */
export function expMap(basePoint: tf.Tensor, tangentVec: tf.Tensor): tf.Tensor {
  assertFloatTensor('expMap', 'basePoint', basePoint);
  assertFloatTensor('expMap', 'tangentVec', tangentVec);
  assertSameShape('expMap', 'basePoint', basePoint, 'tangentVec', tangentVec);
  return tf.tidy(() => {
    const n = tf.sqrt(tf.sum(tf.square(tangentVec), -1, true));
    return tf.add(tf.mul(tf.cos(n), basePoint), tf.mul(sinc(n), tangentVec));
  });
}

/**
 * Riemannian logarithm of S^{D−1}: the tangent vector at `basePoint` that {@link expMap} sends to `point`.
 *
 *     log_x(y) = θ / sin θ · (y − ⟨x, y⟩ x),   θ = d(x, y) (atan2 form)
 *
 * @param basePoint - `[..., D]` points x on S^{D−1}.
 * @param point - `[..., D]` points y on S^{D−1}.
 * @returns `[..., D]` tangent vectors at x with norm d(x, y).
 *
 * @throws {ShapeError} if the shapes differ. @throws {InvalidArgumentError} for non-float32 input.
 *
 * @remarks θ/sin θ uses 1 + θ²/6 below 1e-4, so log_x(x) = 0. Undefined at the antipode
 * (θ = π): the result there is not meaningful (large or NaN), as for every log map of the sphere.
 *
 * @example
 * logMap(tf.tensor2d([[1, 0]]), tf.tensor2d([[0, 1]])).print(); // [[0, π/2]]
 */
export function logMap(basePoint: tf.Tensor, point: tf.Tensor): tf.Tensor {
  assertFloatTensor('logMap', 'basePoint', basePoint);
  assertFloatTensor('logMap', 'point', point);
  assertSameShape('logMap', 'basePoint', basePoint, 'point', point);
  return tf.tidy(() => {
    const theta = tf.expandDims(geodesicDistance(basePoint, point), -1);
    const w = tf.sub(point, tf.mul(tf.sum(tf.mul(point, basePoint), -1, true), basePoint));
    return tf.div(w, sinc(theta));
  });
}

/**
 * Spherical linear interpolation along the great circle from u (t = 0) to v (t = 1).
 *
 *     slerp(u, v, t) = [sin((1 − t)θ) u + sin(tθ) v] / sin θ,   θ = d(u, v)
 *
 * @param u - `[..., D]` start points on S^{D−1}.
 * @param v - `[..., D]` end points on S^{D−1}.
 * @param t - a number, or a `[...]` tensor (one fraction per row). Values outside [0, 1] extrapolate.
 * @returns `[..., D]` points on S^{D−1}.
 *
 * @throws {ShapeError} if shapes differ (or `t` is not `[...]`). @throws {InvalidArgumentError} for non-float32 input,
 * or a number `t` that is NaN or ±Infinity.
 *
 * @remarks Below θ = 1e-4 the coefficients use their Taylor limits (1 − t, t), so slerp(u, u, t) = u.
 * Undefined for antipodal u, v (θ = π): any great circle joins them.
 *
 * @example
 * slerp(tf.tensor2d([[1, 0]]), tf.tensor2d([[0, 1]]), 0.5).print(); // [[0.7071, 0.7071]]
 */
export function slerp(u: tf.Tensor, v: tf.Tensor, t: number | tf.Tensor): tf.Tensor {
  assertFloatTensor('slerp', 'u', u);
  assertFloatTensor('slerp', 'v', v);
  assertSameShape('slerp', 'u', u, 'v', v);
  if (typeof t === 'number') {
    assertNumber('slerp', 't', t);
  } else {
    assertFloatTensor('slerp', 't', t, 0);
    const lead = u.shape.slice(0, -1);
    const ok = t.rank === 0 || (t.rank === lead.length && t.shape.every((d, i) => d === lead[i]));
    if (!ok) {
      throw new ShapeError('slerp', 't', `[${lead.join(', ')}] or a scalar`, t.shape);
    }
  }
  return tf.tidy(() => {
    const theta = tf.expandDims(geodesicDistance(u, v), -1);
    const tt = typeof t === 'number' ? tf.scalar(t) : t.rank === 0 ? t : tf.expandDims(t, -1);
    const a = tf.mul(tf.sub(1, tt), sincRatio(tf.mul(tf.sub(1, tt), theta), theta));
    const b = tf.mul(tt, sincRatio(tf.mul(tt, theta), theta));
    return tf.add(tf.mul(a, u), tf.mul(b, v));
  });
}

/** sinc(a)/sinc(θ) = sin(a)θ / (a sin θ), stable as a, θ → 0. */
function sincRatio(a: tf.Tensor, theta: tf.Tensor): tf.Tensor {
  return tf.div(sinc(tf.abs(a)), sinc(theta));
}
