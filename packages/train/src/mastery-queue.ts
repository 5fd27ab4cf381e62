/**
 * Mastery queue (spec §8.9): a cross-batch cache of detached embeddings and labels that adds a hard
 * triplet-margin loss once view-vs-view InfoNCE has saturated. The mechanics are [INFER] (the card
 * describes them; no code was found) and follow the spec section step by step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, normalize, ShapeError } from '@geolip/geometry';
import { assertFloatTensor, assertInteger, assertNumber, readTensorSync } from '@geolip/geometry/checks';

import { readLabels, type LabelsLike } from './losses/checks.js';
import { constantMask } from '@geolip/geometry/internal';

/** Options of {@link MasteryQueue}; every default is from spec §8.9. */
export interface MasteryQueueOptions {
  /** Q, the initial capacity. Default 4096. */
  capacity?: number;
  /** A step counts toward the streak when its InfoNCE accuracy is ≥ this. Default 1.0 (nce_acc == 1.0). */
  activationAccuracy?: number;
  /** Streak length that activates the queue. Default 50. */
  patience?: number;
  /** Margin at activation. Default 0.1. */
  marginStart?: number;
  /** Margin after the ramp. Default 0.3. */
  marginEnd?: number;
  /** Steps (after activation) of the linear margin ramp. Default 5000. */
  marginRampSteps?: number;
  /** Smallest capacity. Default 1024. */
  minCapacity?: number;
  /** Largest capacity. Default 16384. */
  maxCapacity?: number;
  /** Capacity change per resize. Default 2048. */
  resizeStep?: number;
  /** Epoch ends after a resize during which no resize happens. Default 5. */
  cooldownEpochs?: number;
  /**
   * `'delta'` (spec plan (a), default): resize on the epoch-to-epoch change of the gap; `'absolute'` (card (b)):
   * on the gap itself, and on its drift over a window of epochs while it is inside [shrinkBelow, growAbove].
   */
  resizePolicy?: 'delta' | 'absolute';
  /** 'delta': grow when Δgap > +this, shrink when Δgap < −this (percentage points). Default 3.0. */
  deltaThreshold?: number;
  /** 'absolute': grow when gap > this (percentage points). Default 9. */
  growAbove?: number;
  /** 'absolute': shrink when gap < this (percentage points). Default 3. */
  shrinkBelow?: number;
  /**
   * 'absolute': the drift is gap_t − gap_{t−driftWindow}, the change of the gap over the last `driftWindow` epoch
   * ends. Default 5 (the card's "5-epoch window").
   */
  driftWindow?: number;
  /** 'absolute': grow when drift > +this, shrink when drift < −this (percentage points). Default 3. */
  driftThreshold?: number;
}

type ResolvedOptions = Required<MasteryQueueOptions>;

/** Per-step input of {@link MasteryQueue.update}. */
export interface MasteryStepStats {
  /** The view-vs-view InfoNCE accuracy of this batch, in [0, 1] (spec §8.1 `nce_acc`). */
  accuracy: number;
}

/** What {@link MasteryQueue.update} reports. */
export interface MasteryStepResult {
  /** True only on the step that activated the queue. */
  activated: boolean;
  active: boolean;
  streak: number;
  /** The margin the next {@link MasteryQueue.loss} call uses. */
  margin: number;
}

/** Per-epoch input of {@link MasteryQueue.endEpoch}: accuracies as fractions in [0, 1]. */
export interface MasteryEpochStats {
  trainAccuracy: number;
  valAccuracy: number;
}

/** A queue resize, as logged by {@link MasteryQueue.endEpoch}. */
export interface MasteryResize {
  epoch: number;
  from: number;
  to: number;
  /** Gap train − val in percentage points, this epoch and the previous one (null if none). */
  gap: number;
  previousGap: number | null;
  delta: number | null;
  /** Why: `'delta'`, `'gap'` (absolute thresholds) or `'drift'` (absolute policy's window). */
  reason: 'delta' | 'gap' | 'drift';
  /** e.g. "Queue 4096→6144 (gap 8.2→11.5, Δ=+3.3)"; a drift resize adds ", drift +3.4 over 5 epochs". */
  message: string;
}

