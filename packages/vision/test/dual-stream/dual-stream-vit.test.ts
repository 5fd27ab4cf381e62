// DualStreamViT: the exact v1 part counts of spec §9.2 and the totals of the two presets, the block counts,
// forward shapes / unit norms / CM validity on a tiny 28 × 28 × 1 config, geometric autograd, the state-dict
// round trip, and the errors for bad images and configs.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import {
  CrossBlock,
  DUAL_STREAM_AUTOGRAD,
  DUAL_STREAM_V1,
  DUAL_STREAM_V5,
  DUAL_STREAM_V5_BIDIR,
  DUAL_STREAM_V6,
  DualStreamBlock,
  DualStreamViT,
} from '../../src/index.js';
import {
  FMNIST_DUAL_STREAM,
  FMNIST_DUAL_STREAM_V5,
  FMNIST_DUAL_STREAM_V5_BIDIR,
  FMNIST_DUAL_STREAM_V6,
} from '../../src/index.js';
import type { DualStreamViTConfig, DualStreamViTOutput } from '../../src/index.js';

/** Fashion-MNIST shape (28 × 28 × 1, patch 4 → 49 tokens), tiny widths. */
const TINY: DualStreamViTConfig = {
  imageSize: 28,
  patchSize: 4,
  channels: 1,
  embedDim: 16,
  streamDim: 8,
  heads: 2,
  dualBlocks: 2,
  crossBlocks: 1,
  fusedBlocks: 0,
  outDim: 8,
  anchors: 8,
  compartments: 2,
  compartmentDim: 4,
  classifierHidden: 12,
  classes: 3,
};
const TINY_FUSED: DualStreamViTConfig = { ...TINY, crossBlocks: 0, fusedBlocks: 1, fusedDim: 12 };

function parts(m: DualStreamViT): { geo: number; std: number; byTop: Record<string, number> } {
  let geo = 0;
  let std = 0;
  const byTop: Record<string, number> = {};
  for (const [name, v] of m.namedParameters()) {
    const top = name.split('.')[0]!;
    byTop[top] = (byTop[top] ?? 0) + v.size;
    if (/^geo_(proj|norm)\.|^(dual|cross)_blocks\.\d+\.(geo_|ksimplex\.)/.test(name)) geo += v.size;
    if (/^std_(proj|norm)\.|^(dual|cross)_blocks\.\d+\.std_/.test(name)) std += v.size;
  }
  return { geo, std, byTop };
}

function disposeOut(o: DualStreamViTOutput): void {
  tf.dispose(Object.values(o));
}

