export {
  ONNX_DTYPE,
  attr,
  concatBytes,
  encodeVarint,
  field,
  graphProto,
  modelProto,
  nodeProto,
  tensorProto,
  valueInfo,
} from './proto.js';
export type { OnnxAttribute, OnnxDtype, OnnxModelOptions, OnnxTensorData } from './proto.js';
export { OnnxGraphBuilder, quantizeInt8Symmetric } from './graph-builder.js';
export type { OnnxOpOptions, OnnxValueSpec, OnnxWeightType } from './graph-builder.js';
