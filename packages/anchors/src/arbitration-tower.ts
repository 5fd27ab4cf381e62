/**
 * `ArbitrationTower`: the geometric arbitration tower of the dual-stream card's Run 12 (issue 21, docs/gal.md). It
 * takes E expert embeddings, maps each into its own frame by a whitened-Procrustes affine map refitted on a queue of
 * past rows, arbitrates between them per example (a softmax gate plus a residual MLP), and classifies against its own
 * constellation, whose anchors start "from 0" (zero vectors, filled from the queue's class means) or at random.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, Matrix, ShapeError, normalize, whitenedProcrustes } from '@geolip/geometry';
import { assertFloatTensor, assertInteger, assertNumber } from '@geolip/geometry/checks';
import { stopGradient } from '@geolip/geometry/internal';
import { Linear, Module, gelu } from '@geolip/nn';

import { Constellation } from './constellation.js';

const OP = 'ArbitrationTower';

/** `geolip.type` of a saved {@link ArbitrationTower} (its config, with `active`, is the file's `geolip.config`). */
export const ARBITRATION_TOWER_TYPE = 'anchors/arbitration-tower';

/** How the tower's anchors start (see {@link ArbitrationTower}). */
export type TowerAnchorInit = 'zero' | 'zero-running' | 'random';

/** The anchor inits, in the order of the docs. */
export const TOWER_ANCHOR_INITS: readonly TowerAnchorInit[] = Object.freeze(['zero', 'zero-running', 'random']);

/** Sizes and options of an {@link ArbitrationTower}. */
export interface ArbitrationTowerConfig {
  /** `[E]` the width of each expert's embedding (each ≥ `dim`: the alignment may narrow, never widen). */
  experts: readonly number[];
  /** D: the tower's embedding width. */
  dim: number;
  /** Hidden width of the residual MLP. */
  hidden: number;
  /** K: anchors, one per class. */
  classes: number;
  /**
   * `'zero'` (default): every anchor starts as the zero vector (inactive: logit fixed, no gradient) and is filled once
   * from the queue's class mean of the tower's embeddings, then trained. `'zero-running'`: the same start, but every
   * refit resets each anchor to the current class mean (the anchors are statistics, not parameters: leave them out of
   * the optimizer, see {@link ArbitrationTower.anchorsTrainable}). `'random'`: seeded Gaussian anchors, all active
   * from step 0 (the ablation).
   */
  anchorInit?: TowerAnchorInit;
  /** Temperature τ of the anchor logits cos/τ. Default 0.1. */
  temperature?: number;
}

/** What {@link ArbitrationTower.forward} returns: new tensors the caller disposes. */
export interface ArbitrationTowerOutput {
  /** `[E]` tensors `[B, D]`: each expert in the tower's frame, unit rows. */
  aligned: tf.Tensor2D[];
  /** `[B, E]` the arbitration weights (softmax over experts). */
  gate: tf.Tensor2D;
  /** `[B, D]` the tower's embedding, unit rows: normalize(Σ_e gate_e·a_e + mlp(concat a)). */
  emb: tf.Tensor2D;
  /** `[B, K]` cos(emb, anchor_k)/τ for active anchors; −30 for inactive (zero) ones. */
  logits: tf.Tensor2D;
}

/** Options of {@link ArbitrationTower.forward}. */
export interface ArbitrationTowerForwardOptions {
  /**
   * Read the experts through a stop-gradient, so that no loss on the tower's outputs reaches the experts. Default
   * true (the tower learns from the experts; only {@link ArbitrationTower.guidanceLoss} goes back into them).
   */
  detach?: boolean;
}

/** What {@link ArbitrationTower.refit} returns. */
export interface TowerRefit {
  /** `[E]` mean row cosine between each expert's aligned rows and the target rows, after the fit. */
  cosines: number[];
}

/** Logit of an inactive anchor: below every active one (cos/τ ≥ −1/τ, −10 at τ = 0.1). */
const INACTIVE_LOGIT = -30;

