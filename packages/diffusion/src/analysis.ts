import * as tf from '@tensorflow/tfjs-core';
import { BINDING_CONSTANT, anchorDrift, driftSummary } from '@geolip/anchors';
import type { AnchorSource, DriftSummary } from '@geolip/anchors';
import { InvalidArgumentError } from '@geolip/geometry';

import type { GlfmGateMode } from './config.js';
import type { GlfmModel } from './model.js';

/** Options of the drift analyses. */
export interface DriftAnalysisOptions {
  /** Centre of the band, radians. Default 0.29154 (the binding constant, spec §4.5). */
  binding?: number;
  /** Half-width of the band: within means |drift − binding| < window. Default 0.05. */
  window?: number;
}

/** Per-anchor drifts and their summary. */
export interface DriftAnalysis {
  /** Drift of each anchor from home, radians. */
  drift: Float64Array;
  /**
   * mean / median / max and `nearBinding`, the fraction of anchors within the band (`driftSummary` of
   * `@geolip/anchors`).
   */
  summary: DriftSummary;
}

/**
 * Drift of each anchor from its home position (radians) and the fraction within ±window of the
 * binding constant, for hand-built or extracted anchors (spec §4.5, the card's "near 0.29").
 *
 *     drift_a = arccos(clamp(⟨ĥ_a, â_a⟩, ±(1 − 1e-7)))
 *     nearBinding = #{a : |drift_a − 0.29154| < 0.05} / A
 *
 * @param home - `[A, D]` home anchors (raw or unit rows).
 * @param current - `[A, D]` current anchors.
 * @throws {ShapeError} If the shapes differ. @throws {InvalidArgumentError} On a bad window / binding.
 * @example
 * analyzeDrift(tf.tensor2d([[1, 0]]), tf.tensor2d([[Math.cos(0.3), Math.sin(0.3)]])).summary.nearBinding; // 1
 */
export function analyzeDrift(
  home: AnchorSource,
  current: AnchorSource,
  options: DriftAnalysisOptions = {},
): DriftAnalysis {
  const drift = anchorDrift(home, current);
  return {
    drift,
    summary: driftSummary(drift, { binding: options.binding ?? BINDING_CONSTANT, window: options.window ?? 0.05 }),
  };
}

/** {@link modelDrift}'s result: each constellation of the model, and all anchors together. */
export interface ModelDriftAnalysis {
  /** By constellation name (`relay`; or `coarse`, `fine` for v4). */
  constellations: Record<string, DriftAnalysis>;
  /** All anchors of the model pooled. */
  all: DriftAnalysis;
}

/**
 * Anchor drift of every constellation of a {@link GlfmModel} (anchors `[P, A, 16]` flattened to P·A rows).
 * Reads the anchors synchronously.
 */
export function modelDrift(model: GlfmModel, options: DriftAnalysisOptions = {}): ModelDriftAnalysis {
  return pooledDrift(
    Object.entries(model.constellations()).map(([name, c]) => [name, c.drift()]),
    options,
  );
}

/** {@link modelDrift}, reading the anchors asynchronously (webgpu in Node). */
export async function modelDriftAsync(
  model: GlfmModel,
  options: DriftAnalysisOptions = {},
): Promise<ModelDriftAnalysis> {
  const named = await Promise.all(
    Object.entries(model.constellations()).map(async ([name, c]) => [name, await c.driftAsync()] as const),
  );
  return pooledDrift(named, options);
}

function pooledDrift(
  named: readonly (readonly [string, Float64Array])[],
  options: DriftAnalysisOptions,
): ModelDriftAnalysis {
  const summaryOptions = { binding: options.binding ?? BINDING_CONSTANT, window: options.window ?? 0.05 };
  const constellations: Record<string, DriftAnalysis> = {};
  const pooled: number[] = [];
  for (const [name, drift] of named) {
    constellations[name] = { drift, summary: driftSummary(drift, summaryOptions) };
    pooled.push(...drift);
  }
  const all = Float64Array.from(pooled);
  return { constellations, all: { drift: all, summary: driftSummary(all, summaryOptions) } };
}

/** σ(gate) of the relay for v1 / v2 (the card's "gate stayed at 6%"); null for v3 and v4. */
export function gateValue(model: GlfmModel): number | null {
  return model.relay?.gateValue() ?? null;
}

