/**
 * @geolip/train — the GeoLIP training engine: losses (InfoNCE, MSE, CV, CM validity, BCE with label smoothing,
 * cross-entropy, spread, geo diversity, Procrustes alignment), the mastery queue, the consensus pipeline
 * (experts → GPA → PCA → whitened Procrustes projectors → normalized-centroid targets, with mergeable
 * statistics and safetensors save/load), the training loop (`train`, AdamW, warmup-cosine, clipping, evaluation
 * hooks, JSON-lines metrics), bit-exact checkpoints (and compact F16 ones, resumed with a re-warm-up), and the recipe
 * kit (`defineRecipe`, the shared config blocks, `RecipeRun`, `runRecipe`). It imports no model package: the recipes
 * and the `geolip-train` CLI are in `@geolip/recipes`.
 */
export * from './losses/index.js';
export { MasteryQueue } from './mastery-queue.js';
export { EmbeddingQueue } from './embedding-queue.js';
export type { EmbeddingQueueOptions, EmbeddingQueueState } from './embedding-queue.js';
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
export * from './recipe-kit/index.js';
export { readExpertFeatures } from './io/expert-features.js';
export { readWeightsAsync } from './io/read-weights.js';
export type { HostWeight } from './io/read-weights.js';
export { encodeGrayPng } from './io/png.js';
