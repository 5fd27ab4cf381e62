import * as tf from '@tensorflow/tfjs-core';
import {
  FormatError,
  GeolipError,
  InvalidArgumentError,
  Matrix,
  ShapeError,
  createRng,
  cvLoss as geometryCvLoss,
  normalize,
  toMatrix,
  type MatrixLike,
  type Rng,
} from '@geolip/geometry';
import { Module } from '@geolip/nn';
import {
  LEGACY_MODEL_KEYS,
  MODEL_METADATA_KEYS,
  readModelMetadata,
  readSafetensors,
  toFloat32,
  type SafetensorsContents,
  writeModelMetadata,
  writeSafetensors,
} from '@geolip/io';

/**
 * What the bank appends to the input embedding (spec §6, [INFER]: "either the 128-d z, or a
 * triangulation-derived 128-d summary").
 *
 * - `'projection'`: feature = z, the projected point on S^{D−1}.
 * - `'triangulation'`: feature = normalize(tri·Wᵀ + b), a learned Linear(K → D) head on the
 *   triangulation vector tri = 1 − cos(z, Â), projected back onto S^{D−1}.
 */
export type AnchorBankFeature = 'projection' | 'triangulation';

/**
 * How {@link AnchorBank.expertAgreementLoss} scores the rotated expert targets (spec §6 says only
 * "variance across experts of R_e-rotated predictions"; the form is [INFER]).
 *
 * - `'distance'`: mean over experts of ‖z − q_e‖², which pulls z onto the experts' rotated targets
 *   and equals ‖z − q̄‖² + the `'variance'` value.
 * - `'variance'`: the spread of the rotated targets q_e around their mean q̄ only; z is not involved,
 *   so only the rotations learn from it.
 */
export type AnchorBankExpertAgreement = 'distance' | 'variance';

/** Options of the {@link AnchorBank} constructor. Every option is optional; defaults are CaptionBERT's bank. */
export interface AnchorBankConfig {
  /** Width of the input embedding s (the frozen student). Default 768. Positive integer. */
  inputDim?: number;
  /** D: width of the bank space; z lives on S^{D−1}. Default 128. Positive integer. */
  bankDim?: number;
  /** E: number of experts, one learned rotation each. Default 5. Positive integer. */
  experts?: number;
  /** K: number of anchors. Default 512. Integer ≥ 2 (the CV term needs ≥ 5 to be non-zero). */
  anchors?: number;
  /** Target of the anchor CV term. Default 0.082 (`config.json bank_cv_target`). Finite number. */
  cvTarget?: number;
  /** Pentachora sampled per call of the CV term. Default 64 (the author's `cv_loss`). Integer ≥ 2. */
  cvSamples?: number;
  /** target_cos of the spread term (spec §8.6). Default 0. Number in [−1, 1]. */
  spreadTargetCos?: number;
  /** What is appended to s, see {@link AnchorBankFeature}. Default `'projection'`. [INFER] */
  feature?: AnchorBankFeature;
  /** Form of the expert agreement term, see {@link AnchorBankExpertAgreement}. Default `'distance'`. [INFER] */
  expertAgreement?: AnchorBankExpertAgreement;
  /**
   * How the anchors start. [INFER]
   *
   * - `'random'` (default): K normalized Gaussian rows (uniform on S^{D−1}, no repulsion).
   * - `[N, D]` consensus embeddings already in the bank space ("anchors initialized from consensus
   *   embeddings"): a seeded random subset of K distinct non-zero rows, normalized. When fewer than K
   *   non-zero rows exist, all of them are used and the rest are normalized Gaussians.
   */
  anchorInit?: 'random' | MatrixLike;
  /** Seed of every random initialization and of the CV sampler. Default 0. */
  seed?: number;
}

/** The resolved configuration of a bank ({@link AnchorBank.config}); also what a checkpoint stores. */
export interface AnchorBankSettings {
  readonly inputDim: number;
  readonly bankDim: number;
  readonly experts: number;
  readonly anchors: number;
  readonly cvTarget: number;
  readonly cvSamples: number;
  readonly spreadTargetCos: number;
  readonly feature: AnchorBankFeature;
  readonly expertAgreement: AnchorBankExpertAgreement;
  /** How the anchors were initialized (the consensus matrix itself is not kept). */
  readonly anchorInit: 'random' | 'consensus';
  readonly seed: number;
}

/**
 * The result of {@link AnchorBank.apply}. Four new tensors; the caller disposes them
 * (`tf.dispose(output)` works: a type alias, not an interface, so it is a `tf.TensorContainer`).
 */
export type AnchorBankOutput = {
  /** `[B, D]` the projection of s onto S^{D−1}: z = normalize(s·Wᵀ + b). */
  z: tf.Tensor2D;
  /** `[B, D]` the appended feature (z, or the triangulation head's output), unit rows. */
  feature: tf.Tensor2D;
  /** `[B, inputDim + D]` concat(s, feature): 896 wide at the defaults. */
  output: tf.Tensor2D;
  /** `[B, K]` tri = 1 − z·Âᵀ, the cosine distance to every normalized anchor, in [0, 2]. */
  triangulation: tf.Tensor2D;
};

