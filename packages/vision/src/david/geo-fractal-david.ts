/**
 * GeoFractalDavid (spec §11): a multi-scale geometric basin classifier over feature vectors. Per scale, a projection
 * onto a sphere, a k-simplex of prototypes per class, a Cantor-staircase value per sample, and three logits
 * (feature, cantor, crystal) mixed by learned weights; the scales are fused by learned weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, createRng } from '@geolip/geometry';
import { LayerNorm, Linear, Module, ModuleList, gelu } from '@geolip/nn';

import { summarizePrototypes } from './structure.js';
import type { GeoFractalDavidScaleStructure, GeoFractalDavidStructure, StructureOptions } from './structure.js';

/**
 * How the Cantor value κ of a sample is computed (spec §11.1).
 *
 * - `'feature'` (default, [INFER]): x = sigmoid(Linear(y)), then the canonical multi-level staircase with learnable α
 *   (`levels` levels). κ depends on the sample only.
 * - `'batch-position'`: the author's code: x = clamp(p/(B−1) + 0.3·tanh(Linear(y))) with p the sample's index in the
 *   batch, one soft ternary digit, κ = α·q_mid + q_right. Kept for parity; κ changes with batch order and size.
 */
export type CantorMode = 'feature' | 'batch-position';

/** Sizes and options of {@link GeoFractalDavid}. */
export interface GeoFractalDavidConfig {
  /** F: input feature width. */
  featureDim: number;
  /** C: classes. */
  numClasses: number;
  /** k: each class simplex has k + 1 vertices. Needs k + 1 ≤ every scale. */
  k: number;
  /** Widths s of the per-scale spheres. */
  scales: readonly number[];
  /** Initial α of the staircase. Default 0.5. */
  alphaInit?: number;
  /** τ of the soft ternary digit. Default 0.25. */
  tau?: number;
  /** Default `'feature'`. */
  cantorMode?: CantorMode;
  /** Levels of the `'feature'` staircase. Default 12. */
  levels?: number;
}

/** The card's defaults (constructor of the author's class): F 512, C 1000, k 5, six scales. */
export const GEO_FRACTAL_DAVID_CONFIG: Readonly<GeoFractalDavidConfig> = Object.freeze({
  featureDim: 512,
  numClasses: 1000,
  k: 5,
  scales: Object.freeze([256, 384, 512, 768, 1024, 1280]),
});

/**
 * The card's run "GeoFractalDavid-Basin-k12" (AbstractPhil/geofractal-david): 512-d CLIP features of ImageNet-1K
 * (1,000 classes), k = 12 (13 vertices per class, 13,000 in all) at five scales 384…1280 [CARD]; α₀ = 0.5 and τ = 0.25
 * (the constructor's defaults; the card lists no other) and the author's batch-position staircase [CODE:
 * lattice_vocabulary `geo_fractal_david.py` @ 24697fa, the code that trained the card]. For other features, replace
 * `featureDim` and `numClasses`: a scale wider than the features is reached by the projection Linear(F → 2s) like any
 * other, as in the author's code (the card's 768…1280 from 512-d features).
 */
export const GEO_FRACTAL_DAVID_BASIN_K12: Readonly<Required<GeoFractalDavidConfig>> = Object.freeze({
  featureDim: 512,
  numClasses: 1000,
  k: 12,
  scales: Object.freeze([384, 512, 768, 1024, 1280]),
  alphaInit: 0.5,
  tau: 0.25,
  cantorMode: 'batch-position',
  levels: 12,
});

/** What {@link GeoFractalDavid.forward} returns (new tensors the caller disposes, e.g. inside `tf.tidy`). */
export interface GeoFractalDavidOutput {
  /** `[B, C]` fused logits Σ_s softmax(fusion)_s · logits_s. */
  logits: tf.Tensor2D;
  /** `[B, C]` per scale. */
  scaleLogits: tf.Tensor2D[];
  /** `[B]` the Cantor value κ (shared by the scales). */
  cantor: tf.Tensor1D;
  /** `[B]` q_mid of the first ternary digit (for the discretization term). */
  qMid: tf.Tensor1D;
}

const CENTERS = [0.5, 1.5, 2.5];

/** The shared Cantor staircase: `alpha` and `feature_to_position` (Linear(F → 1)). */
class CantorStaircase extends Module {
  readonly alpha: tf.Variable;
  readonly featureToPosition: Linear;

