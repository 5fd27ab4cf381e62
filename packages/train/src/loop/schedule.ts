import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { assertInteger, assertNumber } from '@geolip/geometry/checks';
import { sumOfSquares } from '@geolip/nn';

/** A learning-rate schedule: `step` is the 0-based index of the optimizer step about to be taken. */
export type LrSchedule = (step: number) => number;

/** Options of {@link warmupCosine}. */
export interface WarmupCosineOptions {
  /** Linear-warmup steps W. ≥ 0. */
  warmupSteps: number;
  /** Total optimizer steps T (warmup included). ≥ W, ≥ 1. */
  totalSteps: number;
  /** Peak learning rate, reached at the end of warmup. ≥ 0. */
  peakLr: number;
  /** Final learning rate at step T. Default 0. In [0, peakLr]. */
  minLr?: number;
}

/**
 * Linear warmup then cosine decay:
 *
 *   lr(s) = peak·(s+1)/W                                   for s < W,
 *   lr(s) = min + (peak − min)·½·(1 + cos(π·p)),  p = min(1, (s − W)/max(1, T − W))   otherwise.
 *
 * The first step already gets peak/W (never 0); after T the rate stays at `minLr`.
 *
 * @example
 * const lr = warmupCosine({ warmupSteps: 10, totalSteps: 110, peakLr: 1e-3 });
 * lr(0);   // 1e-4
 * lr(9);   // 1e-3
 * lr(60);  // 5e-4
 * lr(110); // 0
 */
export function warmupCosine(options: WarmupCosineOptions): LrSchedule {
  const op = 'warmupCosine';
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(op, 'options', 'must be an object');
  const warmup = assertInteger(op, 'options.warmupSteps', options.warmupSteps, 0);
  const total = assertInteger(op, 'options.totalSteps', options.totalSteps, Math.max(1, warmup));
  const peak = assertNumber(op, 'options.peakLr', options.peakLr, 0);
  const min = assertNumber(op, 'options.minLr', options.minLr ?? 0, 0, peak);
  return (step: number) => {
    if (step < warmup) return (peak * (step + 1)) / warmup;
    const p = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
    return min + (peak - min) * 0.5 * (1 + Math.cos(Math.PI * p));
  };
}

/** A constant learning rate. */
export function constantLr(lr: number): LrSchedule {
  assertNumber('constantLr', 'lr', lr, 0);
  return () => lr;
}

/**
 * Global-norm gradient clipping: g ← g · c / max(‖g‖, c), with ‖g‖ = √(Σ_params Σ g²).
 *
 * @param grads - gradients by name; not disposed.
 * @param maxNorm - c > 0.
 * @returns `clipped` (new tensors the caller disposes; unchanged values when ‖g‖ ≤ c) and `norm`,
 *   a `[]` scalar tensor with the norm before clipping (the caller disposes it).
 * @remarks Stays on the backend (no read). A zero gradient stays zero.
 */
export function clipByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  maxNorm: number,
): { clipped: Record<string, tf.Tensor>; norm: tf.Scalar } {
  assertNumber('clipByGlobalNorm', 'maxNorm', maxNorm, Number.MIN_VALUE);
  return tf.tidy(() => {
    const norm = globalNorm(grads);
    const scale = clipScale(norm, maxNorm);
    const clipped: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, scale);
    return { clipped, norm } as never;
  });
}

/**
 * `[]` √(Σ_params Σ g²), a new scalar tensor. The sum of squares is `@geolip/nn`'s `sumOfSquares`: on webgpu (after
 * `initBackend`) up to 7 gradients per dispatch, elsewhere one square and one sum per gradient.
 */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.sqrt(sumOfSquares(Object.values(grads))));
}

/**
 * `[]` the global-norm clip factor `c / max(norm, c)` (1 when `norm` ≤ c), a new scalar tensor, computed on the
 * backend: the factor {@link clipByGlobalNorm} multiplies the gradients by, and what `train` passes to
 * `AdamW.step` as `gradScale`.
 */
export function clipScale(norm: tf.Scalar, maxNorm: number): tf.Scalar {
  return tf.tidy(() => tf.div(maxNorm, tf.maximum(norm, maxNorm)));
}