/** Weights of the terms of {@link AnchorBank.losses}. Each defaults to 1; finite and ≥ 0. */
export interface AnchorBankLossWeights {
  expertAgreement?: number;
  orthogonality?: number;
  spread?: number;
  cv?: number;
}

/** Options of {@link AnchorBank.losses}. */
export interface AnchorBankLossesOptions {
  /** Seed of this call's CV sampler. Default: the bank's own stream (seeded by `seed`; new simplices each call). */
  cvSeed?: number;
}

/** Options of {@link AnchorBank.cvLoss}. */
export interface AnchorBankCvLossOptions {
  /** Seed of this call's sampler. Default: the bank's own stream (seeded by `seed`; new simplices each call). */
  seed?: number;
  /** Pentachora to sample. Default: the bank's `cvSamples`. */
  samples?: number;
}

/**
 * The named terms of {@link AnchorBank.losses}, each a new scalar; the caller disposes them (a `tf.TensorContainer`).
 */
export type AnchorBankLosses = {
  expertAgreement: tf.Scalar;
  orthogonality: tf.Scalar;
  spread: tf.Scalar;
  cv: tf.Scalar;
  /** Σ weight_k · term_k. */
  total: tf.Scalar;
};

const LOSS_TERMS = ['expertAgreement', 'orthogonality', 'spread', 'cv'] as const;
const FEATURES: readonly AnchorBankFeature[] = ['projection', 'triangulation'];
const AGREEMENTS: readonly AnchorBankExpertAgreement[] = ['distance', 'variance'];
const CONFIG_KEYS = [
  'inputDim',
  'bankDim',
  'experts',
  'anchors',
  'cvTarget',
  'cvSamples',
  'spreadTargetCos',
  'feature',
  'expertAgreement',
  'anchorInit',
  'seed',
] as const;
/** The registry key (`geolip.type`) of a saved {@link AnchorBank}. */
export const ANCHOR_BANK_TYPE = 'anchors/anchor-bank';
/** The checkpoint version legacy files (`geolip.class` = `AnchorBank`) recorded under `geolip.version`. */
const CHECKPOINT_VERSION = '1';

/**
 * The CaptionBERT "alignment bank" (spec §6): a small geometric head on a frozen embedding that
 * projects it onto S^{D−1}, keeps K anchors and one learned rotation per expert, and appends a
 * D-wide geometric feature to the input.
 *
 *     z   = normalize(s·Wᵀ + b)                  s: [B, inputDim], W: [D, inputDim]   (PyTorch layout)
 *     Â   = normalize(anchors)                   [K, D], renormalized on every use (§4.1)
 *     tri = 1 − z·Âᵀ                             [B, K]
 *     feature = z | normalize(tri·W_fᵀ + b_f)    (option `feature`)
 *     output  = concat(s, feature)               [B, inputDim + D] = 896 at the defaults
 *
 * Losses (each a scalar, differentiable w.r.t. {@link AnchorBank.trainableVariables}):
 * expert agreement (rotated expert targets), orthogonality of the rotations, anchor spread (§8.6)
 * and anchor CV (§2.4); {@link AnchorBank.losses} returns them with a weighted total.
 *
 * @remarks
 * The Python class was never found; everything past the config values (5 experts, 512 anchors,
 * D = 128, CV target 0.082, 768 + 128 = 896) is [INFER] and exposed as an option: `feature`,
 * `expertAgreement`, `anchorInit`, `spreadTargetCos`, `cvSamples`. The logged prototype size
 * ("Bank: 1,305,152 params" for 2 experts and 128 anchors) is not reproduced by this layout
 * (it has 147,584 parameters at that size).
 * - Parameters: projection Linear(inputDim → D) with PyTorch's default init (weight and bias
 *   U(−1/√inputDim, 1/√inputDim)); rotations R_e = I (load calibrations with
 *   {@link AnchorBank.setExpertRotations}); anchors per `anchorInit`; with `feature:
 *   'triangulation'` a Linear(K → D) head with the same init rule (fan-in K).
 * - Random draws come from one seeded stream in this order: projection weight, projection bias,
 *   anchors, feature head. The CV sampler has its own stream from the same seed.
 * - A `Module` of `@geolip/nn`: `getWeights()` gives the live variables under the stable names below,
 *   `stateDict()` / `loadStateDict()` copy them (PyTorch layout already), `paramCount()` counts them; a
 *   model holds the bank as a child module (`bank.projection.weight`, …). Call {@link AnchorBank.dispose}
 *   to free them. The names, in order: `projection.weight` `[D, inputDim]` (PyTorch layout),
 *   `projection.bias` `[D]`, `rotations.0` … `rotations.{E−1}` `[D, D]`, `anchors` `[K, D]` (raw, not
 *   normalized), and with `feature: 'triangulation'` `feature_head.weight` `[D, K]` and `feature_head.bias` `[D]`.
 *
 * @example
 * const bank = new AnchorBank({ inputDim: 768, bankDim: 128, experts: 5, anchors: 512 });
 * const { output } = bank.apply(s);                        // [B, 896]
 * const optimizer = tf.train.adam(1e-3);
 * optimizer.minimize(() => bank.losses(s, expertTargets).total, false, bank.trainableVariables);
 *
 * @see spec §6 (AnchorBank), §4.1–4.2 (anchors, triangulation), §8.6 (spread), §2.4 (anchor CV).
 */
