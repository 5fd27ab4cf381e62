/**
 * `@geolip/text`: GeoLIP text models: the BERT-uncased WordPiece tokenizer, the CaptionBERT encoder (with the
 * optional AnchorBank), weight loading from safetensors and PyTorch `.pt`, task heads, and `SentenceEmbedder` /
 * `loadGeolipText` (the bundled consensus-distilled student). Node-only subpaths: `@geolip/text/data` (benchmark
 * loaders), `@geolip/text/experts` (offline expert embedders), `@geolip/text/corpus` (distillation corpora),
 * `@geolip/text/ort` (the models on onnxruntime-node).
 */
export * from './tokenizer/index.js';
export {
  CAPTION_BERT_CONFIG,
  CAPTION_BERT_V2_CONFIG,
  CaptionEncoder,
  captionEncoderParamCount,
} from './caption-encoder.js';
export type { CaptionEncoderConfig } from './caption-encoder.js';
export { CAPTION_BERT_BANK_CONFIG } from './caption-encoder.js';
export * from './heads/index.js';
export {
  GEOLIP_TEXT_WEIGHTS_FILE,
  SentenceEmbedder,
  loadGeolipText,
  shippedTextWeightsPath,
} from './sentence-embedder.js';
export { CAPTION_ENCODER_TYPE, fromPretrained, parseCaptionEncoderConfig, textModels } from './models.js';
export type {
  EncodeOptions,
  EncodeProgress,
  LoadGeolipTextOptions,
  SentenceEmbedderMetadata,
  SentenceEmbedderOptions,
  TextEmbedder,
  TextRuntime,
} from './sentence-embedder.js';
export { chooseTextRuntime } from './runtime-choice.js';
export type { TextRuntimeChoice, TextRuntimeFacts } from './runtime-choice.js';
export {
  calibrationRanges,
  cosineSimilarity,
  cosineSimilarityPairwise,
  EMBEDDING_PRECISIONS,
  Embeddings,
  quantizeEmbeddings,
} from './embeddings.js';
export type { EmbeddingPrecision, EmbeddingRows, QuantizationRanges, QuantizeOptions } from './embeddings.js';
export type { LoadGeolipTextOrtOptions } from './sentence-embedder.js';
export {
  TEXT_ONNX_NAMES,
  captionEncoderOnnxFromFile,
  captionEncoderOnnxFromWeights,
  captionEncoderToOnnx,
} from './onnx/caption-encoder-onnx.js';
export type { CaptionEncoderOnnxOptions, TextOnnxModel } from './onnx/caption-encoder-onnx.js';
