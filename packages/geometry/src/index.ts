/**
 * @geolip/geometry — the math core of GeoLIP.
 *
 * - sphere: normalize, geodesicDistance, slerp, tangentProject, expMap, logMap, sampleSphere
 * - simplex: cayleyMengerDeterminant, simplexVolume(Squared), simplexValidity
 * - cv: pentachoronCV, cvLoss, targetCV, cvMultiScale, sampleSimplexIndices, cvFromSquaredVolumes
 * - linalg (namespace, float64): Matrix, eigh, svd, lu/det/solve/inverse, cholesky, qr, inverseSqrt
 * - alignment (float64): procrustes, whiten, whitenedProcrustes, gpa, pca
 * - stats: mergeable streaming moments (mean, covariance, cross-covariance)
 * - diagnostics: effectiveDimension, selfSimilarity, knnAccuracy, sameDiffGap
 * - errors: GeolipError and its subclasses
 *
 * Backend selection lives in `@geolip/geometry/backend`, gpu.js kernels in `@geolip/geometry/gpu`,
 * test matchers in `@geolip/geometry/testing`.
 */
export * from './errors.js';
export * from './sphere/index.js';
export * from './simplex/index.js';
export * from './cv/index.js';
export * as linalg from './linalg/index.js';
export { Matrix, toMatrix } from './linalg/matrix.js';
export type { MatrixLike } from './linalg/matrix.js';
export * from './alignment/index.js';
export * from './stats/index.js';
export * from './diagnostics/index.js';
export { createRng } from './random/rng.js';
export type { Rng } from './random/rng.js';