export class AnchorBank extends Module {
  private settings: AnchorBankSettings;
  private readonly projectionWeight: tf.Variable;
  private readonly projectionBias: tf.Variable;
  private readonly rotationVariables: tf.Variable[];
  private readonly anchorVariable: tf.Variable;
  private readonly featureWeight: tf.Variable | null;
  private readonly featureBias: tf.Variable | null;
  private readonly cvRng: Rng;

  /**
   * @param config - see {@link AnchorBankConfig}; every field optional.
   * @throws {InvalidArgumentError} naming the option, for a non-positive or non-integer size,
   *   `anchors` < 2, an unknown `feature` / `expertAgreement` / option name, or a non-finite number.
   * @throws {ShapeError} if a consensus `anchorInit` is not `[N, bankDim]`.
   * @throws {NonFiniteError} if a consensus `anchorInit` holds NaN or ±Infinity.
   */
  constructor(config: AnchorBankConfig = {}) {
    super();
    const op = 'AnchorBank';
    const settings = resolveConfig(op, config);
    this.settings = settings;
    const { inputDim, bankDim, experts, anchors, seed } = settings;

    // Consensus rows are read (and checked) before anything is allocated on the backend.
    let consensus: Matrix | null = null;
    if (config.anchorInit !== undefined && config.anchorInit !== 'random') {
      consensus = toMatrix(op, 'anchorInit', config.anchorInit);
      if (consensus.cols !== bankDim) {
        throw new ShapeError(
          op,
          'anchorInit',
          `[N, ${bankDim}] (consensus embeddings in the bank space)`,
          consensus.shape,
        );
      }
    }

    const rng = createRng(seed);
    this.cvRng = createRng(seed + 0x5bd1e995);
    const bound = 1 / Math.sqrt(inputDim);
    // Flat dotted names (the PyTorch bank's `projection` Linear and `rotations` ParameterList), in this order.
    this.projectionWeight = this.addParameter(
      'projection.weight',
      tensorOf(uniformData(rng, bankDim * inputDim, bound), [bankDim, inputDim]),
    );
    this.projectionBias = this.addParameter('projection.bias', tensorOf(uniformData(rng, bankDim, bound), [bankDim]));
    this.rotationVariables = [];
    for (let e = 0; e < experts; e++) {
      this.rotationVariables.push(
        this.addParameter(`rotations.${e}`, tensorOf(identityData(bankDim), [bankDim, bankDim])),
      );
    }
    this.anchorVariable = this.addParameter(
      'anchors',
      tensorOf(initialAnchors(rng, anchors, bankDim, consensus), [anchors, bankDim]),
    );
    if (settings.feature === 'triangulation') {
      const headBound = 1 / Math.sqrt(anchors);
      this.featureWeight = this.addParameter(
        'feature_head.weight',
        tensorOf(uniformData(rng, bankDim * anchors, headBound), [bankDim, anchors]),
      );
      this.featureBias = this.addParameter(
        'feature_head.bias',
        tensorOf(uniformData(rng, bankDim, headBound), [bankDim]),
      );
    } else {
      this.featureWeight = null;
      this.featureBias = null;
    }
  }

  /** The resolved configuration (a frozen copy). */
  get config(): AnchorBankSettings {
    return this.settings;
  }

  /**
   * The forward pass: projection to the sphere, triangulation against the anchors, and the
   * appended feature.
   *
   *     z = normalize(s·Wᵀ + b);  tri = 1 − z·normalize(anchors)ᵀ;  output = concat(s, feature)
   *
   * @param s - `[B, inputDim]` float32 input embeddings (the frozen student; need not be unit rows).
   * @returns `{ z [B, D], feature [B, D], output [B, inputDim + D], triangulation [B, K] }`, four new tensors.
   *
   * @throws {ShapeError} if `s` is not `[B, inputDim]`. @throws {InvalidArgumentError} if `s` is not a float32 tensor.
   *
   * @remarks
   * - Differentiable w.r.t. s and every variable; stays on the backend (reads nothing).
   * - A zero row of s·Wᵀ + b gives z = 0 (normalize keeps zero rows), tri = 1 for that row.
   *   NaN/Inf in a row of s affect that row only.
   * - O(B·(inputDim·D + K·D)) (+ B·K·D for the triangulation head).
   */
  apply(s: tf.Tensor2D): AnchorBankOutput {
    const op = 'AnchorBank.apply';
    this.live(op);
    checkMatrixTensor(op, 's', s, null, this.settings.inputDim, 'inputDim');
    return tf.tidy(() => {
      const z = this.project(s);
      const triangulation = this.triangulate(z);
      const feature = this.featureOf(z, triangulation);
      const output = tf.concat([s, feature], 1);
      return { z, feature, output, triangulation };
    });
  }