/**
 * The geometric arbitration tower (issue 21). With a_e the aligned experts:
 *
 *     a_e   = normalize(e_e·L_e + b_e)                 L_e [D_e, D], b_e [D]: buffers, refitted (whitened Procrustes)
 *     g     = softmax(gate(concat a))                   [B, E]
 *     z     = normalize(Σ_e g_e·a_e + mlp(concat a))    mlp = Linear(E·D → hidden) · GELU · Linear(hidden → D)
 *     logit = cos(z, anchor_k)/τ  (active k),  −30 (inactive k)
 *
 * @throws {InvalidArgumentError} for bad sizes or options.
 *
 * @remarks
 * - The alignment maps start as the identity (the first D columns of I for a wider expert) with zero bias; `refit`
 *   replaces them. They are buffers (`align.{e}.linear`, `align.{e}.bias`): in `stateDict`, not in `getWeights`.
 * - Which anchors are active is kept on the CPU (a mask that is a constant for autodiff); `syncActive` recomputes it
 *   from the anchors after weights are loaded. An inactive anchor gets no gradient (its logit column is a constant).
 * - It imports no model: any E expert embeddings (two streams, the soup's experts) can feed it.
 *
 * @example
 * const tower = new ArbitrationTower({ experts: [8, 8], dim: 8, hidden: 16, classes: 3 }, { seed: 1 });
 * tower.activeAnchors; // 0: the constellation starts from 0
 */
export class ArbitrationTower extends Module {
  readonly config: Readonly<Required<ArbitrationTowerConfig>>;
  readonly constellation: Constellation;
  private readonly gateLayer: Linear;
  private readonly mixIn: Linear;
  private readonly mixOut: Linear;
  private active: Uint8Array;

  constructor(config: ArbitrationTowerConfig, options: { seed?: number } = {}) {
    super();
    if (config === null || typeof config !== 'object')
      throw new InvalidArgumentError(OP, 'config', 'must be an object { experts, dim, hidden, classes }');
    if (!Array.isArray(config.experts) || config.experts.length === 0)
      throw new InvalidArgumentError(OP, 'config.experts', 'must be a non-empty array of widths');
    const dim = assertInteger(OP, 'config.dim', config.dim, 1);
    const experts = config.experts.map((d, e) => assertInteger(OP, `config.experts[${e}]`, d, dim));
    const anchorInit = config.anchorInit ?? 'zero';
    if (!TOWER_ANCHOR_INITS.includes(anchorInit))
      throw new InvalidArgumentError(OP, 'config.anchorInit', `must be one of ${TOWER_ANCHOR_INITS.join(', ')}`);
    this.config = Object.freeze({
      experts: Object.freeze(experts),
      dim,
      hidden: assertInteger(OP, 'config.hidden', config.hidden, 1),
      classes: assertInteger(OP, 'config.classes', config.classes, 2),
      anchorInit,
      temperature: assertNumber(OP, 'config.temperature', config.temperature ?? 0.1, Number.MIN_VALUE),
    });
    const seed = assertInteger(OP, 'options.seed', options.seed ?? 0, 0);
    const e = experts.length;
    experts.forEach((de, i) => {
      this.addBuffer(`align.${i}.linear`, tf.eye(de, dim));
      this.addBuffer(`align.${i}.bias`, tf.zeros([dim]));
    });
    this.gateLayer = this.addModule('gate', new Linear(e * dim, e, { seed: seed + 1 }));
    this.mixIn = this.addModule('mix_in', new Linear(e * dim, this.config.hidden, { seed: seed + 2 }));
    this.mixOut = this.addModule('mix_out', new Linear(this.config.hidden, dim, { seed: seed + 3 }));
    const k = this.config.classes;
    this.constellation = this.addModule(
      'constellation',
      anchorInit === 'random'
        ? new Constellation({ anchors: k, dim, init: 'xavier', seed: seed + 4 })
        : Constellation.fromAnchors(tf.zeros([k, dim]) as tf.Tensor2D),
    );
    this.active = new Uint8Array(k).fill(anchorInit === 'random' ? 1 : 0);
  }

  /**
   * The config to save beside the weights (`geolip.config`): the constructor's config plus `active`, the anchors that
   * are in use (so that a loaded tower needs no read of its anchors).
   */
  toConfig(): Required<ArbitrationTowerConfig> & { active: number[] } {
    return { ...this.config, experts: [...this.config.experts], active: Array.from(this.active) };
  }

  /**
   * A tower from a saved config ({@link ArbitrationTower.toConfig}); the weights are loaded afterwards.
   * @throws {InvalidArgumentError} for a bad config (named field).
   */
  static fromConfig(config: unknown): ArbitrationTower {
    if (config === null || typeof config !== 'object')
      throw new InvalidArgumentError(`${OP}.fromConfig`, 'config', 'must be an object');
    const { active, ...rest } = config as ArbitrationTowerConfig & { active?: number[] };
    const tower = new ArbitrationTower(rest);
    if (active !== undefined) tower.setActiveMask(active);
    return tower;
  }

