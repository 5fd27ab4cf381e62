// The module graph of v4 (issue 23): the card's "the generator never sees the raw encoder features", proven by
// gradients. With the velocity split at the encoder's output (`encode` → `forwardFromEncoder`), a card-faithful v4
// (no U-Net skips) has
//   ∂L/∂(full-resolution map) = ∂L/∂(half-resolution map) = 0          (no path from them to the velocity), and
//   ∂L/∂h = J_address(h)ᵀ · ∂L/∂address                                 (h reaches the velocity only through the
//                                                                        1,536-value address, never as a map),
// for a random linear read-out L = Σ v ⊙ r of the velocity. The skip variant (a departure) fails the first: its
// decoder reads both maps. x_t is the input, not an encoder feature: `decoderXt` adds a direct path from it only.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { GlfmModel, InvalidArgumentError, ShapeError } from '../src/index.js';
import type { GlfmDecoderXt, GlfmEncoderOutput } from '../src/index.js';
import { tinyConfig } from './helpers.js';

const B = 2;

function inputs(): { x: tf.Tensor4D; t: tf.Tensor1D; y: tf.Tensor1D; r: tf.Tensor4D } {
  return {
    x: tf.randomNormal([B, 28, 28, 1], 0, 1, 'float32', 11) as tf.Tensor4D,
    t: tf.tensor1d([0.3, 0.8]),
    y: tf.tensor1d([1, 2], 'int32'),
    r: tf.randomNormal([B, 28, 28, 1], 0, 1, 'float32', 12) as tf.Tensor4D,
  };
}

async function maxAbs(x: tf.Tensor): Promise<number> {
  const m = tf.max(tf.abs(x));
  const v = (await m.data())[0]!;
  m.dispose();
  return v;
}

/** Gradients of L = Σ forwardFromEncoder(x, t, y, {features, full, half}).velocity ⊙ r w.r.t. the three maps. */
function encoderGradients(model: GlfmModel, enc: GlfmEncoderOutput, inp: ReturnType<typeof inputs>): tf.Tensor[] {
  const { x, t, y, r } = inp;
  return tf.grads((features: tf.Tensor, full: tf.Tensor, half: tf.Tensor) => {
    const out = model.forwardFromEncoder(x, t, y, {
      features: features as tf.Tensor4D,
      full: full as tf.Tensor4D,
      half: half as tf.Tensor4D,
    });
    // + 0·Σ(maps): ties every map to L so tf.grads returns a (zero) gradient for an unused one instead of throwing;
    // it adds exactly 0 to each gradient.
    const tie = tf.mul(tf.add(tf.sum(full), tf.sum(half)), 0);
    return tf.add(tf.sum(tf.mul(out.velocity, r)), tie) as tf.Scalar;
  })([enc.features, enc.full, enc.half]);
}

