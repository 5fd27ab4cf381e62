// ViTEncoder: the card's parameter count in both layouts of spec §10.2, shapes and unit norm on a tiny config,
// the state-dict round trip, and the errors for bad configs and bad images.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { VIT_STUDENT_CONFIG, ViTEncoder } from '../../src/index.js';
import type { ViTEncoderConfig } from '../../src/index.js';

const TINY: ViTEncoderConfig = {
  imageSize: 8,
  patchSize: 4,
  channels: 3,
  dModel: 16,
  heads: 2,
  ffDim: 32,
  layers: 2,
  outDim: 8,
};

function randomImages(batch: number, size: number, channels: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([batch, size, size, channels], -1, 1, 'float32', seed) as tf.Tensor4D;
}

function byPrefix(model: ViTEncoder): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of model.namedParameters()) {
    const part = name.startsWith('encoder.layers.')
      ? 'encoder.layers'
      : name
          .split('.')
          .slice(0, name.startsWith('encoder.') ? 2 : 1)
          .join('.');
    out[part] = (out[part] ?? 0) + v.size;
  }
  return out;
}

describe('ViTEncoder', () => {
  it('has 11,216,768 parameters at the card config, layout B (mean pooling, default), with the spec §10.2 breakdown', () => {
    const m = new ViTEncoder(VIT_STUDENT_CONFIG, { init: 'pytorch' });
    expect(m.paramCount()).toBe(11_216_768);
    expect(byPrefix(m)).toEqual({
      patch_embed: 295_296,
      emb_norm: 768,
      'encoder.pos_emb': 75_264,
      'encoder.layers': 10_646_784,
      'encoder.norm': 768,
      head: 197_888,
    });
    m.dispose();
  });

  it('has 11,216,768 parameters at the card config, layout A (CLS token)', () => {
    const m = new ViTEncoder({ ...VIT_STUDENT_CONFIG, pooling: 'cls' }, { init: 'pytorch' });
    expect(m.paramCount()).toBe(11_216_768);
    const parts = byPrefix(m);
    expect(parts.cls_token).toBe(384);
    expect(parts['encoder.pos_emb']).toBe(75_648);
    expect(parts.emb_norm).toBeUndefined();
    m.dispose();
  });

  it('names its parameters as a PyTorch module, in PyTorch layout', () => {
    const m = new ViTEncoder(TINY);
    const sd = m.stateDict();
    expect(sd['patch_embed.weight']!.shape).toEqual([16, 3, 4, 4]);
    expect(sd['encoder.pos_emb.weight']!.shape).toEqual([4, 16]);
    expect(sd['encoder.layers.1.self_attn.in_proj_weight']!.shape).toEqual([48, 16]);
    expect(sd['head.3.weight']!.shape).toEqual([8, 16]);
    expect(Object.keys(sd)).toContain('emb_norm.weight');
    tf.dispose(Object.values(sd));
    m.dispose();
  });

  for (const pooling of ['mean', 'cls'] as const) {
    it(`maps [B, 8, 8, 3] to unit rows [B, 8] (pooling '${pooling}') and leaks no tensor`, () => {
      const m = new ViTEncoder({ ...TINY, pooling }, { seed: 3 });
      const x = randomImages(5, 8, 3, 1);
      const before = tf.memory().numTensors;
      const y = m.forward(x);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(y.shape).toEqual([5, 8]);
      const norms = tf.norm(y, 'euclidean', 1).dataSync();
      for (const n of norms) expect(n).toBeCloseTo(1, 5);
      const f = m.features(x);
      expect(f.shape).toEqual([5, 16]);
      tf.dispose([x, y, f]);
      m.dispose();
    });
  }

  it('gives the same row for an image alone and inside a batch', () => {
    const m = new ViTEncoder(TINY, { seed: 1 });
    const x = randomImages(3, 8, 3, 2);
    const all = m.forward(x);
    const one = m.forward(tf.slice(x, [1, 0, 0, 0], [1, 8, 8, 3]) as tf.Tensor4D);
    const a = tf.slice(all, [1, 0], [1, 8]).dataSync();
    const b = one.dataSync();
    for (let i = 0; i < 8; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    tf.dispose([x, all, one]);
    m.dispose();
  });

  for (const pooling of ['mean', 'cls'] as const) {
    it(`round-trips its state dict into a fresh model (pooling '${pooling}'): identical outputs`, () => {
      const a = new ViTEncoder({ ...TINY, pooling }, { seed: 7 });
      const b = new ViTEncoder({ ...TINY, pooling }, { seed: 8 });
      const x = randomImages(2, 8, 3, 3);
      const ya = a.forward(x);
      const yb0 = b.forward(x);
      expect(tf.max(tf.abs(tf.sub(ya, yb0))).dataSync()[0]).toBeGreaterThan(1e-3); // different seeds differ
      const sd = a.stateDict();
      b.loadStateDict(sd);
      const yb = b.forward(x);
      expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
      tf.dispose([x, ya, yb0, yb, ...Object.values(sd)]);
      a.dispose();
      b.dispose();
    });
  }

  it('refuses a state dict with a missing key or a wrong shape, naming it, and changes nothing', () => {
    const m = new ViTEncoder(TINY);
    const sd = m.stateDict();
    const missing = { ...sd };
    delete missing['head.3.bias'];
    expect(() => m.loadStateDict(missing)).toThrow(/head\.3\.bias/);
    const wrong = { ...sd, 'patch_embed.weight': tf.zeros([16, 1, 4, 4]) };
    expect(() => m.loadStateDict(wrong)).toThrow(ShapeError);
    expect(() => m.loadStateDict(wrong)).toThrow(/patch_embed\.weight/);
    tf.dispose([...Object.values(sd), wrong['patch_embed.weight']]);
    m.dispose();
  });

  it('throws ShapeError naming images for a wrong size, a wrong channel count or a wrong rank', () => {
    const m = new ViTEncoder(TINY);
    const gray = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
    const big = tf.zeros([2, 12, 12, 3]) as tf.Tensor4D;
    const flat = tf.zeros([2, 8, 8]);
    expect(() => m.forward(gray)).toThrow(ShapeError);
    expect(() => m.forward(gray)).toThrow(
      /ViTEncoder\.forward: 'images' must have shape \[B, H=8, W=8, C=3\].*got \[2, 8, 8, 1\].*3 channels/,
    );
    expect(() => m.forward(big)).toThrow(/'images'.*got \[2, 12, 12, 3\].*image size/);
    expect(() => m.forward(flat as unknown as tf.Tensor4D)).toThrow(ShapeError);
    expect(() => m.features(gray)).toThrow(/ViTEncoder\.features: 'images'/);
    const ints = tf.zeros([1, 8, 8, 3], 'int32') as tf.Tensor4D;
    expect(() => m.forward(ints)).toThrow(InvalidArgumentError);
    expect(() => m.forward(null as unknown as tf.Tensor4D)).toThrow(/'images' must be a tf\.Tensor/);
    tf.dispose([gray, big, flat, ints]);
    m.dispose();
    expect(() => m.forward(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D)).toThrow(/disposed/);
  });

  it('validates its config, naming the field', () => {
    expect(() => new ViTEncoder({ ...TINY, imageSize: 10 })).toThrow(
      /config\.imageSize.*multiple of config\.patchSize=4/,
    );
    expect(() => new ViTEncoder({ ...TINY, heads: 3 })).toThrow(/config\.heads.*divide config\.dModel=16/);
    expect(() => new ViTEncoder({ ...TINY, layers: 0 })).toThrow(/config\.layers/);
    expect(() => new ViTEncoder({ ...TINY, outDim: 2.5 })).toThrow(/config\.outDim/);
    expect(() => new ViTEncoder({ ...TINY, pooling: 'max' as 'mean' })).toThrow(/config\.pooling/);
    expect(() => new ViTEncoder(TINY, { init: 'he' as 'xavier' })).toThrow(/options\.init/);
  });

  it('accepts a smaller grayscale config (28 × 28, patch 7, one channel)', () => {
    const m = new ViTEncoder({
      imageSize: 28,
      patchSize: 7,
      channels: 1,
      dModel: 8,
      heads: 2,
      ffDim: 16,
      layers: 1,
      outDim: 4,
    });
    const x = tf.zeros([2, 28, 28, 1]) as tf.Tensor4D;
    const y = m.forward(x);
    expect(y.shape).toEqual([2, 4]);
    expect(m.numPatches).toBe(16);
    tf.dispose([x, y]);
    m.dispose();
  });
});