  /** Anchors that are active (non-zero). */
  get activeAnchors(): number {
    return this.active.reduce((a, b) => a + b, 0);
  }

  /** Whether the anchors are trained by gradient (false for `'zero-running'`, whose refits set them). */
  get anchorsTrainable(): boolean {
    return this.config.anchorInit !== 'zero-running';
  }

  /** `[K]` 1 for an active anchor (a copy). */
  activeMask(): Uint8Array {
    return this.active.slice();
  }

  /**
   * Recomputes which anchors are active (non-zero) from their values, e.g. after `loadStateDict` or a checkpoint.
   * @returns the number of active anchors.
   */
  async syncActive(): Promise<number> {
    const a = await this.constellation.anchors.data();
    const d = this.config.dim;
    for (let k = 0; k < this.config.classes; k++) {
      let any = 0;
      for (let j = 0; j < d; j++) any ||= a[k * d + j] !== 0 ? 1 : 0;
      this.active[k] = any;
    }
    return this.activeAnchors;
  }

  /**
   * Sets which anchors are active (e.g. from a checkpoint's state, where no read of the anchors is wanted).
   * @throws {ShapeError} for a length other than K.
   */
  setActiveMask(mask: ArrayLike<number>): void {
    if (mask.length !== this.config.classes)
      throw new ShapeError(`${OP}.setActiveMask`, 'mask', `[K=${this.config.classes}]`, [mask.length]);
    for (let k = 0; k < mask.length; k++) this.active[k] = mask[k] ? 1 : 0;
  }

  /** `[E]` the current alignment maps (copies): L_e `[D_e·D]` row-major and b_e `[D]`. */
  async alignment(): Promise<{ linear: Float32Array; bias: Float32Array }[]> {
    return Promise.all(
      this.config.experts.map(async (_, e) => ({
        linear: Float32Array.from(await this.getBuffer(`align.${e}.linear`)!.data()),
        bias: Float32Array.from(await this.getBuffer(`align.${e}.bias`)!.data()),
      })),
    );
  }

  /**
   * Sets expert e's map (as {@link ArbitrationTower.alignment} returns it, e.g. from a checkpoint).
   * @throws {ShapeError} for a wrong length. @throws {InvalidArgumentError} for a bad e.
   */
  setAlignment(e: number, linear: ArrayLike<number>, bias: ArrayLike<number>): void {
    const op = `${OP}.setAlignment`;
    assertInteger(op, 'e', e, 0, this.config.experts.length - 1);
    const de = this.config.experts[e]!;
    const d = this.config.dim;
    if (linear.length !== de * d) throw new ShapeError(op, 'linear', `[${de}·${d}]`, [linear.length]);
    if (bias.length !== d) throw new ShapeError(op, 'bias', `[${d}]`, [bias.length]);
    this.setBuffer(`align.${e}.linear`, tf.tensor2d(Float32Array.from(linear), [de, d]));
    this.setBuffer(`align.${e}.bias`, tf.tensor1d(Float32Array.from(bias)));
  }

  /**
   * Each expert in the tower's frame: a_e = normalize(e_e·L_e + b_e). Gradients reach the experts (the guidance path).
   * @param experts - `[E]` tensors `[B, D_e]`.
   * @returns `[E]` tensors `[B, D]`, unit rows.
   * @throws {ShapeError} when the count or a shape is wrong.
   */
  align(experts: readonly tf.Tensor2D[]): tf.Tensor2D[] {
    this.checkExperts(`${OP}.align`, experts);
    return tf.tidy(() =>
      experts.map((x, e) =>
        normalize(
          tf.add(tf.matMul(x, this.getBuffer(`align.${e}.linear`) as tf.Tensor2D), this.getBuffer(`align.${e}.bias`)!),
        ),
      ),
    );
  }

