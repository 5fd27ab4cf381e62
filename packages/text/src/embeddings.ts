/**
 * `Embeddings`: what {@link SentenceEmbedder.encode} returns, plus the quantisation and similarity functions that
 * sentence-transformers users know (`quantize_embeddings`, `model.similarity`), with the same semantics.
 */
import { InvalidArgumentError, NonFiniteError } from '@geolip/geometry';

/** Element type of an embedding: `'float32'`, scalar `'int8'` / `'uint8'`, or packed sign bits. */
export type EmbeddingPrecision = 'float32' | 'int8' | 'uint8' | 'binary' | 'ubinary';

/** The precisions, in the order sentence-transformers lists them. */
export const EMBEDDING_PRECISIONS: readonly EmbeddingPrecision[] = ['float32', 'int8', 'uint8', 'binary', 'ubinary'];

type EmbeddingData = Float32Array | Int8Array | Uint8Array;

const EMBEDDINGS_BRAND = Symbol.for('@geolip/text.Embeddings');

/**
 * `N` embeddings as one row-major typed array, with row views. Why an object rather than `number[][]`: a flat typed
 * array is what the model produces and what a vector store or a `tf.tensor2d(data, shape)` takes, without copying;
 * `rows` and `toArray()` give the nested forms when they are wanted.
 *
 * - `float32` → `Float32Array`, `dim` = the embedding width;
 * - `int8` / `uint8` → `Int8Array` / `Uint8Array`, one value per dimension;
 * - `binary` / `ubinary` → `Int8Array` / `Uint8Array` of packed sign bits, `dim` = ⌈embeddingDim / 8⌉ bytes.
 */
export class Embeddings {
  /**
   * `instanceof Embeddings` holds across copies of this class: the ESM and CJS builds, and the `@geolip/text/ort`
   * bundle (whose `OrtSentenceEmbedder.encode` builds them) each have one. Checked by a registered symbol.
   */
  static [Symbol.hasInstance](value: unknown): value is Embeddings {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EMBEDDINGS_BRAND] === true;
  }

  /** Number of embeddings (rows). */
  readonly length: number;

  /**
   * @param data - `[length, dim]` row-major.
   * @param dim - values per row of `data` (bytes per row for the packed precisions).
   * @param precision - how `data` encodes the embeddings.
   * @param embeddingDim - the embedding width before packing (= `dim` except for `binary` / `ubinary`).
   */
  constructor(
    readonly data: EmbeddingData,
    readonly dim: number,
    readonly precision: EmbeddingPrecision = 'float32',
    readonly embeddingDim: number = dim,
  ) {
    const op = 'Embeddings';
    if (!EMBEDDING_PRECISIONS.includes(precision))
      throw new InvalidArgumentError(op, 'precision', `must be one of ${EMBEDDING_PRECISIONS.join(', ')}`);
    if (!Number.isInteger(dim) || dim < 1) throw new InvalidArgumentError(op, 'dim', `must be a positive integer`);
    const expected = packed(precision) ? Math.ceil(embeddingDim / 8) : embeddingDim;
    if (dim !== expected)
      throw new InvalidArgumentError(op, 'dim', `must be ${expected} for ${precision} of width ${embeddingDim}`);
    const Want = arrayType(precision);
    if (!(data instanceof Want))
      throw new InvalidArgumentError(op, 'data', `must be a ${Want.name} for precision '${precision}'`);
    if (data.length % dim !== 0)
      throw new InvalidArgumentError(op, 'data', `length ${data.length} is not a multiple of dim ${dim}`);
    this.length = data.length / dim;
    Object.defineProperty(this, EMBEDDINGS_BRAND, { value: true });
  }

  /** `[length, dim]`. */
  get shape(): [number, number] {
    return [this.length, this.dim];
  }

  /** Row `i` as a view into `data` (no copy). */
  row(i: number): EmbeddingData {
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new InvalidArgumentError('Embeddings.row', 'i', `must be an integer in [0, ${this.length}), got ${i}`);
    return this.data.subarray(i * this.dim, (i + 1) * this.dim);
  }

  /** Every row as a view into `data` (no copy). */
  get rows(): EmbeddingData[] {
    return Array.from({ length: this.length }, (_, i) => this.data.subarray(i * this.dim, (i + 1) * this.dim));
  }

  /** The rows as plain `number[][]` (a copy; JSON-friendly). */
  toArray(): number[][] {
    return this.rows.map((r) => Array.from(r));
  }

  [Symbol.iterator](): Iterator<EmbeddingData> {
    return this.rows[Symbol.iterator]();
  }
}