  /**
   * Expert agreement. Each expert's target is rotated into the bank frame by its R_e and
   * projected to the sphere; the term measures how far these rotated targets are from z
   * (`'distance'`, default) or from each other (`'variance'`):
   *
   *     q_e = normalize(t_e · R_e)                        [B, D], e = 1..E
   *     q̄   = (1/E) Σ_e q_e
   *     variance: L = (1/B) Σ_b (1/E) Σ_e ‖q_{e,b} − q̄_b‖²
   *     distance: L = (1/B) Σ_b (1/E) Σ_e ‖z_b − q_{e,b}‖²  =  (1/B) Σ_b ‖z_b − q̄_b‖² + variance
   *
   * R_e maps expert e's frame to the bank's (`t_e·R_e ≈ z`), so the rotation from geometry's
   * `procrustes(expertEmbeddings_e, consensus).rotation` or `gpa(...).rotations[e]` fits as is.
   * For orthogonal R_e, ‖z − q_e‖ = ‖normalize(z·R_eᵀ) − normalize(t_e)‖: the same as comparing the
   * rotated bank prediction with the expert in its own frame.
   *
   * @param z - `[B, D]` bank points (unit rows, as {@link AnchorBank.apply} returns them).
   * @param expertTargets - E tensors `[B, D]`: each expert's embedding of the same B samples in its
   *   own D-wide frame (need not be unit rows).
   * @returns scalar ≥ 0 (≤ 4 with unit rows). 0 when every rotated target equals z (`'distance'`)
   *   or when all rotated targets agree (`'variance'`).
   *
   * @throws {InvalidArgumentError} if `expertTargets` is not an array of E float32 tensors, or `z` is not float32.
   * @throws {ShapeError} if `z` is not `[B, D]` or a target is not `[B, D]` with the same B.
   *
   * @remarks Differentiable w.r.t. z, the targets and the rotations; O(E·B·D²); one new tensor.
   */
  expertAgreementLoss(z: tf.Tensor2D, expertTargets: readonly tf.Tensor2D[]): tf.Scalar {
    const op = 'AnchorBank.expertAgreementLoss';
    this.live(op);
    const batch = checkMatrixTensor(op, 'z', z, null, this.settings.bankDim, 'D');
    this.checkTargets(op, expertTargets, batch);
    return tf.tidy(() => this.agreement(z, expertTargets));
  }

  /**
   * Orthogonality of the expert rotations:
   *
   *     L = (1/E) Σ_e ‖R_eᵀR_e − I‖²_F
   *
   * @returns scalar ≥ 0; 0 exactly for identity rotations, ≈ 0 (float32 rounding) for any orthogonal R_e.
   * @remarks Differentiable w.r.t. the rotations; O(E·D³); one new tensor.
   */
  orthogonalityLoss(): tf.Scalar {
    this.live('AnchorBank.orthogonalityLoss');
    return tf.tidy(() => this.orthogonality());
  }

  /**
   * Anchor spread (spec §8.6): the mean over ordered pairs i ≠ j of the hinge on the cosine
   * between normalized anchors,
   *
   *     L = 1/(K(K−1)) Σ_{i≠j} ReLU(⟨Â_i, Â_j⟩ − target_cos),   target_cos = `spreadTargetCos` (0)
   *
   * @returns scalar in [0, 1 − target_cos]; 0 when no two anchors are closer than target_cos.
   * @remarks Differentiable w.r.t. the anchors (zero gradient for pairs under the hinge); O(K²·D); one new tensor.
   */
  spreadLoss(): tf.Scalar {
    this.live('AnchorBank.spreadLoss');
    return tf.tidy(() => this.spread());
  }

  /**
   * Anchor CV (spec §2.4): geometry's `cvLoss` on the normalized anchors,
   *
   *     L = (CV(Â) − cvTarget)²,   CV over `samples` random pentachora of all K anchors
   *
   * @param options - `seed` for this call's simplices (default: the bank's own stream); `samples`
   *   (default `cvSamples`).
   * @returns scalar ≥ 0. 0 (no gradient) when K < 5 or fewer than 5 sampled simplices are valid.
   * @throws {InvalidArgumentError} for a bad `seed` or `samples`.
   * @remarks Indices are drawn on the CPU; the volumes are computed on the backend and are
   *   differentiable w.r.t. the anchors. With the same seed and sample count, `pentachoronCV` on
   *   the same normalized anchors (`pool: K`) samples the same simplices, in float64.
   */
  cvLoss(options: AnchorBankCvLossOptions = {}): tf.Scalar {
    const op = 'AnchorBank.cvLoss';
    this.live(op);
    if (options.seed !== undefined) assertFiniteNumber(op, 'seed', options.seed);
    const samples = options.samples ?? this.settings.cvSamples;
    assertInteger(op, 'samples', samples, 2);
    return tf.tidy(() => this.cv(options.seed, samples));
  }