/** Result of {@link MasteryQueue.loss}: new scalar tensors the caller disposes. */
export interface MasteryLossResult {
  /**
   * `[]` mean_i ReLU(hard_neg_i − hard_pos_i + m) over rows with both a positive and a negative; 0 when inactive
   * or none.
   */
  loss: tf.Scalar;
  /** `[]` mean hard negative cosine over the counted rows (0 when none). */
  hardNegative: tf.Scalar;
  /** `[]` mean hard positive cosine over the counted rows (0 when none). */
  hardPositive: tf.Scalar;
  /** `[]` hardNegative − hardPositive (the card's logged gap). */
  gap: tf.Scalar;
  /** Number of batch rows that had both a positive and a negative in the queue. */
  counted: number;
  /** The margin used. */
  margin: number;
}

/** JSON form of a {@link MasteryQueue} (for checkpoints). */
export interface MasteryQueueState {
  version: 1;
  options: ResolvedOptions;
  active: boolean;
  streak: number;
  step: number;
  activationStep: number | null;
  stepsSinceActive: number;
  epoch: number;
  capacity: number;
  cooldown: number;
  lastGap: number | null;
  /** The gaps of the last `driftWindow + 1` epoch ends, oldest first (absent in states written before it existed). */
  gaps?: number[];
  dim: number | null;
  /** Oldest first: `size·dim` row-major unit embeddings, and `size` labels. */
  embeddings: number[];
  labels: number[];
  resizes: MasteryResize[];
}

const OP = 'MasteryQueue';

function resolve(o: MasteryQueueOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    capacity: assertInteger(OP, 'capacity', o.capacity ?? 4096, 1),
    activationAccuracy: assertNumber(OP, 'activationAccuracy', o.activationAccuracy ?? 1, 0, 1),
    patience: assertInteger(OP, 'patience', o.patience ?? 50, 1),
    marginStart: assertNumber(OP, 'marginStart', o.marginStart ?? 0.1, 0, 2),
    marginEnd: assertNumber(OP, 'marginEnd', o.marginEnd ?? 0.3, 0, 2),
    marginRampSteps: assertInteger(OP, 'marginRampSteps', o.marginRampSteps ?? 5000, 1),
    minCapacity: assertInteger(OP, 'minCapacity', o.minCapacity ?? 1024, 1),
    maxCapacity: assertInteger(OP, 'maxCapacity', o.maxCapacity ?? 16384, 1),
    resizeStep: assertInteger(OP, 'resizeStep', o.resizeStep ?? 2048, 1),
    cooldownEpochs: assertInteger(OP, 'cooldownEpochs', o.cooldownEpochs ?? 5, 0),
    resizePolicy: o.resizePolicy ?? 'delta',
    deltaThreshold: assertNumber(OP, 'deltaThreshold', o.deltaThreshold ?? 3, 0),
    growAbove: assertNumber(OP, 'growAbove', o.growAbove ?? 9),
    shrinkBelow: assertNumber(OP, 'shrinkBelow', o.shrinkBelow ?? 3),
    driftWindow: assertInteger(OP, 'driftWindow', o.driftWindow ?? 5, 1),
    driftThreshold: assertNumber(OP, 'driftThreshold', o.driftThreshold ?? 3, 0),
  };
  if (r.resizePolicy !== 'delta' && r.resizePolicy !== 'absolute') {
    throw new InvalidArgumentError(OP, 'resizePolicy', `must be 'delta' or 'absolute', got ${String(r.resizePolicy)}`);
  }
  if (r.minCapacity > r.maxCapacity) {
    throw new InvalidArgumentError(
      OP,
      'minCapacity',
      `must be <= maxCapacity (${r.maxCapacity}), got ${r.minCapacity}`,
    );
  }
  return r;
}

const fmt = (x: number): string => x.toFixed(1);
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

