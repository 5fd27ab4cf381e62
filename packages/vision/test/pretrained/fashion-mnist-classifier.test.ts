// dualStreamFromSafetensors and FashionMnistClassifier: the safetensors round trip of a tiny random model (F32
// exact, F16 close), what classify returns (softmax, argmax, cosines recomputed from the anchors, byte/float
// inputs agree), the bundled weights on 200 real Fashion-MNIST test images (fixtures/pretrained/fmnist-test-200.bin,
// from gen_input_fixtures.py) against their true labels, and the errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { float32ToFloat16Bits, writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DualStreamViT,
  FashionMnistClassifier,
  dualStreamFromSafetensors,
  loadGeolipFashionMnist,
} from '../../src/index.js';
import type { DualStreamViTConfig } from '../../src/index.js';
import { tinyDualStreamViTConfig } from '../../src/testing/index.js';

const TINY: DualStreamViTConfig = tinyDualStreamViTConfig();

function weightsFile(
  model: DualStreamViT,
  meta: Record<string, string>,
  dtype: 'F32' | 'F16' = 'F32',
  drop?: string,
): Uint8Array {
  const state = model.stateDict();
  const tensors: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(state)) {
    if (name === drop) continue;
    const data = t.dataSync() as Float32Array;
    tensors[name] =
      dtype === 'F32'
        ? { dtype, shape: t.shape, data }
        : { dtype, shape: t.shape, data: Uint16Array.from(data, float32ToFloat16Bits) };
  }
  tf.dispose(Object.values(state));
  return writeSafetensors(tensors as never, meta);
}

const meta = (extra: Record<string, string> = {}) => ({
  'geolip.model': 'dual-stream',
  'geolip.config': JSON.stringify(TINY),
  ...extra,
});

function images(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n * 784 }, (_, i) => ((i * 2654435761 + seed * 97) % 1000) / 1000);
}

describe('dualStreamFromSafetensors', () => {
  let source: DualStreamViT;
  beforeAll(() => {
    source = new DualStreamViT(TINY, { seed: 3 });
  });
  afterAll(() => source.dispose());

  it('F32 round trip gives the same outputs; F16 within fp16 rounding', () => {
    const x = tf.tensor4d(images(4, 1), [4, 28, 28, 1]);
    const ref = source.forward(x);
    const loaded = dualStreamFromSafetensors(weightsFile(source, meta()));
    const half = dualStreamFromSafetensors(weightsFile(source, meta(), 'F16'));
    const a = loaded.model.forward(x);
    const b = half.model.forward(x);
    expect(Math.max(...(tf.abs(tf.sub(a.logits, ref.logits)).dataSync() as Float32Array))).toBeLessThan(1e-5);
    expect(Math.max(...(tf.abs(tf.sub(a.emb, ref.emb)).dataSync() as Float32Array))).toBeLessThan(1e-5);
    const halfErr = Math.max(...(tf.abs(tf.sub(b.logits, ref.logits)).dataSync() as Float32Array));
    expect(halfErr).toBeGreaterThan(0);
    expect(halfErr).toBeLessThan(2e-2);
    expect(loaded.classes).toEqual(['class 0', 'class 1', 'class 2']);
    expect(loaded.anchorLabels).toBeNull();
    expect(loaded.metadata['geolip.model']).toBe('dual-stream');
    loaded.model.dispose();
    half.model.dispose();
    tf.dispose([x, ref, a, b] as never);
  });

  it('reads class names and anchor labels from the metadata', () => {
    const labels = [0, 1, 2, 0, -1, 2].map((label, i) => ({
      label,
      share: label < 0 ? 0 : 0.5 + i / 20,
      count: label < 0 ? 0 : 10 + i,
    }));
    const w = dualStreamFromSafetensors(
      weightsFile(source, meta({ 'geolip.classes': '["a","b","c"]', 'geolip.anchorLabels': JSON.stringify(labels) })),
    );
    expect(w.classes).toEqual(['a', 'b', 'c']);
    expect(w.anchorLabels).toEqual(labels);
    w.model.dispose();
  });

  const bad: [string, () => Uint8Array | ArrayBuffer, RegExp, typeof FormatError | typeof InvalidArgumentError][] = [
    ['not bytes', () => 'x' as never, /must be a Uint8Array/, InvalidArgumentError],
    [
      'not safetensors',
      () => new TextEncoder().encode('<!doctype html><html></html>'),
      /not a safetensors file/,
      FormatError,
    ],
    [
      'another model',
      () => weightsFile(source, meta({ 'geolip.model': 'caption-encoder' })),
      /'geolip.model' must be 'dual-stream'/,
      FormatError,
    ],
    [
      'config not JSON',
      () => weightsFile(source, meta({ 'geolip.config': '{' })),
      /'geolip.config' is not JSON/,
      FormatError,
    ],
    [
      'invalid config',
      () => weightsFile(source, meta({ 'geolip.config': JSON.stringify({ ...TINY, heads: 3 }) })),
      /not a valid DualStreamViT config/,
      FormatError,
    ],
    [
      'missing tensor',
      () => weightsFile(source, meta(), 'F32', 'geo_classifier.weight'),
      /geo_classifier\.weight/,
      FormatError,
    ],
    [
      'bad classes',
      () => weightsFile(source, meta({ 'geolip.classes': '["a"]' })),
      /'geolip.classes' must be an array of 3 strings/,
      FormatError,
    ],
    [
      'bad anchor labels',
      () => weightsFile(source, meta({ 'geolip.anchorLabels': '[1,2]' })),
      /'geolip.anchorLabels' must be an array of 6/,
      FormatError,
    ],
  ];
  for (const [name, bytes, message, type] of bad) {
    it(`rejects ${name}`, () => {
      const call = () => dualStreamFromSafetensors(bytes());
      expect(call).toThrow(type);
      expect(call).toThrow(/^dualStreamFromSafetensors: /);
      expect(call).toThrow(message);
    });
  }
});

