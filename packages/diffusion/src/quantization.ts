import { InvalidArgumentError, Matrix, pentachoronCV } from '@geolip/geometry';
import { float16BitsToFloat32, float32ToFloat16Bits } from '@geolip/io';

/** The precisions {@link quantizationCv} compares (the card's "CV across precisions"). */
export type EmbeddingPrecision = 'fp32' | 'fp16' | 'int8' | 'binary';

/** The precisions in the order {@link quantizationCv} reports them. */
export const EMBEDDING_PRECISIONS: readonly EmbeddingPrecision[] = Object.freeze(['fp32', 'fp16', 'int8', 'binary']);

function checkRows(op: string, rows: ArrayLike<number>, dim: number): number {
  if (!Number.isInteger(dim) || dim < 1)
    throw new InvalidArgumentError(op, 'dim', `must be a positive integer, got ${String(dim)}`);
  if (rows === null || typeof rows !== 'object' || typeof rows.length !== 'number' || rows.length % dim !== 0)
    throw new InvalidArgumentError(op, 'rows', `must be an array of N·${dim} numbers (N rows of dim = ${dim})`);
  return rows.length / dim;
}

/**
 * Embeddings `[N·D]` (row-major) stored at a lower precision and read back, then each row put back on the unit
 * sphere (x / ‖x‖; a zero row stays zero). [INFER] schemes:
 *
 *     fp32:   fround(x)
 *     fp16:   nearest IEEE half (ties to even), as safetensors F16 stores it
 *     int8:   per row, q = round(127·x / max|x|) ∈ [−127, 127], x̂ = q·max|x| / 127   (symmetric absmax)
 *     binary: 1 bit per value, x̂ = sign(x) / √D with sign(0) = +1   (already unit)
 *
 * @param rows - `[N·D]` embeddings.
 * @param dim - D.
 * @param precision - one of {@link EMBEDDING_PRECISIONS}.
 * @returns `[N·D]` float64 unit rows.
 * @throws {InvalidArgumentError} Naming `dim`, `rows` (not N·D numbers) or `precision`.
 * @example
 * quantizeEmbeddings([0.6, -0.8], 2, 'binary'); // [0.7071…, −0.7071…]
 */
export function quantizeEmbeddings(rows: ArrayLike<number>, dim: number, precision: EmbeddingPrecision): Float64Array {
  const op = 'quantizeEmbeddings';
  const n = checkRows(op, rows, dim);
  if (!EMBEDDING_PRECISIONS.includes(precision)) {
    throw new InvalidArgumentError(
      op,
      'precision',
      `must be one of 'fp32', 'fp16', 'int8', 'binary', got ${JSON.stringify(precision) ?? String(precision)}`,
    );
  }
  const out = new Float64Array(n * dim);
  for (let r = 0; r < n; r++) {
    const o = r * dim;
    if (precision === 'int8') {
      let absMax = 0;
      for (let j = 0; j < dim; j++) absMax = Math.max(absMax, Math.abs(rows[o + j]!));
      for (let j = 0; j < dim; j++)
        out[o + j] = absMax === 0 ? 0 : (Math.round((127 * rows[o + j]!) / absMax) * absMax) / 127;
    } else {
      for (let j = 0; j < dim; j++) {
        const v = rows[o + j]!;
        out[o + j] =
          precision === 'fp32'
            ? Math.fround(v)
            : precision === 'fp16'
              ? float16BitsToFloat32(float32ToFloat16Bits(v))
              : (v >= 0 ? 1 : -1) / Math.sqrt(dim);
      }
    }
    let sq = 0;
    for (let j = 0; j < dim; j++) sq += out[o + j]! ** 2;
    const norm = Math.sqrt(sq);
    if (norm > 0) for (let j = 0; j < dim; j++) out[o + j]! /= norm;
  }
  return out;
}

/** Options of {@link quantizationCv}. */
export interface QuantizationCvOptions {
  /** Simplices sampled per precision (spec §2.1 `cv_metric`: 200). */
  samples?: number;
  /** Seed of the simplex sampler, the same for every precision (so they measure the same simplices). Default 0. */
  seed?: number;
  /** Only the first `pool` rows are eligible (spec §2.1: 512). */
  pool?: number;
}

/** {@link quantizationCv}'s result. */
export interface QuantizationCv {
  /** Pentachoron CV at each precision (NaN when fewer than 10 simplices are valid). */
  cv: Record<EmbeddingPrecision, number>;
  /** max − min of the four CVs. */
  spread: number;
  /** spread / cv.fp32: the card's invariance claim is that this is small. */
  relativeSpread: number;
}

/**
 * The pentachoron CV (spec §2.1: 5-point simplices of the first 512 rows, 200 samples, CV = std / mean of the
 * volumes) of one set of embeddings stored at fp32, fp16, 8 bits and 1 bit ({@link quantizeEmbeddings}), with the
 * same sampled simplices at every precision: the card's "CV invariance across precisions".
 *
 *     cv_p = pentachoronCV(quantizeEmbeddings(rows, D, p), { samples, seed, pool })
 *     spread = max_p cv_p − min_p cv_p,   relativeSpread = spread / cv_fp32
 *
 * @param rows - `[N·D]` embeddings, N ≥ 5.
 * @param dim - D.
 * @throws {InvalidArgumentError} As {@link quantizeEmbeddings}, or bad options (from `pentachoronCV`).
 * @throws {ShapeError} From `pentachoronCV` when N < 5.
 * @example
 * quantizationCv(embeddings, 128).cv.binary; // the CV of the sign bits of 128-d embeddings
 */
export function quantizationCv(
  rows: ArrayLike<number>,
  dim: number,
  options: QuantizationCvOptions = {},
): QuantizationCv {
  const n = checkRows('quantizationCv', rows, dim);
  const cv = {} as Record<EmbeddingPrecision, number>;
  for (const p of EMBEDDING_PRECISIONS) {
    const m = new Matrix(n, dim, quantizeEmbeddings(rows, dim, p));
    cv[p] = pentachoronCV(m, {
      samples: options.samples ?? 200,
      seed: options.seed ?? 0,
      pool: options.pool ?? 512,
    }).cv;
  }
  const values = EMBEDDING_PRECISIONS.map((p) => cv[p]);
  const spread = Math.max(...values) - Math.min(...values);
  return { cv, spread, relativeSpread: spread / cv.fp32 };
}
