/**
 * @geolip/train — training machinery shared by the text, vision and diffusion recipes.
 *
 * Landed so far: the losses (InfoNCE, MSE, CV, CM validity, BCE with label smoothing, cross-entropy,
 * spread, geo diversity, Procrustes alignment), the mastery queue, and the consensus pipeline
 * (experts → GPA → PCA → whitened Procrustes projectors → normalized-centroid targets, with mergeable
 * statistics and safetensors save/load). The training loop, checkpoints and the geolip-train CLI are
 * not built yet (see README).
 */
export * from './losses/index.js';
export { MasteryQueue } from './mastery-queue.js';
export type {
  MasteryEpochStats,
  MasteryLossResult,
  MasteryQueueOptions,
  MasteryQueueState,
  MasteryResize,
  MasteryStepStats,
} from './mastery-queue.js';
export * from './consensus/index.js';
export * from './loop/index.js';
export * from './checkpoint/index.js';
export { parseNpy, readExpertFeatures } from './io/expert-features.js';
export { RECIPES } from './cli.js';
export type { Recipe, RecipeIo, RecipeRunOptions } from './recipes/types.js';
export { EXIT_INTERRUPTED } from './recipes/types.js';
export { writeFileAtomic } from './io/write-atomic.js';
