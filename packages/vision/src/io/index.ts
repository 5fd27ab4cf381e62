/** `@geolip/vision/io` (Node): image and dataset input. */
export {};
export * from './image.js';
export * from './jpeg.js';
export * from './preprocess.js';
export * from './idx.js';
export * from './fashion-mnist.js';
export * from './batches.js';