/**
 * Cosine between the bottleneck output (what the decoder receives) and the encoder features, per
 * sample over all s·s·Cb values, averaged over the batch: ≈ 1 means the bottleneck passes the
 * features through (v1 at init), ≈ 0 that it is not an autoencoding of them (the card, for v4).
 *
 *     cos_b = ⟨vec z_b, vec h_b⟩ / (‖vec z_b‖·‖vec h_b‖ + 1e-12);   result = mean_b cos_b
 *
 * @param model - the network.
 * @param x - `[B, H, W, C]` x_t; `t` `[B]`; `labels` `[B]` int32 (as {@link GlfmModel.forward}).
 */
export function reconstructionCosine(model: GlfmModel, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D): number {
  const cos = reconstructionCosineTensor(model, x, t, labels);
  try {
    return cos.dataSync()[0]!;
  } finally {
    cos.dispose();
  }
}

/** {@link reconstructionCosine}, read asynchronously (webgpu in Node). */
export async function reconstructionCosineAsync(
  model: GlfmModel,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
  labels: tf.Tensor1D,
): Promise<number> {
  const cos = reconstructionCosineTensor(model, x, t, labels);
  try {
    return (await cos.data())[0]!;
  } finally {
    cos.dispose();
  }
}

function reconstructionCosineTensor(model: GlfmModel, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D): tf.Scalar {
  const r = model.forwardDetailed(x, t, labels, 'reconstructionCosine');
  try {
    return tf.tidy(() => {
      const b = x.shape[0];
      const z = tf.reshape(r.latent, [b, -1]);
      const h = tf.reshape(r.features, [b, -1]);
      const dot = tf.sum(tf.mul(z, h), 1);
      const norms = tf.add(tf.mul(tf.norm(z, 'euclidean', 1), tf.norm(h, 'euclidean', 1)), 1e-12);
      return tf.mean(tf.div(dot, norms)) as tf.Scalar;
    });
  } finally {
    tf.dispose([r.velocity, r.features, r.latent, r.triangulation]);
  }
}

/** {@link routingFraction}'s result for v1 / v2. */
export interface RoutingFraction {
  /** The gate mode the numbers are for (`config.gateMode`). */
  gateMode: GlfmGateMode;
  /** σ(g). */
  gate: number;
  /**
   * The constellation's share of the two path coefficients, w_c / (w_b + w_c): σ(g) for `'convex'`, 1 − σ(g) for
   * `'bypass'`, σ(g) / (1 + σ(g)) for `'relay'` (z = base + σ(g)·R).
   */
  weight: number;
  /**
   * The constellation's share of the bottleneck's energy on the batch, Σ‖w_c·R‖² / (Σ‖w_b·base‖² + Σ‖w_c·R‖²)
   * (sums over every sample and value); NaN without a batch.
   */
  energy: number;
}

/**
 * The card's "routing fraction" of v1 / v2 (the share of the bottleneck that passes through the 768 triangulation
 * dimensions), in two exact forms: the coefficient share `weight` (data-free) and the energy share `energy`
 * measured on a batch. With z = w_b·base + w_c·R (base = h for v1, Skip(vec h) for v2, R = Relay(h); the weights
 * of {@link GlfmConfig.gateMode}):
 *
 *     weight = w_c / (w_b + w_c)
 *     energy = Σ_b ‖w_c·R_b‖² / (Σ_b ‖w_b·base_b‖² + Σ_b ‖w_c·R_b‖²)
 *
 * `energy` is 0 when both terms vanish (0/0). Null for v3 and v4 (no gate).
 *
 * @param batch - optional `{ x, t, labels }` (as {@link GlfmModel.forward}); without it `energy` is NaN.
 * @example
 * // gateMode 'convex' with σ(g) = 0.25 and ‖base‖ = ‖R‖: weight 0.25, energy 0.25² / (0.75² + 0.25²) = 0.1
 */
export function routingFraction(
  model: GlfmModel,
  batch?: { x: tf.Tensor4D; t: tf.Tensor1D; labels: tf.Tensor1D },
): RoutingFraction | null {
  checkBatch('routingFraction', batch);
  const gate = model.relay?.gateValue() ?? null;
  if (gate === null) return null;
  const sums = routingSums(model, batch);
  const values = sums ? sums.dataSync() : null;
  sums?.dispose();
  return routingResult(model, gate, values);
}

