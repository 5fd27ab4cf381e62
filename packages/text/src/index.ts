/**
 * `@geolip/text`: GeoLIP text models. What exists so far is the BERT-uncased WordPiece tokenizer
 * (issue 7, first item); the CaptionBERT encoder, weight loading and heads come next.
 */
export * from './tokenizer/index.js';
export { ALLOWED_GLOBALS, readTorchStateDict } from './torch/read-torch.js';
export { CAPTION_BERT_CONFIG, CaptionEncoder } from './caption-encoder.js';
export type { CaptionEncoderConfig } from './caption-encoder.js';
