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

/** One parameter's AdamW update: variables written in place, the gradient read. */
export interface AdamWItem {
  p: tf.Variable;
  g: tf.Tensor;
  m: tf.Variable;
  v: tf.Variable;
  scalars: AdamWStepScalars;
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
 * The plain-JS reference of the in-place AdamW, for tfjs's cpu backend: the same float32 arithmetic as the fused
 * `GeolipAdam*` reference kernels, written into the variables' own arrays. Registered by
 * {@link registerReferenceInPlace}, for tests of the in-place code path (which items are declined, that values match
 * the tensor path) on a machine without a GPU. On cpu, `dataSync()` hands out the backend's own array (and
 * `tf.tensor(float32Array)` may keep the caller's): this update rewrites those arrays, so use it in tests only.
 */
const referenceInPlaceAdamW: AdamWInPlaceFn = (items) => {
  const b = tf.backend() as unknown as CpuBackendLike;
  return items.map(({ p, g, m, v, scalars: s }) => {
    if (typeof b.data?.get !== 'function') return false;
    const pv = ownedValues(b, p);
    const mv = ownedValues(b, m);
    const vv = ownedValues(b, v);
    const gd = b.data.get(g.dataId);
    const gv = gd?.values;
    if (!pv || !mv || !vv || !(gv instanceof Float32Array) || g.dtype !== 'float32') return false;
    if (pv.length !== gv.length || mv.length !== gv.length || vv.length !== gv.length) return false;
    const f = Math.fround;
    const b1 = f(s.beta1);
    const b2 = f(s.beta2);
    const c1 = f(1 - b1);
    const c2 = f(1 - b2);
    const [stepSize, sqrtBc2, eps, decay] = [s.stepSize, s.sqrtBc2, s.epsilon, s.decay].map(f) as [
      number,
      number,
      number,
      number,
    ];
    for (let i = 0; i < pv.length; i++) {
      const gi = gv[i]!;
      const mi = f(f(b1 * mv[i]!) + f(c1 * gi));
      const vi = f(f(b2 * vv[i]!) + f(c2 * f(gi * gi)));
      mv[i] = mi;
      vv[i] = vi;
      const denom = f(f(f(Math.sqrt(vi)) / sqrtBc2) + eps);
      pv[i] = f(pv[i]! * decay) - f(f(mi / denom) * stepSize);
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
