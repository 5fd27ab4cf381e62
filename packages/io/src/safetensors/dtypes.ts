/** The safetensors dtype table (item sizes, integer ranges, the writer's order) and little-endian decoding/encoding. */
import type { SafetensorDataByDtype, SafetensorsDtype } from './types.js';

// ---------------------------------------------------------------------------------------------
// Dtype table
// ---------------------------------------------------------------------------------------------

/** Every dtype this module supports, in the order of decreasing element size used by the writer. */
export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = Object.freeze([
  'U64',
  'I64',
  'F64',
  'F32',
  'U32',
  'I32',
  'BF16',
  'F16',
  'U16',
  'I16',
  'I8',
  'U8',
  'BOOL',
] as const);

/** The largest header accepted (and written): 100 MB, the limit of the reference implementation. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of each dtype (shared by the safetensors codec and the `.pt` reader). */
export const ITEM_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  BOOL: 1,
};

/** Position in the writer's order (0 first): the reference implementation's dtype order, reversed. */
export const WRITE_RANK: Readonly<Record<string, number>> = Object.fromEntries(
  SAFETENSORS_DTYPES.map((d, i) => [d, i]),
);

/** Integer ranges of the dtypes stored in Int*Array / Uint*Array (not the 64-bit ones). */
export const INT_RANGE: Readonly<Partial<Record<SafetensorsDtype, readonly [number, number]>>> = {
  I32: [-2147483648, 2147483647],
  I16: [-32768, 32767],
  I8: [-128, 127],
  U8: [0, 255],
  U16: [0, 65535],
  U32: [0, 4294967295],
};

export function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ITEM_SIZE, value);
}

/** True when `data` is the typed array that {@link SafetensorDataByDtype} names for `dtype`. */
export function isNaturalArray(dtype: SafetensorsDtype, data: unknown): boolean {
  switch (dtype) {
    case 'F64':
      return data instanceof Float64Array;
    case 'F32':
      return data instanceof Float32Array;
    case 'F16':
    case 'BF16':
    case 'U16':
      return data instanceof Uint16Array;
    case 'I64':
      return data instanceof BigInt64Array;
    case 'U64':
      return data instanceof BigUint64Array;
    case 'I32':
      return data instanceof Int32Array;
    case 'U32':
      return data instanceof Uint32Array;
    case 'I16':
      return data instanceof Int16Array;
    case 'I8':
      return data instanceof Int8Array;
    case 'U8':
    case 'BOOL':
      return data instanceof Uint8Array;
  }
}

/** A new zero-filled typed array of the natural type for `dtype`. */
export function allocate(dtype: SafetensorsDtype, length: number): SafetensorDataByDtype[SafetensorsDtype] {
  return view(dtype, new ArrayBuffer(length * ITEM_SIZE[dtype]), 0, length);
}

/** A typed-array view of `length` elements of `buffer` at `byteOffset` (which must be aligned). */
export function view(
  dtype: SafetensorsDtype,
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
): SafetensorDataByDtype[SafetensorsDtype] {
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, byteOffset, length);
    case 'F32':
      return new Float32Array(buffer, byteOffset, length);
    case 'F16':
    case 'BF16':
    case 'U16':
      return new Uint16Array(buffer, byteOffset, length);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, length);
    case 'U64':
      return new BigUint64Array(buffer, byteOffset, length);
    case 'I32':
      return new Int32Array(buffer, byteOffset, length);
    case 'U32':
      return new Uint32Array(buffer, byteOffset, length);
    case 'I16':
      return new Int16Array(buffer, byteOffset, length);
    case 'I8':
      return new Int8Array(buffer, byteOffset, length);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, byteOffset, length);
  }
}

/** Whether this platform stores typed-array elements little-endian (every current browser and Node do). */
export const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `count` little-endian elements from `bytes` with a DataView, on any platform.
 * The portable path used on big-endian hosts; exported for tests only.
 * @internal
 */
export function decodeLittleEndian(
  dtype: SafetensorsDtype,
  bytes: Uint8Array,
  count: number,
): SafetensorDataByDtype[SafetensorsDtype] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = allocate(dtype, count);
  const size = ITEM_SIZE[dtype];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    switch (dtype) {
      case 'F64':
        (out as Float64Array)[i] = dv.getFloat64(at, true);
        break;
      case 'F32':
        (out as Float32Array)[i] = dv.getFloat32(at, true);
        break;
      case 'F16':
      case 'BF16':
      case 'U16':
        (out as Uint16Array)[i] = dv.getUint16(at, true);
        break;
      case 'I64':
        (out as BigInt64Array)[i] = dv.getBigInt64(at, true);
        break;
      case 'U64':
        (out as BigUint64Array)[i] = dv.getBigUint64(at, true);
        break;
      case 'I32':
        (out as Int32Array)[i] = dv.getInt32(at, true);
        break;
      case 'U32':
        (out as Uint32Array)[i] = dv.getUint32(at, true);
        break;
      case 'I16':
        (out as Int16Array)[i] = dv.getInt16(at, true);
        break;
      case 'I8':
        (out as Int8Array)[i] = dv.getInt8(at);
        break;
      case 'U8':
      case 'BOOL':
        (out as Uint8Array)[i] = dv.getUint8(at);
        break;
    }
  }
  return out;
}

/**
 * Encodes the elements of a natural typed array for `dtype` as little-endian bytes into `target`,
 * with a DataView, on any platform. The portable path used on big-endian hosts; exported for tests only.
 * @internal
 */
export function encodeLittleEndian(
  dtype: SafetensorsDtype,
  data: SafetensorDataByDtype[SafetensorsDtype],
  target: Uint8Array,
): void {
  const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
  const size = ITEM_SIZE[dtype];
  for (let i = 0; i < data.length; i++) {
    const at = i * size;
    switch (dtype) {
      case 'F64':
        dv.setFloat64(at, (data as Float64Array)[i]!, true);
        break;
      case 'F32':
        dv.setFloat32(at, (data as Float32Array)[i]!, true);
        break;
      case 'F16':
      case 'BF16':
      case 'U16':
        dv.setUint16(at, (data as Uint16Array)[i]!, true);
        break;
      case 'I64':
        dv.setBigInt64(at, (data as BigInt64Array)[i]!, true);
        break;
      case 'U64':
        dv.setBigUint64(at, (data as BigUint64Array)[i]!, true);
        break;
      case 'I32':
        dv.setInt32(at, (data as Int32Array)[i]!, true);
        break;
      case 'U32':
        dv.setUint32(at, (data as Uint32Array)[i]!, true);
        break;
      case 'I16':
        dv.setInt16(at, (data as Int16Array)[i]!, true);
        break;
      case 'I8':
        dv.setInt8(at, (data as Int8Array)[i]!);
        break;
      case 'U8':
      case 'BOOL':
        dv.setUint8(at, (data as Uint8Array)[i]!);
        break;
    }
  }
}
