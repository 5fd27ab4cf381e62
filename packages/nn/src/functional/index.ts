/**
 * Functional forms of the blocks' elementwise and normalization pieces. Each takes the fast path
 * (a kernel registered by `@geolip/nn/backend`) when the active backend has one, and otherwise the
 * composed tfjs ops, which are the reference every fast path is parity-tested against.
 */
export { gelu, biasGelu } from './gelu.js';
export type { GeluApproximation } from './gelu.js';
export { layerNorm, composedLayerNorm } from './layer-norm.js';
export { linear } from './linear.js';
export { adamwStep } from './adamw.js';
export type { AdamWStepScalars } from './adamw.js';
export { scaledDotProductAttention } from './attention.js';
export type { ScaledDotProductAttentionOptions } from './attention.js';
