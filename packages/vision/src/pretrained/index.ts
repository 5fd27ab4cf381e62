export {
  FashionMnistClassifier,
  GEOLIP_FMNIST_WEIGHTS_FILE,
  dualStreamFromSafetensors,
  loadGeolipFashionMnist,
} from './fashion-mnist-classifier.js';
export type {
  AnchorLabel,
  ClassifyOptions,
  FashionMnistClassifierOptions,
  DualStreamWeights,
  FashionMnistPrediction,
  NearAnchor,
} from './fashion-mnist-classifier.js';
export { fashionMnistInput } from './fashion-mnist-input.js';
export type { FashionMnistInputOptions, RasterImage } from './fashion-mnist-input.js';
export {
  FMNIST_DUAL_STREAM,
  FMNIST_DUAL_STREAM_V5,
  FMNIST_DUAL_STREAM_V5_BIDIR,
  FMNIST_DUAL_STREAM_V6,
  FMNIST_PLAIN_VIT,
  FMNIST_SMALL_VIT,
} from './fashion-mnist-presets.js';
export { exportFashionMnistWeights, fashionMnistAnchorLabels } from './fashion-mnist-export.js';
export type { FashionMnistExportInput } from './fashion-mnist-export.js';
export {
  BASE_TIER_SOUP_TYPE,
  DUAL_STREAM_VIT_TYPE,
  GEO_FRACTAL_DAVID_TYPE,
  VIT_CLASSIFIER_TYPE,
  VIT_ENCODER_TYPE,
  fromPretrained,
  parseDualStreamViTConfig,
  visionModels,
} from './models.js';
