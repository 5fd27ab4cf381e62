import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import {
  SAFETENSORS_DTYPES,
  bfloat16BitsToFloat32,
  entryToTensor,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  readSafetensors,
  toFloat32,
  writeSafetensors,
} from '../src/safetensors/index.js';
import type { SafetensorEntry, SafetensorsDtype } from '../src/safetensors/index.js';
import { decodeLittleEndian, encodeLittleEndian } from '../src/safetensors/dtypes.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const looseFile = new Uint8Array(readFileSync(`${fixtureDir}safetensors_fixture.safetensors`));
const canonicalFile = new Uint8Array(readFileSync(`${fixtureDir}safetensors_fixture_canonical.safetensors`));

interface ExpectedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data_offsets: [number, number];
  values: (number | string | boolean)[];
  bits?: number[];
}
const expected = JSON.parse(readFileSync(`${fixtureDir}safetensors_fixture.json`, 'utf8')) as {
  files: Record<string, { bytes: number; sha256: string }>;
  metadata: Record<string, string>;
  conversions: { f32_bits: number[]; f16_bits: number[]; bf16_bits: number[] };
  tensors: Record<string, ExpectedTensor>;
};

/** Hand-built file: the 8-byte little-endian length (default: the header's UTF-8 length), the header text, the data bytes. */
function file(header: string, data: ArrayLike<number> = [], length?: number | bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length ?? h.length), true);
  out.set(h, 8);
  out.set(Array.from(data), 8 + h.length);
  return out;
}

/** A header for one tensor `w`. */
function one(dtype: string, shape: string, offsets: string, extra = ''): string {
  return `{"w":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}${extra}}}`;
}

function f32Bytes(...values: number[]): number[] {
  return Array.from(new Uint8Array(new Float32Array(values).buffer));
}

function decodeExpected(value: number | string | boolean): number {
  if (value === 'nan') return NaN;
  if (value === 'inf') return Infinity;
  if (value === '-inf') return -Infinity;
  return value as number;
}

function expectFormatError(bytes: Uint8Array, reason: RegExp): void {
  let caught: unknown;
  try {
    readSafetensors(bytes);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(FormatError);
  const message = (caught as Error).message;
  expect(message).toMatch(/^readSafetensors: 'bytes' /);
  expect(message).toMatch(reason);
}

function headerOf(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}

/** One entry of every dtype, with extreme values. */
function everyDtype(): Record<string, SafetensorEntry> {
  return {
    f64: { dtype: 'F64', shape: [2, 3], data: new Float64Array([1, -2.5, 1e-300, 1e300, Infinity, NaN]) },
    f32: { dtype: 'F32', shape: [3], data: new Float32Array([0.1, -0, -Infinity]) },
    f16: { dtype: 'F16', shape: [4], data: new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]) },
    bf16: { dtype: 'BF16', shape: [2, 1], data: new Uint16Array([0x3f80, 0xff80]) },
    i64: { dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n]) },
    i32: { dtype: 'I32', shape: [2], data: new Int32Array([-2147483648, 2147483647]) },
    i16: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
    i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 127, 0]) },
    u8: { dtype: 'U8', shape: [2], data: new Uint8Array([0, 255]) },
    u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
    u32: { dtype: 'U32', shape: [2], data: new Uint32Array([0, 4294967295]) },
    u64: { dtype: 'U64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
    bool: { dtype: 'BOOL', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
  };
}

// ---------------------------------------------------------------------------------------------
// float16 / bfloat16
// ---------------------------------------------------------------------------------------------

describe('float16 conversion', () => {
  it('encodes exact reference values', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(0.5)).toBe(0x3800);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(-65504)).toBe(0xfbff);
    expect(float32ToFloat16Bits(0)).toBe(0x0000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(1023 * 2 ** -24)).toBe(0x03ff); // largest subnormal
    expect(float32ToFloat16Bits(-(2 ** -24))).toBe(0x8001);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
  });

  it('rounds to nearest, ties to even, including overflow and subnormals', () => {
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff); // below the halfway point to 65536
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // the tie rounds to even = Infinity
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie between 0 and 2^−24 → 0
    expect(float32ToFloat16Bits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 · 2^−24: tie → 2
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000);
    expect(float32ToFloat16Bits(1e-40)).toBe(0x0000); // a float32 subnormal
    expect(float32ToFloat16Bits(2 ** -14 * (1 - 2 ** -11))).toBe(0x0400); // rounds up into the normals
  });

  it('keeps NaN a NaN (quiet, sign kept)', () => {
    const bits = float32ToFloat16Bits(NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x03ff).not.toBe(0);
    expect(Number.isNaN(float16BitsToFloat32(bits))).toBe(true);
  });

  it('decodes exact values', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(float16BitsToFloat32(0x0400)).toBe(2 ** -14);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
    expect(float16BitsToFloat32(0x7c01)).toBeNaN();
  });

  it('round-trips all 65536 bit patterns (NaNs stay NaN)', () => {
    for (let bits = 0; bits < 65536; bits++) {
      const value = float16BitsToFloat32(bits);
      if (Number.isNaN(value)) {
        expect((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0).toBe(true);
        continue;
      }
      expect(Math.fround(value)).toBe(value); // every float16 is a float32
      if (float32ToFloat16Bits(value) !== bits) expect.unreachable(`bits ${bits.toString(16)} → ${value}`);
    }
  });

  it('matches numpy float32 → float16 casts (fixture)', () => {
    const { f32_bits: sources, f16_bits: want } = expected.conversions;
    const f32 = new Float32Array(new Uint32Array(sources).buffer);
    const got = Array.from(f32, (v) => float32ToFloat16Bits(v));
    expect(got).toEqual(want);
  });

  it("rejects bad arguments with InvalidArgumentError naming 'bits' / 'value'", () => {
    expect(() => float16BitsToFloat32(65536)).toThrow(InvalidArgumentError);
    expect(() => float16BitsToFloat32(65536)).toThrow(
      /float16BitsToFloat32: 'bits' must be an integer in \[0, 65535\], got 65536/,
    );
    expect(() => float16BitsToFloat32(1.5)).toThrow(/'bits' must be an integer/);
    expect(() => float32ToFloat16Bits('1' as unknown as number)).toThrow(
      /float32ToFloat16Bits: 'value' must be a number, got "1"/,
    );
  });
});

