/**
 * `@geolip/vision/experts` (Node only): pretrained image backbones that run offline, their weights inside npm
 * packages that are optional peer dependencies. Used as consensus experts by `@geolip/train` and as image
 * models by `@geolip/bench`.
 */
export type { ImageExpert, ImageExpertOptions, ImageFit } from './types.js';
export { createMobileNetV2, createInceptionV3, MOBILENET_V2_DIM, INCEPTION_V3_DIM } from './nsfwjs.js';
export { createNanoDet, NANODET_DIM, NANODET_SIDE, NANODET_FEATURE_NODE } from './nanodet.js';
export { fileSystemIOHandler, bundledModelIOHandler } from './io-handlers.js';