/** Per-dimension `[min, max]` ranges for `int8` / `uint8` quantisation. */
export interface QuantizationRanges {
  min: ArrayLike<number>;
  max: ArrayLike<number>;
}

/** Options of {@link quantizeEmbeddings}. */
export interface QuantizeOptions {
  /** Per-dimension ranges (int8 / uint8). Default: the ranges of `calibration`, else of the embeddings themselves. */
  ranges?: QuantizationRanges;
  /** float32 embeddings to take the ranges from (e.g. a sample of the corpus), when `ranges` is not given. */
  calibration?: Embeddings;
}

/**
 * The per-dimension minimum and maximum of float32 embeddings: the calibration of `int8` / `uint8` quantisation.
 * @throws {InvalidArgumentError} when `embeddings` is not float32 or has no rows.
 */
export function calibrationRanges(embeddings: Embeddings): { min: Float32Array; max: Float32Array } {
  const op = 'calibrationRanges';
  assertEmbeddings(op, 'embeddings', embeddings);
  if (embeddings.precision !== 'float32')
    throw new InvalidArgumentError(op, 'embeddings', `must be float32, got ${embeddings.precision}`);
  if (embeddings.length === 0) throw new InvalidArgumentError(op, 'embeddings', 'must hold at least one row');
  const { dim, data } = embeddings;
  const min = new Float32Array(dim).fill(Infinity);
  const max = new Float32Array(dim).fill(-Infinity);
  for (let i = 0; i < data.length; i++) {
    const k = i % dim;
    const v = data[i]!;
    if (v < min[k]!) min[k] = v;
    if (v > max[k]!) max[k] = v;
  }
  return { min, max };
}

/**
 * Quantises float32 embeddings as sentence-transformers' `quantize_embeddings` does:
 * - `int8`: `trunc((x − min_k) / step_k − 128)` with `step_k = (max_k − min_k) / 255`, per dimension k;
 * - `uint8`: `trunc((x − min_k) / step_k)`;
 * - `binary`: the sign bits `x > 0`, packed 8 to a byte, most significant bit first (numpy's `packbits`), minus 128,
 *   as int8; `ubinary`: the same bytes unshifted, as uint8. A row's last byte is padded with zero bits.
 * - `float32`: the embeddings themselves.
 *
 * The ranges come from `options.ranges`, else from `options.calibration`, else (as in sentence-transformers) from the
 * embeddings being quantised, which makes a single row quantise to extremes: pass ranges or a calibration set for
 * anything but a whole corpus. Departure: a value outside its range is clamped to [−128, 127] ([0, 255] for uint8);
 * numpy's cast would wrap it around. A dimension whose range is empty (`min = max`) maps to −128 (0 for uint8).
 *
 * @throws {InvalidArgumentError} naming the argument: embeddings not float32, an unknown precision, ranges of the
 *   wrong width. @throws {NonFiniteError} for NaN or ±Infinity in the embeddings or the ranges.
 */
