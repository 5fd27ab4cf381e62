import * as tf from '@tensorflow/tfjs-core';
import { initializeAnchors, anchorDrift, anchorDriftAsync } from '@geolip/anchors';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { assertFloatTensor, assertInteger } from '@geolip/geometry/checks';
import { Module, gelu, toRng, uniformInit } from '@geolip/nn';
import type { InitSeed } from '@geolip/nn';

/** Clamp of cos ω before arccos (spec §4.5). */
const COS_CLAMP = 1 - 1e-7;

/** Options of {@link PatchConstellation}. */
export interface PatchConstellationOptions {
  /** P, the number of patches (independent anchor sets). */
  patches: number;
  /** d, the width of a patch; each patch lives on S^(d − 1). Default 16 (S^15). */
  patchDim?: number;
  /** A, anchors per patch. Default 16. */
  anchorsPerPatch?: number;
  /** SLERP phases between home and current anchors. Default `[0, 1/3, 2/3]` (spec §4.5). */
  phases?: readonly number[];
  /** Seed (or generator) of the anchors' repulsion initialization. Default 0. */
  seed?: InitSeed;
}

/**
 * P independent constellations of A anchors on S^(d−1), one per d-wide patch of a vector
 * (the author's `ConstellationRelay` layout, spec §12.2), with a fixed **home** buffer and learnable
 * **anchors** that start equal to home (spec §4.5).
 *
 * Triangulation of x `[N, P·d]`:
 *
 *     x̂_p = x_p / √(‖x_p‖² + 1e-12)                            each patch onto S^(d−1)
 *     ω_pa = arccos(clamp(⟨ĥ_pa, â_pa⟩, ±(1 − 1e-7)))          drift of each anchor
 *     a_pa(τ) = rownorm([sin((1−τ)ω)·ĥ + sin(τω)·â] / max(sin ω, 1e-7))   for each phase τ
 *     tri[n, p, k, a] = 1 − ⟨x̂_np, a_pa(τ_k)⟩                  → [N, P·K·A]
 *                                                               (patch-major, then phase, then anchor)
 *
 * With d = 16, A = 16, K = 3 and P = 16 (a 256-wide vector) the width is 768 (spec §12.2).
 *
 * Parameter: `anchors` `[P, A, d]` (raw; normalized on every use). The home is a non-persistent
 * buffer (`Module.addBuffer(…, { persistent: false })`, PyTorch's `register_buffer(persistent=False)`):
 * not in the state dict (it is rebuilt from the seed, see {@link home}), disposed with the module.
 *
 * @remarks At phase 0 the anchors are exactly home, which carries no gradient; the later phases
 * carry the anchors' gradient. Anchors are initialized by `initializeAnchors` of `@geolip/anchors`
 * (repulsion, spec §4.1), one draw per patch from one generator.
 *
 * @example
 * const pc = new PatchConstellation({ patches: 2 });          // 2 × 16 anchors on S^15
 * pc.triangulate(tf.randomNormal([5, 32]) as tf.Tensor2D);    // [5, 2·3·16 = 96]
 */
export class PatchConstellation extends Module {
  readonly patches: number;
  readonly patchDim: number;
  readonly anchorsPerPatch: number;
  readonly phases: readonly number[];
  /** `[P, A, d]` learnable anchors (raw). */
  readonly anchors: tf.Variable<tf.Rank.R3>;

  /** @throws {InvalidArgumentError} On a non-positive size or a phase outside [0, 1]. */
  constructor(options: PatchConstellationOptions) {
    super();
    const op = 'PatchConstellation';
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError(op, 'options', 'must be an object');
    this.patches = assertInteger(op, 'patches', options.patches, 1);
    this.patchDim = assertInteger(op, 'patchDim', options.patchDim ?? 16, 2);
    this.anchorsPerPatch = assertInteger(op, 'anchorsPerPatch', options.anchorsPerPatch ?? 16, 2);
    const phases = options.phases ?? [0, 1 / 3, 2 / 3];
    if (
      !Array.isArray(phases) ||
      phases.length === 0 ||
      phases.some((p) => typeof p !== 'number' || !(p >= 0 && p <= 1))
    ) {
      throw new InvalidArgumentError(
        op,
        'phases',
        `must be a non-empty array of numbers in [0, 1], got ${String(phases)}`,
      );
    }
    this.phases = Object.freeze([...phases]);
    const rng: Rng = toRng(options.seed);
    const [p, a, d] = [this.patches, this.anchorsPerPatch, this.patchDim];
    const data = new Float32Array(p * a * d);
    for (let i = 0; i < p; i++) data.set(initializeAnchors(a, d, { rng }).data, i * a * d);
    this.addBuffer('home', tf.tensor3d(data, [p, a, d]), { persistent: false });
    this.anchors = this.addParameter('anchors', tf.tensor3d(data, [p, a, d])) as tf.Variable<tf.Rank.R3>;
  }

  /** P·K·A, the width of {@link triangulate}'s output. */
  get outputDim(): number {
    return this.patches * this.phases.length * this.anchorsPerPatch;
  }

