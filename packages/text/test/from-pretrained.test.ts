// The shipped text model loads by its metadata alone (fromPretrained), bit-identically: every parameter equals the
// file's tensor widened to float32, and equals what the older loaders (loadGeolipText, CaptionEncoder.loadWeights)
// give.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, toFloat32 } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { CaptionEncoder, GEOLIP_TEXT_WEIGHTS_FILE, fromPretrained, loadGeolipText, textModels } from '../src/index.js';

const path = join(__dirname, '..', 'weights', GEOLIP_TEXT_WEIGHTS_FILE);

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** How many elements of `got` differ bit for bit from `want` (a loop: toEqual on millions of elements is slow). */
function mismatches(got: Uint32Array, want: Uint32Array): number {
  if (got.length !== want.length) return Math.max(got.length, want.length);
  let n = 0;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) n++;
  return n;
}

describe('fromPretrained on the shipped text model', () => {
  it('is listed by the registry', () => {
    expect(textModels.shipped()['geolip-text']).toMatchObject({
      type: 'text/caption-encoder',
      file: GEOLIP_TEXT_WEIGHTS_FILE,
    });
  });

  it('loads it by metadata alone, bit-identical to the file and to the older loaders', async () => {
    const bytes = new Uint8Array(readFileSync(path));
    const { tensors } = readSafetensors(bytes);
    const model = await fromPretrained<CaptionEncoder>(path);
    expect(model).toBeInstanceOf(CaptionEncoder);
    const old = await loadGeolipText({ runtime: 'tfjs' });
    const direct = new CaptionEncoder(model.config);
    direct.loadWeights(bytes);
    const [a, b, c] = [model.stateDict(), old.model.stateDict(), direct.stateDict()];
    expect(Object.keys(a).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, entry] of Object.entries(tensors)) {
      const want = bitsOf(toFloat32(entry));
      for (const got of [a, b, c])
        expect(mismatches(bitsOf(got[name]!.dataSync() as Float32Array), want), name).toBe(0);
    }
    tf.dispose([...Object.values(a), ...Object.values(b), ...Object.values(c)]);
    model.dispose();
    old.dispose();
    direct.dispose();
  });
});
