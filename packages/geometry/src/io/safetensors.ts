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
import * as tf from '@tensorflow/tfjs-core';

import { FormatError, InvalidArgumentError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** The element types this module reads and writes (the 8-bit and 4-bit float types are not supported). */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL';

/**
 * The typed array that holds each dtype's elements in a {@link SafetensorEntry}.
 * F16 and BF16 hold the raw 16-bit patterns (decode them with {@link toFloat32},
 * {@link float16BitsToFloat32} or {@link bfloat16BitsToFloat32}); BOOL holds one byte per
 * element, 0 or 1; I64 and U64 hold `bigint`s.
 */
export interface SafetensorDataByDtype {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U8: Uint8Array;
  U16: Uint16Array;
  U32: Uint32Array;
  U64: BigUint64Array;
  BOOL: Uint8Array;
}

/** One tensor of one dtype `D`, as stored in a safetensors file. */
export interface SafetensorEntryOf<D extends SafetensorsDtype> {
  /** The element type, as spelled in the file. */
  dtype: D;
  /** Dimensions, outermost first (row-major). `[]` is a scalar; a 0 anywhere means no elements. */
  shape: number[];
  /** `product(shape)` elements in row-major order, in the array type of {@link SafetensorDataByDtype}. */
  data: SafetensorDataByDtype[D];
}

/**
 * One tensor as stored in a safetensors file: a union over the dtypes, so checking `dtype`
 * narrows `data` (`entry.dtype === 'I64'` ⇒ `entry.data` is a `BigInt64Array`).
 */
export type SafetensorEntry = { [D in SafetensorsDtype]: SafetensorEntryOf<D> }[SafetensorsDtype];

/**
 * A tensor given to {@link writeSafetensors} as plain values.
 *
 * `data` holds `product(shape)` values in row-major order:
 * - F64, F32: numbers (F32 rounds to nearest float32).
 * - F16, BF16: a `Uint16Array` is taken as raw bit patterns (what {@link readSafetensors}
 *   returns); any other array of numbers is taken as values and rounded to nearest-even.
 * - I8 … U32: integers in the dtype's range (numbers or bigints).
 * - I64, U64: integers in range, as bigints or integer-valued numbers.
 * - BOOL: booleans, or the numbers 0 and 1.
 */
export interface SafetensorArrayInput {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayLike<number | bigint | boolean>;
}

/** What {@link writeSafetensors} accepts for each tensor name. */
export type SafetensorInput = SafetensorEntry | SafetensorArrayInput | tf.Tensor;

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /**
   * Copy every tensor's data into its own buffer. Default `false`: entries whose bytes are
   * suitably aligned are views of `bytes` (no copy; writing to `bytes` later changes them, and
   * they keep the whole buffer alive); misaligned entries are always copied.
   */
  copy?: boolean;
}

/** The contents of a safetensors file. */
export interface SafetensorsContents {
  /** Tensors by name, inserted in file (data-offset) order. */
  tensors: Record<string, SafetensorEntry>;
  /** The `__metadata__` pairs; `{}` when the file has none. */
  metadata: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Dtype table
// ---------------------------------------------------------------------------------------------

/** Every dtype this module supports, in the order of decreasing element size used by the writer. */
export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = Object.freeze([
  'U64', 'I64', 'F64', 'F32', 'U32', 'I32', 'BF16', 'F16', 'U16', 'I16', 'I8', 'U8', 'BOOL',
] as const);

/** The largest header accepted (and written): 100 MB, the limit of the reference implementation. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

const ITEM_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1,
};

/** Position in the writer's order (0 first): the reference implementation's dtype order, reversed. */
const WRITE_RANK: Readonly<Record<string, number>> = Object.fromEntries(SAFETENSORS_DTYPES.map((d, i) => [d, i]));

/** Integer ranges of the dtypes stored in Int*Array / Uint*Array (not the 64-bit ones). */
const INT_RANGE: Readonly<Partial<Record<SafetensorsDtype, readonly [number, number]>>> = {
  I32: [-2147483648, 2147483647],
  I16: [-32768, 32767],
  I8: [-128, 127],
  U8: [0, 255],
  U16: [0, 65535],
  U32: [0, 4294967295],
};

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ITEM_SIZE, value);
}

