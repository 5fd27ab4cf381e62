// A small ViT classifier (both readouts) exported, then run in onnxruntime-node against tfjs's forward.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { ViTClassifier } from '@geolip/vision';
import type { VitPooling } from '@geolip/vision';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import { exportVisionModel } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'geolip-export-vision-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe.each(['mean', 'cls'] as VitPooling[])('exportVisionModel (ViT, %s pooling)', (pooling) => {
  it("onnx/model.onnx gives tfjs forward's embedding and logits to 1e-5; model_fp16.onnx to float16 accuracy", async () => {
    const config = {
      imageSize: 12,
      patchSize: 4,
      channels: 3,
      dModel: 24,
      heads: 3,
      ffDim: 48,
      layers: 2,
      outDim: 16,
      pooling,
    };
    const model = new ViTClassifier(config, 7, { seed: 11 });
    const dir = join(root, pooling);
    const r = await exportVisionModel({ model, outDir: dir });
    expect(r.files.map((f) => f.path)).toEqual(['onnx/model.onnx', 'onnx/model_fp16.onnx', 'config.json']);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).geolip.params).toBe(model.paramCount());
    const images = tf.randomNormal([5, 12, 12, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const { embedding, logits } = model.forward(images);
    const pixels = new ort.Tensor('float32', images.dataSync() as Float32Array, [5, 12, 12, 3]);
    for (const [file, tol] of [
      ['model.onnx', 1e-5],
      ['model_fp16.onnx', 2e-2],
    ] as const) {
      const session = await ort.InferenceSession.create(join(dir, 'onnx', file));
      const out = await session.run({ pixel_values: pixels });
      expect(out.embedding!.dims).toEqual([5, 16]);
      expect(out.logits!.dims).toEqual([5, 7]);
      expect(maxAbsDiff(out.embedding!.data as Float32Array, embedding.dataSync())).toBeLessThan(tol);
      expect(maxAbsDiff(out.logits!.data as Float32Array, logits.dataSync())).toBeLessThan(tol);
      await session.release();
    }
    // the fp16 file is smaller: half the weight bytes (the graph itself, ~15 KB here, does not shrink)
    const [full, half] = r.files;
    expect(half!.bytes / full!.bytes).toBeLessThan(0.7);
    tf.dispose([images, embedding, logits]);
    model.dispose();
  });
});

describe('exportVisionModel errors', () => {
  it('names the option at fault', async () => {
    await expect(exportVisionModel({ outDir: root })).rejects.toThrow(
      "exportVisionModel: 'options' must give exactly one of weights and model",
    );
    await expect(exportVisionModel({ outDir: root, model: {} as unknown as ViTClassifier })).rejects.toThrow(
      "exportVisionModel: 'options.model' must be a ViTClassifier",
    );
    await expect(exportVisionModel({ outDir: root, weights: join(root, 'missing.safetensors') })).rejects.toThrow(
      /exportVisionModel: 'options.weights' cannot be read/,
    );
  });
});
