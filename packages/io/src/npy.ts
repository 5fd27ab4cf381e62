/** NumPy `.npy` files: a 2-D little-endian float matrix (the format of exported expert features). */
import { FormatError, InvalidArgumentError, Matrix } from '@geolip/geometry';

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Parses the bytes of a NumPy `.npy` file holding a 2-D little-endian float matrix.
 *
 * Accepted: format version 1.0, 2.0 or 3.0; header dict with `descr` `'<f4'` or `'<f8'`,
 * `fortran_order: False` and a 2-tuple `shape`; data exactly rows·cols·itemsize bytes.
 *
 * @param bytes - The whole file.
 * @param name - The file name used in error messages.
 * @param op - The function named in error messages (default `parseNpy`; a caller passes its own name).
 * @returns `[rows, cols]` float64 matrix (float32 values widened exactly).
 * @throws {InvalidArgumentError} If `bytes` is not a Uint8Array.
 * @throws {FormatError} Naming `op` and `name`: bad magic or version, malformed header, unsupported dtype,
 *   Fortran order, a shape that is not 2-D, truncated or trailing data.
 */
export function parseNpy(bytes: Uint8Array, name: string, op = 'parseNpy'): Matrix {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(op, 'bytes', 'must be a Uint8Array');
  const fail = (message: string): never => {
    throw new FormatError(op, name, message);
  };
  if (bytes.length < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) fail('is not a .npy file (bad magic)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('is truncated (header length)');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`has unsupported .npy format version ${major}.${bytes[7]!}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) fail('is truncated (header)');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const m = /^\{\s*(.*?)\s*,?\s*\}\s*$/s.exec(header);
  if (!m) fail('has a malformed .npy header');
  const fields = new Map<string, string>();
  // The header is a Python dict literal of exactly three keys; values are a string, a bool or a tuple.
  const fieldRe = /'(descr|fortran_order|shape)'\s*:\s*('[^']*'|True|False|\([^)]*\))\s*(,|$)/gy;
  let pos = 0;
  const body = m![1]!;
  while (pos < body.length) {
    fieldRe.lastIndex = pos;
    const f = fieldRe.exec(body);
    if (!f) fail(`has a malformed .npy header: ${header.trim()}`);
    if (fields.has(f![1]!)) fail(`has a repeated key '${f![1]!}' in its .npy header`);
    fields.set(f![1]!, f![2]!);
    pos = fieldRe.lastIndex;
    while (pos < body.length && /\s/.test(body[pos]!)) pos++;
  }
  const descr = fields.get('descr');
  const fortran = fields.get('fortran_order');
  const shapeText = fields.get('shape');
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail(`has an incomplete .npy header: ${header.trim()}`);
  if (descr !== "'<f4'" && descr !== "'<f8'") fail(`has dtype ${descr!}; only '<f4' and '<f8' are supported`);
  if (fortran !== 'False') fail('is in Fortran order; only C order is supported');
  const dims = shapeText!
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (dims.length !== 2 || !dims.every((d) => /^\d+$/.test(d)))
    fail(`has shape ${shapeText!}; a 2-D shape (N, D) is required`);
  const rows = Number(dims[0]);
  const cols = Number(dims[1]);
  const itemsize = descr === "'<f4'" ? 4 : 8;
  const expected = rows * cols * itemsize;
  const actual = bytes.length - dataStart;
  if (actual < expected)
    fail(`is truncated: expected ${expected} data bytes for shape (${rows}, ${cols}), got ${actual}`);
  if (actual > expected) fail(`has ${actual - expected} trailing bytes after the data`);
  const out = new Matrix(rows, cols);
  for (let i = 0; i < rows * cols; i++) {
    out.data[i] = itemsize === 4 ? view.getFloat32(dataStart + 4 * i, true) : view.getFloat64(dataStart + 8 * i, true);
  }
  return out;
}