/**
 * Cross-batch hard-contrastive cache (spec §8.9).
 *
 * Per step: `update({accuracy})` counts a streak of steps with InfoNCE accuracy ≥ `activationAccuracy`
 * (reset to 0 otherwise); when the streak reaches `patience` (50) the queue activates and stays on.
 * Margin: m = m₀ + (m₁ − m₀)·min(1, stepsSinceActive / 5000), with m₀ = 0.1, m₁ = 0.3.
 *
 * Mining, for unit batch rows e_i with labels y_i against the queue (q_j, y_j):
 *
 *     hard_neg_i = max_{j: y_j ≠ y_i} ⟨e_i, q_j⟩;   hard_pos_i = min_{j: y_j = y_i} ⟨e_i, q_j⟩
 *     L = mean_i ReLU(hard_neg_i − hard_pos_i + m)      (rows lacking a positive or a negative are skipped)
 *
 * Per epoch (after activation): gap_t = 100·(train − val) points. Two resize policies:
 * - `'delta'` (default, the spec's Run-10 plan (a)): Δ = gap_t − gap_{t−1}; Δ > +3 → Q ← min(Q + 2048, 16384),
 *   Δ < −3 → Q ← max(Q − 2048, 1024).
 * - `'absolute'` (the card's summary (b): "gap > 9% → grow, < 3% → shrink, drift > 3% over a 5-epoch window"):
 *   gap_t > 9 → grow, gap_t < 3 → shrink; otherwise drift = gap_t − gap_{t−5}, drift > +3 → grow,
 *   drift < −3 → shrink.
 *
 * Either way a resize starts a 5-epoch cooldown, and Q stays in [1024, 16384].
 *
 * Typical step: `const r = q.loss(emb, labels)` (0 while inactive) → add `r.loss` to the total →
 * `q.enqueue(emb, labels)` → `q.update({accuracy})`; at epoch end `q.endEpoch({trainAccuracy, valAccuracy})`.
 *
 * @throws {InvalidArgumentError} for bad options (constructor) or stats outside [0, 1].
 *
 * @remarks
 * [INFER] choices, beyond the spec's text:
 * - The queue is filled from the first step (enqueue does not wait for activation), so hard
 *   examples exist the moment it activates; `loss` returns 0 until then.
 * - `stepsSinceActive` is 0 on the activating step and grows by 1 per later `update`.
 * - The gap of every epoch end is recorded (also before activation), so the first Δ after activation
 *   is defined; only resizes wait for activation. During a cooldown no resize happens, but gaps are
 *   still recorded. A shrink drops the oldest entries.
 * - `'absolute'`: the card names a drift "over a 5-epoch window" without its formula; it is read as the change of
 *   the gap between the epoch end 5 ends ago and this one (undefined, so no drift resize, until 5 earlier gaps
 *   exist). The thresholds on the gap itself take precedence; the drift acts only inside [3, 9].
 * - Queue rows are stored normalized, as float32 on the CPU (so `state()` is plain JSON); `loss`
 *   uploads them each call: O(B·Q·D).
 *
 * @example
 * const q = new MasteryQueue({ patience: 2, capacity: 4, minCapacity: 4 });
 * q.update({ accuracy: 1 }); q.update({ accuracy: 1 }).activated; // true
 */
export class MasteryQueue {
  readonly options: Readonly<ResolvedOptions>;
  private activeFlag = false;
  private streakCount = 0;
  private stepCount = 0;
  private activatedAt: number | null = null;
  private sinceActive = 0;
  private epochCount = 0;
  private cap: number;
  private cooldownLeft = 0;
  private lastGap: number | null = null;
  // The last driftWindow + 1 gaps, oldest first.
  private gapHistory: number[] = [];
  private dim: number | null = null;
  // FIFO, oldest first.
  private rows: Float32Array[] = [];
  private rowLabels: number[] = [];
  private readonly resizeLog: MasteryResize[] = [];

  constructor(options: MasteryQueueOptions = {}) {
    this.options = resolve(options);
    this.cap = Math.min(Math.max(this.options.capacity, this.options.minCapacity), this.options.maxCapacity);
  }

  /** Whether the queue has activated (it stays on). */
  get active(): boolean {
    return this.activeFlag;
  }
  get streak(): number {
    return this.streakCount;
  }
  /** Current capacity Q. */
  get capacity(): number {
    return this.cap;
  }
  /** Entries currently held (≤ capacity). */
  get size(): number {
    return this.rows.length;
  }
  /** The step (1-based count of `update` calls) on which the queue activated, or null. */
  get activationStep(): number | null {
    return this.activatedAt;
  }
  get cooldown(): number {
    return this.cooldownLeft;
  }
  /** Every resize so far, oldest first. */
  get resizes(): readonly MasteryResize[] {
    return this.resizeLog;
  }