describe('bfloat16 conversion', () => {
  it('encodes exact values and rounds to nearest even', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(-2)).toBe(0xc000);
    expect(float32ToBfloat16Bits(0)).toBe(0x0000);
    expect(float32ToBfloat16Bits(-0)).toBe(0x8000);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even (down)
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (up)
    expect(float32ToBfloat16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(float32ToBfloat16Bits(Infinity)).toBe(0x7f80);
    expect(float32ToBfloat16Bits(-Infinity)).toBe(0xff80);
    expect(float32ToBfloat16Bits(3.4028234663852886e38)).toBe(0x7f80); // max float32 rounds to Infinity
    expect(float32ToBfloat16Bits(2 ** -133)).toBe(0x0001); // float32 subnormals keep their top bits
    const nan = float32ToBfloat16Bits(NaN);
    expect(nan & 0x7f80).toBe(0x7f80);
    expect(nan & 0x40).toBe(0x40);
  });

  it('decodes exact values', () => {
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1);
    expect(bfloat16BitsToFloat32(0xc000)).toBe(-2);
    expect(bfloat16BitsToFloat32(0x7f80)).toBe(Infinity);
    expect(bfloat16BitsToFloat32(0xff80)).toBe(-Infinity);
    expect(bfloat16BitsToFloat32(0x7fc0)).toBeNaN();
    expect(bfloat16BitsToFloat32(0x0001)).toBe(2 ** -133);
    expect(Object.is(bfloat16BitsToFloat32(0x8000), -0)).toBe(true);
    expect(bfloat16BitsToFloat32(0x7f7f)).toBe(3.3895313892515355e38);
  });

  it('round-trips all 65536 bit patterns (NaNs stay NaN)', () => {
    for (let bits = 0; bits < 65536; bits++) {
      const value = bfloat16BitsToFloat32(bits);
      if (Number.isNaN(value)) continue;
      if (float32ToBfloat16Bits(value) !== bits) expect.unreachable(`bits ${bits.toString(16)} → ${value}`);
    }
  });

  it('matches the fixture (round to nearest even on float32 bits)', () => {
    const { f32_bits: sources, bf16_bits: want } = expected.conversions;
    const f32 = new Float32Array(new Uint32Array(sources).buffer);
    expect(Array.from(f32, (v) => float32ToBfloat16Bits(v))).toEqual(want);
  });

  it('rejects bad arguments', () => {
    expect(() => bfloat16BitsToFloat32(-1)).toThrow(
      /bfloat16BitsToFloat32: 'bits' must be an integer in \[0, 65535\], got -1/,
    );
    expect(() => float32ToBfloat16Bits(1n as unknown as number)).toThrow(
      /float32ToBfloat16Bits: 'value' must be a number, got 1n/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips and writer layout
// ---------------------------------------------------------------------------------------------

describe('writeSafetensors → readSafetensors', () => {
  it('round-trips every dtype exactly (values, shapes, bytes)', () => {
    const input = everyDtype();
    const bytes = writeSafetensors(input, { format: 'pt' });
    const { tensors, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(input).sort());
    for (const [name, entry] of Object.entries(input)) {
      const got = tensors[name]!;
      expect(got.dtype).toBe(entry.dtype);
      expect(got.shape).toEqual(entry.shape);
      expect(got.data).toEqual(entry.data); // Object.is per element: NaN == NaN, -0 ≠ 0
    }
    expect(writeSafetensors(tensors, metadata)).toEqual(bytes);
  });

  it('covers every supported dtype', () => {
    expect(new Set(Object.values(everyDtype()).map((e) => e.dtype))).toEqual(new Set(SAFETENSORS_DTYPES));
  });

  it('round-trips scalars, empty tensors and no tensors at all', () => {
    const input: Record<string, SafetensorEntry> = {
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([3.25]) },
      empty: { dtype: 'I64', shape: [0, 4], data: new BigInt64Array(0) },
      empty2: { dtype: 'F16', shape: [3, 0], data: new Uint16Array(0) },
    };
    const { tensors } = readSafetensors(writeSafetensors(input));
    expect(tensors).toEqual(input);
    const none = writeSafetensors({});
    expect(Array.from(none)).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
    expect(readSafetensors(none)).toEqual({ tensors: {}, metadata: {} });
  });

  it('writes the reference layout byte for byte (hand-derived headers)', () => {
    const data = new Float32Array([0, 1, 2, 3, 4, 5]);
    // 64-byte header: no padding needed.
    const a = writeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } });
    expect(headerOf(a)).toBe('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
    expect(a.length).toBe(8 + 64 + 24);
    expect(Array.from(a.subarray(0, 8))).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(a.subarray(72))).toEqual(f32Bytes(0, 1, 2, 3, 4, 5));
    // 65-byte header: padded with 7 spaces to 72.
    const b = writeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } });
    expect(headerOf(b)).toBe('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
    expect(b[0]).toBe(72);
    // Metadata only: 35 bytes + 5 spaces.
    const c = writeSafetensors({}, { framework: 'pt' });
    expect(headerOf(c)).toBe('{"__metadata__":{"framework":"pt"}}     ');
    // Empty metadata object: no __metadata__ key at all.
    expect(headerOf(writeSafetensors({}, {}))).toBe('{}      ');
  });

  it('orders tensors by decreasing dtype alignment, then by name in code-point order, whatever the insertion order', () => {
    const t = (dtype: SafetensorsDtype, n = 1): SafetensorEntry =>
      ({
        dtype,
        shape: [n],
        data: dtype === 'I64' ? new BigInt64Array(n) : dtype === 'U64' ? new BigUint64Array(n) : new Float64Array(n),
      }) as SafetensorEntry;
    const plain = (dtype: SafetensorsDtype) => ({ dtype, shape: [1], data: [dtype === 'BOOL' ? 1 : 0] });
    const input = {
      b: plain('BOOL'),
      u8: plain('U8'),
      i8: plain('I8'),
      f16: plain('F16'),
      i16: plain('I16'),
      u16: plain('U16'),
      bf: plain('BF16'),
      i32: plain('I32'),
      u32: plain('U32'),
      f32: plain('F32'),
      f64: t('F64'),
      i64: t('I64'),
      u64: t('U64'),
      'z.f32': plain('F32'),
      'a.f32': plain('F32'),
      'B.f32': plain('F32'),
      '\u{1F600}': plain('F32'),
      '\uFFFD': plain('F32'),
      é: plain('F32'),
    };
    const bytes = writeSafetensors(input);
    const order = Object.keys(JSON.parse(headerOf(bytes)) as object);
    expect(order).toEqual([
      'u64',
      'i64',
      'f64',
      'B.f32',
      'a.f32',
      'f32',
      'z.f32',
      'é',
      '\uFFFD',
      '\u{1F600}',
      'u32',
      'i32',
      'bf',
      'f16',
      'u16',
      'i16',
      'i8',
      'u8',
      'b',
    ]);
    // Same bytes for any insertion order.
    const reversed = Object.fromEntries(Object.entries(input).reverse());
    expect(writeSafetensors(reversed)).toEqual(bytes);
    // Every tensor is aligned to its element size, so reading without copy gives views.
    const { tensors } = readSafetensors(bytes);
    for (const entry of Object.values(tensors)) expect(entry.data.buffer).toBe(bytes.buffer);
  });

  it('reproduces the reference-order fixture byte for byte', () => {
    const { tensors, metadata } = readSafetensors(looseFile);
    expect(writeSafetensors(tensors, metadata)).toEqual(canonicalFile);
  });

  it('accepts tf.Tensor inputs (float32 → F32, int32 → I32, bool → BOOL)', () => {
    const f = tf.tensor2d([
      [1, 2],
      [3, 4.5],
    ]);
    const i = tf.tensor1d([-7, 8], 'int32');
    const b = tf.tensor1d([true, false, true], 'bool');
    const s = tf.scalar(2.5);
    const { tensors } = readSafetensors(writeSafetensors({ f, i, b, s }));
    expect(tensors.f).toEqual({ dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4.5]) });
    expect(tensors.i).toEqual({ dtype: 'I32', shape: [2], data: new Int32Array([-7, 8]) });
    expect(tensors.b).toEqual({ dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) });
    expect(tensors.s).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([2.5]) });
    tf.dispose([f, i, b, s]);
    // A tensor from another copy of tfjs-core is recognised by its shape, not its prototype.
    const foreign = { dtype: 'float32', shape: [2], isDisposed: false, dataSync: () => new Float32Array([5, 6]) };
    expect(readSafetensors(writeSafetensors({ foreign } as never)).tensors.foreign).toEqual({
      dtype: 'F32',
      shape: [2],
      data: new Float32Array([5, 6]),
    });
  });

  it('converts plain values: F16/BF16 from numbers, Uint16Array as raw bits, I64 from numbers or bigints, BOOL from booleans', () => {
    const bytes = writeSafetensors({
      h: { dtype: 'F16', shape: [3], data: [1, -2, 65504] },
      hf: { dtype: 'F16', shape: [2], data: new Float32Array([0.5, 2 ** -24]) },
      hb: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      bf: { dtype: 'BF16', shape: [2], data: [1, 1 + 3 * 2 ** -8] },
      l: { dtype: 'I64', shape: [3], data: [1, -(2 ** 53), 2 ** 60] },
      lb: { dtype: 'U64', shape: [1], data: [2n ** 64n - 1n] },
      m: { dtype: 'BOOL', shape: [3], data: [true, false, 1] },
      d: { dtype: 'F32', shape: [1], data: new Float64Array([0.1]) },
      n: { dtype: 'I8', shape: [2], data: [-128, 127n] },
    });
    const { tensors } = readSafetensors(bytes);
    expect(tensors.h!.data).toEqual(new Uint16Array([0x3c00, 0xc000, 0x7bff]));
    expect(tensors.hf!.data).toEqual(new Uint16Array([0x3800, 0x0001]));
    expect(tensors.hb!.data).toEqual(new Uint16Array([0x3c00]));
    expect(tensors.bf!.data).toEqual(new Uint16Array([0x3f80, 0x3f82]));
    expect(tensors.l!.data).toEqual(new BigInt64Array([1n, -(2n ** 53n), 2n ** 60n]));
    expect(tensors.lb!.data).toEqual(new BigUint64Array([2n ** 64n - 1n]));
    expect(tensors.m!.data).toEqual(new Uint8Array([1, 0, 1]));
    expect(tensors.d!.data).toEqual(new Float32Array([0.1]));
    expect(tensors.n!.data).toEqual(new Int8Array([-128, 127]));
  });

  it('does not retain or modify its inputs', () => {
    const data = new Float32Array([1, 2]);
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [2], data } });
    data[0] = 99;
    expect(readSafetensors(bytes).tensors.w!.data).toEqual(new Float32Array([1, 2]));
  });

  it('doc example (writeSafetensors)', () => {
    const w = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const bytes = writeSafetensors(
      { 'layer.weight': w, steps: { dtype: 'I64', shape: [], data: [10n] } },
      { format: 'pt' },
    );
    expect(readSafetensors(bytes).tensors.steps!.data).toEqual(new BigInt64Array([10n]));
    w.dispose();
  });
});