  constructor(
    featureDim: number,
    alphaInit: number,
    private readonly tau: number,
    private readonly mode: CantorMode,
    private readonly levels: number,
    seed: number,
  ) {
    super();
    this.alpha = this.addParameter('alpha', tf.scalar(alphaInit));
    this.featureToPosition = this.addModule('feature_to_position', new Linear(featureDim, 1, { seed }));
  }

  /** Soft ternary digit of u ∈ [0, 3): softmax over the three centers of −(u − c)²/τ, `[B, 3]`. */
  private digit(u: tf.Tensor1D): tf.Tensor2D {
    const d = tf.sub(tf.expandDims(u, 1), tf.tensor2d([CENTERS]));
    return tf.softmax(tf.div(tf.neg(tf.square(d)), this.tau + 1e-8)) as tf.Tensor2D;
  }

  forward(y: tf.Tensor2D): { cantor: tf.Tensor1D; qMid: tf.Tensor1D } {
    const b = y.shape[0];
    const pos = tf.reshape(this.featureToPosition.forward(y), [b]) as tf.Tensor1D;
    const lo = 1e-6;
    if (this.mode === 'batch-position') {
      const base = tf.clipByValue(tf.div(tf.range(0, b, 1, 'float32'), Math.max(b - 1, 1)), lo, 1 - lo);
      const x = tf.clipByValue(tf.add(base, tf.mul(0.3, tf.tanh(pos))), lo, 1 - lo) as tf.Tensor1D;
      const u = tf.mod(tf.mul(x, 3), 3) as tf.Tensor1D;
      const q = this.digit(u);
      const [, qm, qr] = tf.split(q, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const cantor = tf.reshape(tf.add(tf.mul(this.alpha, qm), qr), [b]) as tf.Tensor1D;
      return { cantor, qMid: tf.reshape(qm, [b]) as tf.Tensor1D };
    }
    let x = tf.clipByValue(tf.sigmoid(pos), lo, 1 - lo) as tf.Tensor1D;
    let total: tf.Tensor1D = tf.zeros([b]);
    let qMid: tf.Tensor1D | undefined;
    let w = 0.5;
    for (let level = 0; level < this.levels; level++) {
      const u = tf.mul(x, 3) as tf.Tensor1D;
      const q = this.digit(u);
      const [, qm, qr] = tf.split(q, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      if (qMid === undefined) qMid = tf.reshape(qm, [b]) as tf.Tensor1D;
      total = tf.add(total, tf.mul(w, tf.reshape(tf.add(qr, tf.mul(this.alpha, qm)), [b]))) as tf.Tensor1D;
      x = tf.sub(u, tf.floor(u)) as tf.Tensor1D;
      w /= 2;
    }
    return { cantor: tf.clipByValue(total, 0, 1) as tf.Tensor1D, qMid: qMid! };
  }
}

/** k+1 orthonormal vertices in R^s from a seeded Gaussian (Gram–Schmidt, = QR up to signs), centered at 0. */
export function randomSimplex(k: number, s: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const n = k + 1;
  const v = new Float64Array(n * s);
  for (let i = 0; i < n * s; i++) v[i] = rng.normal();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let t = 0; t < s; t++) dot += v[i * s + t]! * v[j * s + t]!;
      for (let t = 0; t < s; t++) v[i * s + t]! -= dot * v[j * s + t]!;
    }
    let norm = 0;
    for (let t = 0; t < s; t++) norm += v[i * s + t]! ** 2;
    norm = Math.sqrt(norm);
    for (let t = 0; t < s; t++) v[i * s + t]! /= norm;
  }
  const out = new Float32Array(n * s);
  for (let t = 0; t < s; t++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += v[i * s + t]!;
    mean /= n;
    for (let i = 0; i < n; i++) out[i * s + t] = v[i * s + t]! - mean;
  }
  return out;
}

/** Projection Linear(F → 2s) → GELU → LayerNorm(2s) → Linear(2s → s) (PyTorch `Sequential` names 0, 2, 3). */
class Projection extends Module {
  private readonly l0: Linear;
  private readonly ln2: LayerNorm;
  private readonly l3: Linear;
  constructor(f: number, s: number, seed: number) {
    super();
    this.l0 = this.addModule('0', new Linear(f, 2 * s, { seed }));
    this.ln2 = this.addModule('2', new LayerNorm(2 * s));
    this.l3 = this.addModule('3', new Linear(2 * s, s, { seed: seed + 1 }));
  }
  forward(y: tf.Tensor2D): tf.Tensor2D {
    return this.l3.forward(this.ln2.forward(gelu(this.l0.forward(y))));
  }
}

