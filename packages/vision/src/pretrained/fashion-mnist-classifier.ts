/**
 * The Fashion-MNIST classifier bundled with this package, and the loader of any Dual-Stream ViT weights file.
 *
 * `weights/fmnist-dual-stream.safetensors` (fp16, 12.7 MB) is the Dual-Stream ViT trained by
 * `geolip-train run fmnist-vit` on the H100 without the mastery queue (README, "Recipe 1"): 6,369,808 parameters,
 * 88.38% test accuracy in fp32 (see the README for the fp16 figure and the command). Its metadata carries the
 * config, the class names and, per anchor, the class of the training images that have it as nearest anchor
 * (the recipe stage `geolip-train run fmnist-export` writes the file with `exportFashionMnistWeights`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { assertFiniteOutput } from '@geolip/geometry/checks';
import { bundledAssetPath } from '@geolip/geometry/internal';
import { readBinarySource } from '@geolip/io';
import type { BinarySource } from '@geolip/io';
import type { Pretrained } from '@geolip/nn';

import { DualStreamViT } from '../dual-stream/dual-stream-vit.js';
import type { DualStreamViTConfig } from '../dual-stream/dual-stream-vit.js';
import { DUAL_STREAM_VIT_TYPE, visionModels } from './models.js';
import { readSafetensorsWeightsFile } from './safetensors-file.js';

/** File name of the bundled Fashion-MNIST weights, under the package's `weights/` folder. */
export const GEOLIP_FMNIST_WEIGHTS_FILE = 'fmnist-dual-stream.safetensors';

/** What the training images say about one anchor (metadata `geolip.anchorLabels`). */
export interface AnchorLabel {
  /** The most frequent class among the training images whose nearest anchor this is; −1 if there are none. */
  label: number;
  /** That class's share of those images, in [0, 1] (0 when `count` is 0). */
  share: number;
  /** How many training images have this anchor as their nearest. */
  count: number;
}

/** One anchor near an image. */
export interface NearAnchor {
  /** The anchor's index in the constellation. */
  anchor: number;
  /** cos(embedding, anchor), in [−1, 1]. */
  cos: number;
  /** The anchor's training label, when the weights file has them. */
  label: AnchorLabel | null;
}

/** The classification of one image. */
export interface FashionMnistPrediction {
  /** argmax of the logits. */
  label: number;
  /** `classes[label]`. */
  className: string;
  /** softmax of the logits, one per class (sums to 1). [INFER] the model was trained with BCE; see the README. */
  probabilities: Float32Array;
  /** `[outDim]` the unit embedding (the one the anchors triangulate). */
  embedding: Float32Array;
  /** The `topAnchors` anchors with the highest cosine, best first. */
  nearestAnchors: NearAnchor[];
}

/** The model of a Dual-Stream weights file and what its metadata says. */
export interface DualStreamWeights {
  model: DualStreamViT;
  /** Class names from `geolip.classes`, else `class 0` … `class C−1`. */
  classes: string[];
  /** Per anchor, from `geolip.anchorLabels`; null when the file has none. */
  anchorLabels: AnchorLabel[] | null;
  /** Every `geolip.*` metadata entry, as written. */
  metadata: Record<string, string>;
  /**
   * The file's model extras (`geolip.extra`, or a legacy file's other `geolip.*` keys, parsed): `testAccuracy`,
   * `source`…
   */
  extra: Record<string, unknown>;
}

function checkAnchorLabels(op: string, value: unknown, anchors: number, classes: number): AnchorLabel[] {
  if (!Array.isArray(value) || value.length !== anchors) {
    throw new FormatError(
      op,
      'bytes',
      `metadata 'geolip.anchorLabels' must be an array of ${anchors} entries (one per anchor)`,
    );
  }
  return value.map((e: unknown, i) => {
    const { label, share, count } = (e ?? {}) as Partial<AnchorLabel>;
    const ok =
      Number.isInteger(label) &&
      (label as number) >= -1 &&
      (label as number) < classes &&
      typeof share === 'number' &&
      share >= 0 &&
      share <= 1 &&
      Number.isInteger(count) &&
      (count as number) >= 0;
    if (!ok)
      throw new FormatError(
        op,
        'bytes',
        `metadata 'geolip.anchorLabels'[${i}] must be ` +
          `{ label in [-1, ${classes}), share in [0, 1], count >= 0 }, got ${JSON.stringify(e)}`,
      );
    return { label: label as number, share, count: count as number };
  });
}

