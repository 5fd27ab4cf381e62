// The gate modes of v1 / v2 and the routing fraction: the bottleneck splits exactly into its two weighted paths, and
// with the gate forced to a known value and the relay output forced to the encoder features' norm, the weight and
// energy shares take hand-derived values.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import {
  GLFM_GATE_MODES,
  GlfmModel,
  InvalidArgumentError,
  analyzeGlfm,
  analyzeGlfmAsync,
  flowMatchingLoss,
  glfmPreset,
  routingFraction,
  routingFractionAsync,
  validateGlfmConfig,
} from '../src/index.js';
import type { GlfmGateMode, GlfmVariant } from '../src/index.js';
import { tinyConfig } from './helpers.js';

const logit = (p: number): number => Math.log(p / (1 - p));

function batch(b = 2) {
  const x = tf.randomNormal([b, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const t = tf.tensor1d(Array.from({ length: b }, (_, i) => (i + 1) / (b + 1)));
  const labels = tf.tensor1d(
    Array.from({ length: b }, (_, i) => i % 3),
    'int32',
  );
  return { x, t, labels };
}

/**
 * A v1 / v2 model whose gate is σ(g) = `gate` and whose relay output R is the same constant c in every value, with c
 * chosen so that ‖R‖² over the batch equals ‖base‖² (base = h for v1, Skip(vec h) for v2): w2 = 0, b2 = c.
 */
function forced(variant: GlfmVariant, gateMode: GlfmGateMode, gate: number, data: ReturnType<typeof batch>) {
  const model = new GlfmModel(tinyConfig(variant, { imageSize: 8, gateMode }));
  const relay = model.relay!;
  relay.gate!.assign(tf.tensor1d([logit(gate)]));
  relay.w2.assign(tf.zerosLike(relay.w2));
  // The base term is w_b·base, with w_b = 1, 1 − σ or σ: ‖base‖² = ‖w_b·base‖² / w_b².
  const wb = gateMode === 'relay' ? 1 : gateMode === 'convex' ? 1 - gate : gate;
  const paths = model.bottleneckPaths(data.x, data.t, data.labels)!;
  const baseSq = tf.sum(tf.square(paths.base)).dataSync()[0]! / wb ** 2;
  const count = paths.constellation.size;
  tf.dispose([paths.base, paths.constellation]);
  relay.b2.assign(tf.fill(relay.b2.shape, Math.sqrt(baseSq / count)));
  return model;
}

describe('gate modes and the routing fraction', () => {
  it('gateMode: relay by default, validated, and old configs without the field read as relay', () => {
    expect(GLFM_GATE_MODES).toEqual(['relay', 'convex', 'bypass']);
    expect(glfmPreset('v2').gateMode).toBe('relay');
    expect(glfmPreset('v1', { gateMode: 'convex' }).gateMode).toBe('convex');
    const { gateMode: _, ...old } = glfmPreset('v1');
    expect(validateGlfmConfig(old as never).gateMode).toBe('relay');
    expect(() => glfmPreset('v1', { gateMode: 'mix' as never })).toThrow(InvalidArgumentError);
    expect(() => glfmPreset('v1', { gateMode: 'mix' as never })).toThrow(
      /glfmPreset: 'gateMode' must be one of 'relay', 'convex', 'bypass', got "mix"/,
    );
  });

  it.each(['v1', 'v2'] as const)('%s: base + constellation is exactly the latent the decoder receives', (variant) => {
    const data = batch();
    for (const gateMode of GLFM_GATE_MODES) {
      const model = new GlfmModel(tinyConfig(variant, { imageSize: 8, gateMode }));
      model.relay!.gate!.assign(tf.tensor1d([logit(0.3)]));
      const paths = model.bottleneckPaths(data.x, data.t, data.labels)!;
      const r = model.forwardDetailed(data.x, data.t, data.labels);
      const sum = tf.add(paths.base, paths.constellation);
      expect(tf.max(tf.abs(tf.sub(sum, r.latent))).dataSync()[0]).toBeLessThan(1e-5);
      tf.dispose([paths.base, paths.constellation, sum, r.velocity, r.features, r.latent, r.triangulation]);
      model.dispose();
    }
    tf.dispose(Object.values(data));
  });

  // ‖base‖ = ‖R‖ over the batch, gate σ = 0.25:
  //   relay  z = base + 0.25·R:         weight 0.25 / 1.25 = 0.2,  energy 0.0625 / (1 + 0.0625) = 1/17
  //   convex z = 0.75·base + 0.25·R:    weight 0.25,               energy 0.0625 / (0.5625 + 0.0625) = 0.1
  //   bypass z = 0.25·base + 0.75·R:    weight 0.75,               energy 0.5625 / (0.0625 + 0.5625) = 0.9
  it.each([
    ['v1', 'relay', 0.2, 1 / 17],
    ['v1', 'convex', 0.25, 0.1],
    ['v1', 'bypass', 0.75, 0.9],
    ['v2', 'relay', 0.2, 1 / 17],
    ['v2', 'convex', 0.25, 0.1],
    ['v2', 'bypass', 0.75, 0.9],
  ] as const)('%s %s, σ(g) = 0.25, ‖base‖ = ‖R‖: weight %s, energy %s', async (variant, gateMode, weight, energy) => {
    const data = batch();
    const model = forced(variant, gateMode, 0.25, data);
    const r = routingFraction(model, data)!;
    expect(r.gateMode).toBe(gateMode);
    expect(r.gate).toBeCloseTo(0.25, 6);
    expect(r.weight).toBeCloseTo(weight, 6);
    expect(r.energy).toBeCloseTo(energy, 4);
    const a = await routingFractionAsync(model, data);
    expect(a!.energy).toBeCloseTo(r.energy, 6);
    expect(analyzeGlfm(model, data).routing!.energy).toBeCloseTo(r.energy, 6);
    expect((await analyzeGlfmAsync(model)).routing!.energy).toBeNaN(); // no batch: weight only
    model.dispose();
    tf.dispose(Object.values(data));
  });

  it("the card's reading: bypass gate 11.8% routes 88.2% through the constellation; R = 0 routes no energy", () => {
    const data = batch();
    const model = new GlfmModel(tinyConfig('v1', { imageSize: 8, gateMode: 'bypass' }));
    model.relay!.gate!.assign(tf.tensor1d([logit(0.118)]));
    expect(routingFraction(model)!.weight).toBeCloseTo(0.882, 6);
    expect(routingFraction(model)!.energy).toBeNaN();
    model.relay!.w2.assign(tf.zerosLike(model.relay!.w2));
    model.relay!.b2.assign(tf.zerosLike(model.relay!.b2));
    expect(routingFraction(model, data)!.energy).toBe(0);
    model.dispose();
    tf.dispose(Object.values(data));
  });

  it.each(['convex', 'bypass'] as const)('%s: the FM loss sends a gradient to the gate and the relay', (gateMode) => {
    const model = new GlfmModel(tinyConfig('v2', { imageSize: 8, gateMode }));
    const x0 = tf.randomUniform([2, 8, 8, 1], -1, 1, 'float32', 4) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 1], 'int32');
    const relay = model.relay!;
    const { grads, value } = tf.variableGrads(
      () => flowMatchingLoss(model, x0, labels, { seed: 1 }),
      [relay.gate!, relay.w2],
    );
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    expect(Math.abs(grads[relay.gate!.name]!.dataSync()[0]!)).toBeGreaterThan(0);
    expect(tf.max(tf.abs(grads[relay.w2.name]!)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x0, labels, value, ...Object.values(grads)]);
    model.dispose();
  });

  it('memory: bottleneckPaths returns two tensors, routingFraction leaves none', () => {
    const data = batch();
    const model = new GlfmModel(tinyConfig('v2', { imageSize: 8, gateMode: 'convex' }));
    const before = tf.memory().numTensors;
    const paths = model.bottleneckPaths(data.x, data.t, data.labels)!;
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([paths.base, paths.constellation]);
    routingFraction(model, data);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    tf.dispose(Object.values(data));
  });

  it('null for v3 and v4 (no gate)', () => {
    for (const v of ['v3', 'v4'] as const) {
      const model = new GlfmModel(tinyConfig(v, { imageSize: 8 }));
      const data = batch();
      expect(routingFraction(model, data)).toBeNull();
      expect(model.bottleneckPaths(data.x, data.t, data.labels)).toBeNull();
      expect(analyzeGlfm(model).routing).toBeNull();
      model.dispose();
      tf.dispose(Object.values(data));
    }
  });

  it('errors name the function and argument', () => {
    const model = new GlfmModel(tinyConfig('v1', { imageSize: 8 }));
    expect(() => routingFraction(model, 3 as never)).toThrow(/routingFraction: 'batch'/);
    const bad = {
      x: tf.zeros([2, 4, 4, 1]) as tf.Tensor4D,
      t: tf.zeros([2]) as tf.Tensor1D,
      labels: tf.zeros([2], 'int32') as tf.Tensor1D,
    };
    expect(() => model.bottleneckPaths(bad.x, bad.t, bad.labels)).toThrow(/GlfmModel.bottleneckPaths: 'x'/);
    tf.dispose(Object.values(bad));
    model.dispose();
  });
});
