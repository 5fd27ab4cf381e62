/** The types of the safetensors module: dtypes, entries, inputs of the writer, options and contents of the reader. */
import type * as tf from '@tensorflow/tfjs-core';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** The element types this module reads and writes (the 8-bit and 4-bit float types are not supported). */
export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL';

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
