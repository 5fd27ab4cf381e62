// The recipe-made vision models load by their metadata alone: GeoFractalDavid (fmnist-david), BaseTierSoup and the
// ViT student (coco-soup), written under the contract or, before it, under a legacy `geolip.model` JSON blob.
import * as tf from '@tensorflow/tfjs-core';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import type { Module } from '@geolip/nn';
import { describe, expect, it } from 'vitest';

import {
  BaseTierSoup,
  GeoFractalDavid,
  ViTClassifier,
  ViTEncoder,
  fromPretrained,
  visionModels,
} from '../../src/index.js';

function fileOf(model: Module, metadata: Record<string, string>): Uint8Array {
  const state = model.stateDict();
  const entries = Object.fromEntries(
    Object.entries(state).map(([k, t]) => [
      k,
      { dtype: 'F32' as const, shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) },
    ]),
  );
  tf.dispose(Object.values(state));
  return writeSafetensors(entries, metadata);
}

function sameState(a: Module, b: Module): void {
  const [sa, sb] = [a.stateDict(), b.stateDict()];
  expect(Object.keys(sb).sort()).toEqual(Object.keys(sa).sort());
  for (const k of Object.keys(sa)) expect(Array.from(sb[k]!.dataSync()), k).toEqual(Array.from(sa[k]!.dataSync()));
  tf.dispose([...Object.values(sa), ...Object.values(sb)]);
}

describe('visionModels: recipe-made models', () => {
  it('registers vision/david and vision/base-tier-soup', () => {
    expect(visionModels.types()).toEqual(
      expect.arrayContaining([
        'vision/dual-stream-vit',
        'vision/vit',
        'vision/vit-encoder',
        'vision/david',
        'vision/base-tier-soup',
      ]),
    );
  });

  it('loads a ViTEncoder (the card student of coco-soup, no head) with the same embeddings', async () => {
    const config = { imageSize: 8, patchSize: 4, channels: 3, dModel: 8, heads: 2, ffDim: 16, layers: 1, outDim: 4 };
    const vit = new ViTEncoder(config, { seed: 4 });
    const loaded = await fromPretrained<ViTEncoder>(
      fileOf(vit, writeModelMetadata({ type: 'vision/vit-encoder', config })),
    );
    expect(loaded).toBeInstanceOf(ViTEncoder);
    expect(loaded.paramCount()).toBe(vit.paramCount());
    sameState(vit, loaded);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const [a, b] = [vit.forward(x), loaded.forward(x)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    vit.dispose();
    loaded.dispose();
  });

  it('loads a GeoFractalDavid with the same logits', async () => {
    const config = { featureDim: 6, numClasses: 3, k: 2, scales: [4, 5], levels: 4 };
    const david = new GeoFractalDavid(config, { seed: 3 });
    const loaded = await fromPretrained<GeoFractalDavid>(
      fileOf(david, writeModelMetadata({ type: 'vision/david', config })),
    );
    expect(loaded).toBeInstanceOf(GeoFractalDavid);
    expect(loaded.paramCount()).toBe(david.paramCount());
    sameState(david, loaded);
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 1) as tf.Tensor2D;
    const [a, b] = [david.forward(x), loaded.forward(x)];
    expect(Array.from(b.logits.dataSync())).toEqual(Array.from(a.logits.dataSync()));
    tf.dispose([x, ...Object.values(a), ...Object.values(b)] as tf.Tensor[]);
    david.dispose();
    loaded.dispose();
  });

  it('loads a BaseTierSoup (contract and legacy blob) and a legacy coco student', async () => {
    const config = {
      expertDims: [5, 7],
      embedDim: 4,
      anchors: 4,
      compartments: 2,
      compartmentDim: 3,
      hiddenDim: 6,
      classes: 3,
    };
    const soup = new BaseTierSoup(config, { seed: 1, anchorInit: 'xavier' });
    const loaded = await fromPretrained<BaseTierSoup>(
      fileOf(soup, writeModelMetadata({ type: 'vision/base-tier-soup', config, extra: { experts: ['a', 'b'] } })),
    );
    expect(loaded).toBeInstanceOf(BaseTierSoup);
    expect(loaded.paramCount()).toBe(soup.paramCount());
    sameState(soup, loaded);
    const legacyBlob = JSON.stringify({ recipe: 'coco-soup', model: 'BaseTierSoup', config, experts: ['a', 'b'] });
    const old = await fromPretrained<BaseTierSoup>(fileOf(soup, { ['geolip.' + 'model']: legacyBlob }));
    sameState(soup, old);
    const encoder = { imageSize: 8, patchSize: 4, channels: 3, dModel: 8, heads: 2, ffDim: 16, layers: 1, outDim: 4 };
    const student = new ViTClassifier(encoder, 3, { seed: 2 });
    const studentBlob = JSON.stringify({ recipe: 'coco-soup', model: 'ViTEncoder+Linear', encoder, classes: 3 });
    const oldStudent = await fromPretrained<ViTClassifier>(fileOf(student, { ['geolip.' + 'model']: studentBlob }));
    expect(oldStudent).toBeInstanceOf(ViTClassifier);
    sameState(student, oldStudent);
    for (const m of [soup, loaded, old, student, oldStudent]) m.dispose();
  });
});