/**
 * Builds a {@link DualStreamViT} from a safetensors file written by `geolip-train run fmnist-vit` (or by
 * `geolip-train run fmnist-export`): metadata `geolip.model` = `dual-stream` and `geolip.config` (the model's
 * config as JSON); tensors in PyTorch layout, any float dtype (F16, BF16 and F32 all load as float32). Works in
 * browsers: pass the bytes (e.g. from `fetch`).
 *
 * @throws {InvalidArgumentError} `bytes` not a Uint8Array / ArrayBuffer.
 * @throws {FormatError} not safetensors, missing or wrong metadata, a missing or extra tensor, a wrong shape (the
 *   error names the parameter).
 * @example
 * const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
 * const { model, classes } = dualStreamFromSafetensors(bytes);
 */
export function dualStreamFromSafetensors(bytes: Uint8Array | ArrayBuffer): DualStreamWeights {
  const op = 'dualStreamFromSafetensors';
  const file = readSafetensorsWeightsFile(op, bytes);
  // The one loading path: the registry reads the metadata, builds the model and loads it (disposing it on failure).
  let loaded: Pretrained<DualStreamViT, DualStreamViTConfig>;
  try {
    loaded = visionModels.loadPretrainedFile<DualStreamViT, DualStreamViTConfig>(file, {
      type: DUAL_STREAM_VIT_TYPE,
      op,
    });
  } catch (e) {
    if (e instanceof FormatError && e.op === op)
      throw new FormatError(op, 'bytes', e.message.slice(`${op}: 'source' `.length), { cause: e });
    throw e;
  }
  const { model, extra } = loaded;
  try {
    const C = model.config.classes;
    const named = extra.classes;
    let classes: string[];
    if (named === undefined) classes = Array.from({ length: C }, (_, i) => `class ${i}`);
    else if (Array.isArray(named) && named.length === C && named.every((n) => typeof n === 'string'))
      classes = named as string[];
    else throw new FormatError(op, 'bytes', `metadata 'geolip.classes' must be an array of ${C} strings`);
    const rawLabels = extra.anchorLabels;
    const anchorLabels = rawLabels === undefined ? null : checkAnchorLabels(op, rawLabels, model.config.anchors, C);
    const metadata = Object.fromEntries(Object.entries(file.metadata).filter(([k]) => k.startsWith('geolip.')));
    return { model, classes, anchorLabels, metadata, extra };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Options of the {@link FashionMnistClassifier} constructor and {@link FashionMnistClassifier.fromWeights}. */
export interface FashionMnistClassifierOptions {
  /** The model's name in errors (see {@link FashionMnistClassifier.name}). */
  name?: string;
}

/** Options of {@link FashionMnistClassifier.classify}. */
export interface ClassifyOptions {
  /** How many nearest anchors to return per image. Default 5. */
  topAnchors?: number;
  /** Images per forward pass. Default 64. */
  batchSize?: number;
}

/**
 * A Dual-Stream ViT classifier of 28×28 grayscale images: pixels in, class, probabilities, embedding and nearest
 * anchors out. Build it from any Dual-Stream weights file ({@link FashionMnistClassifier.fromWeights}) or take the
 * bundled Fashion-MNIST model ({@link loadGeolipFashionMnist}, Node; in a browser pass the file's URL to
 * `fromWeights`).
 *
 * @example
 * const clf = await loadGeolipFashionMnist();
 * const [p] = await clf.classify(pixels);       // pixels: 784 bytes, white garment on black as in Fashion-MNIST
 * // test image 0: 'Ankle boot', { anchor: 45, cos: 0.5824, label: { label: 7, … } }
 * p.className; p.nearestAnchors[0];
 * clf.dispose();
 */
export class FashionMnistClassifier {
  /**
   * The model's name in errors: `options.name`, else the file's `geolip.name` metadata, else `DualStreamViT` (the
   * registry's name of the class). `fmnist-dual-stream` for {@link loadGeolipFashionMnist}.
   */
  readonly name: string;
  readonly model: DualStreamViT;
  readonly classes: readonly string[];
  readonly anchorLabels: readonly AnchorLabel[] | null;
  readonly metadata: Readonly<Record<string, string>>;
  /** The file's model extras (see {@link DualStreamWeights.extra}): e.g. `testAccuracy` of the shipped model. */
  readonly extra: Readonly<Record<string, unknown>>;
  /** The side of the square input images (28 for Fashion-MNIST). */
  readonly imageSize: number;

  constructor(weights: DualStreamWeights, options: FashionMnistClassifierOptions = {}) {
    const op = 'FashionMnistClassifier';
    if (weights === null || typeof weights !== 'object' || !(weights.model instanceof DualStreamViT)) {
      throw new InvalidArgumentError(op, 'weights', 'must be the result of dualStreamFromSafetensors');
    }
    if (weights.model.config.channels !== 1)
      throw new InvalidArgumentError(
        op,
        'weights',
        `must be a grayscale model (channels 1), got ${weights.model.config.channels}`,
      );
    this.model = weights.model;
    this.classes = Object.freeze([...weights.classes]);
    this.anchorLabels =
      weights.anchorLabels === null ? null : Object.freeze(weights.anchorLabels.map((a) => Object.freeze({ ...a })));
    this.metadata = Object.freeze({ ...weights.metadata });
    this.extra = Object.freeze({ ...(weights.extra ?? {}) });
    this.imageSize = weights.model.config.imageSize;
    const name = options.name ?? this.metadata['geolip.name'] ?? 'DualStreamViT';
    if (typeof name !== 'string' || name === '')
      throw new InvalidArgumentError(op, 'options.name', 'must be a non-empty string');
    this.name = name;
  }

  /**
   * Loads a Dual-Stream weights file: the bytes, a URL (fetched; in a browser also a URL relative to the page) or,
   * under Node, a path.
   * @throws {InvalidArgumentError} naming `source`: another type, unreadable, or a fetch that fails (URL and HTTP
   *   status in the message). @throws {FormatError} see {@link dualStreamFromSafetensors}.
   */
  static async fromWeights(
    source: BinarySource,
    options: FashionMnistClassifierOptions = {},
  ): Promise<FashionMnistClassifier> {
    const bytes = await readBinarySource('FashionMnistClassifier.fromWeights', 'source', source);
    const weights = dualStreamFromSafetensors(bytes);
    try {
      return new FashionMnistClassifier(weights, options);
    } catch (e) {
      weights.model.dispose();
      throw e;
    }
  }

  /**
   * Classifies `n = pixels.length / imageSize²` images.
   * @param pixels - `[n, imageSize, imageSize]` row-major: bytes 0–255, or floats in [0, 1]; a light garment on a
   *   dark background, as in Fashion-MNIST (see {@link fashionMnistInput} for photos and uploads).
   * @throws {InvalidArgumentError} naming `pixels` (wrong type, a length that is not a positive multiple of
   *   imageSize², a float outside [0, 1] or not finite) or `options.topAnchors` / `options.batchSize`.
   * @throws {NonFiniteError} naming the model ({@link FashionMnistClassifier.name}, in `error.model`) when a batch's
   *   probabilities, embeddings or anchor distances hold NaN or ±Infinity (e.g. weights loaded with
   *   `allowNonFinite`): never a confident class with NaN probabilities. One pass over each output of a batch.
   */
  async classify(
    pixels: Uint8Array | Uint8ClampedArray | Float32Array,
    options: ClassifyOptions = {},
  ): Promise<FashionMnistPrediction[]> {
    const op = 'FashionMnistClassifier.classify';
    const side = this.imageSize;
    const px = side * side;
    const A = this.model.config.anchors;
    const { topAnchors = 5, batchSize = 64 } = options;
    if (!(pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray || pixels instanceof Float32Array)) {
      throw new InvalidArgumentError(op, 'pixels', 'must be a Uint8Array, Uint8ClampedArray or Float32Array');
    }
    if (pixels.length === 0 || pixels.length % px !== 0) {
      throw new InvalidArgumentError(
        op,
        'pixels',
        `length must be a positive multiple of ${side}×${side} = ${px}, got ${pixels.length}`,
      );
    }
    if (!Number.isInteger(topAnchors) || topAnchors < 0 || topAnchors > A)
      throw new InvalidArgumentError(op, 'options.topAnchors', `must be an integer in [0, ${A}], got ${topAnchors}`);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new InvalidArgumentError(op, 'options.batchSize', `must be a positive integer, got ${batchSize}`);
    let x: Float32Array;
    if (pixels instanceof Float32Array) {
      const bad = pixels.findIndex((v) => !(v >= 0 && v <= 1));
      if (bad >= 0)
        throw new InvalidArgumentError(op, 'pixels', `floats must be in [0, 1]; pixels[${bad}] = ${pixels[bad]}`);
      x = pixels;
    } else {
      x = Float32Array.from(pixels, (v) => v / 255);
    }
    const n = pixels.length / px;
    const C = this.classes.length;
    const out: FashionMnistPrediction[] = [];
    for (let s = 0; s < n; s += batchSize) {
      const b = Math.min(batchSize, n - s);
      const [probs, emb, tri] = tf.tidy(() => {
        const o = this.model.forward(tf.tensor4d(x.subarray(s * px, (s + b) * px), [b, side, side, 1]));
        return [tf.softmax(o.logits), o.emb, o.triangulation];
      });
      const [p, e, t] = (await Promise.all([probs.data(), emb.data(), tri.data()])) as Float32Array[];
      tf.dispose([probs, emb, tri]);
      const D = emb.shape[1];
      assertFiniteOutput(op, this.name, 'probabilities', p!, s * C);
      assertFiniteOutput(op, this.name, 'embedding', e!, s * D);
      assertFiniteOutput(op, this.name, 'triangulation', t!, s * A);
      for (let i = 0; i < b; i++) {
        const probabilities = p!.slice(i * C, (i + 1) * C);
        let label = 0;
        for (let c = 1; c < C; c++) if (probabilities[c]! > probabilities[label]!) label = c;
        const cos = Array.from(t!.subarray(i * A, (i + 1) * A), (v) => 1 - v);
        const order = Array.from(cos.keys())
          .sort((a2, b2) => cos[b2]! - cos[a2]! || a2 - b2)
          .slice(0, topAnchors);
        out.push({
          label,
          className: this.classes[label]!,
          probabilities,
          embedding: e!.slice(i * D, (i + 1) * D),
          nearestAnchors: order.map((a2) => ({ anchor: a2, cos: cos[a2]!, label: this.anchorLabels?.[a2] ?? null })),
        });
      }
    }
    return out;
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}

/**
 * The Fashion-MNIST Dual-Stream ViT bundled with this package (`weights/fmnist-dual-stream.safetensors`). Node only;
 * in a browser, import the file's URL (`@geolip/vision/weights/fmnist-dual-stream.safetensors`) and call
 * `FashionMnistClassifier.fromWeights(url)`.
 */
export async function loadGeolipFashionMnist(): Promise<FashionMnistClassifier> {
  let url: string | undefined;
  try {
    url = import.meta.url as string | undefined;
  } catch {
    // CJS build: no import.meta
  }
  const path = await bundledAssetPath('loadGeolipFashionMnist', 'weights', GEOLIP_FMNIST_WEIGHTS_FILE, {
    url,
    dirname: typeof __dirname === 'string' ? __dirname : undefined,
  });
  return FashionMnistClassifier.fromWeights(path, { name: 'fmnist-dual-stream' });
}
declare const __dirname: string | undefined;
