/**
 * Task heads on a frozen sentence embedding (the CaptionBERT card's uses): similarity regression, NLI,
 * multi-label tagging, sentiment, and the paraphrase cosine threshold. Each head with weights is a `@geolip/nn`
 * `Module` with a `loss(batch)`, so `train()` of `@geolip/train` trains it as is.
 */
export { SimilarityHead } from './similarity-head.js';
export type { SimilarityBatch, SimilarityHeadOptions, SimilarityPairInput } from './similarity-head.js';
export { NLI_LABELS, NliHead } from './nli-head.js';
export type { NliBatch, NliHeadOptions, NliLabel } from './nli-head.js';
export { TaggingHead } from './tagging-head.js';
export type { TaggingBatch, TaggingHeadOptions } from './tagging-head.js';
export { SentimentHead } from './sentiment-head.js';
export type { SentimentBatch, SentimentHeadOptions } from './sentiment-head.js';
export { ParaphraseThreshold } from './paraphrase-threshold.js';
export type { ParaphraseFit, ParaphraseThresholdJSON } from './paraphrase-threshold.js';
export { pairFeatures } from './pair-features.js';
export type { EmbeddingInput, HeadLayout, VectorInput } from './inputs.js';
