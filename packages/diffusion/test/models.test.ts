// diffusionModels: a GLFM model written with the metadata contract loads by its metadata alone, bit-identically;
// the legacy 'geolip.model' = 'glfm' tag (what geolip-train run glfm wrote before the contract) loads too.
import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { GLFM_TYPE, GlfmModel, diffusionModels, fromPretrained } from '../src/index.js';
import { tinyConfig } from './helpers.js';

function fileOf(model: GlfmModel, metadata: Record<string, string>): Uint8Array {
  const dict = model.stateDict();
  try {
    return writeSafetensors(dict, metadata);
  } finally {
    tf.dispose(Object.values(dict));
  }
}

function expectSameWeights(a: GlfmModel, b: GlfmModel): void {
  const x = a.stateDict();
  const y = b.stateDict();
  expect(Object.keys(y).sort()).toEqual(Object.keys(x).sort());
  for (const k of Object.keys(x)) expect(Array.from(y[k]!.dataSync()), k).toEqual(Array.from(x[k]!.dataSync()));
  tf.dispose([...Object.values(x), ...Object.values(y)]);
}

describe('diffusionModels', () => {
  it('lists the GLFM type', () => expect(diffusionModels.types()).toEqual([GLFM_TYPE]));

  it('loads a GLFM model by its metadata alone (contract and legacy tags)', async () => {
    const src = new GlfmModel(tinyConfig('v4', { seed: 5 }));
    for (const meta of [
      writeModelMetadata({ type: GLFM_TYPE, config: src.config }),
      { 'geolip.model': 'glfm', 'geolip.config': JSON.stringify(src.config) },
    ]) {
      const got = await fromPretrained<GlfmModel>(fileOf(src, meta));
      expect(got).toBeInstanceOf(GlfmModel);
      expectSameWeights(src, got);
      got.dispose();
    }
    src.dispose();
  });

  it('rejects an invalid config with a FormatError and leaks nothing', async () => {
    const src = new GlfmModel(tinyConfig('v1'));
    const bytes = fileOf(src, writeModelMetadata({ type: GLFM_TYPE, config: { ...src.config, variant: 'v9' } }));
    const before = tf.memory().numTensors;
    await expect(fromPretrained(bytes)).rejects.toThrow(FormatError);
    expect(tf.memory().numTensors).toBe(before);
    src.dispose();
  });
});
