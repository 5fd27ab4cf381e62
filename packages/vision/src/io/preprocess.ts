/**
 * Image preprocessing on HWC images: bilinear resize, center crop, per-channel normalization, and
 * the step to a tfjs `[B, H, W, C]` float32 tensor (NHWC, the layout of `@geolip/nn`).
 */
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import * as tf from '@tensorflow/tfjs-core';

import { assertChannels, assertImage, type HwcImage, type PixelData } from './image.js';

/** ImageNet per-channel mean of RGB values in [0, 1] (torchvision's constants). */
export const IMAGENET_MEAN: readonly [number, number, number] = Object.freeze([0.485, 0.456, 0.406]) as readonly [
  number,
  number,
  number,
];
/** ImageNet per-channel standard deviation of RGB values in [0, 1] (torchvision's constants). */
export const IMAGENET_STD: readonly [number, number, number] = Object.freeze([0.229, 0.224, 0.225]) as readonly [
  number,
  number,
  number,
];

/** An output size: `{ height, width }`, or one number for a square. */
export type ImageSize = number | { height: number; width: number };

function sizeOf(op: string, argument: string, size: ImageSize): { height: number; width: number } {
  const s = typeof size === 'number' ? { height: size, width: size } : size;
  if (
    typeof s !== 'object' ||
    s === null ||
    !Number.isInteger(s.height) ||
    !Number.isInteger(s.width) ||
    s.height < 1 ||
    s.width < 1
  ) {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be a positive integer or { height, width } of positive integers, got ${JSON.stringify(size)}`,
    );
  }
  return { height: s.height, width: s.width };
}

/** Source index pair and weight of one output coordinate, half-pixel centers, clamped at the borders. */
function axisTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; t: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const t = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const s = Math.max(0, (d + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(s), inSize - 1);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, inSize - 1);
    t[d] = s - lo;
  }
  return { i0, i1, t };
}

/**
 * Bilinear resize with half-pixel centers (no antialiasing).
 *
 *     src = max(0, (dst + 0.5) · in/out − 0.5),  i0 = ⌊src⌋,  i1 = min(i0 + 1, in − 1),  t = src − i0
 *     out = (1 − ty)·((1 − tx)·p[y0,x0] + tx·p[y0,x1]) + ty·((1 − tx)·p[y1,x0] + tx·p[y1,x1])
 *
 * computed in float64 and stored in float32. This is `tf.image.resizeBilinear(…, halfPixelCenters=true)`
 * and PyTorch's `interpolate(mode='bilinear', align_corners=False, antialias=False)`.
 *
 * @param image - `[H, W, C]`, Uint8 or Float32.
 * @param size - output `{ height, width }` (or one number for a square).
 * @returns `[height, width, C]` float32.
 *
 * @remarks Downscaling by more than 2× aliases (no low-pass filter, unlike PIL's `resize`).
 * Resizing to the input size returns the same values (as float32).
 */
export function resizeBilinear(image: HwcImage, size: ImageSize): HwcImage<Float32Array> {
  assertImage('resizeBilinear', 'image', image);
  const { height, width } = sizeOf('resizeBilinear', 'size', size);
  const { width: W, height: H, channels: C, data } = image;
  const xs = axisTaps(W, width);
  const ys = axisTaps(H, height);
  const out = new Float32Array(height * width * C);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y]! * W;
    const r1 = ys.i1[y]! * W;
    const ty = ys.t[y]!;
    for (let x = 0; x < width; x++) {
      const x0 = xs.i0[x]!;
      const x1 = xs.i1[x]!;
      const tx = xs.t[x]!;
      const a = (r0 + x0) * C;
      const b = (r0 + x1) * C;
      const c = (r1 + x0) * C;
      const d = (r1 + x1) * C;
      for (let k = 0; k < C; k++) {
        const top = (1 - tx) * data[a + k]! + tx * data[b + k]!;
        const bottom = (1 - tx) * data[c + k]! + tx * data[d + k]!;
        out[o++] = (1 - ty) * top + ty * bottom;
      }
    }
  }
  return { width, height, channels: C, data: out };
}

/** Python's `round` (half to even), so offsets match torchvision's `center_crop`. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Cuts the central `height × width` window out of an image.
 *
 *     top = round((H − height) / 2),  left = round((W − width) / 2)    (round half to even, as torchvision)
 *
 * @param image - `[H, W, C]`, Uint8 or Float32 (the output keeps the type).
 * @param size - `{ height, width }` (or one number for a square), at most the image size.
 * @returns `[height, width, C]`, a copy.
 * @throws {InvalidArgumentError} If the crop is larger than the image (torchvision would zero-pad instead).
 */
export function centerCrop<T extends PixelData>(image: HwcImage<T>, size: ImageSize): HwcImage<T> {
  assertImage('centerCrop', 'image', image);
  const { height, width } = sizeOf('centerCrop', 'size', size);
  const { width: W, height: H, channels: C, data } = image;
  if (height > H || width > W) {
    throw new InvalidArgumentError(
      'centerCrop',
      'size',
      `${height}x${width} is larger than the image (${H}x${W}); resize first`,
    );
  }
  const top = roundHalfEven((H - height) / 2);
  const left = roundHalfEven((W - width) / 2);
  const out = new (data.constructor as new (n: number) => T)(height * width * C);
  for (let y = 0; y < height; y++) {
    const start = ((top + y) * W + left) * C;
    out.set(data.subarray(start, start + width * C), y * width * C);
  }
  return { width, height, channels: C, data: out };
}

/** Options of {@link normalize}. */
export interface NormalizeOptions {
  /**
   * Multiplies the pixels before the mean is subtracted. Default `1/255` (bytes to [0, 1], as torchvision's
   * `ToTensor`).
   */
  scale?: number;
}

/**
 * Per-channel normalization: `out[…, c] = (x[…, c] · scale − mean[c]) / std[c]`.
 *
 * @param image - `[H, W, C]`, Uint8 or Float32, values 0–255 unless `scale` says otherwise.
 * @param mean - `C` values (or one for all channels). Default {@link IMAGENET_MEAN}.
 * @param std - `C` positive values (or one). Default {@link IMAGENET_STD}.
 * @returns `[H, W, C]` float32.
 * @throws {ShapeError} If `mean` or `std` has neither 1 nor C entries (e.g. ImageNet's 3 for a grayscale image).
 * @throws {InvalidArgumentError} If a std entry is not positive or `scale` is not finite.
 */
export function normalize(
  image: HwcImage,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
  options: NormalizeOptions = {},
): HwcImage<Float32Array> {
  assertImage('normalize', 'image', image);
  const C = image.channels;
  const scale = options.scale ?? 1 / 255;
  if (!Number.isFinite(scale)) throw new InvalidArgumentError('normalize', 'scale', `must be finite, got ${scale}`);
  for (const [name, v] of [
    ['mean', mean],
    ['std', std],
  ] as const) {
    if (v.length !== C && v.length !== 1) {
      throw new ShapeError('normalize', name, `[C=${C}] or [1]`, [v.length], `the image has ${C} channel(s)`);
    }
  }
  const m = Float64Array.from({ length: C }, (_, c) => mean[mean.length === 1 ? 0 : c]!);
  const inv = Float64Array.from({ length: C }, (_, c) => {
    const s = std[std.length === 1 ? 0 : c]!;
    if (!(s > 0) || !Number.isFinite(s))
      throw new InvalidArgumentError('normalize', 'std', `entries must be positive and finite, got ${s}`);
    return 1 / s;
  });
  const data = image.data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += C) {
    for (let c = 0; c < C; c++) out[i + c] = (data[i + c]! * scale - m[c]!) * inv[c]!;
  }
  return { width: image.width, height: image.height, channels: C, data: out };
}

/** Options of {@link toTensor}. */
export interface ToTensorOptions {
  /** Channels the model expects (e.g. 3 for an RGB model): anything else is a ShapeError. */
  channels?: number;
}

/**
 * Stacks one image or a batch of same-sized images into a float32 tensor `[B, H, W, C]` (NHWC).
 * Values are copied as they are (Uint8 pixels stay 0–255: {@link normalize} first to rescale).
 *
 * @param images - one `[H, W, C]` image (gives B = 1) or a non-empty array of them.
 * @returns float32 `[B, H, W, C]`, one new tensor on the active backend.
 * @throws {ShapeError} If the images differ in size, or have another channel count than `options.channels`
 *   (a grayscale image fed to an RGB model).
 */
export function toTensor(images: HwcImage | readonly HwcImage[], options: ToTensorOptions = {}): tf.Tensor4D {
  const list = Array.isArray(images) ? (images as readonly HwcImage[]) : [images as HwcImage];
  if (list.length === 0) throw new InvalidArgumentError('toTensor', 'images', 'must hold at least one image');
  const first = list[0]!;
  list.forEach((im, b) => {
    const name = Array.isArray(images) ? `images[${b}]` : 'image';
    assertImage('toTensor', name, im);
    if (options.channels !== undefined) assertChannels('toTensor', name, im, options.channels);
    if (im.height !== first.height || im.width !== first.width || im.channels !== first.channels) {
      throw new ShapeError(
        'toTensor',
        name,
        `[H=${first.height}, W=${first.width}, C=${first.channels}] like images[0]`,
        [im.height, im.width, im.channels],
      );
    }
  });
  const per = first.height * first.width * first.channels;
  const flat = new Float32Array(per * list.length);
  list.forEach((im, b) => flat.set(im.data, b * per));
  return tf.tensor4d(flat, [list.length, first.height, first.width, first.channels], 'float32');
}
