/** Writing the safetensors format in memory (browser-safe): the reference implementation's layout and dtype order. */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import {
  INT_RANGE,
  NATIVE_LITTLE_ENDIAN,
  SAFETENSORS_DTYPES,
  SAFETENSORS_MAX_HEADER_BYTES,
  WRITE_RANK,
  allocate,
  encodeLittleEndian,
  isDtype,
  isNaturalArray,
} from './dtypes.js';
import { toBfloat16Bits, toHalfBits } from './float16.js';
import type { SafetensorDataByDtype, SafetensorInput, SafetensorsDtype } from './types.js';
import { LONE_SURROGATE, describe, formatShape, isNonNegativeInteger, product, quote } from './util.js';

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

interface Prepared {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Natural typed array for the dtype, host byte order. */
  data: SafetensorDataByDtype[SafetensorsDtype];
}

/** Orders strings by Unicode code point, i.e. by their UTF-8 bytes (as Rust's `str` ordering). */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800–0xDFFF) encode code points above 0xFFFF, which sort after 0xE000–0xFFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function convertValues(
  op: string,
  what: string,
  dtype: SafetensorsDtype,
  data: ArrayLike<unknown>,
): SafetensorDataByDtype[SafetensorsDtype] {
  const n = data.length;
  const out = allocate(dtype, n);
  const bad = (i: number, value: unknown, expected: string): never => {
    throw new InvalidArgumentError(
      op,
      'tensors',
      `${what}: element ${i} must be ${expected} for dtype ${dtype}, got ${describe(value)}`,
    );
  };
  const range = INT_RANGE[dtype];
  const [lo64, hi64] = dtype === 'I64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
  for (let i = 0; i < n; i++) {
    const v = data[i];
    switch (dtype) {
      case 'F64':
      case 'F32':
        if (typeof v !== 'number') bad(i, v, 'a number');
        (out as Float64Array | Float32Array)[i] = v as number;
        break;
      case 'F16':
        if (typeof v !== 'number') bad(i, v, 'a number');
        (out as Uint16Array)[i] = toHalfBits(v as number);
        break;
      case 'BF16':
        if (typeof v !== 'number') bad(i, v, 'a number');
        (out as Uint16Array)[i] = toBfloat16Bits(v as number);
        break;
      case 'I64':
      case 'U64': {
        let big: bigint | undefined;
        if (typeof v === 'bigint') big = v;
        else if (typeof v === 'number' && Number.isInteger(v)) big = BigInt(v);
        if (big === undefined || big < lo64 || big > hi64) bad(i, v, `an integer in [${lo64}, ${hi64}]`);
        (out as BigInt64Array | BigUint64Array)[i] = big!;
        break;
      }
      case 'BOOL':
        if (v === true || v === 1) (out as Uint8Array)[i] = 1;
        else if (v !== false && v !== 0) bad(i, v, 'a boolean or 0 or 1');
        break;
      default: {
        const [lo, hi] = range!;
        const num = typeof v === 'bigint' && v >= BigInt(lo) && v <= BigInt(hi) ? Number(v) : v;
        if (typeof num !== 'number' || !Number.isInteger(num) || num < lo || num > hi)
          bad(i, v, `an integer in [${lo}, ${hi}]`);
        (out as Int32Array)[i] = num as number;
      }
    }
  }
  return out;
}

/** A tfjs tensor, also one created by another copy of tfjs-core (checked by shape, not prototype). */
function isTensorLike(value: unknown): value is tf.Tensor {
  if (value instanceof tf.Tensor) return true;
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<tf.Tensor>;
  return (
    typeof v.dataSync === 'function' &&
    typeof v.dtype === 'string' &&
    Array.isArray(v.shape) &&
    typeof v.isDisposed === 'boolean'
  );
}

const TFJS_TO_DTYPE: Readonly<Record<string, SafetensorsDtype>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

