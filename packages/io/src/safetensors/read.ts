/**
 * Reading and writing the safetensors format (Hugging Face), in memory and browser-safe.
 *
 * Byte layout of a file:
 *
 *     [0, 8)           N, the header length: an unsigned 64-bit little-endian integer
 *     [8, 8 + N)       the header: UTF-8 JSON, one object, possibly padded with trailing spaces
 *     [8 + N, end)     the data section: every tensor's bytes, little-endian, row-major, packed
 *
 * The header maps each tensor name to `{ "dtype", "shape", "data_offsets": [begin, end] }`, with
 * `begin`/`end` relative to the first byte of the data section, and may hold one
 * `"__metadata__"` object of string → string pairs.
 *
 * Reading validates every number before it is used (see {@link readSafetensors}); it never reads
 * outside the buffer and never allocates more than the buffer holds. File-system helpers are not
 * here (this module is part of the browser-safe main entry).
 */
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import {
  ITEM_SIZE,
  NATIVE_LITTLE_ENDIAN,
  SAFETENSORS_DTYPES,
  SAFETENSORS_MAX_HEADER_BYTES,
  allocate,
  decodeLittleEndian,
  isDtype,
  view,
} from './dtypes.js';
import { HeaderParser, describeJson } from './header.js';
import type {
  ReadSafetensorsOptions,
  SafetensorDataByDtype,
  SafetensorEntry,
  SafetensorsContents,
  SafetensorsDtype,
} from './types.js';
import { describe, formatShape, isNonNegativeInteger, product, quote, setOwn } from './util.js';

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

interface ParsedInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

const ENTRY_FIELDS = new Set(['dtype', 'shape', 'data_offsets']);

/**
 * Parses a safetensors file held in memory.
 *
 * Byte layout: `[u64 LE N][N bytes of UTF-8 JSON header][data section]`; the header maps each
 * name to `{ "dtype", "shape", "data_offsets": [begin, end] }` (offsets relative to the data
 * section) and may hold a `"__metadata__"` object of string values.
 *
 * The file is validated strictly before any tensor is built; every failure is a
 * {@link FormatError} whose message starts `readSafetensors: 'bytes' ` and says what is wrong:
 * - fewer than 8 bytes; header length over 100 MB or past the end of the buffer;
 * - header not UTF-8 (a byte-order mark is not skipped), not JSON (RFC 8259, checked by a
 *   strict parser), or not an object; a key repeated anywhere in the header;
 * - `__metadata__` not an object of string values;
 * - an entry not an object, missing `dtype`/`shape`/`data_offsets`, or with any other field;
 *   a dtype outside {@link SAFETENSORS_DTYPES} (F8 and other types are rejected as unsupported);
 *   a shape that is not an array of non-negative integers; `data_offsets` that are not two
 *   non-negative integers with begin ≤ end (numbers written with a fraction or exponent, such
 *   as `24.0` or `2e1`, are rejected, as by the reference implementation);
 * - an entry whose end lies past the data section, or whose byte length is not
 *   product(shape) · itemsize;
 * - two entries whose byte ranges overlap (a zero-size entry lying strictly inside another
 *   counts), a gap of unused bytes before an entry, or bytes after the last entry: the format
 *   requires the data section to be exactly the tensors' bytes, packed; the reference
 *   implementation rejects gaps, overlaps and trailing bytes alike;
 * - a BOOL element that is not the byte 0 or 1.
 *
 * @param bytes - The whole file. Not modified.
 * @param options - See {@link ReadSafetensorsOptions}; by default entries view `bytes` where
 *   alignment allows.
 * @returns The tensors in the natural typed array of their dtype (F16/BF16 as raw bit patterns,
 *   I64/U64 as bigints) and the metadata. An empty header (`{}`) gives no tensors.
 *
 * @throws {FormatError} If `bytes` is not a valid safetensors file (reasons above).
 * @throws {InvalidArgumentError} If `bytes` is not a Uint8Array or ArrayBuffer, or
 *   `options.copy` is not a boolean.
 *
 * @remarks
 * - Never reads outside `bytes` and never allocates more than `bytes.byteLength` for tensor
 *   data: every size is checked against the buffer first. Time is linear in the file size.
 * - Tensor values are not checked (NaN and ±Infinity pass), except BOOL bytes.
 * - Entries are views of `bytes` when their data is aligned to the element size relative to
 *   the buffer's memory (files from {@link writeSafetensors} and the reference writer always
 *   are), otherwise copies. On a big-endian host every entry is decoded into a copy.
 * - Result keys are inserted in data-offset order. `__proto__` and other special names are
 *   stored as ordinary own properties.
 *
 * @example
 * const file = writeSafetensors({ w: { dtype: 'F32', shape: [2], data: [1, 2] } }, { format: 'pt' });
 * const { tensors, metadata } = readSafetensors(file);
 * tensors.w; // { dtype: 'F32', shape: [2], data: Float32Array [1, 2] }
 * metadata.format; // 'pt'
 *
 * @see {@link writeSafetensors}, {@link toFloat32}, {@link entryToTensor}.
 */
