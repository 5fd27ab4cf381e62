import * as tf from '@tensorflow/tfjs-core';

import { inPlaceAdamW } from '../kernels/in-place.js';
import type { AdamWItem } from '../kernels/in-place.js';
import { hasKernel } from '../kernels/index.js';
import { KERNELS } from '../kernels/names.js';

/** Scalars of one AdamW step (bias corrections folded in by the caller). */
export interface AdamWStepScalars {
  beta1: number;
  beta2: number;
  /** `lr / (1 − β1^t)`. */
  stepSize: number;
  /** `√(1 − β2^t)`. */
  sqrtBc2: number;
  epsilon: number;
  /** `1 − lr·weightDecay` for decayed parameters, `1` otherwise. */
  decay: number;
}

/**
 * One AdamW update of one parameter, as new tensors (the caller assigns them):
 * `m′ = β1·m + (1 − β1)·g`, `v′ = β2·v + (1 − β2)·g²`,
 * `p′ = p·decay − stepSize · m′ / (√v′ / sqrtBc2 + ε)`.
 * Three dispatches on a backend with the fused `GeolipAdam*` kernels (webgpu after `initBackend` from
 * `@geolip/nn/backend`), about twelve composed ops elsewhere; same values.
 */
export function adamwStep(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  s: AdamWStepScalars,
): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  if (hasKernel(KERNELS.adamWParam) && hasKernel(KERNELS.adamMoment)) {
    const run = tf.engine().runKernel.bind(tf.engine());
    const m2 = run(KERNELS.adamMoment, { m, g }, {
      beta: s.beta1,
      square: false,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const v2 = run(KERNELS.adamMoment, { m: v, g }, {
      beta: s.beta2,
      square: true,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const p2 = run(KERNELS.adamWParam, { p, m: m2, v: v2 }, {
      stepSize: s.stepSize,
      sqrtBc2: s.sqrtBc2,
      eps: s.epsilon,
      decay: s.decay,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return { p: p2, m: m2, v: v2 };
  }
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, s.beta1), tf.mul(g, 1 - s.beta1));
    const v2 = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(g), 1 - s.beta2));
    const base = s.decay !== 1 ? tf.mul(p, s.decay) : p;
    const denom = tf.add(tf.div(tf.sqrt(v2), s.sqrtBc2), s.epsilon);
    const p2 = tf.sub(base, tf.mul(tf.div(m2, denom), s.stepSize));
    return { p: p2, m: m2, v: v2 };
  });
}

/**
 * One AdamW update of many parameters at once, written into the variables (`p`, `m`, `v` are assigned).
 * On a backend with an in-place AdamW (webgpu after `initBackend` from `@geolip/nn/backend`) each parameter costs
 * one dispatch that rewrites its buffers; a parameter it declines (storage shared with another live tensor,
 * non-float32) and every parameter elsewhere take {@link adamwStep} and `assign`, whose values are the same.
 * An item's `gradScale` (a `[]` or `[1]` tensor) multiplies its gradient inside the update (in the shader on webgpu;
 * `tf.mul(g, gradScale)` on the tensor path): global-norm clipping without clipped copies of the gradients.
 * Returns how many parameters went in place.
 */
export function adamwUpdate(items: readonly AdamWItem[]): number {
  const fast = inPlaceAdamW();
  const done = fast ? fast(items) : items.map(() => false);
  let inPlace = 0;
  tf.tidy(() => {
    items.forEach((it, i) => {
      if (done[i]) {
        inPlace += 1;
        return;
      }
      const s = it.gradScale;
      const g = s ? tf.mul(it.g, s.rank === 0 ? s : tf.reshape(s, [])) : it.g;
      const next = adamwStep(it.p, g, it.m, it.v, it.scalars);
      it.m.assign(next.m);
      it.v.assign(next.v);
      it.p.assign(next.p);
    });
  });
  return inPlace;
}
