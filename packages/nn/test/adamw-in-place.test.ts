// adamwUpdate: the in-place multi-tensor AdamW against the tensor path (adamwStep + assign), through the plain-JS
// reference of the in-place update on cpu (the WGSL one is checked against cpu by tools/device/gpu-suite.mjs).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { adamwStep, adamwUpdate, registerReferenceInPlace, unregisterReferenceInPlace } from '../src/index.js';
import type { AdamWItem, AdamWStepScalars } from '../src/index.js';

const S: AdamWStepScalars = { beta1: 0.9, beta2: 0.999, stepSize: 0.01, sqrtBc2: 0.04, epsilon: 1e-8, decay: 0.999 };

/** Fresh variables that own their storage (made in a tidy, as @geolip/train's AdamW makes its moments). */
function owned(values: number[], shape: number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), false));
}

function params(seed: number): { p: tf.Variable; m: tf.Variable; v: tf.Variable; g: tf.Tensor } {
  const r = (k: number): number[] => Array.from({ length: 6 }, (_, i) => Math.sin(seed * 7 + i * 3 + k));
  return {
    p: owned(r(0), [2, 3]),
    m: owned(
      r(1).map((x) => x * 0.1),
      [2, 3],
    ),
    v: owned(
      r(2).map((x) => x * x * 0.01),
      [2, 3],
    ),
    g: tf.tensor(r(3), [2, 3]),
  };
}

afterEach(() => unregisterReferenceInPlace());

// The reference in-place update writes tfjs-backend-cpu's arrays; on the wasm project it declines every item.
const cpuOnly = (ctx: { skip: () => void }): void => {
  if (tf.getBackend() !== 'cpu') ctx.skip();
};

