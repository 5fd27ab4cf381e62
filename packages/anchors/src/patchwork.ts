import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { Module } from '@geolip/nn';
import type { StateDict, StateDictKey } from '@geolip/nn';

import { resolveRng } from './anchor-init.js';
import { checkChoice, checkInteger, checkMatrixTensor, checkNumber, describe } from './internal/module-checks.js';

/**
 * The compartment activation (spec §5):
 * - `'squared-relu'` (default): ReLU(h)²
 * - `'star-relu'`: s·ReLU(h)² + b with a learnable scalar s (init 0.8944) and b (init −0.4472) per compartment
 */
export type PatchworkActivation = 'squared-relu' | 'star-relu';

/** The activations {@link Patchwork} accepts. */
export const PATCHWORK_ACTIVATIONS: readonly PatchworkActivation[] = Object.freeze(['squared-relu', 'star-relu']);

/** StarReLU initial scale and bias (spec §5: 0.8944·ReLU(x)² − 0.4472). */
export const STAR_RELU_INIT = Object.freeze({ scale: 0.8944, bias: -0.4472 });

/** Options of the {@link Patchwork} constructor. */
export interface PatchworkOptions {
  /** K, the width of the triangulation it reads; a multiple of `compartments`. */
  anchors: number;
  /** n_comp, the number of compartments. Default 8. */
  compartments?: number;
  /** d_comp, the output width of each compartment. Default 64. */
  compartmentDim?: number;
  /** Default `'squared-relu'`. */
  activation?: PatchworkActivation;
  /** Seed of the initialization. Default 0. */
  seed?: number;
}

/** The configuration of a {@link Patchwork}, as stored in a checkpoint's metadata. */
export interface PatchworkConfig {
  /** K. */
  anchors: number;
  /** n_comp. */
  compartments: number;
  /** d_comp. */
  compartmentDim: number;
  activation: PatchworkActivation;
}

/** LayerNorm epsilon (PyTorch's default). */
const LAYER_NORM_EPSILON = 1e-5;

/**
 * Patchwork: reads a triangulation in round-robin compartments, each through its own small MLP
 * (spec §5, `geolip_core/core/curate/patchwork.py::Patchwork`).
 *
 *     apc = K / n_comp;   compartment k reads columns k, k + n_comp, k + 2·n_comp, …  (tri[:, k::n_comp])
 *     y_k = LayerNorm_k( W2_k · act( W1_k · tri[:, k::n_comp] + b1_k ) + b2_k )
 *           W1_k: [2·d_comp, apc],  W2_k: [d_comp, 2·d_comp],  LayerNorm over d_comp (ε = 1e-5, affine)
 *     out = concat(y_0, …, y_{n_comp−1})          [B, n_comp·d_comp], compartment order
 *
 * Initialization as PyTorch's nn.Linear (kaiming-uniform with a = √5): every weight and bias of a
 * Linear with fan-in f is U(−1/√f, 1/√f); LayerNorm weight 1 and bias 0; StarReLU s = 0.8944,
 * b = −0.4472. Drawn in float64 from a seeded generator, compartment by compartment in the order
 * W1, b1, W2, b2 (each row-major in the PyTorch [out, in] layout).
 *
 * @remarks
 * - The compartments run as one batched computation: tri `[B, K]` is reshaped to `[B, apc, n_comp]`
 *   (entry [b, j, k] = tri[b, j·n_comp + k]) and transposed to `[n_comp, B, apc]`, so compartment k's
 *   j-th input is anchor j·n_comp + k, exactly the stride slice. The weights are stored stacked
 *   (`[n_comp, 2·d_comp, apc]`, …) and applied with batched matmuls. No gather (whose gradient needs
 *   UnsortedSegmentSum, missing on wasm).
 * - Cost O(B·K·d_comp + B·n_comp·d_comp²); stays on the backend; differentiable.
 * - A `Module` of `@geolip/nn`. `getWeights()` gives the stacked variables as stored, under
 *   `stacked.{suffix}` (`stacked.0.weight` `[n_comp, 2·d_comp, apc]`, `stacked.0.bias`, `stacked.2.weight`,
 *   `stacked.2.bias`, `stacked.3.weight`, `stacked.3.bias`, and `stacked.1.scale` / `stacked.1.bias`
 *   `[n_comp]` for StarReLU): what an optimizer trains. `stateDict()` / `loadStateDict()` use PyTorch's
 *   per-compartment names instead (see {@link Patchwork.stateDict}), also inside a parent model: the
 *   patchwork defines its own contribution to a state dict (`Module.ownStateKeys` and friends).
 *
 * @example
 * const p = new Patchwork({ anchors: 64, compartments: 8, compartmentDim: 64, seed: 0 });
 * p.apply(tri).shape;   // [B, 512] for tri [B, 64]
 * p.paramCount();       // 76,288
 */
