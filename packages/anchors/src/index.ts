/**
 * @geolip/anchors — anchors on the sphere: what makes GeoLIP geometric rather than a plain encoder.
 *
 * - Constellation: trainable anchors [K, D], re-normalized on every use; inits xavier / orthogonal /
 *   repulsion / fromData; triangulation 1 − cos, nearest anchor, soft assignment, anchor dropout
 * - Patchwork: round-robin compartments over the triangulation
 * - AnchorBank: the CaptionBERT-anchored bank (spec §6, inferred parts as options)
 * - geometricAutograd: identity forward, tangent-projected and anchor-separated backward (spec §7)
 * - losses: spreadLoss, anchorCVLoss (forward-pass pieces)
 * - diagnostics: anchor utilisation (active, entropy, Gini), drift, binding fraction, scan / formatScan
 * - serialization: safetensors save / load with stable parameter names
 *
 * Constellation, Patchwork and AnchorBank are `Module`s of @geolip/nn (getWeights: live variables; stateDict /
 * loadStateDict: PyTorch-layout copies; paramCount), so models hold them directly as child modules.
 *
 * The errors of @geolip/geometry are re-exported so callers can catch them from one place.
 */
export { Constellation, DROPOUT_MODES } from './constellation.js';
export type {
  ConstellationConfig,
  ConstellationOptions,
  DropoutMode,
  FromAnchorsOptions,
  FromDataOptions,
  NearestOptions,
  SoftAssignOptions,
  TriangulateOptions,
  TriangulateWithDropoutResult,
} from './constellation.js';
export { ANCHOR_INITS, initializeAnchors, repelAnchors } from './anchor-init.js';
export type { AnchorInit, InitializeAnchorsOptions, RepelAnchorsOptions } from './anchor-init.js';
export { Patchwork, PATCHWORK_ACTIVATIONS, STAR_RELU_INIT } from './patchwork.js';
export type { PatchworkActivation, PatchworkConfig, PatchworkOptions } from './patchwork.js';
export { ANCHOR_BANK_TYPE, AnchorBank } from './anchor-bank.js';
export type {
  AnchorBankConfig,
  AnchorBankCvLossOptions,
  AnchorBankExpertAgreement,
  AnchorBankFeature,
  AnchorBankLosses,
  AnchorBankLossesOptions,
  AnchorBankLossWeights,
  AnchorBankOutput,
  AnchorBankSettings,
} from './anchor-bank.js';
export { ARBITRATION_TOWER_TYPE, ArbitrationTower, TOWER_ANCHOR_INITS } from './arbitration-tower.js';
export type {
  ArbitrationTowerConfig,
  ArbitrationTowerForwardOptions,
  ArbitrationTowerOutput,
  TowerAnchorInit,
  TowerRefit,
} from './arbitration-tower.js';
export { geometricAutograd } from './geometric-autograd.js';
export type { GeometricAutogradOptions } from './geometric-autograd.js';
export { anchorCV, anchorCVAsync, anchorCVLoss, spreadLoss } from './losses.js';
export type { SpreadLossOptions } from './losses.js';
export * from './diagnostics/index.js';
export {
  CONFIG_METADATA_KEY,
  CONSTELLATION_TYPE,
  MODULE_METADATA_KEY,
  PATCHWORK_TYPE,
  loadConstellation,
  loadPatchwork,
  saveConstellation,
  saveConstellationAsync,
  savePatchwork,
  savePatchworkAsync,
} from './serialization.js';
export { anchorsModels, fromPretrained } from './models.js';
export {
  BackendError,
  FormatError,
  GeolipError,
  InvalidArgumentError,
  NonFiniteError,
  ShapeError,
} from '@geolip/geometry';
