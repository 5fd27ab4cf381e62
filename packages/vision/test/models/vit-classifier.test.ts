// ViTClassifier (the plain-ViT baseline and the COCO student, moved here from the recipes): output shapes, parameter
// names, the seed rule (encoder seed, classifier seed + 1), and the safetensors loader with its errors.
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';
import { Linear } from '@geolip/nn';
import { writeSafetensors } from '@geolip/io';

import {
  FMNIST_PLAIN_VIT,
  FMNIST_SMALL_VIT,
  ViTClassifier,
  ViTEncoder,
  vitClassifierFromSafetensors,
} from '../../src/index.js';
import type { ViTEncoderConfig } from '../../src/index.js';
import { float32StateEntries } from '../../src/testing/index.js';

const TINY: ViTEncoderConfig = { ...FMNIST_SMALL_VIT, dModel: 16, heads: 2, ffDim: 32, layers: 1, outDim: 8 };

function file(net: ViTClassifier, meta: Record<string, string>): Uint8Array {
  return writeSafetensors(float32StateEntries(net), meta);
}

describe('ViTClassifier', () => {
  it('embeds to unit rows and gives one logit per class; names encoder.* and classifier.*', () => {
    const net = new ViTClassifier(TINY, 3, { seed: 5 });
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const out = net.forward(x);
    expect(out.embedding.shape).toEqual([2, 8]);
    expect(out.logits.shape).toEqual([2, 3]);
    const norms = tf.norm(out.embedding, 2, 1).dataSync();
    for (const n of norms) expect(n).toBeCloseTo(1, 5);
    expect(Object.keys(net.getWeights()).filter((k) => k.startsWith('classifier.'))).toEqual([
      'classifier.weight',
      'classifier.bias',
    ]);
    // The seed rule of the recipes' PlainVit / CocoStudent: encoder `seed`, classifier `seed + 1`.
    const enc = new ViTEncoder(TINY, { seed: 5 });
    const lin = new Linear(8, 3, { seed: 6 });
    expect(Array.from(net.encoder.getWeights()['patch_embed.weight']?.dataSync() ?? [])).toEqual(
      Array.from(enc.getWeights()['patch_embed.weight']?.dataSync() ?? []),
    );
    expect(Array.from(net.classifier.getWeights().weight!.dataSync())).toEqual(
      Array.from(lin.getWeights().weight!.dataSync()),
    );
    tf.dispose([x, out.embedding, out.logits]);
    net.dispose();
    enc.dispose();
    lin.dispose();
  });

  it('refuses a class count that is not a positive integer', () => {
    expect(() => new ViTClassifier(TINY, 0)).toThrow(InvalidArgumentError);
    expect(() => new ViTClassifier(TINY, 0)).toThrow(/ViTClassifier: 'classes' must be a positive integer, got 0/);
  });

  it('the Fashion-MNIST presets build', () => {
    expect(FMNIST_PLAIN_VIT).toMatchObject({ imageSize: 28, channels: 1, dModel: 256, layers: 8, outDim: 128 });
    expect(FMNIST_SMALL_VIT).toMatchObject({ imageSize: 28, channels: 1, dModel: 64, layers: 2, outDim: 64 });
  });
});

describe('vitClassifierFromSafetensors', () => {
  it('round-trips the weights with the class count from classifier.weight', () => {
    const net = new ViTClassifier(TINY, 4, { seed: 2 });
    const bytes = file(net, { 'geolip.model': 'vit', 'geolip.config': JSON.stringify(net.encoder.config) });
    const back = vitClassifierFromSafetensors(bytes);
    expect(back.classes).toBe(4);
    const a = net.getWeights();
    const b = back.getWeights();
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) expect(Array.from(b[k]!.dataSync())).toEqual(Array.from(a[k]!.dataSync()));
    net.dispose();
    back.dispose();
  });

  it('refuses other files', () => {
    const net = new ViTClassifier(TINY, 2);
    expect(() =>
      vitClassifierFromSafetensors(file(net, { 'geolip.model': 'dual-stream', 'geolip.config': '{}' })),
    ).toThrow(FormatError);
    expect(() => vitClassifierFromSafetensors(file(net, { 'geolip.model': 'vit', 'geolip.config': '{' }))).toThrow(
      /'geolip.config' is not JSON/,
    );
    expect(() => vitClassifierFromSafetensors(new Uint8Array([1, 2, 3]))).toThrow(/is not a safetensors file/);
    net.dispose();
  });
});
