// The shipped Fashion-MNIST model loads by its metadata alone (fromPretrained), bit-identically: every parameter
// equals the file's tensor widened to float32, and equals what loadGeolipFashionMnist gives.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, toFloat32 } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import {
  DualStreamViT,
  GEOLIP_FMNIST_WEIGHTS_FILE,
  fromPretrained,
  loadGeolipFashionMnist,
  visionModels,
} from '../../src/index.js';

const path = join(__dirname, '..', '..', 'weights', GEOLIP_FMNIST_WEIGHTS_FILE);

const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** How many elements of `got` differ bit for bit from `want` (a loop: toEqual on millions of elements is slow). */
function mismatches(got: Uint32Array, want: Uint32Array): number {
  if (got.length !== want.length) return Math.max(got.length, want.length);
  let n = 0;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) n++;
  return n;
}

describe('fromPretrained on the shipped vision model', () => {
  it('is listed by the registry', () => {
    expect(visionModels.shipped()['fmnist-dual-stream']).toMatchObject({
      type: 'vision/dual-stream-vit',
      file: GEOLIP_FMNIST_WEIGHTS_FILE,
    });
  });

  it('loads it by metadata alone, bit-identical to the file and to loadGeolipFashionMnist', async () => {
    const { tensors } = readSafetensors(new Uint8Array(readFileSync(path)));
    const model = await fromPretrained<DualStreamViT>(path);
    expect(model).toBeInstanceOf(DualStreamViT);
    const clf = await loadGeolipFashionMnist();
    const [a, b] = [model.stateDict(), clf.model.stateDict()];
    expect(Object.keys(a).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, entry] of Object.entries(tensors)) {
      const want = bitsOf(toFloat32(entry));
      expect(mismatches(bitsOf(a[name]!.dataSync() as Float32Array), want), name).toBe(0);
      expect(mismatches(bitsOf(b[name]!.dataSync() as Float32Array), want), name).toBe(0);
    }
    tf.dispose([...Object.values(a), ...Object.values(b)]);
    model.dispose();
    clf.dispose();
  });
});
