/**
 * `@geolip/text/experts` (Node only): pretrained sentence embedders that run offline, each behind an
 * optional peer dependency. Used as consensus experts by `@geolip/train` and as baselines by `@geolip/bench`.
 */
export type { TextExpert } from './types.js';
export { createGloveAvg, tokenize, ENGLISH_STOPWORDS, GLOVE_DIM, type GloveAvgOptions } from './glove-avg.js';
export { createUseLite, USE_LITE_DIM } from './use-lite.js';