/** True when `data` is the typed array that {@link SafetensorDataByDtype} names for `dtype`. */
function isNaturalArray(dtype: SafetensorsDtype, data: unknown): boolean {
  switch (dtype) {
    case 'F64': return data instanceof Float64Array;
    case 'F32': return data instanceof Float32Array;
    case 'F16':
    case 'BF16':
    case 'U16': return data instanceof Uint16Array;
    case 'I64': return data instanceof BigInt64Array;
    case 'U64': return data instanceof BigUint64Array;
    case 'I32': return data instanceof Int32Array;
    case 'U32': return data instanceof Uint32Array;
    case 'I16': return data instanceof Int16Array;
    case 'I8': return data instanceof Int8Array;
    case 'U8':
    case 'BOOL': return data instanceof Uint8Array;
  }
}

/** A new zero-filled typed array of the natural type for `dtype`. */
function allocate(dtype: SafetensorsDtype, length: number): SafetensorDataByDtype[SafetensorsDtype] {
  return view(dtype, new ArrayBuffer(length * ITEM_SIZE[dtype]), 0, length);
}

/** A typed-array view of `length` elements of `buffer` at `byteOffset` (which must be aligned). */
function view(dtype: SafetensorsDtype, buffer: ArrayBufferLike, byteOffset: number, length: number): SafetensorDataByDtype[SafetensorsDtype] {
  switch (dtype) {
    case 'F64': return new Float64Array(buffer, byteOffset, length);
    case 'F32': return new Float32Array(buffer, byteOffset, length);
    case 'F16':
    case 'BF16':
    case 'U16': return new Uint16Array(buffer, byteOffset, length);
    case 'I64': return new BigInt64Array(buffer, byteOffset, length);
    case 'U64': return new BigUint64Array(buffer, byteOffset, length);
    case 'I32': return new Int32Array(buffer, byteOffset, length);
    case 'U32': return new Uint32Array(buffer, byteOffset, length);
    case 'I16': return new Int16Array(buffer, byteOffset, length);
    case 'I8': return new Int8Array(buffer, byteOffset, length);
    case 'U8':
    case 'BOOL': return new Uint8Array(buffer, byteOffset, length);
  }
}

/** Whether this platform stores typed-array elements little-endian (every current browser and Node do). */
const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `count` little-endian elements from `bytes` with a DataView, on any platform.
 * The portable path used on big-endian hosts; exported for tests only.
 * @internal
 */
export function decodeLittleEndian(dtype: SafetensorsDtype, bytes: Uint8Array, count: number): SafetensorDataByDtype[SafetensorsDtype] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = allocate(dtype, count);
  const size = ITEM_SIZE[dtype];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    switch (dtype) {
      case 'F64': (out as Float64Array)[i] = dv.getFloat64(at, true); break;
      case 'F32': (out as Float32Array)[i] = dv.getFloat32(at, true); break;
      case 'F16':
      case 'BF16':
      case 'U16': (out as Uint16Array)[i] = dv.getUint16(at, true); break;
      case 'I64': (out as BigInt64Array)[i] = dv.getBigInt64(at, true); break;
      case 'U64': (out as BigUint64Array)[i] = dv.getBigUint64(at, true); break;
      case 'I32': (out as Int32Array)[i] = dv.getInt32(at, true); break;
      case 'U32': (out as Uint32Array)[i] = dv.getUint32(at, true); break;
      case 'I16': (out as Int16Array)[i] = dv.getInt16(at, true); break;
      case 'I8': (out as Int8Array)[i] = dv.getInt8(at); break;
      case 'U8':
      case 'BOOL': (out as Uint8Array)[i] = dv.getUint8(at); break;
    }
  }
  return out;
}

/**
 * Encodes the elements of a natural typed array for `dtype` as little-endian bytes into `target`,
 * with a DataView, on any platform. The portable path used on big-endian hosts; exported for tests only.
 * @internal
 */
