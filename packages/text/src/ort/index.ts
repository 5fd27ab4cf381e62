/**
 * `@geolip/text/ort` (Node): the text models on onnxruntime-node, an optional peer dependency loaded at run time.
 * `loadGeolipText({ runtime: 'ort' })` of the main entry point comes here.
 */
export {
  ORT_INSTALL_HINT,
  OrtSentenceEmbedder,
  captionEncoderOnnxFromFile,
  loadGeolipTextOrt,
  loadOnnxRuntime,
  onnxRuntimeVersion,
} from './ort-embedder.js';
export type { OrtDevice, OrtEmbedderOptions, TextOnnxModel } from './ort-embedder.js';
