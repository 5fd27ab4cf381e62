// One small, seeded computation from every library package, returned as plain numbers. packages.browser.test.ts
// bundles this file for the browser (esbuild, platform browser) and runs it in Chromium, and also runs it in Node;
// the two results must agree. No backend is imported here: the caller registers and selects one.
import * as tf from '@tensorflow/tfjs-core';
import { Constellation } from '@geolip/anchors';
import { GlfmModel, glfmPreset } from '@geolip/diffusion';
import { createRng, pentachoronCV, procrustes, simplexVolumeSquared } from '@geolip/geometry';
import { Linear } from '@geolip/nn';
import { BertTokenizer } from '@geolip/text';
import { DualStreamViT, fashionMnistInput } from '@geolip/vision';
import { tinyDualStreamViTConfig } from '@geolip/vision/testing';

export type PackageResults = Record<string, number[]>;

function values(rng: ReturnType<typeof createRng>, n: number): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

function rows(flat: number[], dim: number): number[][] {
  return Array.from({ length: flat.length / dim }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}

/** Runs on the active tfjs backend; `vocabText` is a BERT vocab.txt. */
export async function runPackages(vocabText: string): Promise<PackageResults> {
  const rng = createRng(7);
  const out: PackageResults = {};

  // @geolip/geometry: a 4-simplex's squared volume, the pentachoron CV of 24 points, a Procrustes rotation.
  out['geometry.simplexVolumeSquared'] = [simplexVolumeSquared(rows(values(rng, 20), 4))];
  out['geometry.pentachoronCV'] = [pentachoronCV(rows(values(rng, 24 * 6), 6), { samples: 50, seed: 3 }).cv];
  const src = rows(values(rng, 30), 3);
  const tgt = src.map(([a, b, c]) => [b!, -a!, c!]); // a quarter turn about z
  out['geometry.procrustes'] = procrustes(src, tgt).rotation.toArray().flat();

  // @geolip/nn: a seeded Linear layer.
  const linear = new Linear(6, 3, { seed: 1 });
  out['nn.Linear'] = Array.from(tf.tidy(() => linear.forward(tf.tensor2d(values(rng, 12), [2, 6]))).dataSync());
  linear.dispose();

  // @geolip/anchors: triangulation against a seeded constellation.
  const constellation = new Constellation({ anchors: 8, dim: 6, seed: 2 });
  out['anchors.triangulate'] = Array.from(
    tf.tidy(() => constellation.triangulate(tf.tensor2d(values(rng, 12), [2, 6]))).dataSync(),
  );
  constellation.dispose();

  // @geolip/text: WordPiece tokenization with the real vocabulary.
  out['text.BertTokenizer'] = BertTokenizer.fromVocabText(vocabText).encode(
    'GeoLIP runs in the browser, unaffected!',
  ).inputIds;

  // @geolip/vision: a tiny Dual-Stream ViT's logits and a picture prepared for it.
  const vit = new DualStreamViT(tinyDualStreamViTConfig(), { seed: 3 });
  const image = Float32Array.from(values(rng, 784), (v) => 1 / (1 + Math.exp(-v)));
  out['vision.DualStreamViT'] = Array.from(
    tf.tidy(() => vit.forward(tf.tensor4d(image, [1, 28, 28, 1])).logits).dataSync(),
  );
  vit.dispose();
  const picture = Uint8Array.from({ length: 10 * 7 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
  out['vision.fashionMnistInput'] = Array.from(fashionMnistInput({ data: picture, width: 10, height: 7 }, { size: 6 }));

  // @geolip/diffusion: a tiny GLFM v1 velocity.
  const glfm = new GlfmModel(
    glfmPreset('v1', {
      imageSize: 28,
      levelChannels: [4, 8],
      bottleneckChannels: 32,
      groups: 4,
      condDim: 8,
      timeDim: 8,
      anchorsPerPatch: 4,
      relayHidden: 8,
      generatorDim: 16,
      generatorBlocks: 2,
      numClasses: 3,
    }),
  );
  const velocity = tf.tidy(() =>
    glfm.forward(
      tf.tensor4d(values(rng, 2 * 784), [2, 28, 28, 1]),
      tf.tensor1d([0.25, 0.75]),
      tf.tensor1d([0, 2], 'int32'),
    ),
  );
  const v = velocity.dataSync();
  out['diffusion.GlfmModel'] = [...Array.from(v.subarray(0, 8)), Array.from(v).reduce((s, x) => s + x, 0)];
  velocity.dispose();
  glfm.dispose();
  return out;
}