  /**
   * The tower's forward pass (see the class doc).
   * @param experts - `[E]` tensors `[B, D_e]` (any norm; the map and a normalization follow).
   * @returns {@link ArbitrationTowerOutput}.
   * @throws {ShapeError} when the count or a shape is wrong.
   */
  forward(experts: readonly tf.Tensor2D[], options: ArbitrationTowerForwardOptions = {}): ArbitrationTowerOutput {
    this.checkExperts(`${OP}.forward`, experts);
    const detach = options.detach ?? true;
    return tf.tidy(() => {
      const aligned = this.align(detach ? experts.map((x) => stopGradient(x)) : experts);
      const cat = tf.concat(aligned, 1) as tf.Tensor2D;
      const gate = tf.softmax(this.gateLayer.forward(cat)) as tf.Tensor2D;
      const stacked = tf.stack(aligned, 1) as tf.Tensor3D; // [B, E, D]
      const mixed = tf.sum(tf.mul(stacked, tf.expandDims(gate, 2)), 1) as tf.Tensor2D;
      const residual = this.mixOut.forward(gelu(this.mixIn.forward(cat)));
      const emb = normalize(tf.add(mixed, residual)) as tf.Tensor2D;
      const mask = tf.tensor1d(Float32Array.from(this.active));
      // An inactive (zero) anchor is read as e_1 so that normalize has a finite gradient there; its column is masked.
      const k = this.config.classes;
      const filler = tf.tensor2d(
        Float32Array.from({ length: k * this.config.dim }, (_, i) =>
          i % this.config.dim === 0 && !this.active[Math.floor(i / this.config.dim)] ? 1 : 0,
        ),
        [k, this.config.dim],
      );
      const anchors = normalize(tf.add(this.constellation.anchors, filler) as tf.Tensor2D);
      const cos = tf.matMul(emb, anchors, false, true);
      const logits = tf.add(
        tf.mul(tf.div(cos, this.config.temperature), mask),
        tf.mul(tf.sub(1, mask), INACTIVE_LOGIT),
      ) as tf.Tensor2D;
      return { aligned, gate, emb, logits };
    });
  }

  /**
   * The guidance loss from the tower back into the experts: mean_e mean_b (1 − ⟨a_e, sg(z)⟩), with a_e aligned live
   * (gradients reach the experts through the fixed maps) and z the tower's embedding as a constant.
   * @param experts - `[E]` tensors `[B, D_e]`, live. @param target - `[B, D]` the tower's embedding (unit rows).
   * @returns `[]` the loss, in [0, 2]. @throws {ShapeError} on a shape mismatch.
   */
  guidanceLoss(experts: readonly tf.Tensor2D[], target: tf.Tensor2D): tf.Scalar {
    const op = `${OP}.guidanceLoss`;
    this.checkExperts(op, experts);
    assertFloatTensor(op, 'target', target, 2);
    if (target.rank !== 2 || target.shape[0] !== experts[0]!.shape[0] || target.shape[1] !== this.config.dim)
      throw new ShapeError(op, 'target', `[B=${experts[0]!.shape[0]}, D=${this.config.dim}]`, target.shape);
    return tf.tidy(() => {
      const z = stopGradient(target);
      const terms = this.align(experts).map((a) => tf.mean(tf.sub(1, tf.sum(tf.mul(a, z), 1))));
      return tf.div(tf.addN(terms), experts.length) as tf.Scalar;
    });
  }

  /**
   * Refits each expert's map on N queue rows: whitened Procrustes (float64, `rowNormalize: false`, so the map is the
   * affine x·L + b) of expert e's rows onto `target`'s.
   * @param experts - `[E]` arrays of `N·D_e` values (e.g. `EmbeddingQueue.parts(e)`).
   * @param target - `N·D` values: the frame to align into (e.g. expert 0's rows, or the tower's own embeddings).
   * @param options - `only`: the experts to refit (default all); the others keep their maps (e.g. expert 0 when the
   *   target is expert 0 itself, whose fit would be the identity: one float64 fit of 4096 × 256 costs seconds).
   * @returns {@link TowerRefit}: the mean cosine of each refitted expert to the target after its fit (NaN for the
   *   others).
   * @throws {ShapeError} for a length that is not N·D_e / N·D. @throws {InvalidArgumentError} for N < 2.
   */
  refit(
    experts: readonly ArrayLike<number>[],
    target: ArrayLike<number>,
    options: { only?: readonly number[] } = {},
  ): TowerRefit {
    const op = `${OP}.refit`;
    const d = this.config.dim;
    if (!Array.isArray(experts) || experts.length !== this.config.experts.length)
      throw new ShapeError(op, 'experts', `[E=${this.config.experts.length}]`, [experts?.length ?? 0]);
    const n = target.length / d;
    if (!Number.isInteger(n)) throw new ShapeError(op, 'target', `[N·D=${d}]`, [target.length]);
    if (n < 2) throw new InvalidArgumentError(op, 'target', `needs at least 2 rows, got ${n}`);
    const t = new Matrix(n, d, Float64Array.from(target));
    const only = options.only ?? this.config.experts.map((_, e) => e);
    only.forEach((e, i) => assertInteger(op, `options.only[${i}]`, e, 0, this.config.experts.length - 1));
    experts.forEach((x, e) => {
      const de = this.config.experts[e]!;
      if (x.length !== n * de) throw new ShapeError(op, `experts[${e}]`, `[N=${n}·${de}]`, [x.length]);
    });
    const cosines = experts.map((x, e) => {
      if (!only.includes(e)) return NaN;
      const de = this.config.experts[e]!;
      const fit = whitenedProcrustes(new Matrix(n, de, Float64Array.from(x)), t, { rowNormalize: false });
      this.setBuffer(`align.${e}.linear`, tf.tensor2d(Float32Array.from(fit.linear.data), [de, d]));
      this.setBuffer(`align.${e}.bias`, tf.tensor1d(Float32Array.from(fit.bias)));
      return meanCosine(fit.aligned.data, t.data, n, d);
    });
    return { cosines };
  }

