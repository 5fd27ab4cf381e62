/**
 * `@geolip/text/corpus` (Node): unlabeled English text for distillation corpora: WordNet glosses and
 * examples, fortune quotations, and `buildCorpus` to merge, filter, deduplicate and cap named sources.
 */
export { WORDNET_PARTS, loadWordnet, parseWordnetData } from './wordnet.js';
export type { WordnetText } from './wordnet.js';
export { FORTUNE_EXCLUDED_FILES, loadFortunes, parseFortunes } from './fortunes.js';
export type { FortuneOptions } from './fortunes.js';
export { buildCorpus, normalizeSentence } from './build.js';
export type { BuildCorpusOptions, Corpus, CorpusSource, CorpusSourceCount } from './build.js';