/** {@link routingFraction}, read asynchronously (webgpu in Node). */
export async function routingFractionAsync(
  model: GlfmModel,
  batch?: { x: tf.Tensor4D; t: tf.Tensor1D; labels: tf.Tensor1D },
): Promise<RoutingFraction | null> {
  checkBatch('routingFractionAsync', batch);
  const gate = (await model.relay?.gateValueAsync()) ?? null;
  if (gate === null) return null;
  const sums = routingSums(model, batch);
  const values = sums ? await sums.data() : null;
  sums?.dispose();
  return routingResult(model, gate, values);
}

/** `[Σ‖base‖², Σ‖constellation‖²]` of the weighted paths, or null without a batch. */
function routingSums(
  model: GlfmModel,
  batch: { x: tf.Tensor4D; t: tf.Tensor1D; labels: tf.Tensor1D } | undefined,
): tf.Tensor1D | null {
  if (!batch) return null;
  const paths = model.bottleneckPaths(batch.x, batch.t, batch.labels);
  if (!paths) return null;
  try {
    return tf.tidy(
      () => tf.stack([tf.sum(tf.square(paths.base)), tf.sum(tf.square(paths.constellation))]) as tf.Tensor1D,
    );
  } finally {
    tf.dispose([paths.base, paths.constellation]);
  }
}

function routingResult(model: GlfmModel, gate: number, sums: ArrayLike<number> | null): RoutingFraction {
  const mode = model.config.gateMode;
  const [wb, wc] = mode === 'relay' ? [1, gate] : mode === 'convex' ? [1 - gate, gate] : [gate, 1 - gate];
  let energy = NaN;
  if (sums) {
    const total = sums[0]! + sums[1]!;
    energy = total > 0 ? sums[1]! / total : 0;
  }
  return { gateMode: mode, gate, weight: wc / (wb + wc), energy };
}

/** The per-epoch numbers of the card for one model: gate, drift statistics, reconstruction cosine. */
export interface GlfmAnalysis {
  variant: string;
  /** σ(gate) (v1, v2) or null. */
  gate: number | null;
  /** v1 / v2: the routing fraction (see {@link routingFraction}; `energy` NaN without a batch); null for v3, v4. */
  routing: RoutingFraction | null;
  drift: ModelDriftAnalysis;
  /** See {@link reconstructionCosine}; NaN when no batch is given. */
  reconstructionCosine: number;
}

/**
 * Everything the card reports besides the loss, for one model.
 * @param batch - optional `{ x, t, labels }` to measure the reconstruction cosine on.
 * @example
 * const a = analyzeGlfm(model, { x: xt, t, labels });
 * a.drift.all.summary.nearBinding; // fraction of anchors within ±0.05 of 0.29154
 */
export function analyzeGlfm(
  model: GlfmModel,
  batch?: { x: tf.Tensor4D; t: tf.Tensor1D; labels: tf.Tensor1D },
  options: DriftAnalysisOptions = {},
): GlfmAnalysis {
  checkBatch('analyzeGlfm', batch);
  return {
    variant: model.variant,
    gate: gateValue(model),
    routing: routingFraction(model, batch),
    drift: modelDrift(model, options),
    reconstructionCosine: batch ? reconstructionCosine(model, batch.x, batch.t, batch.labels) : NaN,
  };
}

/** {@link analyzeGlfm} with asynchronous reads: what a training loop on webgpu (Node) must call. */
export async function analyzeGlfmAsync(
  model: GlfmModel,
  batch?: { x: tf.Tensor4D; t: tf.Tensor1D; labels: tf.Tensor1D },
  options: DriftAnalysisOptions = {},
): Promise<GlfmAnalysis> {
  checkBatch('analyzeGlfmAsync', batch);
  return {
    variant: model.variant,
    gate: (await model.relay?.gateValueAsync()) ?? null,
    routing: await routingFractionAsync(model, batch),
    drift: await modelDriftAsync(model, options),
    reconstructionCosine: batch ? await reconstructionCosineAsync(model, batch.x, batch.t, batch.labels) : NaN,
  };
}

function checkBatch(op: string, batch: unknown): void {
  if (batch !== undefined && (typeof batch !== 'object' || batch === null))
    throw new InvalidArgumentError(op, 'batch', 'must be { x, t, labels }');
}

