/**
 * `@geolip/export` (Node): GeoLIP models as ONNX files in the folder layout transformers.js loads from a local
 * directory, and the `geolip-export` CLI. The graphs themselves come from the model packages
 * (`captionEncoderToOnnx` in `@geolip/text`, `vitClassifierToOnnx` in `@geolip/vision`) on `@geolip/io`'s ONNX writer.
 */
export { DEFAULT_VARIANTS, EXPORT_VARIANTS, formatBytes, variantFile } from './layout.js';
export type { ExportProgress, ExportVariant, ExportedFile } from './layout.js';
export { exportTextModel } from './text.js';
export type { ExportTextOptions, ExportTextResult } from './text.js';
export { exportVisionModel } from './vision.js';
export type { ExportVisionOptions, ExportVisionResult } from './vision.js';
export { main, program } from './cli.js';