function prepareOne(op: string, name: string, value: unknown): Prepared {
  const what = `tensor ${quote(name)}`;
  const invalid = (message: string): InvalidArgumentError =>
    new InvalidArgumentError(op, 'tensors', `${what} ${message}`);
  if (isTensorLike(value)) {
    if (value.isDisposed) throw invalid('is disposed');
    const dtype = TFJS_TO_DTYPE[value.dtype];
    if (dtype === undefined)
      throw invalid(`has tfjs dtype ${value.dtype}; only float32, int32 and bool tensors can be written`);
    const raw = value.dataSync();
    const data =
      dtype === 'F32'
        ? Float32Array.from(raw as Float32Array)
        : dtype === 'I32'
          ? Int32Array.from(raw as Int32Array)
          : Uint8Array.from(raw as Uint8Array, (b) => (b ? 1 : 0));
    return { name, dtype, shape: [...value.shape], data };
  }
  if (value === null || typeof value !== 'object') {
    throw invalid(`must be a tf.Tensor or an object { dtype, shape, data }, got ${describe(value)}`);
  }
  const { dtype, shape, data } = value as { dtype?: unknown; shape?: unknown; data?: unknown };
  if (!isDtype(dtype))
    throw invalid(`has unsupported dtype ${describe(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw invalid(
      `shape must be an array of non-negative integers, got ${
        Array.isArray(shape) ? formatShape(shape) : describe(shape)
      }`,
    );
  }
  if (data === null || typeof data !== 'object' || typeof (data as { length?: unknown }).length !== 'number') {
    throw invalid(`data must be an array or typed array, got ${describe(data)}`);
  }
  const values = data as ArrayLike<unknown>;
  const numel = product(shape);
  if (values.length !== numel) {
    throw invalid(`has ${values.length} value(s) but shape ${formatShape(shape)} needs ${numel}`);
  }
  if (isNaturalArray(dtype, values)) {
    const natural = values as SafetensorDataByDtype[SafetensorsDtype];
    if (dtype === 'BOOL') {
      const index = (natural as Uint8Array).findIndex((b) => b > 1);
      if (index >= 0) throw invalid(`(BOOL) element ${index} must be 0 or 1, got ${(natural as Uint8Array)[index]}`);
    }
    return { name, dtype, shape: [...shape], data: natural };
  }
  return { name, dtype, shape: [...shape], data: convertValues(op, what, dtype, values) };
}

/**
 * Serializes tensors (and optional metadata) into the bytes of a safetensors file.
 *
 * Byte layout written: `[u64 LE N][N bytes of header][data]`. The header is compact JSON —
 * `{"__metadata__":{…},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},…}` — padded
 * with spaces (0x20) to a multiple of 8 bytes, so the data section starts 8-byte aligned.
 *
 * Order (deterministic): tensors are laid out, and listed in the header, by decreasing element
 * size following the reference implementation's dtype order (U64, I64, F64, F32, U32, I32,
 * BF16, F16, U16, I16, I8, U8, BOOL), then by name in code-point (UTF-8 byte) order — the order
 * the reference writer uses, which keeps every tensor aligned to its element size. Metadata keys
 * are sorted by code point; `__metadata__` is written first, and only when `metadata` has at
 * least one key. For the same tensors without metadata or with one metadata key, the bytes
 * equal the reference implementation's.
 *
 * @param tensors - Tensors by name. Each value is a {@link SafetensorEntry} (as returned by
 *   {@link readSafetensors}), a {@link SafetensorArrayInput} (plain values, converted as
 *   documented there), or a `tf.Tensor` (float32 → F32, int32 → I32, bool → BOOL; its data is
 *   read to the CPU with `dataSync`). Names must be non-empty, well-formed Unicode, and not
 *   `__metadata__`.
 * @param metadata - Optional string → string pairs stored as `__metadata__`.
 * @returns The file's bytes (a new buffer; inputs are not modified or retained).
 *
 * @throws {InvalidArgumentError} Naming `'tensors'`: not an object; an empty, reserved or
 *   ill-formed name; an unsupported dtype (including tfjs complex64/string tensors); a shape that
 *   is not non-negative integers; a data length ≠ product(shape); a value not representable in
 *   the dtype (a non-integer or out-of-range value for an integer dtype, a BOOL other than 0/1);
 *   a disposed tensor; a header over 100 MB.
 *   Naming `'metadata'`: not an object, a value that is not a string, an ill-formed key or value.
 *
 * @remarks
 * - Float values are not checked: NaN and ±Infinity are written as given.
 * - Output size: 8 + N + Σ bytes; one allocation for the file plus one per converted tensor.
 *
 * @example
 * const bytes = writeSafetensors(
 *   { 'layer.weight': tf.tensor2d([[1, 2], [3, 4]]), steps: { dtype: 'I64', shape: [], data: [10n] } },
 *   { format: 'pt' },
 * );
 * readSafetensors(bytes).tensors.steps.data; // BigInt64Array [10n]
 *
 * @see {@link readSafetensors}.
 */
export function writeSafetensors(
  tensors: Record<string, SafetensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const op = 'writeSafetensors';
  if (
    tensors === null ||
    typeof tensors !== 'object' ||
    Array.isArray(tensors) ||
    isTensorLike(tensors) ||
    ArrayBuffer.isView(tensors)
  ) {
    throw new InvalidArgumentError(
      op,
      'tensors',
      `must be an object mapping tensor names to tensors, got ${describe(tensors)}`,
    );
  }
  const prepared: Prepared[] = [];
  for (const name of Object.keys(tensors)) {
    if (name === '') throw new InvalidArgumentError(op, 'tensors', 'must not contain an empty tensor name');
    if (name === '__metadata__')
      throw new InvalidArgumentError(op, 'tensors', 'must not contain the reserved name "__metadata__"');
    if (LONE_SURROGATE.test(name))
      throw new InvalidArgumentError(
        op,
        'tensors',
        `name ${quote(name)} is not well-formed Unicode (it has a lone surrogate)`,
      );
    prepared.push(prepareOne(op, name, tensors[name]));
  }

  const metaKeys: string[] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new InvalidArgumentError(op, 'metadata', `must be an object of string values, got ${describe(metadata)}`);
    }
    for (const key of Object.keys(metadata)) {
      const value: unknown = metadata[key];
      if (typeof value !== 'string')
        throw new InvalidArgumentError(
          op,
          'metadata',
          `value of key ${quote(key)} must be a string, got ${describe(value)}`,
        );
      if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
        throw new InvalidArgumentError(
          op,
          'metadata',
          `key ${quote(key)} or its value is not well-formed Unicode (it has a lone surrogate)`,
        );
      }
      metaKeys.push(key);
    }
    metaKeys.sort(compareCodePoints);
  }

  prepared.sort((a, b) => WRITE_RANK[a.dtype]! - WRITE_RANK[b.dtype]! || compareCodePoints(a.name, b.name));

  const parts: string[] = [];
  if (metaKeys.length > 0) {
    parts.push(
      `"__metadata__":{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata![k])}`).join(',')}}`,
    );
  }
  let offset = 0;
  for (const p of prepared) {
    const end = offset + p.data.byteLength;
    parts.push(
      `${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":[${p.shape.join(
        ',',
      )}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const header = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(header.length / 8) * 8;
  if (headerLength > SAFETENSORS_MAX_HEADER_BYTES) {
    throw new InvalidArgumentError(
      op,
      'tensors',
      `would need a ${headerLength}-byte header, over the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`,
    );
  }

  const out = new Uint8Array(8 + headerLength + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerLength, true);
  dv.setUint32(4, 0, true);
  out.set(header, 8);
  out.fill(0x20, 8 + header.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const p of prepared) {
    const target = out.subarray(at, at + p.data.byteLength);
    if (NATIVE_LITTLE_ENDIAN) target.set(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
    else encodeLittleEndian(p.dtype, p.data, target);
    at += p.data.byteLength;
  }
  return out;
}
