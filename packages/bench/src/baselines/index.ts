/**
 * Offline baseline embedders (each needs an optional peer dependency). They live in @geolip/text
 * (Node-only subpath `@geolip/text/experts`) and are re-exported here unchanged.
 */
export { createGloveAvg, tokenize, ENGLISH_STOPWORDS, GLOVE_DIM, type GloveAvgOptions } from '@geolip/text/experts';
export { createUseLite, USE_LITE_DIM } from '@geolip/text/experts';
