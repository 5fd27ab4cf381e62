/**
 * The safetensors format (Hugging Face), in memory and browser-safe, split by concept: `types`, `dtypes` (item sizes,
 * little-endian coding), `float16` (F16/BF16 bit patterns), `header` (the strict JSON parser), `read`, `write` and
 * `tensor` (entries to float32 arrays and tfjs tensors).
 */
export { SAFETENSORS_DTYPES, SAFETENSORS_MAX_HEADER_BYTES } from './dtypes.js';
export { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from './float16.js';
export { readSafetensors } from './read.js';
export { writeSafetensors } from './write.js';
export { entryToTensor, toFloat32 } from './tensor.js';
export type {
  ReadSafetensorsOptions,
  SafetensorArrayInput,
  SafetensorDataByDtype,
  SafetensorEntry,
  SafetensorEntryOf,
  SafetensorInput,
  SafetensorsContents,
  SafetensorsDtype,
} from './types.js';