  /** The home anchors `[P, A, d]` (owned by the module: do not dispose). */
  get home(): tf.Tensor3D {
    this.assertLive('home');
    return this.homeAnchors;
  }

  /** The home buffer (owned by the module). */
  private get homeAnchors(): tf.Tensor3D {
    return this.getBuffer('home') as tf.Tensor3D;
  }

  /** The anchors at each phase, `[P, K·A, d]` unit rows. Differentiable in `anchors`. */
  phaseAnchors(): tf.Tensor3D {
    return tf.tidy(() => {
      const h = unitRows(this.homeAnchors);
      const c = unitRows(this.anchors);
      const cos = tf.clipByValue(tf.sum(tf.mul(h, c), -1, true), -COS_CLAMP, COS_CLAMP); // [P, A, 1]
      const omega = tf.acos(cos);
      const sinOmega = tf.maximum(tf.sin(omega), 1e-7);
      const parts = this.phases.map((tau) => {
        if (tau === 0) return h;
        const mix = tf.add(tf.mul(tf.sin(tf.mul(omega, 1 - tau)), h), tf.mul(tf.sin(tf.mul(omega, tau)), c));
        return unitRows(tf.div(mix, sinOmega));
      });
      return (parts.length === 1 ? parts[0]! : tf.concat(parts, 1)) as tf.Tensor3D;
    });
  }

  /**
   * @param x - `[N, P·d]` float32 (any norm; each patch is normalized here).
   * @returns `[N, P·K·A]` triangulation 1 − cos, in [0, 2].
   * @throws {ShapeError} If `x` is not `[N, P·d]`.
   */
  triangulate(x: tf.Tensor2D): tf.Tensor2D {
    const op = 'PatchConstellation.triangulate';
    this.assertLive('triangulate');
    assertFloatTensor(op, 'x', x);
    const width = this.patches * this.patchDim;
    if (x.rank !== 2 || x.shape[1] !== width) throw new ShapeError(op, 'x', `[N, ${width}]`, x.shape);
    return tf.tidy(() => {
      const n = x.shape[0];
      const units = unitRows(tf.reshape(x, [n, this.patches, this.patchDim]));
      const xs = tf.transpose(units, [1, 0, 2]) as tf.Tensor3D; // [P, N, d]
      const cos = tf.matMul(xs, this.phaseAnchors(), false, true); // [P, N, K·A]
      const tri = tf.sub(1, tf.transpose(cos, [1, 0, 2]));
      return tf.reshape(tri, [n, this.outputDim]) as tf.Tensor2D;
    });
  }

  /**
   * Per-anchor drift from home in radians (spec §4.5), `[P·A]` in patch-major order; computed by
   * `anchorDrift` of `@geolip/anchors` (float64, clamp 1 − 1e-7, so an unmoved anchor reads ≈ 4.47e-4).
   * Reads the tensors synchronously (cpu / wasm / webgl).
   */
  drift(): Float64Array {
    return this.withDriftRows('drift', (h, c) => anchorDrift(h, c));
  }

  /** {@link drift}, read asynchronously: for backends that cannot read synchronously (webgpu in Node). */
  async driftAsync(): Promise<Float64Array> {
    return this.withDriftRows('driftAsync', (h, c) => anchorDriftAsync(h, c));
  }

  /** Calls `f` with home and current anchors as `[P·A, d]` rows, disposing them after `f`'s result settles. */
  private withDriftRows<R>(op: string, f: (home: tf.Tensor2D, current: tf.Tensor2D) => R): R {
    this.assertLive(op);
    const rows = this.patches * this.anchorsPerPatch;
    const [h, c] = tf.tidy(
      () =>
        [
          tf.reshape(this.homeAnchors, [rows, this.patchDim]),
          tf.reshape(this.anchors, [rows, this.patchDim]),
        ] as tf.Tensor2D[],
    );
    const release = () => tf.dispose([h!, c!]);
    let result: R;
    try {
      result = f(h!, c!);
    } catch (error) {
      release();
      throw error;
    }
    if (result instanceof Promise) return result.finally(release) as R;
    release();
    return result;
  }
}

/** Options of {@link ConstellationRelay}. */
export interface ConstellationRelayOptions extends PatchConstellationOptions {
  /** H, the hidden width of the per-patch MLP (spec §12.2 `pw_hidden=32`). Default 32. */
  hidden?: number;
  /** Initial pre-sigmoid gate; `null` builds no gate (v3). Default −3 (σ(−3) ≈ 0.047). */
  gateInit?: number | null;
}

/** What {@link ConstellationRelay.forward} returns (tensors owned by the caller). */
export interface RelayOutput {
  /** `[N, P·K·A]` the triangulation. */
  triangulation: tf.Tensor2D;
  /** `[N, P·d]` the per-patch MLP of the triangulation (ungated). */
  output: tf.Tensor2D;
}

