// Issue 26, NaN/Inf policy: a Dual-Stream classifier whose output turns non-finite raises a NonFiniteError naming
// the model (the name given, the file's `geolip.name`, or the registry's `DualStreamViT`; the shipped model's
// registry name `fmnist-dual-stream`), never a confident class with NaN probabilities.
import * as tf from '@tensorflow/tfjs-core';
import { GeolipError, NonFiniteError } from '@geolip/geometry';
import { writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DualStreamViT, FashionMnistClassifier, fromPretrained, loadGeolipFashionMnist } from '../../src/index.js';
import { tinyDualStreamViTConfig } from '../../src/testing/index.js';

const TINY = tinyDualStreamViTConfig();

/** A safetensors file of `model`, with every entry of `poisoned` (if given) set to `value`. */
function weightsFile(model: DualStreamViT, extraMeta: Record<string, string> = {}, poisoned?: string, value = NaN) {
  const state = model.stateDict();
  const tensors: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(state)) {
    const data = (t.dataSync() as Float32Array).slice();
    if (name === poisoned) data.fill(value);
    tensors[name] = { dtype: 'F32', shape: t.shape, data };
  }
  tf.dispose(Object.values(state));
  return writeSafetensors(tensors as never, {
    'geolip.model': 'dual-stream',
    'geolip.config': JSON.stringify(TINY),
    ...extraMeta,
  });
}

function images(n: number): Float32Array {
  return Float32Array.from({ length: n * 784 }, (_, i) => ((i * 2654435761) % 1000) / 1000);
}

/** Sets every entry of the weight `name` to `value`, after loading. */
function poison(model: DualStreamViT, name: string, value: number): void {
  const w = model.getWeights()[name];
  if (w === undefined) throw new Error(`no weight ${name}: ${Object.keys(model.getWeights()).join(', ')}`);
  const t = tf.fill(w.shape, value);
  w.assign(t);
  t.dispose();
}

describe('FashionMnistClassifier.classify: non-finite output', () => {
  let source: DualStreamViT;
  // The classifier head's last bias: a NaN there makes the logits (and the probabilities) NaN, the embedding finite.
  const headBias = 'classifier.4.bias';
  beforeAll(() => {
    source = new DualStreamViT(TINY, { seed: 5 });
  });
  afterAll(() => source.dispose());

  it('weights loaded with allowNonFinite: NonFiniteError naming the file’s model name, tensors freed', async () => {
    const bytes = weightsFile(source, { 'geolip.name': 'tiny-fmnist' }, headBias, NaN);
    const model = await fromPretrained<DualStreamViT>(bytes, { allowNonFinite: true });
    const clf = new FashionMnistClassifier({
      model,
      classes: Array.from({ length: TINY.classes }, (_, i) => `c${i}`),
      anchorLabels: null,
      metadata: { 'geolip.name': 'tiny-fmnist' },
      extra: {},
    });
    try {
      const before = tf.memory().numTensors;
      const err = await clf.classify(images(3), { batchSize: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonFiniteError);
      expect(GeolipError.isInstance(err)).toBe(true);
      const e = err as NonFiniteError;
      expect(e.op).toBe('FashionMnistClassifier.classify');
      expect(e.model).toBe('tiny-fmnist');
      expect(e.argument).toBe('probabilities');
      expect(e.count).toBe(2 * TINY.classes); // the first batch: 2 images × C classes
      expect(e.firstIndex).toBe(0);
      expect(e.message).toBe(
        `FashionMnistClassifier.classify: model 'tiny-fmnist' returned ${2 * TINY.classes} non-finite value(s) ` +
          "in 'probabilities' (first at flat index 0)",
      );
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      clf.dispose();
    }
  });

  it('weights set to Infinity after load: the error names the model (DualStreamViT, or options.name)', async () => {
    const bytes = weightsFile(source);
    const plain = await FashionMnistClassifier.fromWeights(bytes);
    const named = await FashionMnistClassifier.fromWeights(bytes, { name: 'my-classifier' });
    try {
      expect(plain.name).toBe('DualStreamViT');
      // Finite before: probabilities sum to 1.
      const [ok] = await plain.classify(images(1));
      expect(ok!.probabilities.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      for (const clf of [plain, named]) poison(clf.model, headBias, Infinity);
      await expect(plain.classify(images(1))).rejects.toThrow(
        /^FashionMnistClassifier\.classify: model 'DualStreamViT' returned \d+ non-finite value\(s\) in 'probabilities'/,
      );
      const err = (await named.classify(images(3), { batchSize: 1 }).catch((e: unknown) => e)) as NonFiniteError;
      expect(err).toBeInstanceOf(NonFiniteError);
      expect(err.model).toBe('my-classifier');
    } finally {
      plain.dispose();
      named.dispose();
    }
  });

  it('the shipped model is named fmnist-dual-stream', async () => {
    const clf = await loadGeolipFashionMnist();
    try {
      expect(clf.name).toBe('fmnist-dual-stream');
      poison(clf.model, 'classifier.4.bias', NaN);
      const err = (await clf.classify(new Uint8Array(784)).catch((e: unknown) => e)) as NonFiniteError;
      expect(err).toBeInstanceOf(NonFiniteError);
      expect(err.model).toBe('fmnist-dual-stream');
      expect(err.message).toMatch(/^FashionMnistClassifier\.classify: model 'fmnist-dual-stream' returned/);
    } finally {
      clf.dispose();
    }
  });
});
