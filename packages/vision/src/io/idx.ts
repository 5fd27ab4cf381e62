/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian header, then the raw values.
 *
 *     bytes 0–1   0x00 0x00
 *     byte  2     dtype code (0x08 = unsigned byte, the only one read here)
 *     byte  3     rank r (0x03 for images [N, 28, 28], 0x01 for labels [N])
 *     4·r bytes   the sizes, uint32 big-endian
 *     then        ∏ sizes values
 *
 * So the magic number of an image file is 0x00000803 and that of a label file 0x00000801.
 * gzip-compressed files (`.gz`, first bytes 1f 8b) are inflated with `node:zlib`.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';

/** Magic number of an IDX file of unsigned-byte images `[N, H, W]`. */
export const IDX_MAGIC_IMAGES = 0x00000803;
/** Magic number of an IDX file of unsigned-byte labels `[N]`. */
export const IDX_MAGIC_LABELS = 0x00000801;

/** A parsed IDX tensor. */
export interface IdxTensor {
  dtype: 'uint8';
  shape: number[];
  /** `∏ shape` values, row-major. */
  data: Uint8Array;
}

/** Options of {@link parseIdx} and {@link loadIdx}. */
export interface IdxOptions {
  /** Required rank (3 for images, 1 for labels): another magic number is a FormatError. */
  rank?: number;
  /**
   * The most bytes gzip data may inflate to (default 256 MiB; Fashion-MNIST's largest file is 47 MB). Checked against
   * the gzip trailer's declared size before inflating and enforced while inflating, so a small file cannot inflate
   * to gigabytes. Raise it for larger datasets (EMNIST).
   */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 256 * 2 ** 20;

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

function gunzip(op: string, argument: string, bytes: Uint8Array, file: string, maxBytes: number): Uint8Array {
  const limit = (): FormatError =>
    new FormatError(op, argument, `${file}: gzip data inflates to more than ${maxBytes} bytes (options.maxBytes)`);
  // The trailer's ISIZE (size mod 2^32) first: an honest bomb is refused before any inflating.
  if (bytes.length >= 18) {
    const isize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
    if (isize > maxBytes)
      throw new FormatError(
        op,
        argument,
        `${file}: corrupt or truncated gzip data, or data that inflates to more than ${maxBytes} bytes ` +
          `(its trailer declares ${isize}; options.maxBytes raises the limit)`,
      );
  }
  try {
    const out = gunzipSync(bytes, { maxOutputLength: maxBytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw limit();
    throw new FormatError(op, argument, `${file}: corrupt or truncated gzip data (${(e as Error).message})`, {
      cause: e,
    });
  }
}

function parseWith(op: string, argument: string, input: Uint8Array, file: string, options: IdxOptions): IdxTensor {
  if (!(input instanceof Uint8Array))
    throw new InvalidArgumentError(op, argument, 'must be a Uint8Array (or a Buffer)');
  const gzipped = input.length >= 2 && input[0] === 0x1f && input[1] === 0x8b;
  if (!gzipped && file.endsWith('.gz'))
    throw new FormatError(op, argument, `${file}: named .gz but is not gzip data (no 1f 8b header)`);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw new InvalidArgumentError(op, 'options.maxBytes', `must be a positive integer, got ${String(maxBytes)}`);
  const bytes = gzipped ? gunzip(op, argument, input, file, maxBytes) : input;
  if (bytes.length < 4)
    throw new FormatError(op, argument, `${file}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const code = bytes[2]!;
  const rank = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || rank === 0) {
    throw new FormatError(
      op,
      argument,
      `${file}: not an IDX file (magic number ${hex(magic)}; expected 0x000008RR, ` +
        `e.g. ${hex(IDX_MAGIC_IMAGES)} images or ${hex(IDX_MAGIC_LABELS)} labels)`,
    );
  }
  if (code !== 0x08) {
    throw new FormatError(
      op,
      argument,
      `${file}: magic number ${hex(magic)} has dtype code 0x${code.toString(16).padStart(2, '0')}; ` +
        'only unsigned byte (0x08) is supported',
    );
  }
  if (options.rank !== undefined && rank !== options.rank) {
    throw new FormatError(
      op,
      argument,
      `${file}: magic number ${hex(magic)} (rank ${rank}) ` +
        `where ${hex(0x800 + options.rank)} (rank ${options.rank}) was expected`,
    );
  }
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    throw new FormatError(
      op,
      argument,
      `${file}: truncated header (rank ${rank} needs ${headerLength} bytes, got ${bytes.length})`,
    );
  }
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const body = bytes.length - headerLength;
  if (body < count) {
    throw new FormatError(
      op,
      argument,
      `${file}: truncated data (header says [${shape.join(', ')}] = ${count} bytes, the file holds ${body})`,
    );
  }
  if (body > count) {
    throw new FormatError(
      op,
      argument,
      `${file}: ${body - count} bytes after the data ` +
        `(header says [${shape.join(', ')}] = ${count} bytes, the file holds ${body})`,
    );
  }
  return { dtype: 'uint8', shape, data: bytes.slice(headerLength) };
}

/**
 * Parses an IDX file held in memory (gzip-compressed or not).
 *
 * @param bytes - the file contents.
 * @param file - name for error messages (a name ending in `.gz` must hold gzip data). Default `'<bytes>'`.
 * @returns `{ dtype: 'uint8', shape, data }`, `data` a fresh copy of `∏ shape` bytes.
 * @throws {FormatError} naming `file` on a wrong magic number, an unsupported dtype, a rank other than
 *   `options.rank`, a truncated header or data, trailing bytes, or broken gzip data.
 */
export function parseIdx(bytes: Uint8Array, file = '<bytes>', options: IdxOptions = {}): IdxTensor {
  return parseWith('parseIdx', 'bytes', bytes, file, options);
}

/** Reads and parses an IDX file ({@link parseIdx}); errors name `path`. */
export async function loadIdx(path: string, options: IdxOptions = {}): Promise<IdxTensor> {
  if (typeof path !== 'string' || path === '')
    throw new InvalidArgumentError('loadIdx', 'path', 'must be a non-empty string');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InvalidArgumentError('loadIdx', 'path', `cannot read ${path} (${(e as Error).message})`, { cause: e });
  }
  return parseWith('loadIdx', 'path', bytes, path, options);
}
