import * as tf from '@tensorflow/tfjs-core';
import { createRng, FormatError, NonFiniteError } from '@geolip/geometry';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { Constellation } from '../src/constellation.js';
import { Patchwork } from '../src/patchwork.js';
import {
  loadConstellation,
  loadPatchwork,
  saveConstellation,
  saveConstellationAsync,
  savePatchwork,
  savePatchworkAsync,
} from '../src/serialization.js';

function randomTensor(rows: number, cols: number, seed: number): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: rows * cols }, () => rng.normal()),
    [rows, cols],
  );
}

function bits(t: tf.Tensor): Uint32Array {
  return new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);
}

describe('Constellation serialization', () => {
  it('round trip reproduces triangulate bit for bit, with home and config', () => {
    const c = new Constellation({
      anchors: 32,
      dim: 16,
      seed: 5,
      dropout: 0.2,
      dropoutMode: 'subset',
      repulsionSteps: 20,
    });
    c.saveHome();
    c.anchors.assign(tf.add(c.anchors, 0.01) as tf.Tensor2D); // home ≠ anchors
    const bytes = saveConstellation(c);
    const copy = loadConstellation(bytes);
    const x = randomTensor(7, 16, 1);
    expect(bits(copy.triangulate(x))).toEqual(bits(c.triangulate(x)));
    expect(bits(copy.anchors)).toEqual(bits(c.anchors));
    expect(bits(copy.home!)).toEqual(bits(c.home!));
    expect(copy.config).toEqual(c.config);
    c.dispose();
    copy.dispose();
  });

  it('stores the documented names, shapes and metadata', () => {
    const c = new Constellation({ anchors: 8, dim: 4, init: 'xavier' });
    const { tensors, metadata } = readSafetensors(saveConstellation(c));
    expect(Object.keys(tensors)).toEqual(['anchors']);
    expect(tensors.anchors!.dtype).toBe('F32');
    expect(tensors.anchors!.shape).toEqual([8, 4]);
    expect(metadata['geolip.type']).toBe('anchors/constellation');
    expect(metadata['geolip.format']).toBe('1');
    expect(JSON.parse(metadata['geolip.config']!)).toEqual({ anchors: 8, dim: 4, dropout: 0, dropoutMode: 'mask' });
    expect(metadata.format).toBe('pt');
    c.dispose();
  });

  it('async save gives the same bytes', async () => {
    const c = new Constellation({ anchors: 8, dim: 4, init: 'xavier' });
    expect(await saveConstellationAsync(c)).toEqual(saveConstellation(c));
    c.dispose();
  });

  it('loads a file without metadata (a PyTorch state dict) from its shapes', () => {
    const anchors = randomTensor(6, 3, 2);
    const c = loadConstellation(writeSafetensors({ anchors }));
    expect(c.config).toEqual({ anchors: 6, dim: 3, dropout: 0, dropoutMode: 'mask' });
    expect(bits(c.anchors)).toEqual(bits(anchors));
    c.dispose();
  });

  it('rejects bad bytes with typed errors naming the function and bytes', () => {
    expect(() => loadConstellation(new Uint8Array([1, 2, 3]))).toThrow(FormatError);
    expect(() => loadConstellation(new Uint8Array([1, 2, 3]))).toThrow(
      /loadConstellation: 'bytes' is not a valid safetensors file/,
    );
    expect(() => loadConstellation('abc' as never)).toThrow(/loadConstellation: 'bytes' must be a Uint8Array/);
    expect(() => loadConstellation(writeSafetensors({ weights: tf.zeros([2, 2]) }))).toThrow(
      "loadConstellation: 'bytes' is missing the tensor 'anchors'",
    );
    expect(() => loadConstellation(writeSafetensors({ anchors: tf.zeros([2, 2]), extra: tf.zeros([1]) }))).toThrow(
      /has an unexpected tensor 'extra'/,
    );
    expect(() => loadConstellation(writeSafetensors({ anchors: tf.zeros([2, 2]), home: tf.zeros([2, 3]) }))).toThrow(
      /tensor 'home' must have shape \[2, 2\], got \[2, 3\]/,
    );
    expect(() => loadConstellation(writeSafetensors({ anchors: tf.zeros([2, 2], 'int32') }))).toThrow(
      /must have a float dtype/,
    );
    expect(() => loadConstellation(writeSafetensors({ anchors: tf.zeros([1, 2]) }))).toThrow(/K >= 2/);
    expect(() =>
      loadConstellation(writeSafetensors({ anchors: tf.zeros([2, 2]) }, { 'geolip.config': '{oops' })),
    ).toThrow(/not JSON/);
    expect(() =>
      loadConstellation(
        writeSafetensors({ anchors: tf.zeros([2, 2]) }, { 'geolip.config': '{"anchors": 3, "dim": 2}' }),
      ),
    ).toThrow(/geolip.config anchors=3, but the tensors imply anchors=2/);
    expect(() =>
      loadConstellation(
        writeSafetensors({
          anchors: tf.tensor2d([
            [1, NaN],
            [0, 1],
          ]),
        }),
      ),
    ).toThrow(NonFiniteError);
    expect(() =>
      loadConstellation(
        writeSafetensors({
          anchors: tf.tensor2d([
            [1, NaN],
            [0, 1],
          ]),
        }),
      ),
    ).toThrow(/loadConstellation: 'anchors' has 1 non-finite/);
    const p = new Patchwork({ anchors: 4, compartments: 2, compartmentDim: 2 });
    expect(() => loadConstellation(savePatchwork(p))).toThrow(
      "loadConstellation: 'bytes' holds a Patchwork, not a Constellation",
    );
    p.dispose();
  });
});

