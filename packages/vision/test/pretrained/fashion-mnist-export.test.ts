// The export step of the bundled Fashion-MNIST model (moved from tools/vision/fmnist-weights.mjs): anchor labels by
// nearest anchor (majority class, share to 4 decimals, count; −1 for an anchor nearest to nothing), F16 tensors, the
// metadata the classifier reads back, and the errors.
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { float32ToFloat16Bits, readSafetensors, toFloat32, writeModelMetadata, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import {
  DualStreamViT,
  dualStreamFromSafetensors,
  exportFashionMnistWeights,
  fashionMnistAnchorLabels,
} from '../../src/index.js';
import type { DualStreamViTConfig } from '../../src/index.js';
import { float32StateEntries, tinyDualStreamViTConfig } from '../../src/testing/index.js';

describe('fashionMnistAnchorLabels', () => {
  it('labels each anchor by the rows whose nearest anchor it is (anchors need not be unit)', () => {
    // D = 2; anchors along +x (length 2), +y, −x. Rows: three near +x (classes 1, 1, 2), one near +y (class 0).
    const anchors = Float32Array.from([2, 0, 0, 1, -1, 0]);
    const emb = Float32Array.from([1, 0.1, 0.9, -0.2, 1, 0, 0.1, 1]);
    const labels = [1, 1, 2, 0];
    expect(fashionMnistAnchorLabels(anchors, 3, 2, emb, labels, 3)).toEqual([
      { label: 1, share: 0.6667, count: 3 },
      { label: 0, share: 1, count: 1 },
      { label: -1, share: 0, count: 0 },
    ]);
  });

  it('refuses lengths that do not match', () => {
    expect(() => fashionMnistAnchorLabels(new Float32Array(5), 3, 2, new Float32Array(2), [0], 10)).toThrow(
      InvalidArgumentError,
    );
    expect(() => fashionMnistAnchorLabels(new Float32Array(6), 3, 2, new Float32Array(3), [0], 10)).toThrow(
      /'embeddings' must hold N·D = 2 values/,
    );
  });
});

const TINY: DualStreamViTConfig = tinyDualStreamViTConfig();

describe('exportFashionMnistWeights', () => {
  it('writes F16 tensors and the metadata dualStreamFromSafetensors reads', () => {
    const model = new DualStreamViT(TINY, { seed: 3 });
    const tensors = float32StateEntries(model);
    model.dispose();
    const modelBytes = writeSafetensors(tensors, {
      'geolip.model': 'dual-stream',
      'geolip.config': JSON.stringify(TINY),
    });
    const n = 12;
    const emb = Float32Array.from({ length: n * 8 }, (_, i) => Math.sin(i + 1));
    const embBytes = writeSafetensors({
      embeddings: { dtype: 'F16', shape: [n, 8], data: Uint16Array.from(emb, float32ToFloat16Bits) },
    });
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    const classes = ['a', 'b', 'c'];
    const { bytes, anchorLabels } = exportFashionMnistWeights({
      model: modelBytes,
      trainEmbeddings: embBytes,
      trainLabels: labels,
      classes,
      testAccuracy: 0.5,
      source: 'test',
    });
    expect(anchorLabels).toHaveLength(6);
    expect(anchorLabels.reduce((s, a) => s + a.count, 0)).toBe(n);
    const back = readSafetensors(bytes);
    expect(Object.values(back.tensors).every((t) => t.dtype === 'F16')).toBe(true);
    // The metadata contract (@geolip/io): written by writeModelMetadata, the extras in geolip.extra.
    expect(back.metadata).toEqual(
      writeModelMetadata({
        type: 'vision/dual-stream-vit',
        config: TINY,
        extra: { classes, testAccuracy: 0.5, anchorLabels, source: 'test' },
      }),
    );
    // The same labels as computed from the written file's inputs.
    const anchors = toFloat32(readSafetensors(modelBytes).tensors['constellation.anchors']!);
    expect(
      fashionMnistAnchorLabels(anchors, 6, 8, toFloat32(readSafetensors(embBytes).tensors.embeddings!), labels, 3),
    ).toEqual(anchorLabels);
    const loaded = dualStreamFromSafetensors(bytes);
    expect(loaded.classes).toEqual(classes);
    expect(loaded.anchorLabels).toEqual(anchorLabels);
    loaded.model.dispose();
    expect(() =>
      exportFashionMnistWeights({
        model: modelBytes,
        trainEmbeddings: embBytes,
        trainLabels: labels.slice(1),
        classes,
        testAccuracy: 0.5,
        source: 'test',
      }),
    ).toThrow(FormatError);
    const vit = writeSafetensors(tensors, { 'geolip.model': 'vit', 'geolip.config': '{}' });
    expect(() =>
      exportFashionMnistWeights({
        model: vit,
        trainEmbeddings: embBytes,
        trainLabels: labels,
        classes,
        testAccuracy: 0.5,
        source: 'test',
      }),
    ).toThrow(/not dual-stream/);
  });
});
