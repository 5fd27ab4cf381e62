/**
 * In-place multi-tensor updates (issue 19): operations that write into existing variables' storage instead of
 * producing new tensors, so an optimizer step over P parameters costs P dispatches (webgpu) and no tfjs
 * bookkeeping, where the tensor path costs 3·P kernels plus 3·P assigns. They are not tfjs kernels (a tfjs kernel
 * returns new tensors), so they have their own small registry here, keyed by backend name.
 *
 * An implementation may decline an item (returns `false` for it): a variable whose storage is shared with another
 * live tensor (tfjs shares data between a tensor and `tf.variable(t)` made from it, or a `reshape` of it), a
 * non-float32 tensor, a backend state it does not understand. The caller then takes the tensor path for that item,
 * whose `assign` gives the variable storage of its own, so the next step can go in place.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { AdamWStepScalars } from '../functional/adamw.js';
import { adamMomentF32, adamWParamF32 } from './reference.js';

/** One parameter's AdamW update: variables written in place, the gradient read. */
export interface AdamWItem {
  p: tf.Variable;
  g: tf.Tensor;
  m: tf.Variable;
  v: tf.Variable;
  scalars: AdamWStepScalars;
  /**
   * A `[]` or `[1]` float32 tensor: the update uses `g·gradScale` instead of `g` (global-norm clipping folded into
   * the update, e.g. `c / max(‖g‖, c)`, with no clipped gradient made). Absent: `g` as it is.
   */
  gradScale?: tf.Tensor;
}

/** Updates what it can in place; returns, per item, whether it did. */
export type AdamWInPlaceFn = (items: readonly AdamWItem[]) => boolean[];

/** The name the in-place AdamW is listed under in `registerKernels`' result. */
export const IN_PLACE_ADAMW = 'GeolipAdamWInPlace';

const adamwByBackend = new Map<string, AdamWInPlaceFn>();

/** Registers (or with `undefined` removes) the in-place AdamW of `backendName`. */
export function registerInPlaceAdamW(backendName: string, fn: AdamWInPlaceFn | undefined): void {
  if (fn) adamwByBackend.set(backendName, fn);
  else adamwByBackend.delete(backendName);
}

/** The in-place AdamW of the active backend, if one is registered. */
export function inPlaceAdamW(): AdamWInPlaceFn | undefined {
  return adamwByBackend.get(tf.getBackend());
}

/** The parts of tfjs-backend-cpu's `MathBackendCPU` the reference below reads. */
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown; refCount?: number } | undefined };
}

function ownedValues(b: CpuBackendLike, t: tf.Tensor): Float32Array | null {
  const d = b.data.get(t.dataId);
  if (!d || t.dtype !== 'float32' || !(d.values instanceof Float32Array)) return null;
  return d.refCount === undefined || d.refCount === 1 ? d.values : null;
}

/**
 * The plain-JS reference of the in-place AdamW, for tfjs's cpu backend: the float32 arithmetic of the fused
 * `GeolipAdam*` reference kernels (the same element functions), written into the variables' own arrays. Registered by
 * {@link registerReferenceInPlace}, for tests of the in-place code path (which items are declined, that values match
 * the tensor path) on a machine without a GPU. On cpu, `dataSync()` hands out the backend's own array (and
 * `tf.tensor(float32Array)` may keep the caller's): this update rewrites those arrays, so use it in tests only.
 */
const referenceInPlaceAdamW: AdamWInPlaceFn = (items) => {
  const b = tf.backend() as unknown as CpuBackendLike;
  return items.map(({ p, g, m, v, scalars: s, gradScale }) => {
    if (typeof b.data?.get !== 'function') return false;
    const pv = ownedValues(b, p);
    const mv = ownedValues(b, m);
    const vv = ownedValues(b, v);
    const gd = b.data.get(g.dataId);
    const gv = gd?.values;
    if (!pv || !mv || !vv || !(gv instanceof Float32Array) || g.dtype !== 'float32') return false;
    if (pv.length !== gv.length || mv.length !== gv.length || vv.length !== gv.length) return false;
    let scale: number | undefined;
    if (gradScale) {
      const sv = b.data.get(gradScale.dataId)?.values;
      if (gradScale.dtype !== 'float32' || gradScale.size !== 1 || !(sv instanceof Float32Array)) return false;
      scale = sv[0]!;
    }
    const f = Math.fround;
    const [b1, b2] = [f(s.beta1), f(s.beta2)];
    const [c1, c2] = [f(1 - s.beta1), f(1 - s.beta2)];
    const [stepSize, sqrtBc2, eps, decay] = [s.stepSize, s.sqrtBc2, s.epsilon, s.decay].map(f) as [
      number,
      number,
      number,
      number,
    ];
    for (let i = 0; i < pv.length; i++) {
      const gi = scale === undefined ? gv[i]! : f(gv[i]! * scale);
      mv[i] = adamMomentF32(mv[i]!, gi, b1, c1, false);
      vv[i] = adamMomentF32(vv[i]!, gi, b2, c2, true);
      pv[i] = adamWParamF32(pv[i]!, mv[i]!, vv[i]!, stepSize, sqrtBc2, eps, decay);
    }
    return true;
  });
};

/** Registers {@link referenceInPlaceAdamW} for `backendName` (default: the active backend). For tests. */
export function registerReferenceInPlace(backendName: string = tf.getBackend()): void {
  registerInPlaceAdamW(backendName, referenceInPlaceAdamW);
}

/** Removes the in-place AdamW of `backendName` (default: the active backend). */
export function unregisterReferenceInPlace(backendName: string = tf.getBackend()): void {
  registerInPlaceAdamW(backendName, undefined);
}