  /**
   * Every loss term of one training step, from one forward pass, with a weighted total:
   *
   *     total = w_agr·expertAgreement(z, targets) + w_ortho·orthogonality + w_spread·spread + w_cv·cv
   *
   * with z from {@link AnchorBank.apply}(s) and every weight 1 unless given.
   *
   * @param s - `[B, inputDim]` float32 input embeddings.
   * @param expertTargets - E tensors `[B, D]`, see {@link AnchorBank.expertAgreementLoss}.
   * @param weights - per-term weights, default 1 each (finite, ≥ 0); unknown keys are refused.
   * @param options - `cvSeed` for the CV term's simplices.
   * @returns five new scalars `{ expertAgreement, orthogonality, spread, cv, total }`.
   *
   * @throws {ShapeError} if `s` is not `[B, inputDim]` or a target is not `[B, D]`.
   * @throws {InvalidArgumentError} for a wrong number of targets, a non-float32 tensor or a bad weight.
   *
   * @example
   * const { total } = bank.losses(s, targets, { spread: 0.001, cv: 0.05 });
   */
  losses(
    s: tf.Tensor2D,
    expertTargets: readonly tf.Tensor2D[],
    weights: AnchorBankLossWeights = {},
    options: AnchorBankLossesOptions = {},
  ): AnchorBankLosses {
    const op = 'AnchorBank.losses';
    this.live(op);
    const batch = checkMatrixTensor(op, 's', s, null, this.settings.inputDim, 'inputDim');
    this.checkTargets(op, expertTargets, batch);
    const w = resolveWeights(op, weights);
    if (options.cvSeed !== undefined) assertFiniteNumber(op, 'cvSeed', options.cvSeed);
    return tf.tidy(() => {
      const cv = this.cv(options.cvSeed, this.settings.cvSamples);
      const z = this.project(s);
      const expertAgreement = this.agreement(z, expertTargets);
      const orthogonality = this.orthogonality();
      const spread = this.spread();
      const total = tf.addN([
        tf.mul(expertAgreement, w.expertAgreement),
        tf.mul(orthogonality, w.orthogonality),
        tf.mul(spread, w.spread),
        tf.mul(cv, w.cv),
      ]) as tf.Scalar;
      return { expertAgreement, orthogonality, spread, cv, total };
    });
  }

  /**
   * Loads per-expert rotations, e.g. the `rotation` of geometry's `procrustes(expertEmbeddings_e,
   * consensus)` (so that t_e·R_e ≈ z) or `gpa(...).rotations`.
   *
   * @param rotations - E matrices `[D, D]` (`Matrix`, or float32 `tf.Tensor2D`), one per expert,
   *   in expert order. They are copied (float64 → float32 for a `Matrix`); orthogonality is not
   *   checked (the orthogonality term penalizes any drift).
   * @throws {InvalidArgumentError} if `rotations` is not an array of E matrices or tensors (or a tensor is not
   *   float32).
   * @throws {ShapeError} if one is not `[D, D]`, naming `rotations[e]`.
   * @throws {NonFiniteError} if a `Matrix` holds NaN or ±Infinity (tensors are not read).
   */
  setExpertRotations(rotations: readonly (Matrix | tf.Tensor2D)[]): void {
    const op = 'AnchorBank.setExpertRotations';
    this.live(op);
    const { experts, bankDim } = this.settings;
    if (!Array.isArray(rotations))
      throw new InvalidArgumentError(op, 'rotations', 'must be an array of Matrix or tf.Tensor2D');
    if (rotations.length !== experts) {
      throw new InvalidArgumentError(
        op,
        'rotations',
        `must hold one rotation per expert (E=${experts}), got ${rotations.length}`,
      );
    }
    const values: tf.Tensor2D[] = [];
    try {
      rotations.forEach((rotation, e) => {
        const name = `rotations[${e}]`;
        if (rotation instanceof Matrix) {
          const m = toMatrix(op, name, rotation);
          if (m.rows !== bankDim || m.cols !== bankDim)
            throw new ShapeError(op, name, `[${bankDim}, ${bankDim}]`, m.shape);
          values.push(tf.tensor2d(Float32Array.from(m.data), [bankDim, bankDim], 'float32'));
        } else if (rotation instanceof tf.Tensor) {
          checkMatrixTensor(op, name, rotation, bankDim, bankDim, 'D', 'D');
          values.push(tf.clone(rotation));
        } else {
          throw new InvalidArgumentError(op, name, 'must be a Matrix or a tf.Tensor2D');
        }
      });
      values.forEach((value, e) => this.rotationVariables[e]!.assign(value));
    } finally {
      tf.dispose(values);
    }
  }

  /**
   * Serializes the {@link AnchorBank.stateDict} (F32, the names of `getWeights`) and the configuration under the
   * `@geolip/io` metadata contract: `geolip.type` = `anchors/anchor-bank`, `geolip.config` = the resolved config
   * JSON, `geolip.format` = `1` (so `fromPretrained` of `@geolip/anchors` loads it too).
   *
   * @returns the safetensors bytes. Reads every tensor synchronously (`dataSync`).
   */
  toSafetensors(): Uint8Array {
    this.live('AnchorBank.toSafetensors');
    const state = this.stateDict();
    try {
      return writeSafetensors(state, writeModelMetadata({ type: ANCHOR_BANK_TYPE, config: this.settings }));
    } finally {
      tf.dispose(Object.values(state));
    }
  }

