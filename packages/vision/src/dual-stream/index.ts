export { KSimplexFeatures, regularSimplexTemplate, simplexEdgePairs } from './ksimplex.js';
export type { KSimplexFeaturesOptions, KSimplexFeaturesOutput } from './ksimplex.js';
export { CrossBlock, DualStreamBlock } from './blocks.js';
export type { CrossBlockOptions, CrossBlockOutput, DualStreamBlockOptions, DualStreamBlockOutput } from './blocks.js';
export {
  DualStreamViT,
  DUAL_STREAM_V1,
  DUAL_STREAM_V5,
  DUAL_STREAM_V5_BIDIR,
  DUAL_STREAM_V6,
  DUAL_STREAM_AUTOGRAD,
} from './dual-stream-vit.js';
export type {
  DualStreamViTConfig,
  DualStreamViTForwardOptions,
  DualStreamViTOptions,
  DualStreamViTOutput,
} from './dual-stream-vit.js';
