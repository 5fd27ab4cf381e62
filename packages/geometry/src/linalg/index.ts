/**
 * Float64 linear algebra on the CPU: the decompositions tfjs lacks (SVD, symmetric eigen, LU,
 * Cholesky, QR) plus the matrix functions the alignment code needs. Exposed as the `linalg`
 * namespace of `@geolip/geometry`.
 */
export { Matrix, toMatrix, matmul, matmulTransposeA, matmulTransposeB } from './matrix.js';
export type { MatrixLike } from './matrix.js';
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