export class Patchwork extends Module {
  /** K. */
  readonly numAnchors: number;
  /** n_comp. */
  readonly compartments: number;
  /** d_comp. */
  readonly compartmentDim: number;
  /** K / n_comp. */
  readonly anchorsPerCompartment: number;
  readonly activation: PatchworkActivation;

  /** `[n_comp, 2·d_comp, apc]` first Linear weights (PyTorch layout [out, in] per compartment). */
  private readonly w1: tf.Variable<tf.Rank.R3>;
  /** `[n_comp, 2·d_comp]`. */
  private readonly b1: tf.Variable<tf.Rank.R2>;
  /** `[n_comp, d_comp, 2·d_comp]`. */
  private readonly w2: tf.Variable<tf.Rank.R3>;
  /** `[n_comp, d_comp]`. */
  private readonly b2: tf.Variable<tf.Rank.R2>;
  /** `[n_comp, d_comp]` LayerNorm weight. */
  private readonly lnWeight: tf.Variable<tf.Rank.R2>;
  /** `[n_comp, d_comp]` LayerNorm bias. */
  private readonly lnBias: tf.Variable<tf.Rank.R2>;
  /** `[n_comp]` StarReLU scale s (star-relu only). */
  private readonly starScale: tf.Variable<tf.Rank.R1> | null;
  /** `[n_comp]` StarReLU bias b (star-relu only). */
  private readonly starBias: tf.Variable<tf.Rank.R1> | null;

