/**
 * `mobilenet-v2` and `inception-v3`: the ImageNet backbones inside the npm package `nsfwjs` (MIT), taken up to
 * their last convolutional feature map and globally average-pooled (the 5 NSFW class outputs are not used).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '@geolip/geometry';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { makeImageExpert } from './expert.js';
import { resolveOptions } from './input.js';
import { bundledModelIOHandler } from './io-handlers.js';
import { findPackage, importLayers } from './require.js';
import type { ImageExpert, ImageExpertOptions } from './types.js';

/** Width of the `mobilenet-v2` features (pooled `out_relu`). */
export const MOBILENET_V2_DIM = 1280;
/** Width of the `inception-v3` features (pooled `mixed10`). */
export const INCEPTION_V3_DIM = 2048;

const PACKAGE = 'nsfwjs';

/** One nsfwjs model: where it lives in the package and which layer is the last feature map. */
export interface NsfwjsModelInfo {
  folder: 'mobilenet_v2' | 'inception_v3';
  side: number;
  featureLayer: string;
  dim: number;
}

/** @internal */
export const NSFWJS_MODELS = {
  'mobilenet-v2': { folder: 'mobilenet_v2', side: 224, featureLayer: 'out_relu', dim: MOBILENET_V2_DIM },
  'inception-v3': { folder: 'inception_v3', side: 299, featureLayer: 'mixed10', dim: INCEPTION_V3_DIM },
} as const satisfies Record<string, NsfwjsModelInfo>;

/**
 * Loads the complete nsfwjs Keras model (backbone + its 256-128-5 dense head) from the installed package.
 * @internal Used by the experts and by the tests that check the pooled features against nsfwjs's own head.
 * @throws {BackendError} naming `op` and the package to install when nsfwjs or tfjs-layers is missing.
 */
export async function loadNsfwjsModel(op: string, info: NsfwjsModelInfo): Promise<LayersModel> {
  const pkg = findPackage(op, PACKAGE, PACKAGE);
  const tfl = await importLayers(op);
  const dir = join(pkg.root, 'dist', 'models', info.folder);
  if (!existsSync(join(dir, 'model.min.js'))) {
    throw new BackendError(
      op,
      `${PACKAGE} ${pkg.version} at ${pkg.root} has no dist/models/${info.folder}/model.min.js (install nsfwjs ^4.4.0)`,
    );
  }
  return tfl.loadLayersModel(bundledModelIOHandler(dir));
}

async function createNsfwjsExpert(
  op: string,
  name: keyof typeof NSFWJS_MODELS,
  options: ImageExpertOptions,
): Promise<ImageExpert> {
  const resolved = resolveOptions(op, options);
  const info = NSFWJS_MODELS[name];
  const tfl = await importLayers(op);
  const full = await loadNsfwjsModel(op, info);
  let layer;
  try {
    layer = full.getLayer(info.featureLayer);
  } catch (cause) {
    full.dispose();
    throw new BackendError(
      op,
      `the nsfwjs model ${info.folder} has no layer '${info.featureLayer}' (${String(cause)})`,
    );
  }
  // Shares the weights of `full`: disposing `full` frees them.
  const backbone = tfl.model({
    inputs: full.inputs,
    outputs: layer.output as import('@tensorflow/tfjs-layers').SymbolicTensor,
  });
  return makeImageExpert(
    {
      name,
      dim: info.dim,
      params: full.countParams(),
      side: info.side,
      forward: (x) => tf.mean(backbone.predict(x) as tf.Tensor4D, [1, 2]) as tf.Tensor2D,
      dispose: () => full.dispose(),
    },
    resolved,
  );
}

/**
 * Creates the `mobilenet-v2` expert: MobileNetV2 (alpha 1.0) of nsfwjs, 1280-d globally average-pooled features.
 *
 * Preprocessing: the JPEG is decoded (grayscale replicated to RGB), made square (`fit`: central square by
 * default), resized bilinearly to 224 × 224 and scaled to x/255 ∈ [0, 1], the value range nsfwjs feeds its
 * models. Features: mean over the 7 × 7 positions of the last feature map `out_relu` (after ReLU6, so ≥ 0).
 *
 * @param options - `batchSize` (default 8), `fit` (`'crop'` | `'stretch'`), `normalize` (default false).
 * @returns an {@link ImageExpert} with `dim` 1280 and `params` 2,619,461 (the whole nsfwjs model, head included).
 *
 * @throws {BackendError} naming `createMobileNetV2` and the package to install when the optional peer
 *   dependency `nsfwjs` (or `@tensorflow/tfjs-layers`) is missing.
 * @throws {InvalidArgumentError} (from `embed`) a path that is not a string or cannot be read, naming `inputs[i]`.
 * @throws {FormatError} (from `embed`) a file that is not a decodable JPEG, naming `inputs[i]` and the file.
 *
 * @remarks The weights are the ones nsfwjs fine-tuned from ImageNet for its 5-class NSFW task (uint8-quantized
 * in the package): a general but weak image signal. Runs on the active tfjs backend: ~0.1 s per 640×480 JPEG on
 * wasm (2 cores, decoding included), ~1 s on the pure-JS cpu backend.
 *
 * @example
 * ```ts
 * const expert = await createMobileNetV2();
 * const rows = await expert.embed(['cat.jpg', 'dog.jpg']); // Float32Array [2 · 1280]
 * expert.dispose?.();
 * ```
 */
export function createMobileNetV2(options: ImageExpertOptions = {}): Promise<ImageExpert> {
  return createNsfwjsExpert('createMobileNetV2', 'mobilenet-v2', options);
}

/**
 * Creates the `inception-v3` expert: InceptionV3 of nsfwjs, 2048-d globally average-pooled features.
 *
 * Preprocessing as {@link createMobileNetV2} at 299 × 299 (values x/255 ∈ [0, 1]). Features: mean over the
 * 8 × 8 positions of the last feature map `mixed10`.
 *
 * @param options - `batchSize` (default 8), `fit` (`'crop'` | `'stretch'`), `normalize` (default false).
 * @returns an {@link ImageExpert} with `dim` 2048 and `params` 22,360,869 (the whole nsfwjs model, head included).
 *
 * @throws {BackendError} naming `createInceptionV3` and the package to install when `nsfwjs` (or
 *   `@tensorflow/tfjs-layers`) is missing.
 * @throws {InvalidArgumentError} / {FormatError} (from `embed`) as {@link createMobileNetV2}.
 *
 * @remarks ~0.5 s per 640×480 JPEG on wasm (2 cores), ~13 s on the pure-JS cpu backend.
 */
export function createInceptionV3(options: ImageExpertOptions = {}): Promise<ImageExpert> {
  return createNsfwjsExpert('createInceptionV3', 'inception-v3', options);
}
