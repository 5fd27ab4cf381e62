/**
 * @geolip/train — the training engine shared by the text, vision and diffusion recipes.
 *
 * The losses (InfoNCE, MSE, CV, CM validity, BCE with label smoothing, cross-entropy, spread, geo diversity,
 * Procrustes alignment), metrics, the mastery queue, the consensus pipeline (experts → GPA → PCA → whitened
 * Procrustes projectors → normalized-centroid targets, with mergeable statistics and safetensors save/load), the
 * training loop (`train` with AdamW, warmup-cosine schedules, gradient clipping, early stop and an abort signal),
 * checkpoints with resume, and the recipes the `geolip-train` CLI runs (see README).
 */
export * from './losses/index.js';
export * from './metrics/index.js';
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
