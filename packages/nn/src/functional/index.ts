/**
 * Functional forms of the blocks' elementwise and normalization pieces. Each takes the fast path
 * (a kernel registered by `@geolip/nn/backend`) when the active backend has one, and otherwise the
 * composed tfjs ops, which are the reference every fast path is parity-tested against.
 */
export { gelu, biasGelu } from './gelu.js';
export type { GeluApproximation } from './gelu.js';
export { layerNorm, composedLayerNorm } from './layer-norm.js';
export { linear } from './linear.js';
export { adamwStep, adamwUpdate } from './adamw.js';
export { sumOfSquares } from './sum-of-squares.js';
export type { AdamWItem } from '../kernels/in-place.js';
export type { AdamWStepScalars } from './adamw.js';
export { simplexVolumes, composedSimplexVolumeSquared, pentachoronCVOnDevice } from './simplex-volumes.js';
export type { SimplexIndices, SimplexVolumesOptions } from './simplex-volumes.js';
export { scaledDotProductAttention } from './attention.js';
export type { ScaledDotProductAttentionOptions } from './attention.js';
