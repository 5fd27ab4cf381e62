// GlfmModel: output and internal shapes of every variant at 28×28×1 and 32×32×3, memory, the relay and
// patch constellation on their own, and the input errors (wrong image size for the config, bad t / labels).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { ConstellationRelay, GlfmModel, InvalidArgumentError, PatchConstellation, ShapeError } from '../src/index.js';
import { tinyConfig } from './helpers.js';

function inputs(b: number, size: number, c: number): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D] {
  return [
    tf.randomNormal([b, size, size, c], 0, 1, 'float32', 1) as tf.Tensor4D,
    tf.linspace(0.1, 0.9, b) as tf.Tensor1D,
    tf.tensor1d(
      Array.from({ length: b }, (_, i) => i % 3),
      'int32',
    ),
  ];
}

describe('GlfmModel shapes', () => {
  it.each(['v1', 'v2', 'v3', 'v4'] as const)(
    '%s: velocity [B, H, W, C], features/latent [B, H/4, H/4, Cb], triangulation',
    (v) => {
      for (const [size, channels] of [
        [28, 1],
        [32, 3],
      ] as const) {
        const model = new GlfmModel(tinyConfig(v, { imageSize: size, channels }));
        const [x, t, y] = inputs(2, size, channels);
        const before = tf.memory().numTensors;
        const r = model.forwardDetailed(x, t, y);
        expect(tf.memory().numTensors).toBe(before + 4);
        const s = size / 4;
        expect(r.velocity.shape).toEqual([2, size, size, channels]);
        expect(r.features.shape).toEqual([2, s, s, 32]);
        expect(r.latent.shape).toEqual([2, s, s, 32]);
        // P = 2 patches, K = 3 phases, A = 4 anchors → 24 per triangulation.
        expect(r.triangulation.shape).toEqual(v === 'v4' ? [2, 48] : [2 * s * s, 24]);
        const tri = r.triangulation.dataSync();
        expect(tri.every((d) => d >= -1e-5 && d <= 2 + 1e-5)).toBe(true);
        tf.dispose([r.velocity, r.features, r.latent, r.triangulation]);
        const vel = model.forward(x, t, y);
        expect(tf.memory().numTensors).toBe(before + 1);
        expect(vel.dataSync().every(Number.isFinite)).toBe(true);
        tf.dispose([vel, x, t, y]);
        model.dispose();
      }
    },
  );

  it('v3 decoder input is exactly the relay output; v1 latent = h + σ(−3)·relay(h)', async () => {
    const [x, t, y] = inputs(2, 28, 1);
    const v1 = new GlfmModel(tinyConfig('v1'));
    const r = v1.forwardDetailed(x, t, y);
    const pix = tf.reshape(r.features, [-1, 32]) as tf.Tensor2D;
    const relay = v1.relay!.forward(pix);
    const expected = tf.add(pix, tf.mul(relay.output, 1 / (1 + Math.exp(3))));
    const diff = tf.max(tf.abs(tf.sub(tf.reshape(r.latent, [-1, 32]), expected)));
    expect((await diff.data())[0]).toBeLessThan(1e-5);
    v1.dispose();
    const v3 = new GlfmModel(tinyConfig('v3'));
    const r3 = v3.forwardDetailed(x, t, y);
    const out3 = v3.relay!.forward(tf.reshape(r3.features, [-1, 32]) as tf.Tensor2D).output;
    const d3 = tf.max(tf.abs(tf.sub(tf.reshape(r3.latent, [-1, 32]), out3)));
    expect((await d3.data())[0]).toBeLessThan(1e-5);
    expect(v3.relay!.gate).toBeNull();
    v3.dispose();
  });

  it('the time and class inputs change the velocity', async () => {
    const model = new GlfmModel(tinyConfig('v4'));
    const x = tf.randomNormal([1, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const a = model.forward(x, tf.tensor1d([0.2]), tf.tensor1d([0], 'int32'));
    const b = model.forward(x, tf.tensor1d([0.8]), tf.tensor1d([0], 'int32'));
    const c = model.forward(x, tf.tensor1d([0.2]), tf.tensor1d([1], 'int32'));
    expect((await tf.max(tf.abs(tf.sub(a, b))).data())[0]).toBeGreaterThan(1e-6);
    expect((await tf.max(tf.abs(tf.sub(a, c))).data())[0]).toBeGreaterThan(1e-6);
    model.dispose();
  });
});

describe('U-Net skips (decoderSkips)', () => {
  it("with v4's generator output zeroed, the velocity ignores x without skips and depends on x with them", async () => {
    const t = tf.tensor1d([0.5, 0.5]);
    const y = tf.tensor1d([1, 1], 'int32');
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D; // two different images
    const spread = async (skips: boolean): Promise<number> => {
      const model = new GlfmModel(tinyConfig('v4', { decoderSkips: skips, decoderXt: 'none' }));
      expect(model.config.decoderSkips).toBe(skips);
      // gen_out = 0: the latent is 0 for every input, so only the skips can carry x to the decoder.
      for (const [name, p] of model.namedParameters()) if (name.startsWith('gen_out.')) p.assign(tf.zerosLike(p));
      const v = model.forward(x, t, y);
      const [a, b] = tf.split(v, 2);
      const d = (await tf.max(tf.abs(tf.sub(a!, b!))).data())[0]!;
      tf.dispose([v, a!, b!]);
      model.dispose();
      return d;
    };
    expect(await spread(false)).toBe(0);
    expect(await spread(true)).toBeGreaterThan(1e-4);
    tf.dispose([t, y, x]);
  });

  it('presets: skips off everywhere (a departure for v4), x_t into the decoder for v4 only; overrides win', () => {
    expect(['v1', 'v2', 'v3', 'v4'].map((v) => tinyConfig(v as 'v1').decoderSkips)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(['v1', 'v2', 'v3', 'v4'].map((v) => tinyConfig(v as 'v1').decoderXt)).toEqual([
      'none',
      'none',
      'none',
      'full',
    ]);
    expect(tinyConfig('v1', { decoderSkips: true }).decoderSkips).toBe(true);
    expect(() => tinyConfig('v1', { decoderSkips: 1 as unknown as boolean })).toThrow(InvalidArgumentError);
    expect(() => tinyConfig('v1', { decoderSkips: 1 as unknown as boolean })).toThrow(
      /'decoderSkips' must be a boolean, got 1/,
    );
  });
});

describe('PatchConstellation and ConstellationRelay', () => {
  it('home = anchors at init, unit rows; the triangulation of an anchor itself is 0 at phase 0', async () => {
    const pc = new PatchConstellation({ patches: 2, anchorsPerPatch: 4, seed: 3 });
    const norms = await tf.norm(pc.anchors, 'euclidean', -1).data();
    norms.forEach((n) => expect(n).toBeCloseTo(1, 5));
    // x = [anchor 1 of patch 0 ‖ anchor 2 of patch 1] → tri[patch 0, phase 0, anchor 1] = 0, tri[patch 1, phase 0, anchor 2] = 0.
    const x = tf.concat(
      [
        tf.reshape(tf.slice(pc.anchors, [0, 1, 0], [1, 1, 16]), [1, 16]),
        tf.reshape(tf.slice(pc.anchors, [1, 2, 0], [1, 1, 16]), [1, 16]),
      ],
      1,
    ) as tf.Tensor2D;
    const tri = await pc.triangulate(x).data();
    expect(tri.length).toBe(2 * 3 * 4);
    expect(tri[0 * 12 + 0 * 4 + 1]).toBeCloseTo(0, 5);
    expect(tri[1 * 12 + 0 * 4 + 2]).toBeCloseTo(0, 5);
    // Phases coincide while anchors sit at home.
    expect(tri[0 * 12 + 1 * 4 + 1]).toBeCloseTo(0, 5);
    expect(() => pc.triangulate(tf.zeros([1, 31]) as tf.Tensor2D)).toThrow(ShapeError);
    pc.dispose();
  });

  it('relay: gate σ(−3) ≈ 0.0474 by default, output [N, P·16]', () => {
    const relay = new ConstellationRelay({ patches: 3, seed: 1 });
    expect(relay.gateValue()).toBeCloseTo(1 / (1 + Math.exp(3)), 6);
    const { triangulation, output } = relay.forward(tf.randomNormal([5, 48]) as tf.Tensor2D);
    expect(triangulation.shape).toEqual([5, 3 * 48]);
    expect(output.shape).toEqual([5, 48]);
    expect(() => new ConstellationRelay({ patches: 1, gateInit: Number.NaN })).toThrow(/ConstellationRelay.*gateInit/);
    relay.dispose();
  });
});

describe('GlfmModel input errors', () => {
  it('a 32×32 image for a 28×28 config (and the wrong channel count) is a ShapeError naming x', () => {
    const model = new GlfmModel(tinyConfig('v1'));
    const t = tf.tensor1d([0.5]);
    const y = tf.tensor1d([0], 'int32');
    expect(() => model.forward(tf.zeros([1, 32, 32, 1]) as tf.Tensor4D, t, y)).toThrow(ShapeError);
    expect(() => model.forward(tf.zeros([1, 32, 32, 1]) as tf.Tensor4D, t, y)).toThrow(/GlfmModel\.forward.*'x'/);
    expect(() => model.forward(tf.zeros([1, 28, 28, 3]) as tf.Tensor4D, t, y)).toThrow(ShapeError);
    expect(() => model.forward(tf.zeros([1, 28, 28, 1]) as tf.Tensor4D, tf.tensor1d([0.5, 0.5]), y)).toThrow(/'t'/);
    expect(() => model.forward(tf.zeros([1, 28, 28, 1]) as tf.Tensor4D, t, tf.tensor1d([0]))).toThrow(
      InvalidArgumentError,
    );
    model.dispose();
  });
});