describe('writeSafetensors argument errors', () => {
  const write = (tensors: unknown, metadata?: unknown) => () => writeSafetensors(tensors as never, metadata as never);
  const f32 = { dtype: 'F32', shape: [1], data: [1] };

  it("names 'tensors' for bad containers and names", () => {
    expect(write(null)).toThrow(InvalidArgumentError);
    expect(write(null)).toThrow(
      /writeSafetensors: 'tensors' must be an object mapping tensor names to tensors, got null/,
    );
    expect(write([f32])).toThrow(/'tensors' must be an object mapping tensor names to tensors, got an array/);
    const t = tf.scalar(1);
    expect(write(t)).toThrow(/'tensors' must be an object mapping tensor names to tensors, got a float32 tensor/);
    t.dispose();
    expect(write({ '': f32 })).toThrow(/writeSafetensors: 'tensors' must not contain an empty tensor name/);
    expect(write({ __metadata__: f32 })).toThrow(
      /writeSafetensors: 'tensors' must not contain the reserved name "__metadata__"/,
    );
    expect(write({ ['a\uD800']: f32 })).toThrow(/writeSafetensors: 'tensors' name .* is not well-formed Unicode/);
  });

  it("names 'tensors' for bad dtype, shape, data length and values", () => {
    expect(write({ w: { dtype: 'F8_E4M3', shape: [1], data: [1] } })).toThrow(
      /writeSafetensors: 'tensors' tensor "w" has unsupported dtype "F8_E4M3"/,
    );
    expect(write({ w: { dtype: 'F32', shape: [-1], data: [] } })).toThrow(
      /'tensors' tensor "w" shape must be an array of non-negative integers, got \[-1\]/,
    );
    expect(write({ w: { dtype: 'F32', shape: [1.5], data: [] } })).toThrow(
      /shape must be an array of non-negative integers/,
    );
    expect(write({ w: { dtype: 'F32', shape: [2, 3], data: [1, 2] } })).toThrow(
      /'tensors' tensor "w" has 2 value\(s\) but shape \[2, 3\] needs 6/,
    );
    expect(write({ w: { dtype: 'F32', shape: [1], data: 5 } })).toThrow(
      /'tensors' tensor "w" data must be an array or typed array, got 5/,
    );
    expect(write({ w: 'x' })).toThrow(/'tensors' tensor "w" must be a tf.Tensor or an object \{ dtype, shape, data \}/);
    expect(write({ w: { dtype: 'I8', shape: [1], data: [128] } })).toThrow(
      /'tensors' tensor "w": element 0 must be an integer in \[-128, 127\] for dtype I8, got 128/,
    );
    expect(write({ w: { dtype: 'I32', shape: [2], data: [1, 0.5] } })).toThrow(
      /element 1 must be an integer in \[-2147483648, 2147483647\] for dtype I32, got 0.5/,
    );
    expect(write({ w: { dtype: 'U32', shape: [1], data: [-1] } })).toThrow(
      /element 0 must be an integer in \[0, 4294967295\]/,
    );
    expect(write({ w: { dtype: 'I64', shape: [1], data: [2n ** 63n] } })).toThrow(
      /element 0 must be an integer in \[-9223372036854775808, 9223372036854775807\] for dtype I64, got 9223372036854775808n/,
    );
    expect(write({ w: { dtype: 'U64', shape: [1], data: [1.5] } })).toThrow(/for dtype U64, got 1.5/);
    expect(write({ w: { dtype: 'F32', shape: [1], data: ['1'] } })).toThrow(
      /element 0 must be a number for dtype F32, got "1"/,
    );
    expect(write({ w: { dtype: 'BOOL', shape: [1], data: [2] } })).toThrow(
      /element 0 must be a boolean or 0 or 1 for dtype BOOL, got 2/,
    );
    expect(write({ w: { dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 2]) } })).toThrow(
      /'tensors' tensor "w" \(BOOL\) element 1 must be 0 or 1, got 2/,
    );
  });

  it("names 'tensors' for tensors that cannot be written", () => {
    const c = tf.tensor(['a', 'b']);
    expect(write({ c })).toThrow(
      /'tensors' tensor "c" has tfjs dtype string; only float32, int32 and bool tensors can be written/,
    );
    c.dispose();
    const d = tf.scalar(1);
    d.dispose();
    expect(write({ d })).toThrow(/'tensors' tensor "d" is disposed/);
  });

  it("names 'metadata' for bad metadata", () => {
    expect(write({}, 'x')).toThrow(/writeSafetensors: 'metadata' must be an object of string values, got "x"/);
    expect(write({}, null)).toThrow(/writeSafetensors: 'metadata' must be an object of string values, got null/);
    expect(write({}, { a: 1 })).toThrow(/writeSafetensors: 'metadata' value of key "a" must be a string, got 1/);
    expect(write({}, { a: '\uDC00' })).toThrow(/'metadata' key "a" or its value is not well-formed Unicode/);
  });
});

