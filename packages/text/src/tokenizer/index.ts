export { BertTokenizer, BERT_SPECIAL_TOKENS, toTensors } from './bert-tokenizer.js';
export type {
  BatchEncoding,
  BertSpecialToken,
  DecodeOptions,
  EncodeBatchOptions,
  EncodeOptions,
  Encoding,
} from './bert-tokenizer.js';
export { loadBertUncasedTokenizer, bundledVocabPath, BERT_UNCASED_VOCAB_FILE } from './bundled.js';
export {
  basicTokenize,
  cleanText,
  isCjkIdeograph,
  isControl,
  isPunctuation,
  isWhitespace,
  splitOnPunctuation,
  stripAccents,
} from './basic.js';
export { wordpieceTokenize } from './wordpiece.js';
export { bertTokenizerFromJson, bertTokenizerToJson } from './tokenizer-json.js';
