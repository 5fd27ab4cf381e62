export { AdamW, defaultNoWeightDecay, isAnchorName } from './adamw.js';
export type { AdamWOptions, AdamWState, AdamWStepOptions } from './adamw.js';
export { clipByGlobalNorm, constantLr, globalNorm, warmupCosine } from './schedule.js';
export type { LrSchedule, WarmupCosineOptions } from './schedule.js';
export { train, TrainNonFiniteError } from './train.js';
export type {
  EarlyStopOptions,
  StepContext,
  TrainableModel,
  TrainOptions,
  TrainRecord,
  TrainSummary,
} from './train.js';
export { formatDuration, formatProgress } from './progress.js';
