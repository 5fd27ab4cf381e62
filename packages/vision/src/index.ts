/**
 * `@geolip/vision`: GeoLIP vision models built from `@geolip/nn` blocks and `@geolip/anchors`.
 * Node-only subpath `@geolip/vision/io`: JPEG and IDX files, image preprocessing, batch streams.
 */

// Models (src/models/): the ViT student and the base-tier soup.
export { ViTEncoder, VIT_STUDENT_CONFIG, VIT_POOLINGS } from './models/vit-encoder.js';
export type { ViTEncoderConfig, ViTEncoderOptions, VitInit, VitPooling } from './models/vit-encoder.js';
export { BaseTierSoup, BASE_TIER_SOUP_CONFIG } from './models/base-tier-soup.js';
export { ViTClassifier, vitClassifierClasses, vitClassifierFromSafetensors } from './models/vit-classifier.js';
export type { ViTClassifierOptions } from './models/vit-classifier.js';
export { VISION_ONNX_NAMES, vitClassifierToOnnx, vitEncoderToOnnx } from './onnx/vit-onnx.js';
export type { VitOnnxOptions } from './onnx/vit-onnx.js';
export type {
  BaseTierSoupConfig,
  BaseTierSoupForwardOptions,
  BaseTierSoupOptions,
  BaseTierSoupOutput,
  ProjectorInit,
} from './models/base-tier-soup.js';
export * from './david/index.js';
// Dual-Stream ViT (src/dual-stream/): KSimplex features, dual-stream and cross blocks, the v1/v6 presets.
export * from './dual-stream/index.js';
// The bundled Fashion-MNIST classifier (src/pretrained/): weights loader, classifier, picture → input.
export * from './pretrained/index.js';
// Baselines on frozen features (src/probes/): a linear probe and a cosine k-NN classifier.
export * from './probes/index.js';