/** Edges of {@link driftStatistics}'s histogram, radians: 0, 0.05, …, 1.0 (20 bins, then one bin for ≥ 1.0). */
export const DRIFT_HISTOGRAM_EDGES: readonly number[] = Object.freeze(
  Array.from({ length: 21 }, (_, i) => Math.round(i * 5) / 100),
);

/** Options of {@link driftStatistics}. */
export interface DriftStatisticsOptions extends DriftAnalysisOptions {
  /** Anchors with drift < split are structural, the rest semantic. Default 0.29154 (the binding constant). */
  split?: number;
}

/** {@link driftStatistics}'s result. */
export interface DriftStatistics {
  /** Anchors counted (finite drifts). */
  count: number;
  /** Fraction with |drift − binding| < window (as `driftSummary`'s `nearBinding`). */
  nearBinding: number;
  /** Fraction of anchors with drift < split, and their mean drift (NaN when none). */
  structural: { fraction: number; mean: number };
  /** Fraction of anchors with drift ≥ split, and their mean drift (NaN when none). */
  semantic: { fraction: number; mean: number };
  /**
   * Fraction of anchors per bin of {@link DRIFT_HISTOGRAM_EDGES}: bin i holds edges[i] ≤ drift < edges[i + 1], the
   * last bin (index 20) drift ≥ 1.0. Sums to 1.
   */
  histogram: number[];
}

/**
 * The per-epoch drift numbers of the card for a set of anchors: the fraction near the binding constant, the
 * structural / semantic split ([INFER]: the card calls the anchors below 0.29 structural and those above it
 * semantic; the split point is the binding constant 0.29154) and a histogram of the drift since init.
 *
 *     nearBinding = #{a : |d_a − 0.29154| < 0.05} / A
 *     structural  = #{a : d_a < 0.29154} / A,  semantic = 1 − structural
 *     histogram_i = #{a : e_i ≤ d_a < e_{i+1}} / A  (e = 0, 0.05, …, 1.0, ∞)
 *
 * Non-finite drifts are left out of every count.
 * @param drift - per-anchor drift from home, radians (e.g. `modelDrift(model).all.drift`).
 * @throws {InvalidArgumentError} If `drift` is not an array of numbers or an option is not a finite number.
 * @example
 * driftStatistics([0.1, 0.3, 0.5, 1.2]).structural; // { fraction: 0.25, mean: 0.1 }
 */
export function driftStatistics(drift: ArrayLike<number>, options: DriftStatisticsOptions = {}): DriftStatistics {
  const op = 'driftStatistics';
  if (drift === null || typeof drift !== 'object' || typeof drift.length !== 'number')
    throw new InvalidArgumentError(op, 'drift', 'must be an array of numbers');
  const binding = options.binding ?? BINDING_CONSTANT;
  const window = options.window ?? 0.05;
  const split = options.split ?? binding;
  for (const [name, v] of [
    ['binding', binding],
    ['window', window],
    ['split', split],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new InvalidArgumentError(op, `options.${name}`, `must be a finite number, got ${String(v)}`);
  }
  const edges = DRIFT_HISTOGRAM_EDGES;
  const bins = new Array<number>(edges.length).fill(0);
  let count = 0;
  let near = 0;
  let nStructural = 0;
  let sumStructural = 0;
  let sumSemantic = 0;
  for (let i = 0; i < drift.length; i++) {
    const d = drift[i]!;
    if (!Number.isFinite(d)) continue;
    count++;
    if (Math.abs(d - binding) < window) near++;
    if (d < split) {
      nStructural++;
      sumStructural += d;
    } else sumSemantic += d;
    let bin = edges.length - 1;
    for (let k = 1; k < edges.length; k++) {
      if (d < edges[k]!) {
        bin = k - 1;
        break;
      }
    }
    bins[bin]! += 1;
  }
  const nSemantic = count - nStructural;
  return {
    count,
    nearBinding: count ? near / count : NaN,
    structural: { fraction: count ? nStructural / count : NaN, mean: nStructural ? sumStructural / nStructural : NaN },
    semantic: { fraction: count ? nSemantic / count : NaN, mean: nSemantic ? sumSemantic / nSemantic : NaN },
    histogram: bins.map((b) => (count ? b / count : NaN)),
  };
}