  /**
   * Builds an untrained bank from a saved resolved config (what {@link AnchorBank.config} returns and
   * {@link AnchorBank.toSafetensors} stores): a `'consensus'` `anchorInit` is kept as a label, the anchors start
   * random (the weights to load replace them).
   *
   * @param config - the parsed config JSON.
   * @param op - the function named in errors (default `AnchorBank.fromConfig`).
   * @throws {FormatError} naming `op` and `'bytes'` when `config` is not an object, its `anchorInit` is not
   *   `'random'` / `'consensus'`, or the constructor rejects it (the message gives the reason).
   */
  static fromConfig(config: unknown, op = 'AnchorBank.fromConfig'): AnchorBank {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new FormatError(op, 'bytes', 'has a __metadata__ "config" that is not a JSON object');
    }
    const stored = config as Record<string, unknown>;
    const anchorInit = stored.anchorInit;
    if (anchorInit !== 'random' && anchorInit !== 'consensus') {
      throw new FormatError(
        op,
        'bytes',
        `has an invalid config: 'anchorInit' must be 'random' or 'consensus', got ${JSON.stringify(anchorInit)}`,
      );
    }
    let bank: AnchorBank;
    try {
      bank = new AnchorBank({ ...(stored as AnchorBankConfig), anchorInit: 'random' });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new FormatError(op, 'bytes', `has an invalid config (${reason})`, { cause: error });
    }
    bank.settings = Object.freeze({ ...bank.settings, anchorInit });
    return bank;
  }

  /**
   * Rebuilds a bank from {@link AnchorBank.toSafetensors} bytes. The result reproduces the saved
   * bank's `apply` exactly.
   *
   * @param bytes - a safetensors file.
   * @throws {FormatError} naming `AnchorBank.fromSafetensors` and `'bytes'` when the file is not valid
   *   safetensors, is another class's checkpoint or another checkpoint version, has no or an
   *   invalid `config`, lacks a tensor, has an extra one, a tensor of the
   *   wrong shape or a non-float dtype, or non-finite values (the message names the tensor).
   *
   * @remarks Checks every weight for NaN/Inf once, on the CPU (STYLE.md §8.7: weights are checked once, at load).
   */
  static fromSafetensors(bytes: Uint8Array | ArrayBuffer): AnchorBank {
    const op = 'AnchorBank.fromSafetensors';
    let contents: SafetensorsContents;
    try {
      contents = readSafetensors(bytes, { copy: true });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new FormatError(op, 'bytes', `is not a valid safetensors file (${reason})`, { cause: error });
    }
    const { tensors, metadata } = contents;
    let parsed: unknown;
    // Files before the metadata contract: `geolip.class` = `AnchorBank`, `geolip.version`, the config under `config`.
    const named = [MODEL_METADATA_KEYS.type, ...LEGACY_MODEL_KEYS].some((k) => metadata[k] !== undefined);
    if (named) {
      let meta;
      try {
        meta = readModelMetadata(metadata);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new FormatError(op, 'bytes', `has bad model metadata (${reason})`, { cause: error });
      }
      if (meta.type !== ANCHOR_BANK_TYPE)
        throw new FormatError(op, 'bytes', `holds a '${meta.type}' checkpoint, not an AnchorBank`);
      parsed = meta.config;
    }
    const version = metadata['geolip.version'];
    if (version !== undefined && version !== CHECKPOINT_VERSION) {
      throw new FormatError(
        op,
        'bytes',
        `has checkpoint version '${version}'; this build reads version ${CHECKPOINT_VERSION}`,
      );
    }
    if (parsed === undefined) {
      const rawConfig = metadata.config;
      if (rawConfig === undefined)
        throw new FormatError(op, 'bytes', `has no "config" entry in __metadata__ ('${MODEL_METADATA_KEYS.config}')`);
      try {
        parsed = JSON.parse(rawConfig);
      } catch (error) {
        throw new FormatError(op, 'bytes', 'has a __metadata__ "config" that is not JSON', { cause: error });
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new FormatError(op, 'bytes', 'has a __metadata__ "config" that is not a JSON object');
    }
    const bank = AnchorBank.fromConfig(parsed, op);
    const values: Record<string, tf.Tensor> = {};
    try {
      const keys = bank.stateDictKeys();
      const known = new Set(keys.map((k) => k.name));
      for (const name of Object.keys(tensors)) {
        if (!known.has(name)) throw new FormatError(op, 'bytes', `has an unexpected tensor '${name}'`);
      }
      const data: Record<string, Float32Array> = {};
      for (const { name, shape } of keys) {
        const entry = tensors[name];
        if (entry === undefined) throw new FormatError(op, 'bytes', `lacks the tensor '${name}'`);
        if (entry.dtype !== 'F32' && entry.dtype !== 'F64' && entry.dtype !== 'F16' && entry.dtype !== 'BF16') {
          throw new FormatError(op, 'bytes', `has tensor '${name}' of dtype ${entry.dtype}; expected a float dtype`);
        }
        if (entry.shape.length !== shape.length || entry.shape.some((size, i) => size !== shape[i])) {
          throw new FormatError(
            op,
            'bytes',
            `has tensor '${name}' of shape [${entry.shape.join(', ')}]; expected [${shape.join(', ')}]`,
          );
        }
        const floats = toFloat32(entry);
        const bad = floats.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0)
          throw new FormatError(op, 'bytes', `has a non-finite value in tensor '${name}' (flat index ${bad})`);
        data[name] = floats;
      }
      for (const { name, shape } of keys) values[name] = tf.tensor(data[name]!, shape, 'float32');
      bank.loadStateDict(values);
    } catch (error) {
      bank.dispose();
      throw error;
    } finally {
      tf.dispose(Object.values(values));
    }
    return bank;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: no checks, called inside tidy.
  // ---------------------------------------------------------------------------------------------

  private live(op: string): void {
    if (this.isDisposed) throw new GeolipError(op, 'this AnchorBank has been disposed');
  }

  private checkTargets(op: string, expertTargets: readonly tf.Tensor2D[], batch: number): void {
    const { experts, bankDim } = this.settings;
    if (!Array.isArray(expertTargets))
      throw new InvalidArgumentError(op, 'expertTargets', 'must be an array of tf.Tensor2D');
    if (expertTargets.length !== experts) {
      throw new InvalidArgumentError(
        op,
        'expertTargets',
        `must hold one tensor per expert (E=${experts}), got ${expertTargets.length}`,
      );
    }
    expertTargets.forEach((target, e) => checkMatrixTensor(op, `expertTargets[${e}]`, target, batch, bankDim, 'D'));
  }

  /** z = normalize(s·Wᵀ + b). */
  private project(s: tf.Tensor2D): tf.Tensor2D {
    return normalize(
      tf.add(tf.matMul(s, this.projectionWeight as tf.Tensor2D, false, true), this.projectionBias) as tf.Tensor2D,
    );
  }

  /** tri = 1 − z·Âᵀ. */
  private triangulate(z: tf.Tensor2D): tf.Tensor2D {
    const anchors = normalize(this.anchorVariable as tf.Tensor2D);
    return tf.sub(1, tf.matMul(z, anchors, false, true));
  }

  private featureOf(z: tf.Tensor2D, triangulation: tf.Tensor2D): tf.Tensor2D {
    if (!this.featureWeight || !this.featureBias) return tf.clone(z);
    return normalize(
      tf.add(tf.matMul(triangulation, this.featureWeight as tf.Tensor2D, false, true), this.featureBias) as tf.Tensor2D,
    );
  }

  private agreement(z: tf.Tensor2D, expertTargets: readonly tf.Tensor2D[]): tf.Scalar {
    // q_e = normalize(t_e·R_e); no tf.stack, whose gradient (Unpack) is avoided for portability.
    const rotated = expertTargets.map((target, e) =>
      normalize(tf.matMul(target, this.rotationVariables[e] as tf.Tensor2D)),
    );
    const center = this.settings.expertAgreement === 'distance' ? z : tf.div(tf.addN(rotated), rotated.length);
    // (1/B)(1/E) Σ_b Σ_e ‖center_b − q_{e,b}‖²
    const squared = rotated.map((q) => tf.sum(tf.square(tf.sub(center, q))));
    return tf.div(tf.addN(squared), Math.max(z.shape[0], 1) * rotated.length) as tf.Scalar;
  }

  private orthogonality(): tf.Scalar {
    const { bankDim, experts } = this.settings;
    const eye = tf.eye(bankDim);
    const terms = this.rotationVariables.map((rotation) =>
      tf.sum(tf.square(tf.sub(tf.matMul(rotation as tf.Tensor2D, rotation as tf.Tensor2D, true, false), eye))),
    );
    return tf.div(tf.addN(terms), experts) as tf.Scalar;
  }

  private spread(): tf.Scalar {
    const { anchors, spreadTargetCos } = this.settings;
    const unit = normalize(this.anchorVariable as tf.Tensor2D);
    const cos = tf.matMul(unit, unit, false, true);
    const offDiagonal = tf.sub(1, tf.eye(anchors));
    const hinge = tf.mul(tf.relu(tf.sub(cos, spreadTargetCos)), offDiagonal);
    return tf.div(tf.sum(hinge), anchors * (anchors - 1)) as tf.Scalar;
  }

  private cv(seed: number | undefined, samples: number): tf.Scalar {
    const { anchors, cvTarget } = this.settings;
    if (anchors < 5) return tf.scalar(0);
    const unit = normalize(this.anchorVariable as tf.Tensor2D);
    return geometryCvLoss(unit, cvTarget, {
      samples,
      pool: anchors,
      ...(seed !== undefined ? { seed } : { rng: this.cvRng }),
    });
  }
}

