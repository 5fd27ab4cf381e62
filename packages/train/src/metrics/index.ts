/** Evaluation metrics of the recipes (plain arrays, float64). */
export { averagePrecision, meanAveragePrecision } from './average-precision.js';
export type { MeanAveragePrecision } from './average-precision.js';
