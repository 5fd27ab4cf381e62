// Global-norm clipping folded into the update (issue 19): `train` with `clipNorm` passes c / max(‖g‖, c) to AdamW as
// `gradScale` instead of making clipped copies of the gradients. The expectation is the old computation, written out
// here: clipByGlobalNorm, then AdamW.step on the clipped gradients.
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import {
  KERNELS,
  registerReferenceInPlace,
  registerReferenceKernels,
  unregisterReferenceInPlace,
  unregisterReferenceKernels,
} from '@geolip/nn';
import { afterEach, describe, expect, it } from 'vitest';

import { AdamW, clipByGlobalNorm, globalNorm, train } from '../../src/loop/index.js';
import { isCpu, makeBatch, makeModel, snapshot } from './helpers.js';

const CLIP = 0.05; // below the gradient norms of these steps: every step is clipped
const STEPS = 4;
const OPTIMIZER = { lr: 1e-2, weightDecay: 0.1 };

/** `train`'s steps by hand, the old way: the same batches (the run's RNG draws one seed per micro-batch). */
function byHand(seed: number, modelSeed: number): { params: Record<string, Float32Array>; norms: number[] } {
  const model = makeModel(modelSeed);
  const opt = new AdamW(model.vars, OPTIMIZER);
  const rng = createRng(seed);
  const norms: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const microRng = createRng(Math.floor(rng.uniform() * 4294967296));
    const batch = makeBatch(microRng);
    const ctx = { step, micro: 0, training: true as const, rng: microRng };
    const { value, grads } = tf.variableGrads(() => model.loss(batch, ctx), Object.values(model.vars));
    const byName = Object.fromEntries(Object.entries(model.vars).map(([n, v]) => [n, grads[v.name]!]));
    const { clipped, norm } = clipByGlobalNorm(byName, CLIP);
    norms.push(norm.dataSync()[0]!);
    opt.step(clipped, OPTIMIZER.lr);
    tf.dispose([value, norm, ...Object.values(grads), ...Object.values(clipped)]);
  }
  const params = snapshot(model.vars);
  opt.dispose();
  model.dispose();
  return { params, norms };
}

async function trained(
  seed: number,
  modelSeed: number,
): Promise<{ params: Record<string, Float32Array>; norms: number[] }> {
  const model = makeModel(modelSeed);
  const norms: number[] = [];
  await train({
    model,
    data: (_s, rng) => makeBatch(rng),
    steps: STEPS,
    optimizer: OPTIMIZER,
    clipNorm: CLIP,
    seed,
    log: (r) => {
      if (r.type === 'step') norms.push(r.gradNorm);
    },
  });
  const params = snapshot(model.vars);
  model.dispose();
  return { params, norms };
}

describe('train with clipNorm', () => {
  afterEach(() => {
    unregisterReferenceKernels();
    unregisterReferenceInPlace();
  });

  it('gives the parameters of clipByGlobalNorm + AdamW.step on the clipped gradients, bit for bit', async () => {
    const want = byHand(3, 12);
    const got = await trained(3, 12);
    for (const n of want.norms) expect(n).toBeGreaterThan(CLIP);
    expect(got.norms).toEqual(want.norms);
    for (const name of Object.keys(want.params))
      expect(Array.from(got.params[name]!)).toEqual(Array.from(want.params[name]!));
  });

  it('in place with GeolipSumSquares (reference kernels on cpu): the same parameters to float32 rounding', async (ctx) => {
    if (!isCpu()) ctx.skip(); // the reference in-place update writes tfjs-backend-cpu's arrays
    const want = byHand(4, 13);
    registerReferenceKernels();
    registerReferenceInPlace();
    const got = await trained(4, 13);
    got.norms.forEach((n, i) => expect(Math.abs(n - want.norms[i]!)).toBeLessThanOrEqual(1e-6 * want.norms[i]!));
    for (const name of Object.keys(want.params)) {
      const [g, w] = [got.params[name]!, want.params[name]!];
      w.forEach((wi, i) => expect(Math.abs(g[i]! - wi)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(wi))));
    }
  });

  it('in place: clipping adds two kernels to a step (the scale), not one per parameter', async (ctx) => {
    if (!isCpu()) ctx.skip();
    registerReferenceKernels();
    registerReferenceInPlace();
    const kernels = async (clipNorm?: number): Promise<string[]> => {
      const model = makeModel(14);
      const run = () =>
        train({ model, data: (_s, rng) => makeBatch(rng), steps: 1, seed: 1, ...(clipNorm ? { clipNorm } : {}) });
      await run(); // the first update's assigns give each variable storage of its own; the next goes in place
      const info = await tf.profile(run as unknown as () => Promise<tf.TensorContainer>);
      const names = info.kernels.map((k) => k.name); // read now: the engine reuses the profile object
      model.dispose();
      return names;
    };
    const plain = await kernels();
    const clipped = await kernels(CLIP);
    const extra = [...clipped];
    for (const n of plain) extra.splice(extra.indexOf(n), 1);
    expect(extra.sort()).toEqual(['Maximum', 'RealDiv']);
    expect(clipped.filter((n) => n === KERNELS.sumSquares)).toHaveLength(1);
    expect(clipped.filter((n) => n === 'Mul').length).toBe(plain.filter((n) => n === 'Mul').length);
  });
});

describe('globalNorm', () => {
  it('is √(Σ g²) over every tensor (hand values), 0 for none', () => {
    const g = { a: tf.tensor([3, 0]), b: tf.tensor([[4]]), c: tf.tensor([12]) };
    const n = globalNorm(g);
    expect(n.shape).toEqual([]);
    expect(n.dataSync()[0]).toBeCloseTo(13, 6);
    const z = globalNorm({});
    expect(z.dataSync()[0]).toBe(0);
    tf.dispose([n, z, ...Object.values(g)]);
  });
});

describe('AdamW.step gradScale', () => {
  it('equals stepping with tf.mul(g, gradScale)', () => {
    const a = makeModel(15);
    const b = makeModel(15);
    const oa = new AdamW(a.vars, OPTIMIZER);
    const ob = new AdamW(b.vars, OPTIMIZER);
    for (let t = 0; t < 3; t++) {
      const grads = Object.fromEntries(
        Object.entries(a.vars).map(([n, v], i) => [n, tf.randomNormal(v.shape, 0, 1, 'float32', 10 * t + i)]),
      );
      const scale = tf.scalar(0.3 + t);
      oa.step(grads, 1e-2, { gradScale: scale });
      const scaled = Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, tf.mul(g, scale)]));
      ob.step(scaled, 1e-2);
      tf.dispose([scale, ...Object.values(grads), ...Object.values(scaled)]);
    }
    const [pa, pb] = [snapshot(a.vars), snapshot(b.vars)];
    for (const n of Object.keys(pa)) expect(Array.from(pa[n]!)).toEqual(Array.from(pb[n]!));
    oa.dispose();
    ob.dispose();
    a.dispose();
    b.dispose();
  });

  it('refuses a gradScale that is not one value', () => {
    const m = makeModel(16);
    const opt = new AdamW(m.vars);
    const two = tf.tensor([1, 2]);
    expect(() => opt.step({}, 1e-3, { gradScale: two })).toThrow(/AdamW.step: 'options.gradScale' must be/);
    expect(() => opt.step({}, 1e-3, { gradScale: 0.5 as never })).toThrow(/options.gradScale/);
    tf.dispose(two);
    opt.dispose();
    m.dispose();
  });
});
