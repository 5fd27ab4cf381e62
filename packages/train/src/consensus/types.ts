import type { Matrix, MatrixLike } from '@geolip/geometry';

/** One expert's paired features for {@link buildConsensus}. */
export interface ConsensusExpert {
  /** Unique, non-empty name (used in errors and in the saved tensor names `projectors.{name}.*`). */
  name: string;
  /** `[N, D_e]` float64 features of the N shared samples, row i of every expert is sample i. */
  features: MatrixLike;
}

/**
 * An affine projector from one expert's raw space into the consensus space:
 * p(x) = x·linear + bias, followed by L2 row normalization in {@link applyProjector}.
 */
export interface ConsensusProjector {
  /** The expert's name. */
  name: string;
  /** `[D_e, K]` L_e = W_e·R_e·W_c⁻¹ (K = targetDim). A PyTorch `Linear(D_e → K)` takes weight ← Lᵀ. */
  linear: Matrix;
  /** `[K]` b_e = μ_c − μ_e·L_e. */
  bias: Float64Array;
}

/** Diagnostics of a consensus fit (spec §3.4 step 5, §3.5, §2.5). */
export interface ConsensusDiagnostics {
  /** `[E]` per expert: mean over rows of cos(normalize(p_e(x_e))[i], c_i), c the final targets. */
  cosineToConsensus: number[];
  /** max_e − min_e of the per-expert mean cosine distance 1 − cosineToConsensus[e]. */
  equidistance: number;
  /** Pentachoron CV of the targets (geometry `pentachoronCV`, default sampling); NaN if too few valid simplices. */
  consensusCV: number;
  /** Effective dimension (Σσ)²/Σσ² of the centred targets (geometry `effectiveDimension`). */
  effectiveDimension: number;
  /** `[E]` the GPA's own per-view mean cosine to the GPA consensus (at `width`, before PCA). */
  gpaCosineToConsensus: number[];
  /** The GPA's equidistance (max − min of 1 − gpaCosineToConsensus). */
  gpaEquidistance: number;
  /** Share of the GPA consensus variance kept by the PCA to `targetDim` (1 when no PCA ran). */
  pcaExplainedVarianceRatio: number;
}

/** Configuration recorded with a consensus (and saved in the safetensors `__metadata__`). */
export interface ConsensusConfig {
  /** Common GPA width W. */
  width: number;
  /** K, the consensus (projector output) dimension. */
  targetDim: number;
  /** GPA rounds. */
  iterations: number;
  /** Whitening shrinkage ε of the calibration. */
  shrinkage: number;
  /** `[E]` raw input width D_e of each expert, in `experts` order. */
  inputDims: number[];
}

/** A consensus as saved and loaded: projectors, targets, diagnostics and config. */
export interface ConsensusModel {
  /** `[N, K]` unit-row consensus targets c = normalize(mean_e normalize(p_e(x_e))) (spec §3.6 step 6). */
  targets: Matrix;
  /** `E` projectors, in `experts` order. */
  projectors: ConsensusProjector[];
  diagnostics: ConsensusDiagnostics;
  /** `E` expert names, in input order. */
  experts: string[];
  config: ConsensusConfig;
}