export function readSafetensors(
  bytes: Uint8Array | ArrayBuffer,
  options: ReadSafetensorsOptions = {},
): SafetensorsContents {
  const op = 'readSafetensors';
  let buf: Uint8Array;
  if (bytes instanceof Uint8Array) buf = bytes;
  else if (bytes instanceof ArrayBuffer) buf = new Uint8Array(bytes);
  else throw new InvalidArgumentError(op, 'bytes', `must be a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(op, 'options', `must be an object, got ${describe(options)}`);
  }
  const copy = options.copy ?? false;
  if (typeof copy !== 'boolean')
    throw new InvalidArgumentError(op, 'options.copy', `must be a boolean, got ${describe(copy)}`);

  const fail = (message: string): FormatError => new FormatError(op, 'bytes', message);
  const total = buf.byteLength;

  // 1. Header length.
  if (total < 8) throw fail(`has ${total} byte(s); a safetensors file needs at least 8 (the header length)`);
  const lengthField = new DataView(buf.buffer, buf.byteOffset, 8);
  const low = lengthField.getUint32(0, true);
  const high = lengthField.getUint32(4, true);
  if (high !== 0 || low > SAFETENSORS_MAX_HEADER_BYTES) {
    const n = (BigInt(high) << 32n) | BigInt(low);
    throw fail(`declares a header of ${n} bytes, over the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = low;
  if (headerLength > total - 8) {
    throw fail(
      `declares a header of ${headerLength} bytes, past the end of the buffer (${
        total - 8
      } bytes follow the length field)`,
    );
  }

  // 2. Header text and JSON.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf.subarray(8, 8 + headerLength));
  } catch {
    throw fail('header is not valid UTF-8');
  }
  const root = new HeaderParser(text, fail).parseDocument();
  if (!(root instanceof Map)) throw fail(`header must be a JSON object, got ${describeJson(root)}`);

  // 3. Entries.
  const dataStart = 8 + headerLength;
  const dataLength = total - dataStart;
  const metadata: Record<string, string> = {};
  const infos: ParsedInfo[] = [];
  for (const [name, value] of root) {
    if (name === '__metadata__') {
      if (!(value instanceof Map))
        throw fail(`"__metadata__" must be an object of string values, got ${describeJson(value)}`);
      for (const [key, v] of value) {
        if (typeof v !== 'string')
          throw fail(`"__metadata__" must map strings to strings; key ${quote(key)} holds ${describeJson(v)}`);
        setOwn(metadata, key, v);
      }
      continue;
    }
    const what = `tensor ${quote(name)}`;
    if (!(value instanceof Map))
      throw fail(`${what} must be an object with dtype, shape and data_offsets, got ${describeJson(value)}`);
    for (const field of ENTRY_FIELDS) if (!value.has(field)) throw fail(`${what} is missing "${field}"`);
    for (const field of value.keys()) {
      if (!ENTRY_FIELDS.has(field))
        throw fail(`${what} has unknown field ${quote(field)} (allowed: dtype, shape, data_offsets)`);
    }
    const dtype = value.get('dtype');
    if (!isDtype(dtype)) {
      throw fail(`${what} has unsupported dtype ${describeJson(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
    }
    const shape = value.get('shape');
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
      throw fail(`${what} shape must be an array of non-negative integers, got ${describeJson(shape)}`);
    }
    const offsets = value.get('data_offsets');
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !isNonNegativeInteger(offsets[0]) ||
      !isNonNegativeInteger(offsets[1]) ||
      offsets[0] > offsets[1]
    ) {
      throw fail(
        `${what} data_offsets must be 2 non-negative integers [begin, end] with begin <= end, got ${describeJson(
          offsets,
        )}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) {
      throw fail(`${what} data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes)`);
    }
    const expected = product(shape as number[]) * ITEM_SIZE[dtype];
    if (end - begin !== expected) {
      throw fail(
        `${what} holds ${
          end - begin
        } bytes (data_offsets [${begin}, ${end}]) but dtype ${dtype} and shape ${formatShape(shape)} need ${expected}`,
      );
    }
    infos.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // 4. Layout: sorted by offset, the entries must tile the data section exactly.
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: ParsedInfo | undefined;
  for (const info of infos) {
    if (info.begin < cursor) {
      throw fail(
        `tensors ${quote(previous!.name)} [${previous!.begin}, ${previous!.end}] and ${quote(info.name)} [${
          info.begin
        }, ${info.end}] overlap`,
      );
    }
    if (info.begin > cursor) {
      throw fail(
        `has a gap of ${info.begin - cursor} unused byte(s) before tensor ${quote(
          info.name,
        )} (data section bytes [${cursor}, ${info.begin}]); tensor data must be packed without gaps`,
      );
    }
    cursor = info.end;
    if (info.end > info.begin || previous === undefined) previous = info;
  }
  if (cursor !== dataLength) {
    throw fail(
      `has ${
        dataLength - cursor
      } trailing byte(s) after the last tensor (the data section is ${dataLength} bytes, tensors end at ${cursor})`,
    );
  }

  // 5. BOOL values.
  for (const info of infos) {
    if (info.dtype !== 'BOOL') continue;
    const from = dataStart + info.begin;
    for (let i = from; i < dataStart + info.end; i++) {
      if (buf[i]! > 1)
        throw fail(`BOOL tensor ${quote(info.name)} holds byte ${buf[i]} at element ${i - from} (must be 0 or 1)`);
    }
  }

  // 6. Build the entries.
  const tensors: Record<string, SafetensorEntry> = {};
  for (const info of infos) {
    const size = ITEM_SIZE[info.dtype];
    const count = (info.end - info.begin) / size;
    const at = buf.byteOffset + dataStart + info.begin;
    let data: SafetensorDataByDtype[SafetensorsDtype];
    if (!NATIVE_LITTLE_ENDIAN) {
      data = decodeLittleEndian(info.dtype, buf.subarray(dataStart + info.begin, dataStart + info.end), count);
    } else if (!copy && at % size === 0) {
      data = view(info.dtype, buf.buffer, at, count);
    } else {
      data = allocate(info.dtype, count);
      new Uint8Array(data.buffer, 0, data.byteLength).set(buf.subarray(dataStart + info.begin, dataStart + info.end));
    }
    setOwn(tensors, info.name, { dtype: info.dtype, shape: info.shape, data } as SafetensorEntry);
  }
  return { tensors, metadata };
}