export function encodeLittleEndian(dtype: SafetensorsDtype, data: SafetensorDataByDtype[SafetensorsDtype], target: Uint8Array): void {
  const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
  const size = ITEM_SIZE[dtype];
  for (let i = 0; i < data.length; i++) {
    const at = i * size;
    switch (dtype) {
      case 'F64': dv.setFloat64(at, (data as Float64Array)[i]!, true); break;
      case 'F32': dv.setFloat32(at, (data as Float32Array)[i]!, true); break;
      case 'F16':
      case 'BF16':
      case 'U16': dv.setUint16(at, (data as Uint16Array)[i]!, true); break;
      case 'I64': dv.setBigInt64(at, (data as BigInt64Array)[i]!, true); break;
      case 'U64': dv.setBigUint64(at, (data as BigUint64Array)[i]!, true); break;
      case 'I32': dv.setInt32(at, (data as Int32Array)[i]!, true); break;
      case 'U32': dv.setUint32(at, (data as Uint32Array)[i]!, true); break;
      case 'I16': dv.setInt16(at, (data as Int16Array)[i]!, true); break;
      case 'I8': dv.setInt8(at, (data as Int8Array)[i]!); break;
      case 'U8':
      case 'BOOL': dv.setUint8(at, (data as Uint8Array)[i]!); break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// float16 / bfloat16
// ---------------------------------------------------------------------------------------------

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

function toHalfBits(value: number): number {
  F32_SCRATCH[0] = value;
  const x = U32_SCRATCH[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) {
    // ±Infinity, or NaN: keep the sign and the top payload bits, and force the quiet bit so
    // that a NaN never turns into an infinity.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const e = exponent - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00; // too large: overflows to ±Infinity
  if (e <= 0) {
    // Subnormal half (or zero): value = m · 2^−24 with m = full · 2^(e − 14).
    if (e < -10) return sign; // below 2^−25: rounds to ±0
    const full = mantissa | 0x800000;
    const shift = 14 - e; // 14 … 24
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half += 1; // may carry into the smallest normal: still correct
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1; // a carry may reach 0x7c00 = ±Infinity: correct
  return sign | half;
}

function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

function toBfloat16Bits(value: number): number {
  F32_SCRATCH[0] = value;
  const x = U32_SCRATCH[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff; // round to nearest, ties to even
}

function fromBfloat16Bits(bits: number): number {
  U32_SCRATCH[0] = (bits & 0xffff) << 16;
  return F32_SCRATCH[0]!;
}

let halfTable: Float32Array | undefined;
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = fromHalfBits(i);
  }
  return halfTable;
}

function assertBits(op: string, bits: unknown): number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 0 || bits > 0xffff) {
    throw new InvalidArgumentError(op, 'bits', `must be an integer in [0, 65535], got ${describe(bits)}`);
  }
  return bits;
}

function assertNumberValue(op: string, value: unknown): number {
  if (typeof value !== 'number') throw new InvalidArgumentError(op, 'value', `must be a number, got ${describe(value)}`);
  return value;
}

/**
 * The IEEE 754 binary16 (float16, safetensors `F16`) bit pattern nearest to `value`.
 *
 * Layout of the result: bit 15 sign, bits 14–10 exponent (bias 15), bits 9–0 fraction.
 * `value` is first rounded to float32 (`Math.fround`), then to float16 with round-to-nearest,
 * ties-to-even — the same result as numpy's `np.float32(x).astype(np.float16)` and
 * PyTorch's `.half()` on a float32 tensor.
 *
 * @param value - Any number. Magnitudes from 65520 up overflow to ±Infinity; magnitudes up to
 *   2^−25 round to ±0; subnormals (below 2^−14) keep as many bits as float16 has.
 * @returns An integer in [0, 65535]. NaN keeps its sign and top payload bits and is made quiet.
 * @throws {InvalidArgumentError} If `value` is not a number.
 *
 * @example
 * float32ToFloat16Bits(1); // 0x3c00
 * float32ToFloat16Bits(-2); // 0xc000
 * float32ToFloat16Bits(65504); // 0x7bff (largest finite float16)
 * float32ToFloat16Bits(2 ** -24); // 0x0001 (smallest subnormal)
 */
export function float32ToFloat16Bits(value: number): number {
  return toHalfBits(assertNumberValue('float32ToFloat16Bits', value));
}

/**
 * The value of a float16 (safetensors `F16`) bit pattern. Exact: every float16 is a float32.
 *
 * @param bits - An integer in [0, 65535]: bit 15 sign, bits 14–10 exponent (bias 15), bits 9–0 fraction.
 * @returns The value (±0, subnormals, normals, ±Infinity, or NaN for any NaN pattern).
 * @throws {InvalidArgumentError} If `bits` is not an integer in [0, 65535].
 *
 * @example
 * float16BitsToFloat32(0x3c00); // 1
 * float16BitsToFloat32(0x7bff); // 65504
 * float16BitsToFloat32(0x0001); // 5.960464477539063e-8 (2^−24)
 */
export function float16BitsToFloat32(bits: number): number {
  return fromHalfBits(assertBits('float16BitsToFloat32', bits));
}

/**
 * The bfloat16 (safetensors `BF16`) bit pattern nearest to `value`: the top 16 bits of the
 * float32, rounded to nearest with ties to even.
 *
 * Layout of the result: bit 15 sign, bits 14–7 exponent (bias 127, as float32), bits 6–0 fraction.
 * `value` is first rounded to float32 (`Math.fround`). Same result as PyTorch's
 * `.bfloat16()` on a float32 tensor.
 *
 * @param value - Any number; finite values that round past the largest bfloat16
 *   (≈ 3.3895e38) give ±Infinity.
 * @returns An integer in [0, 65535]. NaN keeps its sign and top payload bits and is made quiet.
 * @throws {InvalidArgumentError} If `value` is not a number.
 *
 * @example
 * float32ToBfloat16Bits(1); // 0x3f80
 * float32ToBfloat16Bits(-2); // 0xc000
 * float32ToBfloat16Bits(1 + 2 ** -8); // 0x3f80 (a tie: rounds to the even pattern)
 */
export function float32ToBfloat16Bits(value: number): number {
  return toBfloat16Bits(assertNumberValue('float32ToBfloat16Bits', value));
}

/**
 * The value of a bfloat16 (safetensors `BF16`) bit pattern. Exact: the bits are the top half of
 * a float32.
 *
 * @param bits - An integer in [0, 65535].
 * @returns The value, including ±Infinity and NaN.
 * @throws {InvalidArgumentError} If `bits` is not an integer in [0, 65535].
 *
 * @example
 * bfloat16BitsToFloat32(0x3f80); // 1
 * bfloat16BitsToFloat32(0xc000); // -2
 */
export function bfloat16BitsToFloat32(bits: number): number {
  return fromBfloat16Bits(assertBits('bfloat16BitsToFloat32', bits));
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor`;
  switch (typeof value) {
    case 'number': return String(value);
    case 'bigint': return `${value}n`;
    case 'string': return quote(value);
    case 'boolean': return String(value);
    case 'undefined': return 'undefined';
    case 'function': return 'a function';
    default: return typeof value === 'object' ? 'an object' : typeof value;
  }
}

/** A name quoted as JSON, shortened if long (messages stay readable on hostile input). */
function quote(name: string): string {
  const text = name.length > 80 ? `${name.slice(0, 60)}…(${name.length} characters)` : name;
  return JSON.stringify(text);
}

function formatShape(shape: readonly unknown[]): string {
  const shown = shape.length > 16 ? [...shape.slice(0, 16).map(String), '…'] : shape.map(String);
  return `[${shown.join(', ')}]`;
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Defines an own, enumerable property even for names like `__proto__`. */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------
// A strict JSON parser (RFC 8259) for the header
// ---------------------------------------------------------------------------------------------
// JSON.parse silently keeps the last of duplicate keys, accepts `1e2` where an integer is meant
// and lets `__proto__` through as a key; this parser rejects duplicates, keeps numbers that are
// not written as integers apart (so shapes and offsets must be plain integer literals, as in the
// reference implementation), limits nesting depth, and reports the character position.

/** A JSON number written with a fraction or an exponent. */
class JsonNonInteger {
  constructor(readonly text: string) {}
}

type Json = null | boolean | number | JsonNonInteger | string | Json[] | Map<string, Json>;

const MAX_JSON_DEPTH = 16;

class HeaderParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly fail: (message: string) => FormatError,
  ) {}

  parseDocument(): Json {
    this.skipWhitespace();
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) throw this.syntax(`unexpected ${this.charAt(this.pos)} after the top-level value`);
    return value;
  }

  private syntax(message: string): FormatError {
    return this.fail(`header is not valid JSON: ${message} at character ${this.pos}`);
  }

  private charAt(pos: number): string {
    if (pos >= this.text.length) return 'end of header';
    const c = this.text.charCodeAt(pos);
    return c < 0x20 || c > 0x7e ? `character U+${c.toString(16).toUpperCase().padStart(4, '0')}` : `'${this.text[pos]}'`;
  }

  private skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
  }

  private parseValue(depth: number): Json {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: return this.parseObject(depth + 1); // {
      case 0x5b: return this.parseArray(depth + 1); // [
      case 0x22: return this.parseString(); // "
      case 0x74: return this.parseLiteral('true', true);
      case 0x66: return this.parseLiteral('false', false);
      case 0x6e: return this.parseLiteral('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        throw this.syntax(`unexpected ${this.charAt(this.pos)}`);
    }
  }

  private parseLiteral(word: string, value: boolean | null): boolean | null {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return value;
    }
    throw this.syntax(`unexpected ${this.charAt(this.pos)}`);
  }

  private parseObject(depth: number): Map<string, Json> {
    if (depth > MAX_JSON_DEPTH) throw this.syntax(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const map = new Map<string, Json>();
    this.pos++; // {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return map;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) throw this.syntax(`expected a string key, got ${this.charAt(this.pos)}`);
      const keyAt = this.pos;
      const key = this.parseString();
      if (map.has(key)) {
        throw this.fail(`header has duplicate key ${quote(key)} at character ${keyAt}; the format forbids duplicate keys`);
      }
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) throw this.syntax(`expected ':', got ${this.charAt(this.pos)}`);
      this.pos++;
      this.skipWhitespace();
      map.set(key, this.parseValue(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === 0x7d) {
        this.pos++;
        return map;
      } else {
        throw this.syntax(`expected ',' or '}', got ${this.charAt(this.pos)}`);
      }
    }
  }

  private parseArray(depth: number): Json[] {
    if (depth > MAX_JSON_DEPTH) throw this.syntax(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const items: Json[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.parseValue(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === 0x5d) {
        this.pos++;
        return items;
      } else {
        throw this.syntax(`expected ',' or ']', got ${this.charAt(this.pos)}`);
      }
    }
  }

  private parseString(): string {
    const t = this.text;
    this.pos++; // opening quote
    let start = this.pos;
    let out = '';
    for (;;) {
      if (this.pos >= t.length) throw this.syntax('unterminated string');
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) throw this.syntax(`unescaped control ${this.charAt(this.pos)} in a string`);
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(start, this.pos);
      this.pos++; // backslash
      const e = t.charCodeAt(this.pos);
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: { // u
          const unit = this.hex4(this.pos + 1);
          this.pos += 4;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // A high surrogate must be followed by an escaped low surrogate.
            const low = t.charCodeAt(this.pos + 1) === 0x5c && t.charCodeAt(this.pos + 2) === 0x75 ? this.hex4(this.pos + 3) : -1;
            if (low < 0xdc00 || low > 0xdfff) throw this.syntax('lone surrogate in a \\u escape');
            this.pos += 6;
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            throw this.syntax('lone surrogate in a \\u escape');
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          throw this.syntax(`invalid escape \\${this.pos < t.length ? t[this.pos] : ''}`);
      }
      this.pos++;
      start = this.pos;
    }
  }

  private hex4(at: number): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.text.charCodeAt(at + i);
      let digit: number;
      if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
      else if (c >= 0x41 && c <= 0x46) digit = c - 0x37;
      else if (c >= 0x61 && c <= 0x66) digit = c - 0x57;
      else {
        this.pos = at + i;
        throw this.syntax('invalid \\u escape');
      }
      value = value * 16 + digit;
    }
    return value;
  }

  private parseNumber(): number | JsonNonInteger {
    const t = this.text;
    const start = this.pos;
    const digits = (): number => {
      const from = this.pos;
      while (this.pos < t.length && t.charCodeAt(this.pos) >= 0x30 && t.charCodeAt(this.pos) <= 0x39) this.pos++;
      return this.pos - from;
    };
    if (t.charCodeAt(this.pos) === 0x2d) this.pos++;
    if (t.charCodeAt(this.pos) === 0x30) this.pos++;
    else if (digits() === 0) throw this.syntax('invalid number');
    let integer = true;
    if (t.charCodeAt(this.pos) === 0x2e) {
      this.pos++;
      if (digits() === 0) throw this.syntax('invalid number');
      integer = false;
    }
    const c = t.charCodeAt(this.pos);
    if (c === 0x65 || c === 0x45) {
      this.pos++;
      const s = t.charCodeAt(this.pos);
      if (s === 0x2b || s === 0x2d) this.pos++;
      if (digits() === 0) throw this.syntax('invalid number');
      integer = false;
    }
    const literal = t.slice(start, this.pos);
    return integer ? Number(literal) : new JsonNonInteger(literal.length > 40 ? `${literal.slice(0, 40)}…` : literal);
  }
}

function describeJson(value: Json | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value)) return `[${value.slice(0, 16).map(describeJson).join(', ')}${value.length > 16 ? ', …' : ''}]`;
  if (value instanceof JsonNonInteger) return value.text;
  if (typeof value === 'string') return quote(value);
  return String(value);
}

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
export function readSafetensors(bytes: Uint8Array | ArrayBuffer, options: ReadSafetensorsOptions = {}): SafetensorsContents {
  const op = 'readSafetensors';
  let buf: Uint8Array;
  if (bytes instanceof Uint8Array) buf = bytes;
  else if (bytes instanceof ArrayBuffer) buf = new Uint8Array(bytes);
  else throw new InvalidArgumentError(op, 'bytes', `must be a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(op, 'options', `must be an object, got ${describe(options)}`);
  }
  const copy = options.copy ?? false;
  if (typeof copy !== 'boolean') throw new InvalidArgumentError(op, 'options.copy', `must be a boolean, got ${describe(copy)}`);

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
    throw fail(`declares a header of ${headerLength} bytes, past the end of the buffer (${total - 8} bytes follow the length field)`);
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
      if (!(value instanceof Map)) throw fail(`"__metadata__" must be an object of string values, got ${describeJson(value)}`);
      for (const [key, v] of value) {
        if (typeof v !== 'string') throw fail(`"__metadata__" must map strings to strings; key ${quote(key)} holds ${describeJson(v)}`);
        setOwn(metadata, key, v);
      }
      continue;
    }
    const what = `tensor ${quote(name)}`;
    if (!(value instanceof Map)) throw fail(`${what} must be an object with dtype, shape and data_offsets, got ${describeJson(value)}`);
    for (const field of ENTRY_FIELDS) if (!value.has(field)) throw fail(`${what} is missing "${field}"`);
    for (const field of value.keys()) {
      if (!ENTRY_FIELDS.has(field)) throw fail(`${what} has unknown field ${quote(field)} (allowed: dtype, shape, data_offsets)`);
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
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isNonNegativeInteger(offsets[0]) || !isNonNegativeInteger(offsets[1]) || offsets[0] > offsets[1]) {
      throw fail(`${what} data_offsets must be 2 non-negative integers [begin, end] with begin <= end, got ${describeJson(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) {
      throw fail(`${what} data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes)`);
    }
    const expected = product(shape as number[]) * ITEM_SIZE[dtype];
    if (end - begin !== expected) {
      throw fail(
        `${what} holds ${end - begin} bytes (data_offsets [${begin}, ${end}]) but dtype ${dtype} and shape ${formatShape(shape)} need ${expected}`,
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
        `tensors ${quote(previous!.name)} [${previous!.begin}, ${previous!.end}] and ${quote(info.name)} [${info.begin}, ${info.end}] overlap`,
      );
    }
    if (info.begin > cursor) {
      throw fail(
        `has a gap of ${info.begin - cursor} unused byte(s) before tensor ${quote(info.name)} (data section bytes [${cursor}, ${info.begin}]); tensor data must be packed without gaps`,
      );
    }
    cursor = info.end;
    if (info.end > info.begin || previous === undefined) previous = info;
  }
  if (cursor !== dataLength) {
    throw fail(`has ${dataLength - cursor} trailing byte(s) after the last tensor (the data section is ${dataLength} bytes, tensors end at ${cursor})`);
  }

  // 5. BOOL values.
  for (const info of infos) {
    if (info.dtype !== 'BOOL') continue;
    const from = dataStart + info.begin;
    for (let i = from; i < dataStart + info.end; i++) {
      if (buf[i]! > 1) throw fail(`BOOL tensor ${quote(info.name)} holds byte ${buf[i]} at element ${i - from} (must be 0 or 1)`);
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

function convertValues(op: string, what: string, dtype: SafetensorsDtype, data: ArrayLike<unknown>): SafetensorDataByDtype[SafetensorsDtype] {
  const n = data.length;
  const out = allocate(dtype, n);
  const bad = (i: number, value: unknown, expected: string): never => {
    throw new InvalidArgumentError(op, 'tensors', `${what}: element ${i} must be ${expected} for dtype ${dtype}, got ${describe(value)}`);
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
        if (typeof num !== 'number' || !Number.isInteger(num) || num < lo || num > hi) bad(i, v, `an integer in [${lo}, ${hi}]`);
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
  return typeof v.dataSync === 'function' && typeof v.dtype === 'string' && Array.isArray(v.shape) && typeof v.isDisposed === 'boolean';
}

const TFJS_TO_DTYPE: Readonly<Record<string, SafetensorsDtype>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

function prepareOne(op: string, name: string, value: unknown): Prepared {
  const what = `tensor ${quote(name)}`;
  const invalid = (message: string): InvalidArgumentError => new InvalidArgumentError(op, 'tensors', `${what} ${message}`);
  if (isTensorLike(value)) {
    if (value.isDisposed) throw invalid('is disposed');
    const dtype = TFJS_TO_DTYPE[value.dtype];
    if (dtype === undefined) throw invalid(`has tfjs dtype ${value.dtype}; only float32, int32 and bool tensors can be written`);
    const raw = value.dataSync();
    const data = dtype === 'F32' ? Float32Array.from(raw as Float32Array) : dtype === 'I32' ? Int32Array.from(raw as Int32Array) : Uint8Array.from(raw as Uint8Array, (b) => (b ? 1 : 0));
    return { name, dtype, shape: [...value.shape], data };
  }
  if (value === null || typeof value !== 'object') {
    throw invalid(`must be a tf.Tensor or an object { dtype, shape, data }, got ${describe(value)}`);
  }
  const { dtype, shape, data } = value as { dtype?: unknown; shape?: unknown; data?: unknown };
  if (!isDtype(dtype)) throw invalid(`has unsupported dtype ${describe(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw invalid(`shape must be an array of non-negative integers, got ${Array.isArray(shape) ? formatShape(shape) : describe(shape)}`);
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
export function writeSafetensors(tensors: Record<string, SafetensorInput>, metadata?: Record<string, string>): Uint8Array {
  const op = 'writeSafetensors';
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors) || isTensorLike(tensors) || ArrayBuffer.isView(tensors)) {
    throw new InvalidArgumentError(op, 'tensors', `must be an object mapping tensor names to tensors, got ${describe(tensors)}`);
  }
  const prepared: Prepared[] = [];
  for (const name of Object.keys(tensors)) {
    if (name === '') throw new InvalidArgumentError(op, 'tensors', 'must not contain an empty tensor name');
    if (name === '__metadata__') throw new InvalidArgumentError(op, 'tensors', 'must not contain the reserved name "__metadata__"');
    if (LONE_SURROGATE.test(name)) throw new InvalidArgumentError(op, 'tensors', `name ${quote(name)} is not well-formed Unicode (it has a lone surrogate)`);
    prepared.push(prepareOne(op, name, tensors[name]));
  }

  const metaKeys: string[] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new InvalidArgumentError(op, 'metadata', `must be an object of string values, got ${describe(metadata)}`);
    }
    for (const key of Object.keys(metadata)) {
      const value: unknown = metadata[key];
      if (typeof value !== 'string') throw new InvalidArgumentError(op, 'metadata', `value of key ${quote(key)} must be a string, got ${describe(value)}`);
      if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
        throw new InvalidArgumentError(op, 'metadata', `key ${quote(key)} or its value is not well-formed Unicode (it has a lone surrogate)`);
      }
      metaKeys.push(key);
    }
    metaKeys.sort(compareCodePoints);
  }

  prepared.sort((a, b) => WRITE_RANK[a.dtype]! - WRITE_RANK[b.dtype]! || compareCodePoints(a.name, b.name));

  const parts: string[] = [];
  if (metaKeys.length > 0) {
    parts.push(`"__metadata__":{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata![k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const p of prepared) {
    const end = offset + p.data.byteLength;
    parts.push(`${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":[${p.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const header = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(header.length / 8) * 8;
  if (headerLength > SAFETENSORS_MAX_HEADER_BYTES) {
    throw new InvalidArgumentError(op, 'tensors', `would need a ${headerLength}-byte header, over the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`);
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

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

function checkEntry(op: string, entry: unknown): SafetensorEntry {
  if (entry === null || typeof entry !== 'object') {
    throw new InvalidArgumentError(op, 'entry', `must be a safetensors entry { dtype, shape, data }, got ${describe(entry)}`);
  }
  const { dtype, shape, data } = entry as { dtype?: unknown; shape?: unknown; data?: unknown };
  if (!isDtype(dtype)) throw new InvalidArgumentError(op, 'entry', `has unsupported dtype ${describe(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new InvalidArgumentError(op, 'entry', `shape must be an array of non-negative integers, got ${Array.isArray(shape) ? formatShape(shape) : describe(shape)}`);
  }
  if (!isNaturalArray(dtype, data)) {
    throw new InvalidArgumentError(op, 'entry', `data for dtype ${dtype} must be the typed array readSafetensors returns, got ${describe(data)}`);
  }
  const length = (data as ArrayLike<unknown>).length;
  if (length !== product(shape)) {
    throw new InvalidArgumentError(op, 'entry', `has ${length} value(s) but shape ${formatShape(shape)} needs ${product(shape)}`);
  }
  return entry as SafetensorEntry;
}

/**
 * The values of an entry as float32, whatever its dtype.
 *
 * F16 and BF16 bit patterns are decoded exactly; F64 values round to nearest float32
 * (beyond ±3.4028235e38 they become ±Infinity); integers convert exactly up to 2^24 in
 * magnitude and round beyond (I64/U64 go through the nearest double first); BOOL gives 0 or 1.
 *
 * @param entry - A {@link SafetensorEntry}, e.g. from {@link readSafetensors}.
 * @returns `[product(shape)]` a new Float32Array (never a view of the entry, even for F32).
 * @throws {InvalidArgumentError} If `entry` is not a well-formed entry (unknown dtype, data not
 *   the dtype's typed array, data length ≠ product(shape)).
 *
 * @example
 * toFloat32({ dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }); // Float32Array [1, -2]
 */
export function toFloat32(entry: SafetensorEntry): Float32Array {
  const e = checkEntry('toFloat32', entry);
  switch (e.dtype) {
    case 'F16': {
      const table = halfToFloatTable();
      const out = new Float32Array(e.data.length);
      for (let i = 0; i < out.length; i++) out[i] = table[e.data[i]!]!;
      return out;
    }
    case 'BF16': {
      const words = new Uint32Array(e.data.length);
      for (let i = 0; i < words.length; i++) words[i] = e.data[i]! << 16;
      return new Float32Array(words.buffer);
    }
    case 'I64':
    case 'U64': {
      const out = new Float32Array(e.data.length);
      for (let i = 0; i < out.length; i++) out[i] = Number(e.data[i]!);
      return out;
    }
    default:
      return Float32Array.from(e.data as ArrayLike<number>);
  }
}

/**
 * A tfjs tensor holding an entry's values.
 *
 * dtype mapping: F32, F64, F16, BF16 → float32 (as {@link toFloat32}); I8, I16, I32, U8, U16
 * → int32 (exact); U32, I64, U64 → int32 when every value lies in [−2^31, 2^31 − 1];
 * BOOL → bool.
 *
 * @param entry - A {@link SafetensorEntry}, e.g. from {@link readSafetensors}.
 * @returns A tensor of shape `entry.shape` (the data is copied; the tensor never aliases
 *   `entry.data` or the file buffer). One new tensor; the caller disposes it.
 * @throws {InvalidArgumentError} If `entry` is not a well-formed entry, or a U32/I64/U64 value
 *   does not fit in int32 (the message gives the first such element).
 *
 * @remarks
 * - Reads nothing back from the backend; uploads once. O(product(shape)).
 *
 * @example
 * const w = entryToTensor({ dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) });
 * w.dataSync(); // Float32Array [1, -2]
 * w.dtype; // 'float32'
 */
export function entryToTensor(entry: SafetensorEntry): tf.Tensor {
  const op = 'entryToTensor';
  const e = checkEntry(op, entry);
  const shape = [...e.shape];
  switch (e.dtype) {
    case 'F32':
    case 'F64':
    case 'F16':
    case 'BF16':
      return tf.tensor(e.dtype === 'F32' ? e.data.slice() : toFloat32(e), shape, 'float32');
    case 'BOOL':
      return tf.tensor(e.data.slice(), shape, 'bool');
    case 'I32':
      return tf.tensor(e.data.slice(), shape, 'int32');
    case 'I8':
    case 'I16':
    case 'U8':
    case 'U16':
      return tf.tensor(Int32Array.from(e.data), shape, 'int32');
    case 'U32':
    case 'I64':
    case 'U64': {
      const out = new Int32Array(e.data.length);
      for (let i = 0; i < out.length; i++) {
        const v = e.data[i]!;
        const n = typeof v === 'bigint' ? (v >= -2147483648n && v <= 2147483647n ? Number(v) : NaN) : v <= 2147483647 ? v : NaN;
        if (Number.isNaN(n)) {
          throw new InvalidArgumentError(op, 'entry', `${e.dtype} element ${i} (${String(v)}) does not fit in int32 [-2147483648, 2147483647]`);
        }
        out[i] = n;
      }
      return tf.tensor(out, shape, 'int32');
    }
  }
}
