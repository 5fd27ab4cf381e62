// Every model file a recipe writes names a type of `allModels` (the merge of the model packages' registries), and so
// loads by its metadata alone. Each recipe test loads the files its run wrote with `expectLoadsByMetadata`
// (helpers.ts): type, class, parameter count, tensors bit-identical to the file. This file checks the registry side.
import { LEGACY_MODEL_TYPES } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { allModels, fromPretrained } from '../src/index.js';

/** The model files of each recipe and the `geolip.type` each is written with. */
const RECIPE_OUTPUTS: Record<string, Record<string, string>> = {
  'mlp-student': { 'student.safetensors': 'nn/mlp-student' },
  'text-consensus': {
    'student.safetensors': 'text/caption-encoder',
    'student-fp16.safetensors': 'text/caption-encoder',
  },
  'fmnist-vit': {
    'model.safetensors': 'vision/dual-stream-vit or vision/vit',
    'tower.safetensors': 'anchors/arbitration-tower',
  },
  'fmnist-export': { 'fmnist-dual-stream.safetensors': 'vision/dual-stream-vit' },
  'fmnist-david': { 'david.safetensors': 'vision/david' },
  'coco-david': { 'david.safetensors': 'vision/david' },
  'coco-soup': {
    'soup.safetensors': 'vision/base-tier-soup',
    'soup-uncalibrated.safetensors': 'vision/base-tier-soup',
    'student.safetensors': 'vision/vit-encoder or vision/vit',
  },
  glfm: { 'model.safetensors': 'diffusion/glfm', 'classifier.safetensors': 'vision/vit' },
};

describe('allModels', () => {
  it('holds every type a recipe writes', () => {
    const types = Object.values(RECIPE_OUTPUTS).flatMap((files) =>
      Object.values(files).flatMap((t) => t.split(' or ')),
    );
    for (const type of types) expect(allModels.has(type), type).toBe(true);
  });

  it('is the merge of the model packages: nn, anchors, text, vision, diffusion', () => {
    expect(allModels.types().sort()).toEqual(
      [
        'nn/mlp-student',
        'anchors/constellation',
        'anchors/patchwork',
        'anchors/anchor-bank',
        'anchors/arbitration-tower',
        'text/caption-encoder',
        'vision/dual-stream-vit',
        'vision/vit',
        'vision/vit-encoder',
        'vision/david',
        'vision/base-tier-soup',
        'diffusion/glfm',
      ].sort(),
    );
    expect(Object.keys(allModels.shipped()).sort()).toEqual(['fmnist-dual-stream', 'geolip-text']);
    expect(typeof fromPretrained).toBe('function');
  });

  it('maps every legacy model name to a registered type (the consensus file is data, not a model)', () => {
    for (const [legacy, type] of Object.entries(LEGACY_MODEL_TYPES)) {
      if (type === 'train/consensus') continue;
      expect(allModels.has(type), `${legacy} -> ${type}`).toBe(true);
    }
  });
});