  /**
   * Fills anchors from class means of the tower's embeddings over N queue rows: anchor c = normalize(mean of the rows
   * labelled c), for each class with at least `minRows` rows whose anchor is inactive (`'zero'`) or for every such
   * class (`'zero-running'`). `'random'` anchors are left alone.
   * @param emb - `N·D` values, the tower's embeddings of the queue rows. @param labels - `[N]` classes in [0, K).
   * @param minRows - rows a class needs. Default 1.
   * @returns the number of anchors set by this call.
   * @throws {ShapeError} for a length mismatch. @throws {InvalidArgumentError} for a label outside [0, K).
   */
  fillAnchors(emb: ArrayLike<number>, labels: ArrayLike<number>, minRows = 1): number {
    const op = `${OP}.fillAnchors`;
    if (this.config.anchorInit === 'random') return 0;
    const d = this.config.dim;
    const k = this.config.classes;
    const n = labels.length;
    if (emb.length !== n * d) throw new ShapeError(op, 'emb', `[N=${n}·D=${d}]`, [emb.length]);
    assertInteger(op, 'minRows', minRows, 1);
    const sums = new Float64Array(k * d);
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      if (!Number.isInteger(c) || c < 0 || c >= k)
        throw new InvalidArgumentError(op, 'labels', `must be classes in [0, ${k}), got ${c} at ${i}`);
      counts[c]!++;
      for (let j = 0; j < d; j++) sums[c * d + j]! += emb[i * d + j]!;
    }
    const running = this.config.anchorInit === 'zero-running';
    const values = new Float32Array(k * d);
    const mask = new Float32Array(k);
    let set = 0;
    for (let c = 0; c < k; c++) {
      if (counts[c]! < minRows || (!running && this.active[c])) continue;
      let norm = 0;
      for (let j = 0; j < d; j++) norm += sums[c * d + j]! ** 2;
      if (!(norm > 0)) continue;
      for (let j = 0; j < d; j++) values[c * d + j] = sums[c * d + j]! / Math.sqrt(norm);
      mask[c] = 1;
      this.active[c] = 1;
      set++;
    }
    // Rows of the other anchors are kept (no read of the anchors: fine on backends without synchronous reads).
    if (set > 0) {
      const next = tf.tidy(() => {
        const m = tf.tensor2d(mask, [k, 1]);
        return tf.add(tf.mul(this.constellation.anchors, tf.sub(1, m)), tf.mul(tf.tensor2d(values, [k, d]), m));
      });
      this.constellation.anchors.assign(next as tf.Tensor2D);
      next.dispose();
    }
    return set;
  }

  private checkExperts(op: string, experts: readonly tf.Tensor2D[]): void {
    if (!Array.isArray(experts) || experts.length !== this.config.experts.length)
      throw new ShapeError(op, 'experts', `[E=${this.config.experts.length}] tensors`, [experts?.length ?? 0]);
    const b = experts[0]!.shape[0];
    experts.forEach((x, e) => {
      assertFloatTensor(op, `experts[${e}]`, x, 2);
      if (x.rank !== 2 || x.shape[0] !== b || x.shape[1] !== this.config.experts[e])
        throw new ShapeError(op, `experts[${e}]`, `[B=${b}, D_e=${this.config.experts[e]}]`, x.shape);
    });
  }
}

function meanCosine(a: Float64Array, b: Float64Array, n: number, d: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = 0; j < d; j++) {
      const x = a[i * d + j]!;
      const y = b[i * d + j]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    total += dot / Math.max(Math.sqrt(na * nb), 1e-12);
  }
  return total / n;
}