  /**
   * @throws {InvalidArgumentError} if `anchors` is not a positive multiple of `compartments`, or an
   *   option is out of range.
   */
  constructor(options: PatchworkOptions) {
    super();
    const op = 'Patchwork';
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describe(options)}`);
    this.numAnchors = checkInteger(op, 'anchors', options.anchors, 1);
    this.compartments = checkInteger(op, 'compartments', options.compartments ?? 8, 1);
    this.compartmentDim = checkInteger(op, 'compartmentDim', options.compartmentDim ?? 64, 1);
    this.activation = checkChoice(op, 'activation', options.activation ?? 'squared-relu', PATCHWORK_ACTIVATIONS);
    if (this.numAnchors % this.compartments !== 0) {
      throw new InvalidArgumentError(
        op,
        'anchors',
        `must be divisible by compartments=${this.compartments} (round-robin ownership), got ${this.numAnchors}`,
      );
    }
    this.anchorsPerCompartment = this.numAnchors / this.compartments;
    const seed = checkNumber(op, 'seed', options.seed ?? 0);
    const rng = resolveRng(op, { seed });

    const n = this.compartments;
    const apc = this.anchorsPerCompartment;
    const d = this.compartmentDim;
    const hidden = 2 * d;
    const w1 = new Float32Array(n * hidden * apc);
    const b1 = new Float32Array(n * hidden);
    const w2 = new Float32Array(n * d * hidden);
    const b2 = new Float32Array(n * d);
    const uniform = (target: Float32Array, offset: number, count: number, bound: number) => {
      for (let i = 0; i < count; i++) target[offset + i] = (2 * rng.uniform() - 1) * bound;
    };
    for (let k = 0; k < n; k++) {
      uniform(w1, k * hidden * apc, hidden * apc, 1 / Math.sqrt(apc));
      uniform(b1, k * hidden, hidden, 1 / Math.sqrt(apc));
      uniform(w2, k * d * hidden, d * hidden, 1 / Math.sqrt(hidden));
      uniform(b2, k * d, d, 1 / Math.sqrt(hidden));
    }
    // Registered in the order W1, b1, W2, b2, LN weight, LN bias[, s, b] (the order of getWeights).
    this.w1 = this.addParameter('stacked.0.weight', tf.tensor3d(w1, [n, hidden, apc])) as tf.Variable<tf.Rank.R3>;
    this.b1 = this.addParameter('stacked.0.bias', tf.tensor2d(b1, [n, hidden])) as tf.Variable<tf.Rank.R2>;
    this.w2 = this.addParameter('stacked.2.weight', tf.tensor3d(w2, [n, d, hidden])) as tf.Variable<tf.Rank.R3>;
    this.b2 = this.addParameter('stacked.2.bias', tf.tensor2d(b2, [n, d])) as tf.Variable<tf.Rank.R2>;
    this.lnWeight = this.addParameter('stacked.3.weight', tf.ones([n, d])) as tf.Variable<tf.Rank.R2>;
    this.lnBias = this.addParameter('stacked.3.bias', tf.zeros([n, d])) as tf.Variable<tf.Rank.R2>;
    const star = this.activation === 'star-relu';
    this.starScale = star
      ? (this.addParameter('stacked.1.scale', tf.fill([n], STAR_RELU_INIT.scale)) as tf.Variable<tf.Rank.R1>)
      : null;
    this.starBias = star
      ? (this.addParameter('stacked.1.bias', tf.fill([n], STAR_RELU_INIT.bias)) as tf.Variable<tf.Rank.R1>)
      : null;
  }

  /** The configuration (what a checkpoint stores next to the weights). */
  get config(): PatchworkConfig {
    return {
      anchors: this.numAnchors,
      compartments: this.compartments,
      compartmentDim: this.compartmentDim,
      activation: this.activation,
    };
  }

  /** n_comp·d_comp, the output width. */
  get outputDim(): number {
    return this.compartments * this.compartmentDim;
  }

  /**
   * Runs every compartment on its round-robin slice of the triangulation and concatenates the results.
   *
   * @param tri - `[B, K]` float32 triangulation (from {@link Constellation.triangulate}, mode `'mask'`).
   * @returns `[B, n_comp·d_comp]` compartment outputs, compartment k in columns k·d_comp … (k+1)·d_comp − 1;
   *   one new tensor.
   *
   * @throws {ShapeError} if `tri` is not `[B, K]`: `Patchwork.apply: 'tri' must have shape [B, K=64], got [2, 63]`.
   * @throws {InvalidArgumentError} if `tri` is not float32.
   *
   * @remarks Output column block k depends only on input columns k, k + n_comp, … (tested). NaN in a row
   * stays in that row. Differentiable with respect to `tri` and every weight.
   *
   * @example
   * const out = new Patchwork({ anchors: 8, compartments: 4, compartmentDim: 3 }).apply(tf.ones([2, 8])); // [2, 12]
   */
  apply(tri: tf.Tensor2D): tf.Tensor2D {
    const [batch] = checkMatrixTensor('Patchwork.apply', 'tri', tri, 'B', 'K', this.numAnchors);
    const n = this.compartments;
    const apc = this.anchorsPerCompartment;
    const d = this.compartmentDim;
    return tf.tidy(() => {
      // [B, K] → [B, apc, n] (entry [b, j, k] = tri[b, j·n + k]) → [n, B, apc].
      const x = tf.transpose(tf.reshape(tri, [batch, apc, n]), [2, 0, 1]) as tf.Tensor3D;
      let h = tf.add(tf.matMul(x, this.w1, false, true), tf.expandDims(this.b1, 1)) as tf.Tensor3D; // [n, B, 2d]
      const relu = tf.relu(h);
      h = tf.mul(relu, relu);
      if (this.starScale && this.starBias) {
        h = tf.add(tf.mul(h, tf.reshape(this.starScale, [n, 1, 1])), tf.reshape(this.starBias, [n, 1, 1]));
      }
      h = tf.add(tf.matMul(h, this.w2, false, true), tf.expandDims(this.b2, 1)) as tf.Tensor3D; // [n, B, d]
      const mean = tf.mean(h, -1, true);
      const centered = tf.sub(h, mean);
      const variance = tf.mean(tf.square(centered), -1, true);
      const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON)));
      const y = tf.add(tf.mul(normed, tf.expandDims(this.lnWeight, 1)), tf.expandDims(this.lnBias, 1)); // [n, B, d]
      return tf.reshape(tf.transpose(y, [1, 0, 2]), [batch, n * d]) as tf.Tensor2D;
    });
  }

  /**
   * The weights in PyTorch layout under the names of the PyTorch module
   * (`compartments = ModuleList(Sequential(Linear, act, Linear, LayerNorm))`), per compartment k:
   *
   * | name | shape |
   * |---|---|
   * | `compartments.{k}.0.weight` | `[2·d_comp, apc]` (Linear layout [out, in]) |
   * | `compartments.{k}.0.bias` | `[2·d_comp]` |
   * | `compartments.{k}.1.scale`, `compartments.{k}.1.bias` | `[1]` (StarReLU only) |
   * | `compartments.{k}.2.weight` | `[d_comp, 2·d_comp]` |
   * | `compartments.{k}.2.bias` | `[d_comp]` |
   * | `compartments.{k}.3.weight`, `compartments.{k}.3.bias` | `[d_comp]` (LayerNorm) |
   *
   * Inside a parent the same names carry the parent's prefix (`patchwork.compartments.{k}.…`).
   * @returns new tensors (slices of the stacked variables); the caller disposes them.
   */
  override stateDict(): StateDict {
    return super.stateDict();
  }

  /** The per-compartment names and shapes of {@link Patchwork.stateDict}, compartment by compartment. */
  protected override ownStateKeys(): StateDictKey[] {
    const suffixes = Object.keys(this.stacked());
    const out: StateDictKey[] = [];
    for (let k = 0; k < this.compartments; k++) {
      for (const suffix of suffixes) {
        const v = this.stacked()[suffix]!;
        out.push({
          name: `compartments.${k}.${suffix}`,
          shape: v.rank === 1 ? [1] : v.shape.slice(1),
          optional: false,
          dtype: v.dtype, // float32: loadStateDict refuses an integer or bool tensor here
        });
      }
    }
    return out;
  }

  /** The stacked variables cut per compartment (new tensors). */
  protected override ownStateDict(): StateDict {
    return tf.tidy(() => {
      const out: StateDict = {};
      const parts = this.stacked();
      const unstacked = Object.fromEntries(Object.entries(parts).map(([suffix, v]) => [suffix, tf.unstack(v)]));
      for (let k = 0; k < this.compartments; k++) {
        for (const suffix of Object.keys(parts)) {
          const t = unstacked[suffix]![k]!;
          out[`compartments.${k}.${suffix}`] = suffix.startsWith('1.') ? tf.reshape(t, [1]) : t;
        }
      }
      return out;
    });
  }

  /** Stacks the per-compartment tensors (names and shapes already checked by `loadStateDict`) into the variables. */
  protected override loadOwnState(dict: Record<string, tf.Tensor>): void {
    const parts = this.stacked();
    tf.tidy(() => {
      for (const [suffix, variable] of Object.entries(parts)) {
        const slices = Array.from({ length: this.compartments }, (_, k) =>
          tf.cast(dict[`compartments.${k}.${suffix}`]!, 'float32'),
        );
        variable.assign(suffix.startsWith('1.') ? tf.concat(slices) : tf.stack(slices));
      }
    });
  }

  /** Stacked variables by their per-compartment name suffix. */
  private stacked(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = { '0.weight': this.w1, '0.bias': this.b1 };
    if (this.starScale && this.starBias) {
      out['1.scale'] = this.starScale;
      out['1.bias'] = this.starBias;
    }
    Object.assign(out, { '2.weight': this.w2, '2.bias': this.b2, '3.weight': this.lnWeight, '3.bias': this.lnBias });
    return out;
  }
}