// -------------------------------------------------------------------------------------------------
// Private helpers
// -------------------------------------------------------------------------------------------------

function resolveConfig(op: string, config: AnchorBankConfig): AnchorBankSettings {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new InvalidArgumentError(op, 'config', 'must be an object');
  }
  for (const key of Object.keys(config)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key))
      throw new InvalidArgumentError(op, key, 'is not an AnchorBank option');
  }
  const inputDim = assertInteger(op, 'inputDim', config.inputDim ?? 768, 1);
  const bankDim = assertInteger(op, 'bankDim', config.bankDim ?? 128, 1);
  const experts = assertInteger(op, 'experts', config.experts ?? 5, 1);
  const anchors = assertInteger(op, 'anchors', config.anchors ?? 512, 2);
  const cvTarget = assertFiniteNumber(op, 'cvTarget', config.cvTarget ?? 0.082);
  const cvSamples = assertInteger(op, 'cvSamples', config.cvSamples ?? 64, 2);
  const spreadTargetCos = assertFiniteNumber(op, 'spreadTargetCos', config.spreadTargetCos ?? 0);
  if (spreadTargetCos < -1 || spreadTargetCos > 1)
    throw new InvalidArgumentError(op, 'spreadTargetCos', `must be in [-1, 1], got ${spreadTargetCos}`);
  const feature = config.feature ?? 'projection';
  if (!FEATURES.includes(feature))
    throw new InvalidArgumentError(
      op,
      'feature',
      `must be 'projection' or 'triangulation', got ${JSON.stringify(feature)}`,
    );
  const expertAgreement = config.expertAgreement ?? 'distance';
  if (!AGREEMENTS.includes(expertAgreement)) {
    throw new InvalidArgumentError(
      op,
      'expertAgreement',
      `must be 'distance' or 'variance', got ${JSON.stringify(expertAgreement)}`,
    );
  }
  const init = config.anchorInit ?? 'random';
  if (typeof init === 'string' && init !== 'random') {
    throw new InvalidArgumentError(
      op,
      'anchorInit',
      `must be 'random' or an [N, ${bankDim}] matrix of consensus embeddings, got ${JSON.stringify(init)}`,
    );
  }
  const seed = assertFiniteNumber(op, 'seed', config.seed ?? 0);
  return Object.freeze({
    inputDim,
    bankDim,
    experts,
    anchors,
    cvTarget,
    cvSamples,
    spreadTargetCos,
    feature,
    expertAgreement,
    anchorInit: init === 'random' ? 'random' : 'consensus',
    seed,
  });
}

