/** Image paths to model input: decode, make square, resize, scale to [0, 1]. */
import { FormatError, GeolipError, InvalidArgumentError } from '@geolip/geometry';

import { loadImage } from '../io/jpeg.js';
import { centerCrop, resizeBilinear } from '../io/preprocess.js';
import type { ImageExpertOptions, ImageFit } from './types.js';

/** Checked options with their defaults. */
export interface ResolvedOptions {
  batchSize: number;
  fit: ImageFit;
  normalize: boolean;
}

/** Checks {@link ImageExpertOptions} and fills in the defaults. */
export function resolveOptions(op: string, options: ImageExpertOptions): ResolvedOptions {
  const { batchSize = 8, fit = 'crop', normalize = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InvalidArgumentError(op, 'batchSize', `must be a positive integer, got ${String(batchSize)}`);
  if (fit !== 'crop' && fit !== 'stretch')
    throw new InvalidArgumentError(op, 'fit', `must be 'crop' or 'stretch', got ${String(fit)}`);
  if (typeof normalize !== 'boolean')
    throw new InvalidArgumentError(op, 'normalize', `must be a boolean, got ${String(normalize)}`);
  return { batchSize, fit, normalize };
}

/**
 * Reads one JPEG and returns the `[side, side, 3]` float32 input with values x/255 in [0, 1], HWC.
 *
 * - Grayscale JPEGs are expanded to RGB by replicating the gray channel (R = G = B), as `loadImage` does.
 * - `fit: 'crop'`: central square of side min(H, W) ({@link centerCrop}), then {@link resizeBilinear} to
 *   side × side; `'stretch'`: the whole image resized to side × side.
 *
 * @throws {InvalidArgumentError} naming `inputs[i]` and the path if it is not a string or cannot be read.
 * @throws {FormatError} naming `inputs[i]` and the path if it is not a decodable JPEG (another format, corrupt,
 *   truncated).
 */
export async function readInput(
  op: string,
  index: number,
  path: unknown,
  side: number,
  fit: ImageFit,
): Promise<Float32Array> {
  const argument = `inputs[${index}]`;
  if (typeof path !== 'string' || path === '')
    throw new InvalidArgumentError(
      op,
      argument,
      `must be an image file path, got ${typeof path === 'string' ? "''" : typeof path}`,
    );
  let image;
  try {
    image = await loadImage(path, { channels: 3 });
  } catch (e) {
    if (e instanceof FormatError) {
      throw new FormatError(op, argument, e.message.replace(/^loadImage: 'path' /, ''), { cause: e });
    }
    // loadImage's own read error (ENOENT, EISDIR) carries the file system error as its cause.
    const cause = e instanceof InvalidArgumentError && e.op === 'loadImage' ? e.cause : e;
    if (cause === e && GeolipError.isInstance(e)) throw e;
    const code = (cause as { code?: string }).code;
    throw new InvalidArgumentError(
      op,
      argument,
      `${path}: cannot be read (${code ?? (e instanceof Error ? e.message : String(e))})`,
      { cause: e },
    );
  }
  const square = fit === 'crop' ? centerCrop(image, Math.min(image.width, image.height)) : image;
  const resized = resizeBilinear(square, side).data;
  for (let j = 0; j < resized.length; j++) resized[j]! /= 255;
  return resized;
}

/** L2-normalizes each row of a row-major `[n, d]` matrix in place (a zero row stays zero). */
export function normalizeRowsInPlace(x: Float32Array, d: number): void {
  for (let o = 0; o < x.length; o += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[o + j]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < d; j++) x[o + j]! *= inv;
  }
}
