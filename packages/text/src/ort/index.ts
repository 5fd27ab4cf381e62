/**
 * `@geolip/text/ort` (Node): the text models on onnxruntime-node, an optional peer dependency loaded at run time.
 * `loadGeolipText({ runtime: 'ort' })` of the main entry point comes here.
 */
export {
  ORT_INSTALL_HINT,
  OrtSentenceEmbedder,
  loadGeolipTextOrt,
  loadOnnxRuntime,
  onnxRuntimeVersion,
} from './ort-embedder.js';
export type { OrtDevice, OrtEmbedderOptions } from './ort-embedder.js';