  /** m = m₀ + (m₁ − m₀)·min(1, stepsSinceActive / rampSteps); m₀ while inactive. */
  get margin(): number {
    const o = this.options;
    if (!this.activeFlag) return o.marginStart;
    return o.marginStart + (o.marginEnd - o.marginStart) * Math.min(1, this.sinceActive / o.marginRampSteps);
  }

  /** Records one training step's InfoNCE accuracy; drives the streak, activation and margin ramp. */
  update(stats: MasteryStepStats): MasteryStepResult {
    const accuracy = assertNumber(OP, 'stats.accuracy', stats?.accuracy, 0, 1);
    this.stepCount++;
    let activated = false;
    if (this.activeFlag) {
      this.sinceActive++;
    } else {
      this.streakCount = accuracy >= this.options.activationAccuracy ? this.streakCount + 1 : 0;
      if (this.streakCount >= this.options.patience) {
        this.activeFlag = true;
        this.activatedAt = this.stepCount;
        this.sinceActive = 0;
        activated = true;
      }
    }
    return { activated, active: this.activeFlag, streak: this.streakCount, margin: this.margin };
  }

  /**
   * Records an epoch's train/val accuracy and resizes the queue when the policy says so; returns the resize, if
   * any.
   */
  endEpoch(stats: MasteryEpochStats): MasteryResize | null {
    const train = assertNumber(OP, 'stats.trainAccuracy', stats?.trainAccuracy, 0, 1);
    const val = assertNumber(OP, 'stats.valAccuracy', stats?.valAccuracy, 0, 1);
    this.epochCount++;
    const gap = 100 * (train - val);
    const previousGap = this.lastGap;
    const delta = previousGap === null ? null : gap - previousGap;
    this.lastGap = gap;
    const o = this.options;
    this.gapHistory.push(gap);
    if (this.gapHistory.length > o.driftWindow + 1)
      this.gapHistory.splice(0, this.gapHistory.length - o.driftWindow - 1);
    const drift = this.gapHistory.length === o.driftWindow + 1 ? gap - this.gapHistory[0]! : null;
    if (!this.activeFlag) return null;
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      return null;
    }
    let direction = 0;
    let reason: MasteryResize['reason'] = 'delta';
    if (o.resizePolicy === 'delta') {
      if (delta !== null && delta > o.deltaThreshold) direction = 1;
      else if (delta !== null && delta < -o.deltaThreshold) direction = -1;
    } else {
      reason = 'gap';
      if (gap > o.growAbove) direction = 1;
      else if (gap < o.shrinkBelow) direction = -1;
      else if (drift !== null && Math.abs(drift) > o.driftThreshold) {
        direction = Math.sign(drift);
        reason = 'drift';
      }
    }
    if (direction === 0) return null;
    const from = this.cap;
    const to =
      direction > 0 ? Math.min(from + o.resizeStep, o.maxCapacity) : Math.max(from - o.resizeStep, o.minCapacity);
    if (to === from) return null;
    this.cap = to;
    this.trim();
    this.cooldownLeft = o.cooldownEpochs;
    const prev = previousGap === null ? '—' : fmt(previousGap);
    const why = reason === 'drift' ? `, drift ${signed(drift!)} over ${o.driftWindow} epochs` : '';
    const change = delta === null ? '' : `, Δ=${signed(delta)}`;
    const message = `Queue ${from}→${to} (gap ${prev}→${fmt(gap)}${change}${why})`;
    const event: MasteryResize = { epoch: this.epochCount, from, to, gap, previousGap, delta, reason, message };
    this.resizeLog.push(event);
    return event;
  }

  /**
   * Appends detached, normalized copies of a batch (reads it to the CPU), dropping the oldest entries
   * beyond the capacity.
   *
   * @param embeddings - `[B, D]` batch embeddings (D fixed by the first call).
   * @param labels - `[B]` class ids (int32 tensor, `number[]` or `Int32Array`).
   * @throws {ShapeError} on a D or B mismatch. @throws {InvalidArgumentError} for bad labels.
   */
  enqueue(embeddings: tf.Tensor2D, labels: LabelsLike): void {
    const op = `${OP}.enqueue`;
    const [b, d] = this.checkBatch(op, embeddings);
    const y = readLabels(op, 'labels', labels, b);
    this.push(readTensorSync(op, 'embeddings', embeddings), y, b, d);
  }

  /**
   * {@link enqueue} from host memory, for backends that cannot read synchronously (webgpu in Node): read the
   * batch with `await tensor.data()` and pass the values here.
   *
   * @param data - `B·D` row-major values. @param labels - `B` class ids. @param dim - D.
   * @throws {ShapeError} when `data.length` is not `labels.length · dim` or D differs from the queue's.
   */
  enqueueValues(data: ArrayLike<number>, labels: ArrayLike<number>, dim: number): void {
    const op = `${OP}.enqueueValues`;
    const d = assertInteger(op, 'dim', dim, 1);
    const b = labels.length;
    if (data.length !== b * d) throw new ShapeError(op, 'data', `[${b}·${d}]`, [data.length]);
    if (this.dim !== null && d !== this.dim) throw new ShapeError(op, 'dim', `${this.dim}`, [d]);
    const y = readLabels(op, 'labels', Int32Array.from(labels), b);
    this.push(data, y, b, d);
  }

  private push(data: ArrayLike<number>, y: Int32Array, b: number, d: number): void {
    this.dim = d;
    for (let i = 0; i < b; i++) {
      const row = new Float32Array(d);
      let norm = 0;
      for (let k = 0; k < d; k++) norm += data[i * d + k]! ** 2;
      const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
      for (let k = 0; k < d; k++) row[k] = data[i * d + k]! * inv;
      this.rows.push(row);
      this.rowLabels.push(y[i]!);
    }
    this.trim();
  }

  /**
   * The mastery loss of a batch against the queue (see the class doc). Zero (and zero gradient) while
   * inactive, with an empty queue, or when no row has both a positive and a negative.
   *
   * @param embeddings - `[B, D]` batch embeddings (normalized here; gradients flow to them).
   * @param labels - `[B]` class ids.
   * @param options - `margin` overrides the scheduled margin.
   * @returns `{loss, hardNegative, hardPositive, gap, counted, margin}`.
   * @throws {ShapeError} on a D mismatch with the queue. @throws {InvalidArgumentError} for bad labels.
   */
  loss(embeddings: tf.Tensor2D, labels: LabelsLike, options: { margin?: number } = {}): MasteryLossResult {
    const op = `${OP}.loss`;
    const [b] = this.checkBatch(op, embeddings);
    const y = readLabels(op, 'labels', labels, b);
    const margin = options.margin === undefined ? this.margin : assertNumber(op, 'margin', options.margin, 0, 2);
    const n = this.rows.length;
    const weights = new Float32Array(b);
    const posMask = new Float32Array(b * n);
    let counted = 0;
    if (this.activeFlag && n > 0) {
      for (let i = 0; i < b; i++) {
        let pos = false;
        let neg = false;
        for (let j = 0; j < n; j++) {
          if (this.rowLabels[j] === y[i]) {
            posMask[i * n + j] = 1;
            pos = true;
          } else neg = true;
        }
        if (pos && neg) {
          weights[i] = 1;
          counted++;
        }
      }
    }
    if (counted === 0) {
      // 0 with a zero gradient to the batch (NaN rows included: NaN·0 would be NaN).
      const zero = () => constantMask(embeddings, () => tf.scalar(0)) as tf.Scalar;
      return {
        loss: zero(),
        hardNegative: tf.scalar(0),
        hardPositive: tf.scalar(0),
        gap: tf.scalar(0),
        counted,
        margin,
      };
    }
    const d = this.dim!;
    const flat = new Float32Array(n * d);
    this.rows.forEach((r, j) => flat.set(r, j * d));
    return tf.tidy(() => {
      const q = tf.tensor2d(flat, [n, d]);
      const s = tf.matMul(normalize(embeddings), q, false, true); // [B, n] cosines in [−1, 1]
      const pos = tf.tensor2d(posMask, [b, n]);
      // Push excluded entries out of range (|cos| ≤ 1) with a constant offset of 4.
      const hardNeg = tf.max(tf.sub(s, tf.mul(pos, 4)), 1);
      const hardPos = tf.min(tf.add(s, tf.mul(tf.sub(1, pos), 4)), 1);
      const w = tf.div(tf.tensor1d(weights), counted);
      const loss = tf.sum(tf.mul(tf.relu(tf.add(tf.sub(hardNeg, hardPos), margin)), w)) as tf.Scalar;
      const hardNegative = tf.sum(tf.mul(hardNeg, w)) as tf.Scalar;
      const hardPositive = tf.sum(tf.mul(hardPos, w)) as tf.Scalar;
      const gap = tf.sub(hardNegative, hardPositive) as tf.Scalar;
      return { loss, hardNegative, hardPositive, gap, counted, margin };
    });
  }

  /** A JSON-serializable snapshot (queue contents included). */
  state(): MasteryQueueState {
    const embeddings: number[] = [];
    for (const r of this.rows) for (const v of r) embeddings.push(v);
    return {
      version: 1,
      options: { ...this.options },
      active: this.activeFlag,
      streak: this.streakCount,
      step: this.stepCount,
      activationStep: this.activatedAt,
      stepsSinceActive: this.sinceActive,
      epoch: this.epochCount,
      capacity: this.cap,
      cooldown: this.cooldownLeft,
      lastGap: this.lastGap,
      gaps: [...this.gapHistory],
      dim: this.dim,
      embeddings,
      labels: [...this.rowLabels],
      resizes: this.resizeLog.map((r) => ({ ...r })),
    };
  }

  /**
   * Rebuilds a queue from {@link state} output (e.g. after `JSON.parse`).
   * @throws {InvalidArgumentError} for a malformed state.
   */
  static fromState(state: MasteryQueueState): MasteryQueue {
    const op = `${OP}.fromState`;
    if (!state || state.version !== 1)
      throw new InvalidArgumentError(op, 'state.version', `must be 1, got ${String(state?.version)}`);
    const q = new MasteryQueue(state.options);
    const size = state.labels?.length ?? 0;
    const d = state.dim;
    if (size > 0 && (d === null || !Number.isInteger(d) || d < 1 || state.embeddings.length !== size * d)) {
      throw new InvalidArgumentError(
        op,
        'state.embeddings',
        `must hold labels.length × dim = ${size} × ${String(d)} numbers, got ${state.embeddings?.length}`,
      );
    }
    q.activeFlag = Boolean(state.active);
    q.streakCount = assertInteger(op, 'state.streak', state.streak, 0);
    q.stepCount = assertInteger(op, 'state.step', state.step, 0);
    q.activatedAt = state.activationStep;
    q.sinceActive = assertInteger(op, 'state.stepsSinceActive', state.stepsSinceActive, 0);
    q.epochCount = assertInteger(op, 'state.epoch', state.epoch, 0);
    q.cap = assertInteger(op, 'state.capacity', state.capacity, 1);
    q.cooldownLeft = assertInteger(op, 'state.cooldown', state.cooldown, 0);
    q.lastGap = state.lastGap;
    if (state.gaps !== undefined && !(Array.isArray(state.gaps) && state.gaps.every((g) => Number.isFinite(g))))
      throw new InvalidArgumentError(op, 'state.gaps', 'must be an array of finite numbers');
    q.gapHistory = state.gaps !== undefined ? [...state.gaps] : state.lastGap === null ? [] : [state.lastGap];
    q.dim = d;
    for (let j = 0; j < size; j++) {
      q.rows.push(Float32Array.from(state.embeddings.slice(j * d!, (j + 1) * d!)));
      q.rowLabels.push(state.labels[j]!);
    }
    // States written before `reason` existed: every resize then was the delta policy's or the absolute gap's.
    const fallback = q.options.resizePolicy === 'delta' ? 'delta' : 'gap';
    q.resizeLog.push(...state.resizes.map((r) => ({ ...r, reason: r.reason ?? fallback })));
    return q;
  }

  private checkBatch(op: string, embeddings: tf.Tensor2D): [number, number] {
    assertFloatTensor(op, 'embeddings', embeddings, 2);
    if (embeddings.rank !== 2 || (this.dim !== null && embeddings.shape[1] !== this.dim)) {
      throw new ShapeError(op, 'embeddings', `[B, D${this.dim === null ? '' : `=${this.dim}`}]`, embeddings.shape);
    }
    return [embeddings.shape[0], embeddings.shape[1]];
  }

  private trim(): void {
    const extra = this.rows.length - this.cap;
    if (extra > 0) {
      this.rows.splice(0, extra);
      this.rowLabels.splice(0, extra);
    }
  }
}
