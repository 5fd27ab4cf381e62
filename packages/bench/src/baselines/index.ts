/** Offline baseline embedders (each needs an optional peer dependency). */
export { createGloveAvg, tokenize, ENGLISH_STOPWORDS, GLOVE_DIM, type GloveAvgOptions } from './glove-avg.js';
export { createUseLite, USE_LITE_DIM } from './use-lite.js';