export function quantizeEmbeddings(
  embeddings: Embeddings,
  precision: EmbeddingPrecision,
  options: QuantizeOptions = {},
): Embeddings {
  const op = 'quantizeEmbeddings';
  assertEmbeddings(op, 'embeddings', embeddings);
  if (embeddings.precision !== 'float32')
    throw new InvalidArgumentError(op, 'embeddings', `must be float32 to quantise, got ${embeddings.precision}`);
  if (!EMBEDDING_PRECISIONS.includes(precision))
    throw new InvalidArgumentError(
      op,
      'precision',
      `must be one of ${EMBEDDING_PRECISIONS.join(', ')}, got ${JSON.stringify(precision)}`,
    );
  const { data, dim, length: n } = embeddings;
  assertFinite(op, 'embeddings', data);
  if (precision === 'float32') return embeddings;
  if (packed(precision)) {
    const bytes = Math.ceil(dim / 8);
    const out = new Uint8Array(n * bytes);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < dim; k++) if (data[i * dim + k]! > 0) out[i * bytes + (k >> 3)]! |= 0x80 >> (k & 7);
    if (precision === 'ubinary') return new Embeddings(out, bytes, 'ubinary', dim);
    const signed = new Int8Array(out.length);
    for (let j = 0; j < out.length; j++) signed[j] = out[j]! - 128;
    return new Embeddings(signed, bytes, 'binary', dim);
  }
  let ranges = options.ranges;
  if (ranges === undefined) ranges = calibrationRanges(options.calibration ?? embeddings);
  else {
    for (const key of ['min', 'max'] as const) {
      const r = ranges[key];
      if (r === undefined || r.length !== dim)
        throw new InvalidArgumentError(op, `options.ranges.${key}`, `must hold ${dim} values, got ${r?.length}`);
      assertFinite(op, `options.ranges.${key}`, r);
    }
  }
  if (options.calibration !== undefined && options.calibration.dim !== dim)
    throw new InvalidArgumentError(op, 'options.calibration', `must have dim ${dim}, got ${options.calibration.dim}`);
  const signed = precision === 'int8';
  const out = signed ? new Int8Array(n * dim) : new Uint8Array(n * dim);
  const lo = signed ? -128 : 0;
  const hi = signed ? 127 : 255;
  for (let k = 0; k < dim; k++) {
    const start = ranges.min[k]!;
    const step = (ranges.max[k]! - start) / 255;
    for (let i = 0; i < n; i++) {
      const x = step > 0 ? (data[i * dim + k]! - start) / step : 0;
      const q = Math.trunc(signed ? x - 128 : x);
      out[i * dim + k] = q < lo ? lo : q > hi ? hi : q;
    }
  }
  return new Embeddings(out, dim, precision);
}

/** Rows accepted by {@link cosineSimilarity}: {@link Embeddings}, or plain rows of numbers. */
export type EmbeddingRows = Embeddings | readonly (readonly number[])[] | readonly Float32Array[];

/**
 * The cosine similarity of every row of `a` with every row of `b` (`b` defaults to `a`): an `a.length × b.length`
 * matrix, as sentence-transformers' `model.similarity` returns. float32, int8 and uint8 rows are compared as numbers
 * (they may be mixed). Packed `binary` / `ubinary` rows are compared as the ±1 sign vectors they encode:
 * cos = 1 − 2·hamming / embeddingDim (their padding bits are zero on both sides and do not count). A zero row has
 * cosine 0 with everything.
 *
 * @throws {InvalidArgumentError} rows of different widths, or a packed precision compared with an unpacked one.
 */
export function cosineSimilarity(a: EmbeddingRows, b: EmbeddingRows = a): number[][] {
  const { A, B, score } = comparable('cosineSimilarity', a, b);
  return A.rows.map((u) => B.rows.map((v) => score(u, v)));
}

/**
 * The cosine similarity of row i of `a` with row i of `b`, for every i: the diagonal of {@link cosineSimilarity}
 * without the matrix (sentence-transformers' `similarity_pairwise`). Same rules for each precision.
 * @throws {InvalidArgumentError} as {@link cosineSimilarity}, or when `a` and `b` hold different numbers of rows.
 */