describe('FashionMnistClassifier.classify', () => {
  let clf: FashionMnistClassifier;
  beforeAll(() => {
    const source = new DualStreamViT(TINY, { seed: 5 });
    const labels = Array.from({ length: 6 }, (_, i) => ({ label: i % 3, share: 1, count: 1 }));
    clf = new FashionMnistClassifier(
      dualStreamFromSafetensors(weightsFile(source, meta({ 'geolip.anchorLabels': JSON.stringify(labels) }))),
    );
    source.dispose();
  });
  afterAll(() => clf.dispose());

  it('softmax probabilities, argmax label, nearest anchors by cosine (recomputed), batches agree', async () => {
    const x = images(5, 2);
    const preds = await clf.classify(x, { topAnchors: 6, batchSize: 2 });
    expect(preds).toHaveLength(5);
    const anchors = clf.model.constellation.normalizedAnchors();
    const A = anchors.arraySync();
    anchors.dispose();
    const whole = await clf.classify(x, { topAnchors: 2 });
    preds.forEach((p, i) => {
      expect(p.probabilities.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(p.probabilities[p.label]).toBe(Math.max(...p.probabilities));
      expect(p.className).toBe(`class ${p.label}`);
      expect(Math.hypot(...p.embedding)).toBeCloseTo(1, 4);
      const cos = A.map((a) => a.reduce((s, v, d) => s + v * p.embedding[d]!, 0));
      expect(p.nearestAnchors.map((n) => n.anchor)).toEqual(Array.from(cos.keys()).sort((a, b) => cos[b]! - cos[a]!));
      p.nearestAnchors.forEach((n) => {
        expect(n.cos).toBeCloseTo(cos[n.anchor]!, 4);
        expect(n.label).toEqual({ label: n.anchor % 3, share: 1, count: 1 });
      });
      expect(whole[i]!.nearestAnchors).toEqual(p.nearestAnchors.slice(0, 2));
      whole[i]!.probabilities.forEach((v, c) => expect(v).toBeCloseTo(p.probabilities[c]!, 6));
    });
  });

  it('bytes equal floats / 255', async () => {
    const bytes = Uint8Array.from({ length: 2 * 784 }, (_, i) => (i * 37) % 256);
    const [a, b] = await Promise.all([clf.classify(bytes), clf.classify(Float32Array.from(bytes, (v) => v / 255))]);
    a.forEach((p, i) => p.probabilities.forEach((v, c) => expect(v).toBeCloseTo(b[i]!.probabilities[c]!, 6)));
  });

  const bad: [string, () => Promise<unknown>, string][] = [
    ['pixels type', () => clf.classify([0, 1] as never), 'pixels'],
    ['pixels length', () => clf.classify(new Uint8Array(783)), 'pixels'],
    ['empty', () => clf.classify(new Uint8Array(0)), 'pixels'],
    ['float out of range', () => clf.classify(new Float32Array(784).fill(2)), 'pixels'],
    ['NaN', () => clf.classify(new Float32Array(784).fill(Number.NaN)), 'pixels'],
    ['topAnchors', () => clf.classify(new Uint8Array(784), { topAnchors: 7 }), 'options.topAnchors'],
    ['batchSize', () => clf.classify(new Uint8Array(784), { batchSize: 0 }), 'options.batchSize'],
  ];
  for (const [name, call, arg] of bad) {
    it(`rejects ${name}`, async () => {
      const e = await call().then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).argument).toBe(arg);
      expect((e as Error).message).toMatch(/^FashionMnistClassifier\.classify: /);
    });
  }

  it('fromWeights rejects a missing file and a bad source', async () => {
    await expect(FashionMnistClassifier.fromWeights('/nonexistent/weights.safetensors')).rejects.toThrow(/cannot read/);
    await expect(FashionMnistClassifier.fromWeights(42 as never)).rejects.toThrow(InvalidArgumentError);
  });
});

// 6.4M parameters × 200 images: the wasm project only (the cpu backend takes minutes).
describe.runIf(process.env.GEOLIP_BACKEND === 'wasm')('the bundled Fashion-MNIST model (wasm)', () => {
  const file = readFileSync(fileURLToPath(new URL('../fixtures/pretrained/fmnist-test-200.bin', import.meta.url)));
  const n = 200;
  const pixels = new Uint8Array(file.buffer, file.byteOffset, n * 784);
  const labels = file.subarray(n * 784, n * 785);

  it('classifies 200 real test images (true labels) at about its measured 88% test accuracy', async () => {
    const clf = await loadGeolipFashionMnist();
    try {
      expect(clf.classes).toEqual([
        'T-shirt/top',
        'Trouser',
        'Pullover',
        'Dress',
        'Coat',
        'Sandal',
        'Shirt',
        'Sneaker',
        'Bag',
        'Ankle boot',
      ]);
      expect(clf.model.paramCount()).toBe(6_369_808);
      expect(clf.anchorLabels).toHaveLength(64);
      const preds = await clf.classify(pixels);
      const hits = preds.filter((p, i) => p.label === labels[i]).length;
      expect(hits / n).toBeGreaterThanOrEqual(0.83); // 88.38% on all 10,000 (fp32); binomial sd over 200 ≈ 2.3%
      // The nearest anchor's training label agrees with the true class far above chance (0.1).
      const anchorHits = preds.filter((p, i) => p.nearestAnchors[0]!.label!.label === labels[i]).length;
      expect(anchorHits / n).toBeGreaterThan(0.4);
    } finally {
      clf.dispose();
    }
  });
});