function assertInteger(op: string, argument: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be an integer ≥ ${min}, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return value;
}

function assertFiniteNumber(op: string, argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(op, argument, `must be a finite number, got ${String(value)}`);
  }
  return value;
}

function resolveWeights(op: string, weights: AnchorBankLossWeights): Record<(typeof LOSS_TERMS)[number], number> {
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights))
    throw new InvalidArgumentError(op, 'weights', 'must be an object');
  for (const key of Object.keys(weights)) {
    if (!(LOSS_TERMS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(op, 'weights', `has an unknown term '${key}' (terms: ${LOSS_TERMS.join(', ')})`);
    }
  }
  const out = {} as Record<(typeof LOSS_TERMS)[number], number>;
  for (const term of LOSS_TERMS) {
    const value = weights[term] ?? 1;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(op, 'weights', `'${term}' must be a finite number ≥ 0, got ${String(value)}`);
    }
    out[term] = value;
  }
  return out;
}

/**
 * Checks that `x` is a float32 rank-2 tensor `[rows, cols]` (rows free when null) and returns its
 * first dimension. Metadata only.
 */
function checkMatrixTensor(
  op: string,
  argument: string,
  x: unknown,
  rows: number | null,
  cols: number,
  colName: string,
  rowName = 'B',
): number {
  if (!(x instanceof tf.Tensor)) throw new InvalidArgumentError(op, argument, 'must be a tf.Tensor2D');
  const expected = `[${rows === null ? rowName : `${rowName}=${rows}`}, ${colName}=${cols}]`;
  if (x.rank !== 2 || (rows !== null && x.shape[0] !== rows) || x.shape[1] !== cols) {
    throw new ShapeError(op, argument, expected, x.shape);
  }
  if (x.dtype !== 'float32') throw new InvalidArgumentError(op, argument, `must have dtype float32, got ${x.dtype}`);
  return x.shape[0]!;
}

function tensorOf(data: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(data, shape, 'float32');
}

/** U(−bound, bound), PyTorch's default Linear init for weight and bias (bound = 1/√fan_in). */
function uniformData(rng: Rng, count: number, bound: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}

function identityData(n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/**
 * K unit rows: a seeded subset of the non-zero consensus rows (normalized, in the order drawn),
 * then normalized Gaussian rows for whatever is left (all of them without consensus).
 */
function initialAnchors(rng: Rng, count: number, dim: number, consensus: Matrix | null): Float32Array {
  const out = new Float32Array(count * dim);
  const row = new Float64Array(dim);
  const writeUnit = (k: number): void => {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += row[j]! * row[j]!;
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[k * dim + j] = row[j]! / norm;
  };
  let filled = 0;
  if (consensus) {
    const candidates: number[] = [];
    for (let i = 0; i < consensus.rows; i++) {
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += consensus.data[i * dim + j]! ** 2;
      if (Math.sqrt(norm) > 1e-12) candidates.push(i);
    }
    const take = Math.min(count, candidates.length);
    for (const pick of rng.choose(candidates.length, take)) {
      row.set(consensus.data.subarray(candidates[pick]! * dim, (candidates[pick]! + 1) * dim));
      writeUnit(filled++);
    }
  }
  while (filled < count) {
    let norm = 0;
    do {
      norm = 0;
      for (let j = 0; j < dim; j++) {
        row[j] = rng.normal();
        norm += row[j]! * row[j]!;
      }
    } while (norm < 1e-300);
    writeUnit(filled++);
  }
  return out;
}