describe('v4 module graph: the generator sees the encoder only through the address', () => {
  it.each(['none', 'full', 'pyramid'] as GlfmDecoderXt[])(
    'decoderXt %s, no skips: ∂L/∂(full, half maps) = 0 and ∂L/∂h = J_addressᵀ ∂L/∂address ≠ 0',
    async (decoderXt) => {
      const model = new GlfmModel(tinyConfig('v4', { decoderSkips: false, decoderXt }));
      const inp = inputs();
      const { x, t, y, r } = inp;
      const enc = model.encode(x, t, y);
      // The split forward equals the model's forward.
      const whole = model.forward(x, t, y);
      const split = model.forwardFromEncoder(x, t, y, enc);
      expect(await maxAbs(tf.sub(whole, split.velocity))).toBe(0);
      // ... and generating from the address alone gives the same velocity.
      const address = model.address(enc.features);
      expect(address.shape).toEqual([B, 48]);
      const gen = model.generateFromAddress(x, t, y, address);
      expect(await maxAbs(tf.sub(whole, gen.velocity))).toBe(0);

      const [gH, gFull, gHalf] = encoderGradients(model, enc, inp);
      expect(await maxAbs(gFull!)).toBe(0);
      expect(await maxAbs(gHalf!)).toBe(0);
      // ∂L/∂address through the generator alone, then pulled back through the address: ∂/∂h Σ address(h) ⊙ gA.
      const gA = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(model.generateFromAddress(x, t, y, a as tf.Tensor2D).velocity, r)),
      )(address);
      const gChain = tf.grad((h: tf.Tensor) => tf.sum(tf.mul(model.address(h as tf.Tensor4D), gA)))(enc.features);
      const scale = await maxAbs(gH!);
      expect(scale).toBeGreaterThan(1e-6); // h does reach the velocity (through the address)
      expect(await maxAbs(tf.sub(gH!, gChain))).toBeLessThan(1e-5 * Math.max(1, scale));
      tf.dispose([whole, split.velocity, split.features, split.latent, split.triangulation, gen.velocity, gen.latent]);
      tf.dispose([address, gH!, gFull!, gHalf!, gA, gChain, x, t, y, r, enc.features, enc.full, enc.half]);
      model.dispose();
    },
  );

  it('the skip variant (a departure) reads both encoder maps: their gradients are not 0', async () => {
    const model = new GlfmModel(tinyConfig('v4', { decoderSkips: true }));
    const inp = inputs();
    const enc = model.encode(inp.x, inp.t, inp.y);
    const [gH, gFull, gHalf] = encoderGradients(model, enc, inp);
    expect(await maxAbs(gFull!)).toBeGreaterThan(1e-6);
    expect(await maxAbs(gHalf!)).toBeGreaterThan(1e-6);
    expect(() => model.generateFromAddress(inp.x, inp.t, inp.y, tf.zeros([B, 48]) as tf.Tensor2D)).toThrow(
      /GlfmModel.generateFromAddress: 'decoderSkips' must be false/,
    );
    tf.dispose([gH!, gFull!, gHalf!, inp.x, inp.t, inp.y, inp.r, enc.features, enc.full, enc.half]);
    model.dispose();
  });

  it('x_t reaches the velocity with the address fixed only under decoderXt', async () => {
    for (const [decoderXt, direct] of [
      ['none', false],
      ['full', true],
      ['pyramid', true],
    ] as const) {
      const model = new GlfmModel(tinyConfig('v4', { decoderSkips: false, decoderXt }));
      const { x, t, y, r } = inputs();
      const address = model.address(model.encode(x, t, y).features);
      const gx = tf.grad((xx: tf.Tensor) =>
        tf.add(
          tf.sum(tf.mul(model.generateFromAddress(xx as tf.Tensor4D, t, y, address).velocity, r)),
          tf.mul(tf.sum(xx), 0),
        ),
      )(x);
      const m = await maxAbs(gx);
      if (direct) expect(m).toBeGreaterThan(1e-6);
      else expect(m).toBe(0);
      model.dispose();
    }
  });

  it('errors: address / generateFromAddress are v4 only; wrong shapes name the argument', () => {
    const v3 = new GlfmModel(tinyConfig('v3'));
    expect(() => v3.address(tf.zeros([1, 7, 7, 32]) as tf.Tensor4D)).toThrow(InvalidArgumentError);
    v3.dispose();
    const model = new GlfmModel(tinyConfig('v4', { decoderSkips: false }));
    expect(() => model.address(tf.zeros([1, 7, 7, 16]) as tf.Tensor4D)).toThrow(/GlfmModel.address: 'features'/);
    const { x, t, y } = inputs();
    expect(() => model.generateFromAddress(x, t, y, tf.zeros([B, 47]) as tf.Tensor2D)).toThrow(ShapeError);
    const enc = model.encode(x, t, y);
    expect(() => model.forwardFromEncoder(x, t, y, { ...enc, half: enc.full })).toThrow(
      /GlfmModel.forwardFromEncoder: 'encoded.half'/,
    );
    model.dispose();
  });
});