// ---------------------------------------------------------------------------------------------
// Reading: fixture and valid edge cases
// ---------------------------------------------------------------------------------------------

describe('readSafetensors', () => {
  it('fixture files are the ones the generator recorded', () => {
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha(looseFile)).toBe(expected.files['safetensors_fixture.safetensors']!.sha256);
    expect(sha(canonicalFile)).toBe(expected.files['safetensors_fixture_canonical.safetensors']!.sha256);
  });

  for (const [label, bytes] of [
    ['name-ordered, misaligned', looseFile],
    ['reference-ordered', canonicalFile],
  ] as const) {
    it(`reads the numpy-built fixture (${label}) with every value exact`, () => {
      for (const copy of [false, true]) {
        const { tensors, metadata } = readSafetensors(bytes, { copy });
        expect(metadata).toEqual(expected.metadata);
        expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
        for (const [name, want] of Object.entries(expected.tensors)) {
          const got = tensors[name]!;
          expect(got.dtype, name).toBe(want.dtype);
          expect(got.shape, name).toEqual(want.shape);
          if (copy) expect(got.data.buffer).not.toBe(bytes.buffer);
          const values = Array.from(got.data as ArrayLike<number | bigint>);
          if (want.dtype === 'I64' || want.dtype === 'U64') {
            expect(values.map(String), name).toEqual(want.values);
          } else if (want.dtype === 'BOOL') {
            expect(values, name).toEqual(want.values.map((v) => (v ? 1 : 0)));
          } else if (want.dtype === 'F16' || want.dtype === 'BF16') {
            expect(values, name).toEqual(want.bits);
            expect(Array.from(toFloat32(got)), name).toEqual(want.values.map(decodeExpected));
          } else if (want.dtype === 'F32' || want.dtype === 'F64') {
            expect(values, name).toEqual(want.values.map(decodeExpected));
          } else {
            expect(values, name).toEqual(want.values);
          }
        }
      }
    });
  }

  it('inserts result keys in data-offset order', () => {
    const { tensors } = readSafetensors(looseFile);
    const order = Object.entries(expected.tensors).sort(
      (a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1],
    );
    expect(Object.keys(tensors)).toEqual(order.map(([name]) => name));
  });

  it('returns views of aligned data and copies of misaligned data', () => {
    const bytes = writeSafetensors(everyDtype());
    const views = readSafetensors(bytes);
    for (const entry of Object.values(views.tensors)) expect(entry.data.buffer).toBe(bytes.buffer);
    // The same file at an odd byte offset: every multi-byte entry must be copied, values unchanged.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const odd = readSafetensors(shifted.subarray(1));
    for (const [name, entry] of Object.entries(odd.tensors)) {
      expect(entry.data, name).toEqual(views.tensors[name]!.data);
      const size = entry.data.BYTES_PER_ELEMENT;
      if (size > 1) expect(entry.data.buffer).not.toBe(shifted.buffer);
    }
    // An ArrayBuffer works too.
    expect(readSafetensors(bytes.buffer as ArrayBuffer).tensors).toEqual(views.tensors);
  });

  it('accepts valid variations: whitespace, unpadded headers, escaped names, any key order, zero-size tensors, NaN values', () => {
    const header = ` \n{ "data_offsets_first" : {"data_offsets": [0, 4], "shape": [1], "dtype": "F32"},\t"z\\u00e9\\n" : {"dtype":"U8","shape":[0],"data_offsets":[4,4]}, "__metadata__":{}, "e":{"dtype":"F16","shape":[2,0,3],"data_offsets":[4,4]} }  `;
    const { tensors, metadata } = readSafetensors(file(header, f32Bytes(NaN)));
    expect(metadata).toEqual({});
    expect(tensors.data_offsets_first!.data[0]).toBeNaN();
    expect(tensors['zé\n']).toEqual({ dtype: 'U8', shape: [0], data: new Uint8Array(0) });
    expect(tensors.e!.shape).toEqual([2, 0, 3]);
    // Astral characters via surrogate-pair escapes.
    expect(
      Object.keys(readSafetensors(file(one('U8', '[0]', '[0,0]').replace('"w"', '"\\ud83d\\ude00"'))).tensors),
    ).toEqual(['\u{1F600}']);
  });

  it("stores a tensor named '__proto__' as an ordinary own property", () => {
    const { tensors, metadata } = readSafetensors(
      file('{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', [7]),
    );
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.data).toEqual(new Uint8Array([7]));
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')!.value).toBe('x');
  });

  it('decodes identically through the portable DataView path (big-endian hosts)', () => {
    const bytes = writeSafetensors(everyDtype());
    const { tensors } = readSafetensors(bytes);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(headerOf(bytes)) as Record<
      string,
      { dtype: SafetensorsDtype; data_offsets: [number, number] }
    >;
    for (const [name, info] of Object.entries(header)) {
      const [begin, end] = info.data_offsets;
      const raw = bytes.subarray(8 + n + begin, 8 + n + end);
      const decoded = decodeLittleEndian(info.dtype, raw, tensors[name]!.data.length);
      expect(decoded, name).toEqual(tensors[name]!.data);
      const encoded = new Uint8Array(raw.length);
      encodeLittleEndian(info.dtype, decoded, encoded);
      expect(encoded, name).toEqual(new Uint8Array(raw));
    }
  });

  it('doc example (readSafetensors)', () => {
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [2], data: [1, 2] } }, { format: 'pt' });
    const { tensors, metadata } = readSafetensors(bytes);
    expect(tensors.w).toEqual({ dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) });
    expect(metadata.format).toBe('pt');
  });

  it('rejects arguments that are not bytes with InvalidArgumentError', () => {
    expect(() => readSafetensors('abc' as never)).toThrow(InvalidArgumentError);
    expect(() => readSafetensors('abc' as never)).toThrow(
      /readSafetensors: 'bytes' must be a Uint8Array or an ArrayBuffer, got "abc"/,
    );
    expect(() => readSafetensors([1, 2] as never)).toThrow(/got an array/);
    expect(() => readSafetensors(new Uint8Array(16), { copy: 'yes' as never })).toThrow(
      /readSafetensors: 'options.copy' must be a boolean, got "yes"/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Reading: malformed files, one test per rule
// ---------------------------------------------------------------------------------------------

describe('readSafetensors rejects malformed files with FormatError', () => {
  it('fewer than 8 bytes', () => {
    expectFormatError(new Uint8Array(0), /has 0 byte\(s\); a safetensors file needs at least 8 \(the header length\)/);
    expectFormatError(new Uint8Array(7), /has 7 byte\(s\)/);
  });

  it('header length over the 100 MB limit', () => {
    expectFormatError(
      file('{}', [], 100_000_001),
      /declares a header of 100000001 bytes, over the 100000000-byte limit/,
    );
    expectFormatError(
      file('{}', [], 2n ** 40n),
      /declares a header of 1099511627776 bytes, over the 100000000-byte limit/,
    );
    expectFormatError(file('{}', [], 2n ** 64n - 1n), /declares a header of 18446744073709551615 bytes/);
  });

  it('header length past the end of the buffer', () => {
    expectFormatError(
      file('{}', [], 3),
      /declares a header of 3 bytes, past the end of the buffer \(2 bytes follow the length field\)/,
    );
    expectFormatError(file('', [], 1), /declares a header of 1 bytes, past the end of the buffer \(0 bytes follow/);
  });

  it('header not UTF-8', () => {
    const bytes = file('{"a":1}');
    bytes[10] = 0xff;
    expectFormatError(bytes, /header is not valid UTF-8/);
    const overlong = file('{"a":1}');
    overlong.set([0xc0, 0xaf], 9); // overlong encoding of '/'
    expectFormatError(overlong, /header is not valid UTF-8/);
  });

  it('header not JSON', () => {
    expectFormatError(file(''), /header is not valid JSON: unexpected end of header at character 0/);
    expectFormatError(file('{"a":'), /header is not valid JSON: unexpected end of header at character 5/);
    expectFormatError(
      file('{} x'),
      /header is not valid JSON: unexpected 'x' after the top-level value at character 3/,
    );
    expectFormatError(
      file('{}\0\0'),
      /header is not valid JSON: unexpected character U\+0000 after the top-level value/,
    );
    expectFormatError(file('\uFEFF{}'), /header is not valid JSON: unexpected character U\+FEFF at character 0/);
    expectFormatError(file("{'a':1}"), /header is not valid JSON: expected a string key, got '''/);
    expectFormatError(file('{"a":1,}'), /header is not valid JSON: expected a string key, got '}'/);
    expectFormatError(file('{"a":[1,]}'), /header is not valid JSON: unexpected '\]'/);
    expectFormatError(file('{"a":01}'), /header is not valid JSON: expected ',' or '}', got '1'/);
    expectFormatError(file('{"a":1.}'), /header is not valid JSON: invalid number/);
    expectFormatError(file('{"a":"\\x"}'), /header is not valid JSON: invalid escape \\x/);
    expectFormatError(file('{"a":"\\u12g4"}'), /header is not valid JSON: invalid \\u escape/);
    expectFormatError(file('{"a\tb":1}'), /header is not valid JSON: unescaped control character U\+0009 in a string/);
    expectFormatError(file('{"a":"unterminated}'), /header is not valid JSON: unterminated string/);
    expectFormatError(file('{"\\ud800":1}'), /header is not valid JSON: lone surrogate in a \\u escape/);
    expectFormatError(file('{"\\udc00":1}'), /lone surrogate/);
    expectFormatError(
      file(`{"a":${'['.repeat(20)}${']'.repeat(20)}}`),
      /header is not valid JSON: nesting deeper than 16 levels/,
    );
    expectFormatError(file('{"a":tru}'), /header is not valid JSON: unexpected 't'/);
  });

  it('header not an object', () => {
    expectFormatError(file('[1, 2]'), /header must be a JSON object, got \[1, 2\]/);
    expectFormatError(file('"x"'), /header must be a JSON object, got "x"/);
    expectFormatError(file('null'), /header must be a JSON object, got null/);
  });

  it('duplicate keys, at any level', () => {
    const w = '{"dtype":"U8","shape":[0],"data_offsets":[0,0]}';
    expectFormatError(
      file(`{"w":${w},"w":${w}}`),
      /header has duplicate key "w" at character \d+; the format forbids duplicate keys/,
    );
    expectFormatError(file(`{"__metadata__":{},"__metadata__":{}}`), /duplicate key "__metadata__"/);
    expectFormatError(file('{"__metadata__":{"k":"a","k":"b"}}'), /duplicate key "k"/);
    expectFormatError(
      file('{"w":{"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
      /duplicate key "dtype"/,
    );
    expectFormatError(file('{"w":{},"\\u0077":{}}'), /duplicate key "w"/); // the same name, escaped
  });

  it('__metadata__ not string → string', () => {
    expectFormatError(file('{"__metadata__":"x"}'), /"__metadata__" must be an object of string values, got "x"/);
    expectFormatError(file('{"__metadata__":null}'), /"__metadata__" must be an object of string values, got null/);
    expectFormatError(file('{"__metadata__":{"k":1}}'), /"__metadata__" must map strings to strings; key "k" holds 1/);
    expectFormatError(file('{"__metadata__":{"k":["v"]}}'), /key "k" holds \["v"\]/);
  });

  it('entry not an object, missing fields, unknown fields', () => {
    expectFormatError(file('{"w":[1]}'), /tensor "w" must be an object with dtype, shape and data_offsets, got \[1\]/);
    expectFormatError(file('{"w":{"shape":[0],"data_offsets":[0,0]}}'), /tensor "w" is missing "dtype"/);
    expectFormatError(file('{"w":{"dtype":"U8","data_offsets":[0,0]}}'), /tensor "w" is missing "shape"/);
    expectFormatError(file('{"w":{"dtype":"U8","shape":[0]}}'), /tensor "w" is missing "data_offsets"/);
    expectFormatError(
      file(one('U8', '[0]', '[0,0]', ',"extra":1')),
      /tensor "w" has unknown field "extra" \(allowed: dtype, shape, data_offsets\)/,
    );
  });

  it('unknown or unsupported dtype', () => {
    expectFormatError(
      file(one('F128', '[0]', '[0,0]')),
      /tensor "w" has unsupported dtype "F128" \(supported: U64, I64, F64, F32/,
    );
    expectFormatError(file(one('F8_E4M3', '[1]', '[0,1]'), [0]), /tensor "w" has unsupported dtype "F8_E4M3"/);
    expectFormatError(file(one('f32', '[0]', '[0,0]')), /unsupported dtype "f32"/);
    expectFormatError(file('{"w":{"dtype":4,"shape":[0],"data_offsets":[0,0]}}'), /unsupported dtype 4/);
  });

  it('shape not an array of non-negative integers', () => {
    const bad = /tensor "w" shape must be an array of non-negative integers, got /;
    expectFormatError(file(one('U8', '[-1]', '[0,0]')), bad);
    expectFormatError(file(one('U8', '[1.5]', '[0,0]')), /got \[1\.5\]/);
    expectFormatError(file(one('U8', '[1.0]', '[0,1]'), [0]), /got \[1\.0\]/); // integers must be written as integers
    expectFormatError(file(one('U8', '[1e0]', '[0,1]'), [0]), /got \[1e0\]/);
    expectFormatError(file(one('U8', '["1"]', '[0,1]'), [0]), /got \["1"\]/);
    expectFormatError(file(one('U8', '[-0]', '[0,0]')), bad);
    expectFormatError(file(one('U8', '3', '[0,3]'), [0, 0, 0]), /got 3/);
    expectFormatError(file(one('U8', '[9007199254740993]', '[0,0]')), bad); // beyond 2^53
  });

  it('data_offsets not 2 non-negative integers with begin <= end', () => {
    const bad = /tensor "w" data_offsets must be 2 non-negative integers \[begin, end\] with begin <= end, got /;
    expectFormatError(file(one('U8', '[1]', '[0]'), [0]), bad);
    expectFormatError(file(one('U8', '[1]', '[0,1,2]'), [0]), bad);
    expectFormatError(file(one('U8', '[1]', '[-1,0]'), [0]), /got \[-1, 0\]/);
    expectFormatError(file(one('U8', '[1]', '[0,1.0]'), [0]), /got \[0, 1\.0\]/);
    expectFormatError(file(one('U8', '[0]', '[4,2]'), [0, 0, 0, 0]), /got \[4, 2\]/);
    expectFormatError(file(one('U8', '[0]', '"0,0"')), /got "0,0"/);
    expectFormatError(file(one('U8', '[1]', '[0,1e30]'), [0]), bad);
  });

  it('end past the end of the data section', () => {
    expectFormatError(
      file(one('F32', '[3]', '[0,12]'), f32Bytes(1, 2)),
      /tensor "w" data_offsets \[0, 12\] run past the end of the data section \(8 bytes\)/,
    );
    expectFormatError(
      file(one('U8', '[1]', '[9007199254740990,9007199254740991]')),
      /run past the end of the data section \(0 bytes\)/,
    );
  });

  it('byte length ≠ product(shape) · itemsize', () => {
    expectFormatError(
      file(one('F32', '[3]', '[0,8]'), f32Bytes(1, 2)),
      /tensor "w" holds 8 bytes \(data_offsets \[0, 8\]\) but dtype F32 and shape \[3\] need 12/,
    );
    expectFormatError(
      file(one('F64', '[1]', '[0,4]'), f32Bytes(1)),
      /holds 4 bytes .* dtype F64 and shape \[1\] need 8/,
    );
    expectFormatError(file(one('U8', '[]', '[0,0]')), /holds 0 bytes .* shape \[\] need 1/); // a scalar has one element
    expectFormatError(file(one('U8', '[4294967296,4294967296]', '[0,1]'), [0]), /need 18446744073709552000/);
  });

  it('overlapping ranges', () => {
    const h =
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    expectFormatError(file(h, f32Bytes(1, 2, 3)), /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap/);
    const same =
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expectFormatError(file(same, f32Bytes(1)), /tensors "a" \[0, 4\] and "b" \[0, 4\] overlap/);
    const inside =
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}';
    expectFormatError(file(inside, f32Bytes(1, 2)), /tensors "a" \[0, 8\] and "z" \[4, 4\] overlap/);
  });

  it('gaps between ranges (the data must be packed)', () => {
    const h =
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    expectFormatError(
      file(h, f32Bytes(1, 2, 3)),
      /has a gap of 4 unused byte\(s\) before tensor "b" \(data section bytes \[4, 8\]\); tensor data must be packed without gaps/,
    );
    expectFormatError(
      file(one('F32', '[1]', '[4,8]'), f32Bytes(1, 2)),
      /gap of 4 unused byte\(s\) before tensor "w" \(data section bytes \[0, 4\]\)/,
    );
  });

  it('trailing bytes after the last tensor', () => {
    expectFormatError(
      file(one('F32', '[1]', '[0,4]'), f32Bytes(1, 2)),
      /has 4 trailing byte\(s\) after the last tensor \(the data section is 8 bytes, tensors end at 4\)/,
    );
    expectFormatError(
      file('{}', [0]),
      /has 1 trailing byte\(s\) after the last tensor \(the data section is 1 bytes, tensors end at 0\)/,
    );
  });

  it('BOOL bytes other than 0 and 1', () => {
    expectFormatError(
      file(one('BOOL', '[3]', '[0,3]'), [1, 0, 2]),
      /BOOL tensor "w" holds byte 2 at element 2 \(must be 0 or 1\)/,
    );
  });

  it('quotes hostile names safely and briefly', () => {
    const name = 'x'.repeat(1000);
    expectFormatError(
      file(`{"${name}":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`),
      /tensor "x{60}…\(1000 characters\)" data_offsets/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

describe('toFloat32', () => {
  it('decodes every dtype', () => {
    const all = everyDtype();
    expect(toFloat32(all.f16!)).toEqual(new Float32Array([1, -2, 65504, 2 ** -24]));
    expect(toFloat32(all.bf16!)).toEqual(new Float32Array([1, -Infinity]));
    expect(toFloat32(all.f64!)).toEqual(new Float32Array([1, -2.5, 0, Infinity, Infinity, NaN]));
    expect(toFloat32(all.f32!)).toEqual(all.f32!.data);
    expect(toFloat32(all.f32!)).not.toBe(all.f32!.data);
    expect(toFloat32(all.i64!)).toEqual(new Float32Array([-(2 ** 63), 2 ** 63, 0]));
    expect(toFloat32(all.u64!)).toEqual(new Float32Array([0, 2 ** 64]));
    expect(toFloat32(all.i8!)).toEqual(new Float32Array([-128, 127, 0]));
    expect(toFloat32(all.u32!)).toEqual(new Float32Array([0, 4294967296]));
    expect(toFloat32(all.bool!)).toEqual(new Float32Array([1, 0, 0, 1]));
  });

  it('doc example (toFloat32)', () => {
    expect(toFloat32({ dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) })).toEqual(
      new Float32Array([1, -2]),
    );
  });

  it("rejects malformed entries with InvalidArgumentError naming 'entry'", () => {
    expect(() => toFloat32({ dtype: 'F16', shape: [2], data: new Float32Array(2) } as never)).toThrow(
      /toFloat32: 'entry' data for dtype F16 must be the typed array readSafetensors returns, got a Float32Array/,
    );
    expect(() => toFloat32({ dtype: 'F32', shape: [3], data: new Float32Array(2) })).toThrow(
      /toFloat32: 'entry' has 2 value\(s\) but shape \[3\] needs 3/,
    );
    expect(() => toFloat32({ dtype: 'X', shape: [], data: new Float32Array(1) } as never)).toThrow(
      /toFloat32: 'entry' has unsupported dtype "X"/,
    );
    expect(() => toFloat32(null as never)).toThrow(/toFloat32: 'entry' must be a safetensors entry/);
  });
});

describe('entryToTensor', () => {
  it('maps every dtype to float32, int32 or bool with the same values and shape', async () => {
    const all = everyDtype();
    const cases: [string, tf.DataType, number[]][] = [
      ['f64', 'float32', [1, -2.5, 0, Infinity, Infinity, NaN]],
      ['f32', 'float32', [Math.fround(0.1), -0, -Infinity]],
      ['f16', 'float32', [1, -2, 65504, 2 ** -24]],
      ['bf16', 'float32', [1, -Infinity]],
      ['i32', 'int32', [-2147483648, 2147483647]],
      ['i16', 'int32', [-32768, 32767]],
      ['i8', 'int32', [-128, 127, 0]],
      ['u8', 'int32', [0, 255]],
      ['u16', 'int32', [65535]],
      ['bool', 'bool', [1, 0, 0, 1]],
    ];
    for (const [name, dtype, values] of cases) {
      const entry = all[name]!;
      const t = entryToTensor(entry);
      expect(t.dtype, name).toBe(dtype);
      expect(t.shape, name).toEqual(entry.shape);
      expect(Array.from(await t.data()), name).toEqual(values);
      t.dispose();
    }
    const small = entryToTensor({ dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 2147483647n]) });
    expect(small.dtype).toBe('int32');
    expect(Array.from(await small.data())).toEqual([-5, 2147483647]);
    small.dispose();
    const u = entryToTensor({ dtype: 'U64', shape: [1], data: new BigUint64Array([7n]) });
    expect(Array.from(await u.data())).toEqual([7]);
    u.dispose();
  });

  it('throws InvalidArgumentError when a U32/I64/U64 value does not fit in int32', () => {
    const all = everyDtype();
    expect(() => entryToTensor(all.i64!)).toThrow(InvalidArgumentError);
    expect(() => entryToTensor(all.i64!)).toThrow(
      /entryToTensor: 'entry' I64 element 0 \(-9223372036854775808\) does not fit in int32/,
    );
    expect(() => entryToTensor(all.u64!)).toThrow(
      /entryToTensor: 'entry' U64 element 1 \(18446744073709551615\) does not fit in int32/,
    );
    expect(() => entryToTensor(all.u32!)).toThrow(
      /entryToTensor: 'entry' U32 element 1 \(4294967295\) does not fit in int32/,
    );
    expect(() => entryToTensor({ dtype: 'I64', shape: [1], data: new BigInt64Array([-2147483649n]) })).toThrow(
      /does not fit in int32/,
    );
  });

  it('copies: the tensor never aliases the entry or the file buffer', async () => {
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [2], data: [1, 2] } });
    const entry = readSafetensors(bytes).tensors.w!;
    expect(entry.data.buffer).toBe(bytes.buffer);
    const t = entryToTensor(entry);
    bytes.fill(0);
    expect(Array.from(await t.data())).toEqual([1, 2]);
    t.dispose();
  });

  it('adds exactly one tensor', () => {
    const before = tf.memory().numTensors;
    const t = entryToTensor(everyDtype().f16!);
    expect(tf.memory().numTensors).toBe(before + 1);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('round-trips through tfjs: tensor → write → read → tensor', async () => {
    const x = tf.tensor3d([[[1.5, -2]], [[3, 4]]]);
    const y = entryToTensor(readSafetensors(writeSafetensors({ x })).tensors.x!);
    expect(y.shape).toEqual([2, 1, 2]);
    expect(Array.from(await y.data())).toEqual([1.5, -2, 3, 4]);
    tf.dispose([x, y]);
  });

  it('doc example (entryToTensor)', () => {
    const w = entryToTensor({ dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) });
    expect(w.dtype).toBe('float32');
    expect(Array.from(w.dataSync())).toEqual([1, -2]);
    w.dispose();
  });

  it("rejects malformed entries with InvalidArgumentError naming 'entry'", () => {
    expect(() => entryToTensor({ dtype: 'I64', shape: [1], data: new Int32Array(1) } as never)).toThrow(
      /entryToTensor: 'entry' data for dtype I64 must be the typed array readSafetensors returns, got a Int32Array/,
    );
    expect(() => entryToTensor({ dtype: 'F32', shape: [-1], data: new Float32Array(0) })).toThrow(
      /entryToTensor: 'entry' shape must be an array of non-negative integers/,
    );
  });
});
