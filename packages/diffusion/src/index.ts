/**
 * @geolip/diffusion — GLFM: class-conditional flow matching through a constellation bottleneck on
 * S^15 (spec §12), the four variants of the spherical-diffusion card as presets, Euler / Heun
 * samplers, and the card's analysis (gate, anchor drift near 0.29154, reconstruction cosine).
 *
 * Images are NHWC `[B, H, W, C]` float32 (the layout of `@geolip/nn`).
 * The errors of @geolip/geometry are re-exported so callers can catch them from one place.
 */
export {
  GLFM_CARD_WIDTHS,
  GLFM_DECODER_XT,
  GLFM_GATE_MODES,
  GLFM_VARIANTS,
  PRESET_IMAGE_SIZES,
  glfmCardPreset,
  glfmPreset,
  glfmParamCount,
  validateGlfmConfig,
} from './config.js';
export type {
  GlfmConfig,
  GlfmConfigOverrides,
  GlfmDecoderXt,
  GlfmGateMode,
  GlfmParamBreakdown,
  GlfmVariant,
} from './config.js';
export { ConstellationRelay, PatchConstellation } from './constellation.js';
export type { ConstellationRelayOptions, PatchConstellationOptions, RelayOutput } from './constellation.js';
export { GlfmModel } from './model.js';
export { GLFM_TYPE, diffusionModels, fromPretrained } from './models.js';
export type { GlfmEncoderOutput, GlfmForwardResult } from './model.js';
export {
  FLOW_CONVENTIONS,
  TIME_SAMPLINGS,
  flowMatchingLoss,
  interpolate,
  sampleTimes,
  seededNormal,
  velocityCosine,
  velocityMse,
} from './flow-matching.js';
export type {
  FlowConvention,
  FlowMatchingLossOptions,
  FlowPair,
  SampleTimesOptions,
  TimeSampling,
  VelocityModel,
} from './flow-matching.js';
export { ODE_METHODS, eulerSolve, heunSolve, odeSolve, sample } from './samplers.js';
export type { OdeMethod, OdeSolveOptions, SampleOptions, VelocityField } from './samplers.js';
export {
  DRIFT_HISTOGRAM_EDGES,
  analyzeDrift,
  analyzeGlfm,
  analyzeGlfmAsync,
  driftStatistics,
  gateValue,
  modelDrift,
  modelDriftAsync,
  reconstructionCosine,
  reconstructionCosineAsync,
  routingFraction,
  routingFractionAsync,
} from './analysis.js';
export type {
  DriftAnalysis,
  DriftAnalysisOptions,
  DriftStatistics,
  DriftStatisticsOptions,
  GlfmAnalysis,
  ModelDriftAnalysis,
  RoutingFraction,
} from './analysis.js';
export { BINDING_CONSTANT } from '@geolip/anchors';
export { GeolipError, InvalidArgumentError, ShapeError } from '@geolip/geometry';
export { relayRetention, retentionCurve } from './retention.js';
export type { RelayRetention, RelayRetentionOptions, RetentionLayer } from './retention.js';
export { EMBEDDING_PRECISIONS, quantizationCv, quantizeEmbeddings } from './quantization.js';
export type { EmbeddingPrecision, QuantizationCv, QuantizationCvOptions } from './quantization.js';
