/**
 * JPEG decoding through the pure-JS decoder `jpeg-js` (baseline and progressive; 1, 3 or 4 components).
 */
import { readFile } from 'node:fs/promises';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { decode } from 'jpeg-js';

import { toGrayscale, type HwcImage } from './image.js';

/** Options of {@link decodeJpeg} and {@link loadImage}. */
export interface DecodeJpegOptions {
  /** File name used in error messages. Default `'<bytes>'`. */
  file?: string;
  /** 3 (default): RGB, grayscale JPEGs expanded to R = G = B. 1: luma (a grayscale JPEG's own channel, exactly). */
  channels?: 1 | 3;
  /**
   * Refuse images above this many megapixels (default 25), read from the frame header before anything is decoded or
   * allocated: a 17-byte file can declare 10000×10000. Raise it for larger photos.
   */
  maxResolutionInMP?: number;
  /** Refuse images whose decode would allocate more than this (default 512 MB). */
  maxMemoryUsageInMB?: number;
}

/** A decoded image: `[H, W, C]` bytes, HWC order. */
export interface DecodedImage extends HwcImage<Uint8Array> {
  channels: 1 | 3;
  /** Components stored in the file: 1 (grayscale), 3 (YCbCr / RGB) or 4 (CMYK / YCCK). */
  sourceChannels: number;
}

/** The first SOFn frame header: its height, width and component count, or null if none is found. */
function frameHeader(bytes: Uint8Array): { height: number; width: number; components: number } | null {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2;
      continue;
    }
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return {
        height: (bytes[i + 5]! << 8) | bytes[i + 6]!,
        width: (bytes[i + 7]! << 8) | bytes[i + 8]!,
        components: bytes[i + 9]!,
      };
    if (marker === 0xda) return null;
    i += 2 + length;
  }
  return null;
}

function decodeWith(op: string, argument: string, bytes: Uint8Array, options: DecodeJpegOptions): DecodedImage {
  const file = options.file ?? '<bytes>';
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3)
    throw new InvalidArgumentError(op, 'channels', `must be 1 or 3, got ${String(channels)}`);
  if (!(bytes instanceof Uint8Array))
    throw new InvalidArgumentError(op, argument, 'must be a Uint8Array (or a Buffer)');
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new FormatError(op, argument, `${file}: not a JPEG (no SOI marker FF D8 at the start)`);
  }
  const maxMP = options.maxResolutionInMP ?? 25;
  if (typeof maxMP !== 'number' || !(maxMP > 0))
    throw new InvalidArgumentError(op, 'maxResolutionInMP', `must be a positive number, got ${String(maxMP)}`);
  const frame = frameHeader(bytes);
  if (frame !== null && frame.width * frame.height > maxMP * 1e6)
    throw new FormatError(
      op,
      argument,
      `${file}: declares ${frame.width}x${frame.height} pixels, over the ${maxMP}-megapixel limit ` +
        '(options.maxResolutionInMP raises it)',
    );
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: maxMP,
      maxMemoryUsageInMB: options.maxMemoryUsageInMB ?? 512,
    });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new FormatError(op, argument, `${file}: corrupt or truncated JPEG (${reason})`, { cause: e });
  }
  if (!(decoded.width > 0 && decoded.height > 0) || decoded.data.length !== decoded.width * decoded.height * 3) {
    throw new FormatError(
      op,
      argument,
      `${file}: corrupt JPEG (decoded ${decoded.width}x${decoded.height} with ${decoded.data.length} bytes)`,
    );
  }
  const rgb: DecodedImage = {
    width: decoded.width,
    height: decoded.height,
    channels: 3,
    data: decoded.data,
    sourceChannels: frame?.components || 3,
  };
  if (channels === 3) return rgb;
  return { ...toGrayscale(rgb), channels: 1, sourceChannels: rgb.sourceChannels };
}

/**
 * Decodes a JPEG into `[H, W, C]` bytes (HWC, RGB by default).
 *
 * @param bytes - the whole JPEG file.
 * @returns `{ width, height, channels, data: Uint8Array [H·W·C], sourceChannels }`.
 *
 * @throws {FormatError} If the bytes are not a JPEG, or the JPEG is corrupt or truncated (the message names `file`).
 * @throws {InvalidArgumentError} If `channels` is not 1 or 3.
 *
 * @remarks
 * - Grayscale JPEGs come back as RGB with R = G = B unless `{ channels: 1 }` is asked for; with
 *   `{ channels: 1 }` an RGB JPEG is converted to BT.601 luma ({@link toGrayscale}).
 * - jpeg-js upsamples subsampled chroma by pixel replication and uses its own IDCT: pixel values can
 *   differ by a few levels from libjpeg (PIL, torchvision). Corruption inside the entropy-coded data
 *   that keeps the marker structure intact decodes to wrong pixels without an error (as in libjpeg).
 * - EXIF orientation is not applied.
 *
 * @example
 * const image = decodeJpeg(readFileSync('cat.jpg'), { file: 'cat.jpg' }); // { width, height, channels: 3, data }
 */
export function decodeJpeg(bytes: Uint8Array, options: DecodeJpegOptions = {}): DecodedImage {
  return decodeWith('decodeJpeg', 'bytes', bytes, options);
}

/**
 * Reads and decodes a JPEG file ({@link decodeJpeg} with `file = path`).
 * @throws {FormatError} naming `path` if the file is not a decodable JPEG.
 */
export async function loadImage(path: string, options: Omit<DecodeJpegOptions, 'file'> = {}): Promise<DecodedImage> {
  if (typeof path !== 'string' || path === '')
    throw new InvalidArgumentError('loadImage', 'path', 'must be a non-empty string');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InvalidArgumentError('loadImage', 'path', `cannot read ${path} (${(e as Error).message})`, { cause: e });
  }
  return decodeWith('loadImage', 'path', bytes, { ...options, file: path });
}
