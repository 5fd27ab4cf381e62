export * from './functional/index.js';
export { Module, toRng, toTorchLayout, fromTorchLayout, uniformInit, normalInit, xavierUniform } from './module.js';
export type { ParamLayout, StateDict, StateDictKey, BufferOptions, LoadStateDictOptions, InitSeed } from './module.js';
export { ModelRegistry, loadPretrained, loadPretrainedFile } from './registry.js';
export type { FromPretrainedOptions, ModelSpec, Pretrained, PretrainedContext, ShippedWeights } from './registry.js';
export { nnModels } from './models.js';
export { MLP_STUDENT_TYPE, MlpStudent, parseMlpStudentConfig } from './layers/mlp-student.js';
export type { MlpStudentActivation, MlpStudentConfig } from './layers/mlp-student.js';

// Conv blocks (NHWC images; PyTorch is NCHW): conv, group norm, diffusion residual block, resampling, conditioning.
export { Conv2d, IMAGE_LAYOUT } from './layers/conv2d.js';
export type { Conv2dOptions, Conv2dPadding } from './layers/conv2d.js';
export { GroupNorm } from './layers/group-norm.js';
export type { GroupNormOptions } from './layers/group-norm.js';
export { ConvResBlock, COND_MODES } from './layers/conv-res-block.js';
export type { ConvResBlockOptions, CondMode } from './layers/conv-res-block.js';
export { Downsample, Upsample } from './layers/up-down.js';
export type { ResampleOptions } from './layers/up-down.js';
export { TimeEmbedding, ClassEmbedding } from './layers/conditioning.js';
export type { TimeEmbeddingOptions, ClassEmbeddingOptions } from './layers/conditioning.js';

// Transformer blocks (layers/): keep these lines together.
export { Linear } from './layers/linear.js';
export type { LinearOptions } from './layers/linear.js';
export { LayerNorm } from './layers/layer-norm.js';
export type { LayerNormOptions } from './layers/layer-norm.js';
export { Embedding } from './layers/embedding.js';
export type { EmbeddingOptions } from './layers/embedding.js';
export { PositionEmbedding } from './layers/position-embedding.js';
export type { PositionEmbeddingOptions } from './layers/position-embedding.js';
export { sinusoidalEmbedding } from './layers/sinusoidal-embedding.js';
export type { SinusoidalEmbeddingOptions } from './layers/sinusoidal-embedding.js';
export { FeedForward, FEED_FORWARD_ACTIVATIONS } from './layers/feed-forward.js';
export type { FeedForwardActivation, FeedForwardOptions } from './layers/feed-forward.js';
export { MultiHeadAttention, MASKED_SCORE } from './layers/multi-head-attention.js';
export type { AttentionOptions, AttentionResult, MultiHeadAttentionOptions } from './layers/multi-head-attention.js';
export { TransformerEncoderLayer } from './layers/transformer-encoder-layer.js';
export type { EncoderLayerForwardOptions, TransformerEncoderLayerOptions } from './layers/transformer-encoder-layer.js';
export { TransformerEncoder } from './layers/transformer-encoder.js';
export type { TransformerEncoderOptions } from './layers/transformer-encoder.js';
export { ModuleList } from './layers/module-list.js';
export { Container } from './layers/container.js';
export { maskedMeanPool } from './layers/masked-mean-pool.js';

// Kernels: names, the reference (plain-JS) implementations used to test fused paths on cpu.
export { KERNELS } from './kernels/names.js';
export type { GeolipKernelName } from './kernels/names.js';
export { hasKernel } from './kernels/index.js';
export { registerReferenceKernels, unregisterReferenceKernels } from './kernels/reference.js';
export { registerReferenceInPlace, unregisterReferenceInPlace } from './kernels/in-place.js';
export {
  OnnxWeights,
  onnxEmbedding,
  onnxGelu,
  onnxKeyPaddingBias,
  onnxL2Normalize,
  onnxLayerNorm,
  onnxLinear,
  onnxMaskToFloat,
  onnxMaskedMeanPool,
  onnxParam,
  onnxParamT,
  onnxTransformerLayers,
} from './onnx/lower.js';
export type { OnnxEncoderSizes, OnnxWeight } from './onnx/lower.js';