describe('DualStreamViT', () => {
  it('reproduces the v1 part counts of spec §9.2 and totals 6,387,856 at DUAL_STREAM_V1', () => {
    const m = new DualStreamViT(DUAL_STREAM_V1);
    const { geo, std, byTop } = parts(m);
    expect(geo).toBe(1_281_340);
    expect(std).toBe(1_261_248);
    expect(byTop['fused_blocks']! + byTop['fused_norm']!).toBe(3_159_552);
    expect(byTop['constellation']! + byTop['patchwork']!).toBe(84_480);
    expect(m.dualBlocks.get(0).ksimplex.paramCount()).toBe(10_046);
    expect(byTop).toEqual({
      patch_embed: 18_816,
      pos_embed: 24_576,
      geo_proj: 73_920,
      std_proj: 73_920,
      dual_blocks: 2_393_980,
      geo_norm: 384,
      std_norm: 384,
      fuse: 98_560,
      fused_blocks: 3_159_040,
      fused_norm: 512,
      geo_output_proj: 24_960,
      output_proj: 33_152,
      constellation: 8_192,
      patchwork: 76_288,
      classifier: 399_882,
      geo_classifier: 1_290,
    });
    expect(m.paramCount()).toBe(6_387_856);
    expect(m.numTokens).toBe(64);
    m.dispose();
  });

  it('totals 14,241,870 at DUAL_STREAM_V6 (3 dual + 6 cross blocks, 128 × 256 anchors, patchwork 16 × 128)', () => {
    const m = new DualStreamViT(DUAL_STREAM_V6);
    const { geo, std, byTop } = parts(m);
    expect(byTop['dual_blocks']).toBe(3 * (2 * 593_472 + 10_046));
    expect(byTop['cross_blocks']).toBe(6 * 2 * 593_472);
    expect(geo).toBe(73_920 + 3 * 603_518 + 6 * 593_472 + 384);
    expect(std).toBe(73_920 + 9 * 593_472 + 384);
    expect(byTop['constellation']! + byTop['patchwork']!).toBe(
      128 * 256 + 16 * (8 * 256 + 256 + 256 * 128 + 128 + 256),
    );
    expect(byTop['classifier']).toBe(2560 * 1024 + 1024 + 2048 + 1024 * 10 + 10);
    expect(m.paramCount()).toBe(14_241_870);
    const dual = new DualStreamBlock(192);
    const cross = new CrossBlock(192);
    expect(dual.paramCount()).toBe(1_196_990);
    expect(cross.paramCount()).toBe(1_186_944);
    dual.dispose();
    cross.dispose();
    m.dispose();
  });

  it('v5 is v1 with anchor dropout 0.1; v5-bidir (2 dual + 4 cross, v1–v5 head) totals 7,869,328', () => {
    expect(DUAL_STREAM_V5).toEqual({ ...DUAL_STREAM_V1, anchorDropout: 0.1 });
    const m = new DualStreamViT(DUAL_STREAM_V5_BIDIR);
    const { geo, std, byTop } = parts(m);
    expect(m.config).toMatchObject({ dualBlocks: 2, crossBlocks: 4, fusedBlocks: 0, outDim: 128, anchors: 64 });
    expect(geo).toBe(73_920 + 2 * 603_518 + 4 * 593_472 + 384); // 3,655,228
    expect(std).toBe(73_920 + 6 * 593_472 + 384); // 3,635,136
    expect(byTop['output_proj']).toBe(192 * 128 + 128 + 256); // from the std stream (192), not a fused 256
    expect(byTop['classifier']).toBe(399_882); // input 512 + 128 + 128 = 768, hidden 512
    expect(byTop['fuse']).toBeUndefined();
    // 18,816 + 24,576 + 3,655,228 + 3,635,136 + 2·24,960 + 84,480 + 399,882 + 1,290
    expect(m.paramCount()).toBe(7_869_328);
    m.dispose();
  });

  it('the 28 × 28 × 1 presets: 49 tokens, one channel (patch conv 384·16 + 384, positions 49 × 384)', () => {
    // Each loses 18,048 parameters to its CIFAR preset: the patch conv (3 → 1 channel: −12,288) and 15 positions (−5,760).
    const expected: [DualStreamViTConfig, number][] = [
      [FMNIST_DUAL_STREAM, 6_369_808],
      [FMNIST_DUAL_STREAM_V5, 6_369_808],
      [FMNIST_DUAL_STREAM_V5_BIDIR, 7_851_280],
      [FMNIST_DUAL_STREAM_V6, 14_223_822],
    ];
    for (const [config, count] of expected) {
      const m = new DualStreamViT(config);
      expect([m.numTokens, m.config.channels, m.paramCount()]).toEqual([49, 1, count]);
      m.dispose();
    }
    expect(FMNIST_DUAL_STREAM_V5.anchorDropout).toBe(0.1);
  });

  it('maps 28 × 28 × 1 images to logits, unit embeddings, a triangulation and CM validity in [0, 1]; leaks nothing', () => {
    const m = new DualStreamViT(TINY, { seed: 1 });
    expect(m.numTokens).toBe(49);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const out = m.forward(x);
    expect(tf.memory().numTensors).toBe(before + 8);
    expect(out.logits.shape).toEqual([3, 3]);
    expect(out.geoLogits.shape).toEqual([3, 3]);
    for (const e of [out.emb, out.geoEmb, out.stdEmb]) {
      expect(e.shape).toEqual([3, 8]);
      for (const n of tf.tidy(() => tf.norm(e, 'euclidean', 1)).dataSync()) expect(n).toBeCloseTo(1, 5);
    }
    expect(out.triangulation.shape).toEqual([3, 8]);
    for (const t of out.triangulation.dataSync()) {
      expect(t).toBeGreaterThanOrEqual(-1e-6);
      expect(t).toBeLessThanOrEqual(2 + 1e-6);
    }
    expect(out.cmValidity.shape).toEqual([2]);
    for (const v of out.cmValidity.dataSync()) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(out.cmVolumeSquared.shape).toEqual([2, 3, 49]);
    // emb = normalize(geo_emb + std_emb)
    const fused = tf.tidy(() => {
      const s = tf.add(out.geoEmb, out.stdEmb);
      return tf.div(s, tf.norm(s, 'euclidean', 1, true));
    });
    expect(
      Array.from(fused.dataSync())
        .map((v, i) => Math.abs(v - out.emb.dataSync()[i]!))
        .every((d) => d < 1e-5),
    ).toBe(true);
    tf.dispose([x, fused]);
    disposeOut(out);
    m.dispose();
  });

  it('runs the v1 topology (fusion) on a tiny config: std_emb comes from the fused stream', () => {
    const m = new DualStreamViT(TINY_FUSED, { seed: 2 });
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const out = m.forward(x, { training: true });
    expect(out.logits.shape).toEqual([2, 3]);
    expect(out.stdEmb.shape).toEqual([2, 8]);
    const sd = m.stateDict();
    expect(sd['fuse.weight']!.shape).toEqual([12, 16]);
    expect(sd['output_proj.0.weight']!.shape).toEqual([8, 12]);
    expect(sd['fused_blocks.0.self_attn.in_proj_weight']!.shape).toEqual([36, 12]);
    tf.dispose([x, ...Object.values(sd)]);
    disposeOut(out);
    m.dispose();
  });

  it('geometric autograd leaves the forward values unchanged and changes the gradient', () => {
    const m = new DualStreamViT(TINY, { seed: 4 });
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const plain = m.forward(x);
    const ga = m.forward(x, { autograd: DUAL_STREAM_AUTOGRAD });
    expect(Array.from(ga.logits.dataSync())).toEqual(Array.from(plain.logits.dataSync()));
    const target = tf.randomNormal([4, 8], 0, 1, 'float32', 6);
    const gradOf = (autograd: typeof DUAL_STREAM_AUTOGRAD | undefined): Float32Array => {
      const w = m.geoProj.weight;
      const { grads, value } = tf.variableGrads(() => {
        const o = m.forward(x, { autograd });
        const l = tf.sum(tf.mul(tf.add(o.emb, tf.add(o.geoEmb, o.stdEmb)), target)) as tf.Scalar;
        disposeOut(o);
        return l;
      }, [w]);
      const g = grads[w.name]!.dataSync() as Float32Array;
      tf.dispose([value, ...Object.values(grads)]);
      return g;
    };
    const g0 = gradOf(undefined);
    const g1 = gradOf(DUAL_STREAM_AUTOGRAD);
    expect(g1.every(Number.isFinite)).toBe(true);
    expect(g1.some((v, i) => Math.abs(v - g0[i]!) > 1e-7)).toBe(true);
    tf.dispose([x, target]);
    disposeOut(plain);
    disposeOut(ga);
    m.dispose();
  });

  it('round-trips its state dict (PyTorch names, per-compartment patchwork) into a fresh model', () => {
    const a = new DualStreamViT(TINY, { seed: 7 });
    const b = new DualStreamViT(TINY, { seed: 8 });
    const sd = a.stateDict();
    expect(Object.values(sd).reduce((n, t) => n + t.size, 0)).toBe(a.paramCount());
    expect(sd['patch_embed.weight']!.shape).toEqual([16, 1, 4, 4]);
    expect(sd['pos_embed.weight']!.shape).toEqual([49, 16]);
    expect(sd['dual_blocks.1.ksimplex.deform.weight']!.shape).toEqual([40, 8]);
    expect(sd['cross_blocks.0.std_cross.in_proj_weight']!.shape).toEqual([24, 8]);
    expect(sd['geo_output_proj.1.weight']!.shape).toEqual([8]);
    expect(sd['patchwork.compartments.1.0.weight']!.shape).toEqual([8, 4]);
    expect(sd['classifier.4.weight']!.shape).toEqual([3, 12]);
    expect(sd['constellation.anchors']!.shape).toEqual([8, 8]);
    b.loadStateDict(sd);
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
    const oa = a.forward(x);
    const ob = b.forward(x);
    expect(Array.from(ob.logits.dataSync())).toEqual(Array.from(oa.logits.dataSync()));
    expect(Array.from(ob.geoLogits.dataSync())).toEqual(Array.from(oa.geoLogits.dataSync()));
    const { 'patchwork.compartments.0.0.bias': _dropped, ...missing } = sd;
    expect(() => b.loadStateDict(missing)).toThrow(/patchwork\.compartments\.0\.0\.bias/);
    tf.dispose([x, ...Object.values(sd)]);
    disposeOut(oa);
    disposeOut(ob);
    a.dispose();
    b.dispose();
  });

  it('rejects wrong channels, a wrong image size and bad configs, naming the argument', () => {
    const m = new DualStreamViT(TINY);
    const rgb = tf.zeros([1, 28, 28, 3]) as tf.Tensor4D;
    const small = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
    const flat = tf.zeros([1, 784]) as unknown as tf.Tensor4D;
    for (const bad of [rgb, small, flat]) {
      expect(() => m.forward(bad)).toThrow(ShapeError);
      expect(() => m.forward(bad)).toThrow(/DualStreamViT\.forward.*'images'.*C=1/);
    }
    expect(() => m.forward(tf.zeros([1, 28, 28, 1], 'int32') as tf.Tensor4D)).toThrow(InvalidArgumentError);
    expect(() => new DualStreamViT({ ...TINY, patchSize: 5 })).toThrow(/config\.patchSize/);
    expect(() => new DualStreamViT({ ...TINY, heads: 3 })).toThrow(/config\.heads/);
    expect(() => new DualStreamViT({ ...TINY, anchors: 9 })).toThrow(/config\.anchors/);
    expect(() => new DualStreamViT({ ...TINY, fusedBlocks: 1 })).toThrow(/config\.fusedDim/);
    expect(() => new DualStreamViT({ ...TINY, dualBlocks: -1 })).toThrow(/config\.dualBlocks/);
    tf.dispose([rgb, small, flat]);
    m.dispose();
  });
});