/**
 * The constellation relay (spec §12.2, the author's `ConstellationRelay(channels, patch_dim=16,
 * n_anchors=16, n_phases=3, pw_hidden=32, gate_init=−3)`): a {@link PatchConstellation} followed by
 * an independent two-layer MLP per patch that maps the patch's K·A distances back to d values:
 *
 *     tri = triangulate(x)                                  [N, P·K·A]
 *     out_p = W2_p · GELU(W1_p · tri_p + b1_p) + b2_p       [N, P, d] → [N, P·d]
 *     gate = σ(g)                                           (v1/v2 only; applied by the caller)
 *
 * [INFER] per-patch (unshared) MLP weights, exact GELU, and a single scalar gate.
 *
 * Parameters: `constellation.anchors` `[P, A, d]`, `w1` `[P, K·A, H]`, `b1` `[P, H]`, `w2` `[P, H, d]`,
 * `b2` `[P, d]` (stored as used: `x·W`, no PyTorch transpose), `gate` `[1]` when gated.
 * Count: P·A·d + P·(K·A·H + H + H·d + d) (+ 1).
 *
 * @example
 * const relay = new ConstellationRelay({ patches: 16 }); // 256 channels, 37,633 parameters
 */
export class ConstellationRelay extends Module {
  readonly constellation: PatchConstellation;
  readonly hidden: number;
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
  /** `[1]` pre-sigmoid gate, or null. */
  readonly gate: tf.Variable | null;

  /** @throws {InvalidArgumentError} On a bad size, phase or gate. */
  constructor(options: ConstellationRelayOptions) {
    super();
    const op = 'ConstellationRelay';
    const rng = toRng(options.seed);
    this.constellation = this.addModule('constellation', new PatchConstellation({ ...options, seed: rng }));
    this.hidden = assertInteger(op, 'hidden', options.hidden ?? 32, 1);
    const { patches: p, patchDim: d } = this.constellation;
    const ka = this.constellation.phases.length * this.constellation.anchorsPerPatch;
    const h = this.hidden;
    this.w1 = this.addParameter('w1', uniformInit([p, ka, h], 1 / Math.sqrt(ka), rng));
    this.b1 = this.addParameter('b1', uniformInit([p, h], 1 / Math.sqrt(ka), rng));
    this.w2 = this.addParameter('w2', uniformInit([p, h, d], 1 / Math.sqrt(h), rng));
    this.b2 = this.addParameter('b2', uniformInit([p, d], 1 / Math.sqrt(h), rng));
    const gateInit = options.gateInit === undefined ? -3 : options.gateInit;
    if (gateInit !== null && (typeof gateInit !== 'number' || !Number.isFinite(gateInit))) {
      throw new InvalidArgumentError(op, 'gateInit', `must be a finite number or null, got ${String(gateInit)}`);
    }
    this.gate = gateInit === null ? null : this.addParameter('gate', tf.tensor1d([gateInit]));
  }

  /** σ(gate) as a `[1]` tensor (differentiable), or null without a gate. */
  gateTensor(): tf.Tensor1D | null {
    return this.gate === null ? null : (tf.sigmoid(this.gate) as tf.Tensor1D);
  }

  /** σ(gate) read to a number, or null without a gate. */
  gateValue(): number | null {
    this.assertLive('gateValue');
    if (this.gate === null) return null;
    const g = this.gateTensor()!;
    try {
      return g.dataSync()[0]!;
    } finally {
      g.dispose();
    }
  }

  /** {@link gateValue}, read asynchronously (webgpu in Node). */
  async gateValueAsync(): Promise<number | null> {
    this.assertLive('gateValueAsync');
    if (this.gate === null) return null;
    const g = this.gateTensor()!;
    try {
      return (await g.data())[0]!;
    } finally {
      g.dispose();
    }
  }

  /**
   * @param x - `[N, P·d]` float32.
   * @returns the triangulation and the (ungated) relay output; see {@link RelayOutput}.
   * @throws {ShapeError} If `x` is not `[N, P·d]`.
   */
  forward(x: tf.Tensor2D): RelayOutput {
    this.assertLive('forward');
    const triangulation = this.constellation.triangulate(x);
    const output = tf.tidy(() => {
      const { patches: p, patchDim: d } = this.constellation;
      const n = x.shape[0];
      const t = tf.transpose(tf.reshape(triangulation, [n, p, -1]), [1, 0, 2]) as tf.Tensor3D; // [P, N, K·A]
      const hid = gelu(tf.add(tf.matMul(t, this.w1 as tf.Tensor3D), tf.expandDims(this.b1, 1)));
      const out = tf.add(tf.matMul(hid as tf.Tensor3D, this.w2 as tf.Tensor3D), tf.expandDims(this.b2, 1)); // [P, N, d]
      return tf.reshape(tf.transpose(out, [1, 0, 2]), [n, p * d]) as tf.Tensor2D;
    });
    return { triangulation, output };
  }
}

/** Rows of the last axis divided by √(‖row‖² + 1e-12) (differentiable at 0). @internal */
function unitRows<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12))) as T);
}