export function cosineSimilarityPairwise(a: EmbeddingRows, b: EmbeddingRows): number[] {
  const op = 'cosineSimilarityPairwise';
  const { A, B, score } = comparable(op, a, b);
  if (A.rows.length !== B.rows.length)
    throw new InvalidArgumentError(op, 'b', `must hold ${A.rows.length} rows as 'a' does, got ${B.rows.length}`);
  return A.rows.map((u, i) => score(u, B.rows[i]!));
}

type Rows = ReturnType<typeof toRows>;

function comparable(
  op: string,
  a: EmbeddingRows,
  b: EmbeddingRows,
): { A: Rows; B: Rows; score: (u: ArrayLike<number>, v: ArrayLike<number>) => number } {
  const A = toRows(op, 'a', a);
  const B = toRows(op, 'b', b);
  if (A.packed !== B.packed || (A.packed && A.precision !== B.precision))
    throw new InvalidArgumentError(op, 'b', `cannot compare ${B.precision} rows with ${A.precision} rows`);
  if (A.width !== B.width && A.rows.length > 0 && B.rows.length > 0)
    throw new InvalidArgumentError(op, 'b', `rows must have width ${A.width} as in 'a', got ${B.width}`);
  if (A.packed) {
    return {
      A,
      B,
      score: (u, v) => {
        let hamming = 0;
        for (let j = 0; j < u.length; j++) hamming += POPCOUNT[(u[j]! ^ v[j]!) & 0xff]!;
        return 1 - (2 * hamming) / A.bits;
      },
    };
  }
  return {
    A,
    B,
    score: (u, v) => {
      const d = norm(u) * norm(v);
      if (d === 0) return 0;
      let s = 0;
      for (let k = 0; k < u.length; k++) s += u[k]! * v[k]!;
      return s / d;
    },
  };
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, x) => {
  let c = 0;
  for (let y = x; y; y >>= 1) c += y & 1;
  return c;
});

function norm(u: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < u.length; k++) s += u[k]! * u[k]!;
  return Math.sqrt(s);
}

function toRows(
  op: string,
  arg: string,
  value: EmbeddingRows,
): { rows: ArrayLike<number>[]; width: number; packed: boolean; bits: number; precision: string } {
  if (value instanceof Embeddings) {
    // Signed packed bytes need no shift back: byte − 128 only flips the top bit, on both sides of the XOR.
    const { rows, dim: width, precision, embeddingDim: bits } = value;
    return { rows, width, packed: packed(precision), bits, precision };
  }
  if (!Array.isArray(value))
    throw new InvalidArgumentError(op, arg, 'must be Embeddings or an array of rows (number[][] or Float32Array[])');
  const rows = value as ArrayLike<number>[];
  const width = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (!(Array.isArray(r) || r instanceof Float32Array))
      throw new InvalidArgumentError(op, `${arg}[${i}]`, 'must be a number[] or a Float32Array');
    if (r.length !== width)
      throw new InvalidArgumentError(op, `${arg}[${i}]`, `must have width ${width} as row 0, got ${r.length}`);
    assertFinite(op, `${arg}[${i}]`, r);
  });
  return { rows, width, packed: false, bits: width, precision: 'float32' };
}

function assertEmbeddings(op: string, arg: string, value: unknown): asserts value is Embeddings {
  if (!(value instanceof Embeddings))
    throw new InvalidArgumentError(op, arg, 'must be Embeddings (what SentenceEmbedder.encode returns)');
}

function assertFinite(op: string, arg: string, values: ArrayLike<number>): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i])) {
      if (first < 0) first = i;
      count++;
    }
  if (count > 0) throw new NonFiniteError(op, arg, count, first);
}

function packed(precision: EmbeddingPrecision): boolean {
  return precision === 'binary' || precision === 'ubinary';
}

function arrayType(precision: EmbeddingPrecision): typeof Float32Array | typeof Int8Array | typeof Uint8Array {
  return precision === 'float32'
    ? Float32Array
    : precision === 'int8' || precision === 'binary'
      ? Int8Array
      : Uint8Array;
}
