/**
 * `@geolip/io`: GeoLIP's weights layer, browser-safe (file-system helpers are in `@geolip/io/node`).
 *
 * - safetensors: `readSafetensors`, `writeSafetensors`, `toFloat32`, `entryToTensor`, float16/bfloat16 bits;
 * - PyTorch `.pt`: `readTorchStateDict`, `readTorchCheckpoint` (nested training checkpoints), no code run;
 * - NumPy `.npy`: `parseNpy`;
 * - byte sources: `readBinarySource` (bytes, a path under Node, `file:`/`http(s):`/`blob:`/`data:` URLs);
 * - the model metadata contract: `writeModelMetadata`, `readModelMetadata`;
 * - ONNX: a protobuf writer for `.onnx` files (`OnnxGraphBuilder`, `modelProto`, …) that the model packages' exports
 *   build on.
 */
export * from './safetensors/index.js';
export {
  ALLOWED_GLOBALS,
  CONFIG_KEYS,
  MAX_NESTING,
  STATE_DICT_KEYS,
  readTorchCheckpoint,
  readTorchStateDict,
} from './torch/read-torch.js';
export type { ReadTorchOptions, TorchCheckpoint } from './torch/read-torch.js';
export { parseNpy } from './npy.js';
export { readBinarySource } from './source.js';
export type { BinarySource } from './source.js';
export { parseWeightsFile, readWeightsFile } from './weights-file.js';
export type { WeightsFile, ReadWeightsFileOptions } from './weights-file.js';
export {
  LEGACY_MODEL_KEYS,
  LEGACY_MODEL_TYPES,
  MODEL_METADATA_FORMAT,
  MODEL_METADATA_KEYS,
  readModelMetadata,
  writeModelMetadata,
} from './metadata.js';
export type { ModelMetadata, ModelMetadataInput } from './metadata.js';
export * from './onnx/index.js';
