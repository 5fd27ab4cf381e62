/**
 * Float64 linear algebra on the CPU: the decompositions tfjs lacks (SVD, symmetric eigen, LU,
 * Cholesky, QR) plus the matrix functions the alignment code needs. Exposed as the `linalg`
 * namespace of `@geolip/geometry`.
 */
export { Matrix, toMatrix, matmul, matmulTransposeA, matmulTransposeB } from './matrix.js';
import type { MatrixLike as MatrixLikeOf } from './matrix.js';
// A local alias, not `export type { MatrixLike } from`: the bundled declarations (rollup-plugin-dts) turned that
// re-export into `declare const index_MatrixLike: typeof MatrixLike` inside the `linalg` namespace, which breaks
// `tsc` in any consumer with `skipLibCheck: false` (test/declarations.test.ts checks the built files).
/** Anything that converts to a float64 {@link Matrix}: a `Matrix`, rows of numbers or a `tf.Tensor2D`. */
export type MatrixLike = MatrixLikeOf;
export { svd } from './svd.js';
export type { SvdOptions, SvdResult } from './svd.js';
export { eigh } from './eigh.js';
export type { EighOptions, EighResult } from './eigh.js';
export { lu, det, solve, inverse } from './lu.js';
export type { LuResult } from './lu.js';
export { cholesky } from './cholesky.js';
export { qr } from './qr.js';
export type { QrResult } from './qr.js';
export { inverseSqrt, sqrtm, polarFactor } from './inverse-sqrt.js';
export type { InverseSqrtOptions, SqrtmOptions } from './inverse-sqrt.js';
