import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { AnchorBank } from '../src/anchor-bank.js';
import { Constellation } from '../src/constellation.js';
import { anchorsModels, fromPretrained } from '../src/models.js';
import { Patchwork } from '../src/patchwork.js';
import { saveConstellation, savePatchwork } from '../src/serialization.js';

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

describe('anchorsModels / fromPretrained', () => {
  it('lists the four anchors types', () => {
    expect(anchorsModels.types()).toEqual([
      'anchors/constellation',
      'anchors/patchwork',
      'anchors/anchor-bank',
      'anchors/arbitration-tower',
    ]);
  });

  it('loads a saved Constellation by its metadata alone, bit-identically', async () => {
    const c = new Constellation({ anchors: 6, dim: 4, init: 'xavier', dropout: 0.25, seed: 3 });
    const loaded = await fromPretrained<Constellation>(saveConstellation(c));
    expect(loaded).toBeInstanceOf(Constellation);
    expect(loaded.config).toEqual(c.config);
    expect(loaded.paramCount()).toBe(c.paramCount());
    expect(bits(loaded.anchors)).toEqual(bits(c.anchors));
    c.dispose();
    loaded.dispose();
  });

  it('loads a saved Patchwork and a legacy geolip.module file', async () => {
    const p = new Patchwork({ anchors: 4, compartments: 2, compartmentDim: 3, activation: 'star-relu' });
    const bytes = savePatchwork(p);
    const loaded = await fromPretrained<Patchwork>(bytes);
    expect(loaded).toBeInstanceOf(Patchwork);
    expect(loaded.config).toEqual(p.config);
    const tri = tf.randomUniform([5, 4], 0, 2, 'float32', 1) as tf.Tensor2D;
    const [a, b] = [p.apply(tri), loaded.apply(tri)];
    expect(bits(b)).toEqual(bits(a));
    // A file written before the metadata contract (geolip.module = 'Patchwork').
    const { tensors, metadata } = readSafetensors(bytes, { copy: true });
    const legacy = writeSafetensors(tensors, {
      format: 'pt',
      ['geolip.' + 'module']: 'Patchwork',
      'geolip.config': metadata['geolip.config']!,
    });
    const old = await fromPretrained<Patchwork>(legacy);
    expect(old.config).toEqual(p.config);
    tf.dispose([tri, a, b]);
    p.dispose();
    loaded.dispose();
    old.dispose();
  });

  it('loads an AnchorBank (new and legacy metadata) with the same apply', async () => {
    const bank = new AnchorBank({
      inputDim: 12,
      bankDim: 4,
      experts: 2,
      anchors: 5,
      feature: 'triangulation',
      seed: 2,
    });
    const bytes = bank.toSafetensors();
    const loaded = await fromPretrained<AnchorBank>(bytes);
    expect(loaded.config).toEqual(bank.config);
    expect(loaded.paramCount()).toBe(bank.paramCount());
    const s = tf.randomNormal([3, 12], 0, 1, 'float32', 4) as tf.Tensor2D;
    const [x, y] = [bank.apply(s), loaded.apply(s)];
    expect(bits(y.output)).toEqual(bits(x.output));
    const { tensors } = readSafetensors(bytes, { copy: true });
    const legacy = writeSafetensors(tensors, {
      ['geolip.' + 'class']: 'AnchorBank',
      'geolip.version': '1',
      config: JSON.stringify(bank.config),
    });
    const old = AnchorBank.fromSafetensors(legacy);
    expect(old.config).toEqual(bank.config);
    const viaRegistry = await fromPretrained<AnchorBank>(legacy);
    expect(viaRegistry.config).toEqual(bank.config);
    await expect(fromPretrained(writeSafetensors(tensors, { ['geolip.' + 'class']: 'AnchorBank' }))).rejects.toThrow(
      FormatError,
    );
    viaRegistry.dispose();
    tf.dispose([s, ...Object.values(x), ...Object.values(y)]);
    bank.dispose();
    loaded.dispose();
    old.dispose();
  });

  it('rejects a file of another type', async () => {
    const c = new Constellation({ anchors: 3, dim: 2, init: 'xavier' });
    await expect(anchorsModels.fromPretrained(saveConstellation(c), { type: 'anchors/patchwork' })).rejects.toThrow(
      /anchors\/constellation/,
    );
    c.dispose();
  });
});
