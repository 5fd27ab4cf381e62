export { FashionMnistClassifier, GEOLIP_FMNIST_WEIGHTS_FILE, dualStreamFromSafetensors, loadGeolipFashionMnist } from './fashion-mnist-classifier.js';
export type { AnchorLabel, ClassifyOptions, DualStreamWeights, FashionMnistPrediction, NearAnchor } from './fashion-mnist-classifier.js';
export { fashionMnistInput } from './fashion-mnist-input.js';
export type { FashionMnistInputOptions, RasterImage } from './fashion-mnist-input.js';
export { DUAL_STREAM_VIT_TYPE, fromPretrained, parseDualStreamViTConfig, visionModels } from './models.js';
