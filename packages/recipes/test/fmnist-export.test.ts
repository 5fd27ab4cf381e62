// The fmnist-export recipe (the export stage that makes @geolip/vision's bundled Fashion-MNIST model, formerly
// `tools/vision/fmnist-weights.mjs make`): from a run directory's model, train embeddings and result.json to an F16
// file that FashionMnistClassifier loads, with the anchor labels of exportFashionMnistWeights; and its config errors.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { DualStreamViT, FashionMnistClassifier, fashionMnistAnchorLabels } from '@geolip/vision';
import type { DualStreamViTConfig } from '@geolip/vision';
import { float32ToFloat16Bits, readModelMetadata, readSafetensors, toFloat32, writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RECIPES } from '../src/registry.js';
import { parseFmnistExportConfig } from '../src/recipes/fmnist-export.js';
import { expectLoadsByMetadata, runRecipe, writeFashionMnistSplit } from './helpers.js';

const TINY: DualStreamViTConfig = {
  imageSize: 28,
  patchSize: 7,
  channels: 1,
  embedDim: 16,
  streamDim: 8,
  heads: 2,
  dualBlocks: 1,
  crossBlocks: 0,
  fusedBlocks: 1,
  fusedDim: 12,
  outDim: 8,
  anchors: 6,
  compartments: 2,
  compartmentDim: 4,
  classifierHidden: 12,
  classes: 10,
};
const N = 40;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-fmnist-export-'));
  await writeFashionMnistSplit(dir, 'train', N);
  const runDir = join(dir, 'vit.run');
  await mkdir(runDir);
  const model = new DualStreamViT(TINY, { seed: 1 });
  const state = model.stateDict();
  const tensors = Object.fromEntries(
    Object.entries(state).map(([k, t]) => [
      k,
      { dtype: 'F32' as const, shape: t.shape, data: t.dataSync() as Float32Array },
    ]),
  );
  tf.dispose(Object.values(state));
  model.dispose();
  await writeFile(
    join(runDir, 'model.safetensors'),
    writeSafetensors(tensors, { 'geolip.model': 'dual-stream', 'geolip.config': JSON.stringify(TINY) }),
  );
  const emb = Float32Array.from({ length: N * 8 }, (_, i) => Math.cos(3 * i + 1));
  await writeFile(
    join(runDir, 'embeddings-train.safetensors'),
    writeSafetensors({
      embeddings: { dtype: 'F16', shape: [N, 8], data: Uint16Array.from(emb, float32ToFloat16Bits) },
    }),
  );
  await writeFile(join(runDir, 'result.json'), JSON.stringify({ testAccuracy: 0.875, epochs: 2, steps: 8 }));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('geolip-train run fmnist-export', () => {
  it('is registered', () => expect(Object.keys(RECIPES)).toContain('fmnist-export'));

  it('writes the bundled-model file from an fmnist-vit run directory', async () => {
    const r = await runRecipe('fmnist-export', dir, { run: 'vit.run', data: dir }, 'export');
    expect(r.code, r.stderr).toBe(0);
    const file = join(dir, 'export', 'fmnist-dual-stream.safetensors');
    expect(r.stdout).toContain(`fmnist-export: wrote ${file}: 6 anchors`);
    const bytes = new Uint8Array(await readFile(file));
    // The metadata contract (@geolip/io): type and config, and the model's extras in geolip.extra.
    const meta = readModelMetadata(readSafetensors(bytes).metadata);
    expect(meta.type).toBe('vision/dual-stream-vit');
    expect(meta.extra.testAccuracy).toBe(0.875);
    expect(meta.extra.source).toBe(
      'geolip-train run fmnist-vit (dual-stream, 2 epochs, 8 steps, no mastery queue; H100 webgpu); fp16',
    );
    // The labels are those of the run's own train embeddings and the split's labels (class i mod 10).
    const runDir = join(dir, 'vit.run');
    const anchors = toFloat32(
      readSafetensors(new Uint8Array(await readFile(join(runDir, 'model.safetensors')))).tensors[
        'constellation.anchors'
      ]!,
    );
    const emb = toFloat32(
      readSafetensors(new Uint8Array(await readFile(join(runDir, 'embeddings-train.safetensors')))).tensors.embeddings!,
    );
    const labels = Array.from({ length: N }, (_, i) => i % 10);
    expect(meta.extra.anchorLabels).toEqual(fashionMnistAnchorLabels(anchors, 6, 8, emb, labels, 10));
    await expectLoadsByMetadata(file, 'vision/dual-stream-vit', DualStreamViT);
    const clf = await FashionMnistClassifier.fromWeights(bytes);
    expect(clf.anchorLabels).toHaveLength(6);
    clf.dispose();
    const result = JSON.parse(await readFile(join(dir, 'export', 'result.json'), 'utf8'));
    expect(result).toMatchObject({ recipe: 'fmnist-export', anchors: 6, out: file });
  });

  it('validates its config', () => {
    expect(() => parseFmnistExportConfig({}, '/')).toThrow(/fmnist-export config: missing field 'model' \(or 'run'/);
    expect(() => parseFmnistExportConfig({ run: 'x', epochs: 1 }, '/')).toThrow(/unknown field 'epochs'/);
    expect(parseFmnistExportConfig({ run: 'r', model: 'm.safetensors' }, '/w')).toMatchObject({
      model: '/w/m.safetensors',
      embeddings: '/w/r/embeddings-train.safetensors',
      result: '/w/r/result.json',
    });
  });
});
