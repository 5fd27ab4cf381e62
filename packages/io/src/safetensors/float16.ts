/** float16 and bfloat16 bit patterns to and from float32 (round to nearest even), as safetensors stores F16/BF16. */
import { InvalidArgumentError } from '@geolip/geometry';
import { describe } from './util.js';

// ---------------------------------------------------------------------------------------------
// float16 / bfloat16
// ---------------------------------------------------------------------------------------------

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

export function toHalfBits(value: number): number {
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
    // Round half to even; may carry into the smallest normal: still correct.
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // Round half to even; a carry may reach 0x7c00 = ±Infinity: correct.
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1;
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

export function toBfloat16Bits(value: number): number {
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
export function halfToFloatTable(): Float32Array {
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
  if (typeof value !== 'number')
    throw new InvalidArgumentError(op, 'value', `must be a number, got ${describe(value)}`);
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
