/**
 * `@geolip/geometry` I/O: the safetensors reader and writer (in memory, browser-safe).
 * File-system helpers live elsewhere so that this entry stays free of Node built-ins.
 */
export {
  SAFETENSORS_DTYPES,
  SAFETENSORS_MAX_HEADER_BYTES,
  bfloat16BitsToFloat32,
  entryToTensor,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  readSafetensors,
  toFloat32,
  writeSafetensors,
} from './safetensors.js';
export type {
  ReadSafetensorsOptions,
  SafetensorArrayInput,
  SafetensorDataByDtype,
  SafetensorEntry,
  SafetensorEntryOf,
  SafetensorInput,
  SafetensorsContents,
  SafetensorsDtype,
} from './safetensors.js';
