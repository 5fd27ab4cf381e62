export type { NumericArray } from './check.js';
export { rank, pearson, spearman } from './correlation.js';
export { rocAuc, classificationAt, bestThreshold, thresholdedEvaluation } from './classification.js';
export type {
  ClassificationMetrics,
  ThresholdMetric,
  BestThresholdOptions,
  ThresholdedEvaluationInput,
  ThresholdedEvaluation,
} from './classification.js';
export { averagePrecision, meanAveragePrecision, recallAtK } from './ranking.js';
export type { MeanAveragePrecision, RetrievalRelevance, RecallAtK } from './ranking.js';
