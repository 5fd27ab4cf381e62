/**
 * The consensus pipeline (spec §3.4–3.6): experts → common width → GPA → PCA → per-expert whitened
 * Procrustes projectors → normalized-centroid targets, plus its streaming statistics and safetensors I/O.
 */
export { applyProjector, buildConsensus, normalizedMean } from './build.js';
export type { BuildConsensusOptions, ConsensusResult } from './build.js';
export { ConsensusStatistics, fitProjectorsFromStatistics } from './statistics.js';
export type { ConsensusStatisticsJSON, FitProjectorsOptions } from './statistics.js';
export { loadConsensus, saveConsensus } from './io.js';
export type {
  ConsensusConfig,
  ConsensusDiagnostics,
  ConsensusExpert,
  ConsensusModel,
  ConsensusProjector,
} from './types.js';
