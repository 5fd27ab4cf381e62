/**
 * The in-memory image of `@geolip/vision/io`: one HWC (row-major, channels last) buffer.
 */
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

/** Pixel storage: bytes as decoded (0–255), or float32 after resizing / normalizing. */
export type PixelData = Uint8Array | Float32Array;

/**
 * One image, `[H, W, C]` in row-major HWC order: the value of channel `c` at row `y`, column `x`
 * is `data[(y * width + x) * channels + c]`.
 */
export interface HwcImage<T extends PixelData = PixelData> {
  width: number;
  height: number;
  /** 1 (grayscale) or 3 (RGB); other counts are accepted by the generic operations. */
  channels: number;
  data: T;
}

/** Throws unless `image` is a well-formed HWC image (positive integer sizes, `data.length = H·W·C`). */
export function assertImage(op: string, argument: string, image: HwcImage): void {
  if (typeof image !== 'object' || image === null) {
    throw new InvalidArgumentError(op, argument, 'must be an image { width, height, channels, data }');
  }
  const { width, height, channels, data } = image;
  for (const [name, v] of [
    ['width', width],
    ['height', height],
    ['channels', channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new InvalidArgumentError(op, argument, `must have a positive integer ${name}, got ${String(v)}`);
    }
  }
  if (!(data instanceof Uint8Array) && !(data instanceof Float32Array)) {
    throw new InvalidArgumentError(op, argument, 'must hold its pixels in a Uint8Array or a Float32Array');
  }
  if (data.length !== height * width * channels) {
    throw new ShapeError(
      op,
      argument,
      `[H=${height}, W=${width}, C=${channels}] (data.length ${height * width * channels})`,
      [data.length],
      'data.length does not match',
    );
  }
}

/** Throws a ShapeError unless `image` has exactly `channels` channels (e.g. a grayscale image fed to an RGB model). */
export function assertChannels(op: string, argument: string, image: HwcImage, channels: number): void {
  if (image.channels !== channels) {
    const hint =
      channels === 3 && image.channels === 1
        ? 'a grayscale image given to an RGB model: decode with { channels: 3 } or convert with toRgb'
        : channels === 1 && image.channels === 3
          ? 'an RGB image given to a grayscale model: decode with { channels: 1 } or convert with toGrayscale'
          : `expected ${channels} channel(s)`;
    throw new ShapeError(op, argument, `[H, W, C=${channels}]`, [image.height, image.width, image.channels], hint);
  }
}

/**
 * Repeats the single channel of a grayscale image three times (R = G = B). An RGB image is returned as is.
 * @throws {ShapeError} If the image has neither 1 nor 3 channels.
 */
export function toRgb<T extends PixelData>(image: HwcImage<T>): HwcImage<T> {
  assertImage('toRgb', 'image', image);
  if (image.channels === 3) return image;
  if (image.channels !== 1)
    throw new ShapeError('toRgb', 'image', '[H, W, C=1 or 3]', [image.height, image.width, image.channels]);
  const n = image.width * image.height;
  const out = new (image.data.constructor as new (n: number) => T)(n * 3);
  for (let i = 0; i < n; i++) {
    const v = image.data[i]!;
    out[3 * i] = v;
    out[3 * i + 1] = v;
    out[3 * i + 2] = v;
  }
  return { width: image.width, height: image.height, channels: 3, data: out };
}

/**
 * Luma of an RGB image, ITU-R BT.601: `Y = 0.299 R + 0.587 G + 0.114 B` (what PIL's `convert('L')` computes),
 * rounded for Uint8 pixels. A 1-channel image is returned as is; a gray RGB image (R = G = B) maps back exactly.
 * @throws {ShapeError} If the image has neither 1 nor 3 channels.
 */
export function toGrayscale<T extends PixelData>(image: HwcImage<T>): HwcImage<T> {
  assertImage('toGrayscale', 'image', image);
  if (image.channels === 1) return image;
  if (image.channels !== 3)
    throw new ShapeError('toGrayscale', 'image', '[H, W, C=1 or 3]', [image.height, image.width, image.channels]);
  const n = image.width * image.height;
  const src = image.data;
  const isByte = src instanceof Uint8Array;
  const out = new (src.constructor as new (n: number) => T)(n);
  for (let i = 0; i < n; i++) {
    const y = 0.299 * src[3 * i]! + 0.587 * src[3 * i + 1]! + 0.114 * src[3 * i + 2]!;
    out[i] = isByte ? Math.min(255, Math.round(y)) : y;
  }
  return { width: image.width, height: image.height, channels: 1, data: out };
}