describe('adamwUpdate', () => {
  it('without an in-place implementation: the tensor path, nothing in place', () => {
    const a = params(1);
    const before = { p: a.p.arraySync(), m: a.m.arraySync(), v: a.v.arraySync() };
    const ref = adamwStep(tf.tensor(before.p), a.g, tf.tensor(before.m), tf.tensor(before.v), S);
    expect(adamwUpdate([{ ...a, scalars: S }])).toBe(0);
    expect(a.p.arraySync()).toEqual(ref.p.arraySync());
    expect(a.m.arraySync()).toEqual(ref.m.arraySync());
    expect(a.v.arraySync()).toEqual(ref.v.arraySync());
  });

  it('in place: the same float32 values as the tensor path over three steps, the variables keep their storage', (ctx) => {
    cpuOnly(ctx);
    registerReferenceInPlace();
    const a = params(2);
    // Copies (on cpu, dataSync returns the backend's own array, which the in-place update rewrites).
    const b = { p: owned(Array.from(a.p.dataSync()), [2, 3]), m: owned(Array.from(a.m.dataSync()), [2, 3]) };
    const bv = owned(Array.from(a.v.dataSync()), [2, 3]);
    const ids = [a.p.dataId, a.m.dataId, a.v.dataId];
    for (let t = 1; t <= 3; t++) {
      const s = { ...S, stepSize: S.stepSize * t };
      expect(adamwUpdate([{ ...a, scalars: s }])).toBe(1);
      const next = adamwStep(b.p, a.g, b.m, bv, s);
      b.p.assign(next.p);
      b.m.assign(next.m);
      bv.assign(next.v);
      tf.dispose([next.p, next.m, next.v]);
    }
    expect([a.p.dataId, a.m.dataId, a.v.dataId]).toEqual(ids);
    // Within float32 rounding of the composed ops (values are O(1): a few ulps).
    const close = (x: tf.Tensor, y: tf.Tensor): void => {
      const [xs, ys] = [x.dataSync(), y.dataSync()];
      xs.forEach((xi, i) => expect(Math.abs(xi - ys[i]!)).toBeLessThanOrEqual(4e-7 * Math.max(1, Math.abs(ys[i]!))));
    };
    close(a.p, b.p);
    close(a.m, b.m);
    close(a.v, bv);
    expect(a.p.dataSync()[0]).not.toBeCloseTo(params(2).p.dataSync()[0]!, 3); // it moved
  });

  it('hand-derived first step: m = (1−β1)g, v = (1−β2)g², p = p·decay − stepSize·m/(√v/√bc2 + ε)', (ctx) => {
    cpuOnly(ctx);
    registerReferenceInPlace();
    const p = owned([1, -2], [2]);
    const m = owned([0, 0], [2]);
    const v = owned([0, 0], [2]);
    const g = tf.tensor([0.5, -4], [2]);
    // t = 1, lr 0.1: stepSize = 0.1 / (1 − 0.9) = 1, sqrtBc2 = √(1 − 0.999) = √0.001, decay 1.
    const s = { beta1: 0.9, beta2: 0.999, stepSize: 1, sqrtBc2: Math.sqrt(0.001), epsilon: 0, decay: 1 };
    expect(adamwUpdate([{ p, m, v, g, scalars: s }])).toBe(1);
    expect(m.dataSync()[0]).toBeCloseTo(0.05, 6);
    expect(m.dataSync()[1]).toBeCloseTo(-0.4, 6);
    expect(v.dataSync()[0]).toBeCloseTo(0.00025, 8);
    // Adam's first step moves each coordinate by lr · sign(g) (here lr/(1−β1)·(1−β1) = 0.1 after the corrections).
    expect(p.dataSync()[0]).toBeCloseTo(1 - 0.1, 5);
    expect(p.dataSync()[1]).toBeCloseTo(-2 + 0.1, 5);
  });

  it('declines a variable that shares storage with a live tensor, then (after the assign) goes in place', (ctx) => {
    cpuOnly(ctx);
    registerReferenceInPlace();
    const init = tf.tensor([1, 2, 3], [3]);
    const p = tf.variable(init, false); // shares init's data
    const items: AdamWItem[] = [
      { p, g: tf.tensor([1, 1, 1], [3]), m: owned([0, 0, 0], [3]), v: owned([0, 0, 0], [3]), scalars: S },
      { ...params(3), scalars: S },
    ];
    expect(adamwUpdate(items)).toBe(1);
    expect(Array.from(init.dataSync())).toEqual([1, 2, 3]); // the shared tensor is untouched
    expect(p.dataId).not.toBe(init.dataId);
    expect(adamwUpdate(items)).toBe(2);
    expect(Array.from(init.dataSync())).toEqual([1, 2, 3]);
  });

  it('gradScale: the same values as stepping with tf.mul(g, scale), in place and on the tensor path', (ctx) => {
    cpuOnly(ctx);
    for (const inPlace of [false, true]) {
      if (inPlace) registerReferenceInPlace();
      const a = params(5);
      const b = params(5); // the unfused computation, on its own copies
      const c = params(6); // no gradScale, in the same call
      const cRef = params(6);
      for (let t = 1; t <= 3; t++) {
        const s = { ...S, stepSize: S.stepSize * t };
        // A `[]` scale and a `[1]` one (what c / max(‖g‖, c) gives, and what a user may pass).
        const scale = t % 2 === 0 ? tf.scalar(0.37 * t) : tf.tensor1d([1 / (t + 0.3)]);
        const items: AdamWItem[] = [
          { ...a, scalars: s, gradScale: scale },
          { ...c, scalars: s },
        ];
        expect(adamwUpdate(items)).toBe(inPlace ? 2 : 0);
        const clipped = tf.mul(b.g, tf.reshape(scale, []));
        for (const [x, g] of [
          [b, clipped],
          [cRef, cRef.g],
        ] as const) {
          const next = adamwStep(x.p, g, x.m, x.v, s);
          x.p.assign(next.p);
          x.m.assign(next.m);
          x.v.assign(next.v);
          tf.dispose([next.p, next.m, next.v]);
        }
        tf.dispose([clipped, scale]);
      }
      for (const [x, y] of [
        [a, b],
        [c, cRef],
      ] as const) {
        for (const k of ['p', 'm', 'v'] as const) {
          const [xs, ys] = [x[k].dataSync(), y[k].dataSync()];
          // Bitwise on the tensor path (the same ops); within float32 rounding in place (as the test above).
          if (!inPlace) expect(Array.from(xs)).toEqual(Array.from(ys));
          xs.forEach((xi, i) =>
            expect(Math.abs(xi - ys[i]!)).toBeLessThanOrEqual(4e-7 * Math.max(1, Math.abs(ys[i]!))),
          );
        }
      }
      unregisterReferenceInPlace();
    }
  });

  it('gradScale in place, hand-derived: g·s enters both moments', (ctx) => {
    cpuOnly(ctx);
    registerReferenceInPlace();
    const p = owned([1, -2], [2]);
    const m = owned([0, 0], [2]);
    const v = owned([0, 0], [2]);
    const g = tf.tensor([0.5, -4], [2]);
    const s = { beta1: 0.9, beta2: 0.999, stepSize: 1, sqrtBc2: Math.sqrt(0.001), epsilon: 0, decay: 1 };
    expect(adamwUpdate([{ p, m, v, g, scalars: s, gradScale: tf.scalar(0.25) }])).toBe(1);
    // m = 0.1·g·s, v = 0.001·(g·s)²; Adam's first step is still lr·sign(g).
    expect(m.dataSync()[0]).toBeCloseTo(0.0125, 7);
    expect(m.dataSync()[1]).toBeCloseTo(-0.1, 7);
    expect(v.dataSync()[1]).toBeCloseTo(0.001, 8);
    expect(p.dataSync()[0]).toBeCloseTo(0.9, 5);
    expect(p.dataSync()[1]).toBeCloseTo(-1.9, 5);
  });

  it('declines a gradient of the wrong size (the tensor path then reports the shape error)', () => {
    registerReferenceInPlace();
    const a = params(4);
    expect(() => adamwUpdate([{ ...a, g: tf.tensor([1, 2], [2]), scalars: S }])).toThrow();
  });
});