/**
 * One scale: projection, class simplices `class_prototypes` [C, k+1, s], `cantor_prototypes` [C],
 * `geo_weights` [3].
 */
class GeometricHead extends Module {
  readonly projection: Projection;
  readonly classPrototypes: tf.Variable;
  readonly cantorPrototypes: tf.Variable;
  readonly geoWeights: tf.Variable;

  constructor(
    f: number,
    readonly s: number,
    readonly c: number,
    readonly k: number,
    seed: number,
  ) {
    super();
    this.projection = this.addModule('projection', new Projection(f, s, seed));
    const protos = new Float32Array(c * (k + 1) * s);
    for (let cls = 0; cls < c; cls++) protos.set(randomSimplex(k, s, seed * 7919 + 104729 + cls), cls * (k + 1) * s);
    this.classPrototypes = this.addParameter('class_prototypes', tf.tensor3d(protos, [c, k + 1, s]));
    const lin = Float32Array.from({ length: c }, (_, i) => (c === 1 ? 0 : i / (c - 1)));
    this.cantorPrototypes = this.addParameter('cantor_prototypes', tf.tensor1d(lin));
    this.geoWeights = this.addParameter('geo_weights', tf.zeros([3]));
  }

  forward(y: tf.Tensor2D, cantor: tf.Tensor1D): tf.Tensor2D {
    const { c, k, s } = this;
    const p = this.projection.forward(y);
    const q = tf.div(p, tf.maximum(tf.norm(p, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
    const centroid = tf.mean(this.classPrototypes, 1) as tf.Tensor2D;
    const unitCentroid = tf.div(centroid, tf.maximum(tf.norm(centroid, 'euclidean', 1, true), 1e-12));
    const feature = tf.matMul(q, unitCentroid, false, true);
    const cantorTerm = tf.neg(tf.square(tf.sub(tf.expandDims(cantor, 1), tf.expandDims(this.cantorPrototypes, 0))));
    const flat = tf.reshape(this.classPrototypes, [c * (k + 1), s]) as tf.Tensor2D;
    const d2 = tf.relu(
      tf.sub(
        tf.add(tf.sum(tf.square(q), 1, true), tf.expandDims(tf.sum(tf.square(flat), 1), 0)),
        tf.mul(2, tf.matMul(q, flat, false, true)),
      ),
    );
    const crystal = tf.neg(tf.sqrt(tf.add(tf.min(tf.reshape(d2, [-1, c, k + 1]), 2), 1e-8)));
    const w = tf.softmax(this.geoWeights);
    const [w0, w1, w2] = tf.split(w, 3) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    return tf.addN([tf.mul(w0, feature), tf.mul(w1, cantorTerm), tf.mul(w2, crystal)]) as tf.Tensor2D;
  }
}

/**
 * GeoFractalDavid. Parameter names ([INFER]: the author's module names where the spec gives them):
 * `cantor_stairs.alpha`, `cantor_stairs.feature_to_position.*`, `heads.{i}.projection.{0,2,3}.*`,
 * `heads.{i}.class_prototypes`, `heads.{i}.cantor_prototypes`, `heads.{i}.geo_weights`, `fusion_weights`.
 *
 * @example
 * const david = new GeoFractalDavid({ featureDim: 64, numClasses: 10, k: 4, scales: [32, 48] });
 * const { logits } = david.forward(features);   // [B, 10]; predict with tf.argMax(logits, 1)
 */
export class GeoFractalDavid extends Module {
  readonly config: Readonly<Required<GeoFractalDavidConfig>>;
  readonly fusionWeights: tf.Variable;
  private readonly stairs: CantorStaircase;
  private readonly heads: ModuleList<GeometricHead>;

  /** @throws {InvalidArgumentError} a size that is not a positive integer, no scales, or a scale < k + 1. */
  constructor(config: GeoFractalDavidConfig, options: { seed?: number } = {}) {
    super();
    const op = 'GeoFractalDavid';
    const { featureDim, numClasses, k, scales } = config;
    for (const [name, v] of [
      ['featureDim', featureDim],
      ['numClasses', numClasses],
      ['k', k],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new InvalidArgumentError(op, `config.${name}`, `must be a positive integer, got ${String(v)}`);
    }
    if (!Array.isArray(scales) || scales.length === 0)
      throw new InvalidArgumentError(op, 'config.scales', 'must be a non-empty array');
    scales.forEach((s, i) => {
      if (!Number.isInteger(s) || s < k + 1)
        throw new InvalidArgumentError(
          op,
          `config.scales[${i}]`,
          `must be an integer >= k + 1 = ${k + 1} (k+1 orthonormal vertices), got ${String(s)}`,
        );
    });
    const full: Required<GeoFractalDavidConfig> = {
      featureDim,
      numClasses,
      k,
      scales: [...scales],
      alphaInit: config.alphaInit ?? 0.5,
      tau: config.tau ?? 0.25,
      cantorMode: config.cantorMode ?? 'feature',
      levels: config.levels ?? 12,
    };
    if (full.cantorMode !== 'feature' && full.cantorMode !== 'batch-position') {
      throw new InvalidArgumentError(
        op,
        'config.cantorMode',
        `must be 'feature' or 'batch-position', got ${String(full.cantorMode)}`,
      );
    }
    if (!Number.isInteger(full.levels) || full.levels < 1)
      throw new InvalidArgumentError(op, 'config.levels', `must be a positive integer, got ${full.levels}`);
    if (!(full.tau > 0)) throw new InvalidArgumentError(op, 'config.tau', `must be > 0, got ${full.tau}`);
    this.config = Object.freeze(full);
    const seed = options.seed ?? 0;
    this.stairs = this.addModule(
      'cantor_stairs',
      new CantorStaircase(featureDim, full.alphaInit, full.tau, full.cantorMode, full.levels, seed),
    );
    this.heads = this.addModule('heads', new ModuleList<GeometricHead>());
    full.scales.forEach((s, i) =>
      this.heads.append(new GeometricHead(featureDim, s, numClasses, k, seed + 10 * (i + 1))),
    );
    this.fusionWeights = this.addParameter('fusion_weights', tf.ones([full.scales.length]));
  }

  /**
   * @param features - `[B, F]` float32; L2-normalized here first.
   * @throws {ShapeError} when `features` is not `[B, featureDim]`.
   */
  forward(features: tf.Tensor2D): GeoFractalDavidOutput {
    this.assertLive('forward');
    const f = this.config.featureDim;
    if (!(features instanceof tf.Tensor) || features.rank !== 2 || features.shape[1] !== f) {
      throw new ShapeError(
        'GeoFractalDavid.forward',
        'features',
        `[B, ${f}]`,
        features instanceof tf.Tensor ? features.shape : [],
      );
    }
    return tf.tidy(() => {
      const y = tf.div(features, tf.maximum(tf.norm(features, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
      const { cantor, qMid } = this.stairs.forward(y);
      const scaleLogits = this.config.scales.map((_, i) => this.heads.get(i).forward(y, cantor));
      // Σ_s softmax(fusion)_s · logits_s as one weighted sum over the stacked scales (tf.unstack's gradient fails for a
      // single scale).
      const fw = tf.reshape(tf.softmax(this.fusionWeights), [-1, 1, 1]);
      const logits = tf.sum(tf.mul(fw, tf.stack(scaleLogits)), 0) as tf.Tensor2D;
      return { logits, scaleLogits, cantor, qMid } as never;
    });
  }

  /**
   * The learned structure the card reports: α, and per scale the fusion weight, softmax(geo_weights) and the
   * distribution of the Cantor prototypes (reads the weights asynchronously, so it works on every backend).
   *
   * @throws {InvalidArgumentError} `options.bins` not a positive integer, or `options.range` not [lo, hi] with lo < hi.
   */
  async structure(options: StructureOptions = {}): Promise<GeoFractalDavidStructure> {
    this.assertLive('structure');
    const op = 'GeoFractalDavid.structure';
    const { bins = 20, range = [-0.5, 1.5] } = options;
    if (!Number.isInteger(bins) || bins < 1)
      throw new InvalidArgumentError(op, 'options.bins', `must be a positive integer, got ${String(bins)}`);
    if (!Array.isArray(range) || range.length !== 2 || !(range[0] < range[1]))
      throw new InvalidArgumentError(
        op,
        'options.range',
        `must be [lo, hi] with lo < hi, got ${JSON.stringify(range)}`,
      );
    const softmax = (v: ArrayLike<number>): number[] => {
      const m = Math.max(...Array.from(v));
      const e = Array.from(v, (x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / z);
    };
    const fusion = softmax(await this.fusionWeights.data());
    const alpha = (await this.stairs.alpha.data())[0]!;
    const scales: GeoFractalDavidScaleStructure[] = [];
    for (const [i, scale] of this.config.scales.entries()) {
      const head = this.heads.get(i);
      const [feature, cantor, crystal] = softmax(await head.geoWeights.data()) as [number, number, number];
      scales.push({
        scale,
        fusionWeight: fusion[i]!,
        geoWeights: { feature, cantor, crystal },
        cantorPrototypes: summarizePrototypes(await head.cantorPrototypes.data(), { ...options, bins, range }),
      });
    }
    return { alpha, scales };
  }

  /** `[S, C]` the Cantor prototypes π of every scale (for the coherence term). */
  cantorPrototypes(): tf.Tensor2D {
    return tf.stack(this.config.scales.map((_, i) => this.heads.get(i).cantorPrototypes)) as tf.Tensor2D;
  }

  /**
   * Parameter groups for the card's three learning rates (scale heads lr, fusion 0.5·lr, Cantor stairs 0.1·lr).
   * @returns names of `getWeights()` per group.
   */
  parameterGroups(): { heads: string[]; fusion: string[]; stairs: string[] } {
    const names = Object.keys(this.getWeights());
    return {
      heads: names.filter((n) => n.startsWith('heads.')),
      fusion: names.filter((n) => n === 'fusion_weights'),
      stairs: names.filter((n) => n.startsWith('cantor_stairs.')),
    };
  }
}

/** Weights of {@link basinLoss} ([INFER], spec §11.2's recommended table). */
export interface BasinLossOptions {
  /** T of the cross-entropies. Default 1. */
  temperature?: number;
  /** MSE(κ, π_y) per scale. Default 0.5. */
  coherence?: number;
  /** Margin hinge ReLU(margin − (logit_y − max wrong logit)) on the fused logits. Default 0.1. */
  separation?: number;
  /** The hinge's margin. Default 0.3. */
  margin?: number;
  /** mean(q_mid · (1 − q_mid)): pushes the first ternary digit toward a hard digit. Default 0.01. */
  discretization?: number;
}

/**
 * The contrastive geometric basin loss of GeoFractalDavid ([INFER] form, spec §11.2):
 * CE(fused/T) + mean_s CE(logits_s/T) + coherence·mean_s MSE(κ, π_{s,y}) + separation·hinge
 * + discretization·q_mid(1−q_mid).
 *
 * @param labels - `[B]` class indices.
 * @returns `loss` and its parts (scalars; dispose them, or call inside `tf.tidy`).
 * @throws {ShapeError} labels of another length than the batch.
 */
export function basinLoss(
  model: GeoFractalDavid,
  out: GeoFractalDavidOutput,
  labels: tf.Tensor1D,
  options: BasinLossOptions = {},
): { loss: tf.Scalar; parts: Record<'primary' | 'coherence' | 'separation' | 'discretization', tf.Scalar> } {
  const { temperature = 1, coherence = 0.5, separation = 0.1, margin = 0.3, discretization = 0.01 } = options;
  const [b, c] = out.logits.shape;
  if (labels.rank !== 1 || labels.shape[0] !== b) throw new ShapeError('basinLoss', 'labels', `[${b}]`, labels.shape);
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), c);
    const ce = (l: tf.Tensor2D) => tf.losses.softmaxCrossEntropy(oneHot, tf.div(l, temperature)) as tf.Scalar;
    const primary = tf.add(
      ce(out.logits),
      tf.div(tf.addN(out.scaleLogits.map(ce)), out.scaleLogits.length),
    ) as tf.Scalar;
    const piY = tf.gather(model.cantorPrototypes(), tf.cast(labels, 'int32'), 1); // [S, B]
    const coh = tf.mean(tf.square(tf.sub(piY, tf.expandDims(out.cantor, 0)))) as tf.Scalar;
    const correct = tf.sum(tf.mul(out.logits, oneHot), 1);
    const wrong = tf.max(tf.sub(out.logits, tf.mul(oneHot, 1e9)), 1);
    const sep = tf.mean(tf.relu(tf.sub(margin, tf.sub(correct, wrong)))) as tf.Scalar;
    const disc = tf.mean(tf.mul(out.qMid, tf.sub(1, out.qMid))) as tf.Scalar;
    const loss = tf.addN([
      primary,
      tf.mul(coherence, coh),
      tf.mul(separation, sep),
      tf.mul(discretization, disc),
    ]) as tf.Scalar;
    return { loss, parts: { primary, coherence: coh, separation: sep, discretization: disc } } as never;
  });
}