describe('Patchwork serialization', () => {
  for (const activation of ['squared-relu', 'star-relu'] as const) {
    it(`round trip reproduces apply bit for bit (${activation})`, async () => {
      const p = new Patchwork({ anchors: 24, compartments: 4, compartmentDim: 5, activation, seed: 9 });
      // Move every weight off its init so LayerNorm and StarReLU parameters are exercised.
      const w = p.stateDict();
      p.loadStateDict(
        Object.fromEntries(
          Object.entries(w).map(([k, t], i) => [
            k,
            tf.add(t, tf.mul(0.01 * (i + 1), tf.reshape(randomTensor(1, t.size, i), t.shape))),
          ]),
        ),
      );
      const bytes = savePatchwork(p);
      expect(await savePatchworkAsync(p)).toEqual(bytes);
      const copy = loadPatchwork(bytes);
      expect(copy.config).toEqual(p.config);
      const tri = randomTensor(6, 24, 3);
      expect(bits(copy.apply(tri))).toEqual(bits(p.apply(tri)));
      p.dispose();
      copy.dispose();
    });
  }

  it('stores PyTorch names and shapes; loads a file without metadata', () => {
    const p = new Patchwork({ anchors: 6, compartments: 3, compartmentDim: 2, activation: 'star-relu' });
    const { tensors, metadata } = readSafetensors(savePatchwork(p));
    expect(tensors['compartments.2.0.weight']!.shape).toEqual([4, 2]);
    expect(tensors['compartments.2.2.weight']!.shape).toEqual([2, 4]);
    expect(tensors['compartments.2.1.scale']!.shape).toEqual([1]);
    expect(Object.keys(tensors)).toHaveLength(24);
    expect(JSON.parse(metadata['geolip.config']!)).toEqual({
      anchors: 6,
      compartments: 3,
      compartmentDim: 2,
      activation: 'star-relu',
    });
    const w = p.stateDict();
    const bare = loadPatchwork(writeSafetensors(w));
    expect(bare.config).toEqual(p.config);
    tf.dispose(w);
    p.dispose();
    bare.dispose();
  });

  it('rejects bad bytes with typed errors', () => {
    const p = new Patchwork({ anchors: 4, compartments: 2, compartmentDim: 2 });
    const w = p.stateDict();
    expect(() => loadPatchwork(new Uint8Array(16))).toThrow(/loadPatchwork: 'bytes' is not a valid safetensors file/);
    const missing = { ...w };
    delete missing['compartments.1.3.bias'];
    expect(() => loadPatchwork(writeSafetensors(missing))).toThrow(
      "loadPatchwork: 'bytes' is missing the tensor 'compartments.1.3.bias'",
    );
    expect(() => loadPatchwork(writeSafetensors({ ...w, 'compartments.1.2.weight': tf.zeros([2, 3]) }))).toThrow(
      /tensor 'compartments.1.2.weight' must have shape \[2, 4\], got \[2, 3\]/,
    );
    expect(() => loadPatchwork(writeSafetensors({ ...w, 'head.weight': tf.zeros([1]) }))).toThrow(
      /unexpected tensor 'head.weight'/,
    );
    expect(() =>
      loadPatchwork(
        writeSafetensors(w, {
          'geolip.config': '{"anchors": 4, "compartments": 2, "compartmentDim": 2, "activation": "gelu"}',
        }),
      ),
    ).toThrow(/'activation'/);
    const c = new Constellation({ anchors: 4, dim: 2, init: 'xavier' });
    expect(() => loadPatchwork(saveConstellation(c))).toThrow(FormatError);
    tf.dispose(w);
    p.dispose();
    c.dispose();
  });
});
