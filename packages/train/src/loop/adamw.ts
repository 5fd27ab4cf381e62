import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { assertInteger, assertNumber } from '@geolip/geometry/checks';
import { adamwUpdate } from '@geolip/nn';
import type { AdamWItem } from '@geolip/nn';

/** Options of {@link AdamW}. */
export interface AdamWOptions {
  /** Learning rate used when {@link AdamW.step} is called without one. Default 1e-3. ≥ 0. */
  lr?: number;
  /** β1, the first-moment decay. Default 0.9. In [0, 1). */
  beta1?: number;
  /** β2, the second-moment decay. Default 0.999. In [0, 1). */
  beta2?: number;
  /** ε added to √v̂. Default 1e-8. > 0. */
  epsilon?: number;
  /** λ, the decoupled weight decay. Default 0.01. ≥ 0. */
  weightDecay?: number;
  /**
   * Parameters that get no weight decay. Default {@link defaultNoWeightDecay}: anchors and every
   * parameter of rank ≤ 1 (biases, LayerNorm scales and offsets). A parameter whose name contains
   * `anchor` (any case) is **always** excluded, whatever this predicate says.
   */
  noWeightDecay?: (name: string, variable: tf.Variable) => boolean;
  /**
   * Parameter groups: a learning-rate multiplier per parameter. The update of `name` uses lr·lrScale(name),
   * in both the Adam step and the decay factor 1 − lr·lrScale·λ (PyTorch's per-group `lr`). Read once, in the
   * constructor; each value must be ≥ 0. Default 1 for every parameter.
   */
  lrScale?: (name: string) => number;
}

/** Options of one {@link AdamW.step}. */
export interface AdamWStepOptions {
  /**
   * A `[]` float32 tensor every gradient is multiplied by inside the update, e.g. the global-norm clip factor
   * `c / max(‖g‖, c)`: the same values as stepping with `tf.mul(g, gradScale)`, without making those tensors (on
   * webgpu the product is formed in the in-place update's shader). Not disposed.
   */
  gradScale?: tf.Tensor;
}

/** The optimizer state as plain arrays, for checkpoints (see {@link AdamW.getState}). */
export interface AdamWState {
  /** Optimizer steps taken so far (t in the bias corrections). */
  step: number;
  /** First moments m by parameter name, row-major float32. */
  m: Record<string, Float32Array>;
  /** Second moments v by parameter name, row-major float32. */
  v: Record<string, Float32Array>;
  /** Shape of each parameter, by name. */
  shapes: Record<string, number[]>;
}

/** True when `name` names anchors: they are never weight-decayed (decay would pull them off the sphere). */
export function isAnchorName(name: string): boolean {
  return /anchor/i.test(name);
}

/**
 * The default weight-decay exclusion: anchors, and every parameter of rank ≤ 1 (biases,
 * LayerNorm/RMSNorm scales and offsets), as is usual for transformer training.
 */
export function defaultNoWeightDecay(name: string, variable: tf.Variable): boolean {
  return isAnchorName(name) || variable.rank <= 1;
}

/**
 * AdamW (Loshchilov & Hutter), written with tfjs ops on `tf.Variable`s, in PyTorch's form:
 *
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
 *   p ← p·(1 − lr·λ)  (only where decay applies),
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε).
 *
 * @remarks
 * - Moments are `tf.Variable`s created (as zeros) in the constructor, one pair per parameter, so
 *   the number of live tensors does not change from step to step.
 * - A parameter with no gradient in a step (not connected to the loss) is skipped entirely:
 *   no moment update, no decay (PyTorch's behavior for `grad is None`).
 * - Everything stays on the backend; nothing is read to the CPU except in {@link getState} / {@link getStateAsync}.
 * - Deterministic on the cpu backend: the same gradients give bitwise the same parameters.
 *
 * @example
 * const w = tf.variable(tf.ones([2, 2]), true, 'w');
 * const opt = new AdamW({ w }, { weightDecay: 0 });
 * const { grads } = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
 * opt.step({ w: grads[w.name]! }, 0.1);
 * tf.dispose(grads);
 */
export class AdamW {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly params: Record<string, tf.Variable>;
  private readonly names: string[];
  private readonly decayed: Set<string>;
  private readonly scales: Record<string, number> = {};
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};
  private t = 0;
  private disposed = false;

  /**
   * @param params - the parameters by stable name (e.g. `model.getWeights()`).
   * @throws {InvalidArgumentError} for an empty `params`, a non-float parameter, or an option out of range.
   */
  constructor(params: Record<string, tf.Variable>, options: AdamWOptions = {}) {
    const op = 'AdamW';
    this.lr = assertNumber(op, 'options.lr', options.lr ?? 1e-3, 0);
    this.beta1 = assertNumber(op, 'options.beta1', options.beta1 ?? 0.9, 0, 0.9999999999);
    this.beta2 = assertNumber(op, 'options.beta2', options.beta2 ?? 0.999, 0, 0.9999999999);
    this.epsilon = assertNumber(op, 'options.epsilon', options.epsilon ?? 1e-8, Number.MIN_VALUE);
    this.weightDecay = assertNumber(op, 'options.weightDecay', options.weightDecay ?? 0.01, 0);
    if (params === null || typeof params !== 'object')
      throw new InvalidArgumentError(op, 'params', 'must be an object of tf.Variables');
    this.params = { ...params };
    this.names = Object.keys(params);
    if (this.names.length === 0) throw new InvalidArgumentError(op, 'params', 'must hold at least one variable');
    const rule = options.noWeightDecay ?? defaultNoWeightDecay;
    this.decayed = new Set();
    for (const name of this.names) {
      const p = params[name]!;
      if (!(p instanceof tf.Variable)) throw new InvalidArgumentError(op, `params.${name}`, 'must be a tf.Variable');
      if (p.dtype !== 'float32')
        throw new InvalidArgumentError(op, `params.${name}`, `must be float32, got ${p.dtype}`);
      if (!isAnchorName(name) && !rule(name, p)) this.decayed.add(name);
      this.scales[name] =
        options.lrScale === undefined ? 1 : assertNumber(op, `options.lrScale('${name}')`, options.lrScale(name), 0);
      // In a tidy, so the zeros are released and each moment owns its storage (an in-place update needs that).
      this.m[name] = tf.tidy(() => tf.variable(tf.zeros(p.shape), false));
      this.v[name] = tf.tidy(() => tf.variable(tf.zeros(p.shape), false));
    }
  }

  /** Optimizer steps taken so far. */
  get stepCount(): number {
    return this.t;
  }

  /** Whether weight decay applies to the parameter `name`. */
  decays(name: string): boolean {
    return this.decayed.has(name);
  }

  /**
   * Applies one update.
   * @param grads - gradients by parameter name (not `tf.Variable.name`: remap `tf.variableGrads` output), each
   *   the shape of its parameter; missing names are skipped.
   * @param lr - the learning rate for this step (default `options.lr`).
   * @param options - `gradScale`: a `[]` tensor the gradients are multiplied by (clipping folded into the update).
   */
  step(grads: Record<string, tf.Tensor>, lr: number = this.lr, options: AdamWStepOptions = {}): void {
    this.assertLive('AdamW.step');
    assertNumber('AdamW.step', 'lr', lr, 0);
    const gradScale = options.gradScale;
    if (gradScale !== undefined && (!(gradScale instanceof tf.Tensor) || gradScale.size !== 1))
      throw new InvalidArgumentError('AdamW.step', 'options.gradScale', 'must be a tf.Tensor holding one value');
    this.t += 1;
    const bc1 = 1 - this.beta1 ** this.t;
    const sqrtBc2 = Math.sqrt(1 - this.beta2 ** this.t);
    const stepSize = lr / bc1;
    const items: AdamWItem[] = [];
    for (const name of this.names) {
      const g = grads[name];
      if (!g) continue;
      const scale = this.scales[name]!;
      items.push({
        p: this.params[name]!,
        g,
        m: this.m[name]!,
        v: this.v[name]!,
        scalars: {
          beta1: this.beta1,
          beta2: this.beta2,
          stepSize: stepSize * scale,
          sqrtBc2,
          epsilon: this.epsilon,
          decay: this.decayed.has(name) && this.weightDecay > 0 ? 1 - lr * scale * this.weightDecay : 1,
        },
        ...(gradScale ? { gradScale } : {}),
      });
    }
    // In place, one dispatch per parameter, on webgpu (after @geolip/nn/backend's initBackend); tensor ops and
    // assign elsewhere. Same values.
    adamwUpdate(items);
  }

  /** Copies the moments and step count to the CPU (for checkpoints). */
  getState(): AdamWState {
    this.assertLive('AdamW.getState');
    const state: AdamWState = { step: this.t, m: {}, v: {}, shapes: {} };
    for (const name of this.names) {
      state.m[name] = this.m[name]!.dataSync() as Float32Array;
      state.v[name] = this.v[name]!.dataSync() as Float32Array;
      state.shapes[name] = [...this.params[name]!.shape];
    }
    return state;
  }

  /**
   * {@link getState} reading asynchronously: the form to use on webgpu in Node, where tfjs cannot read
   * synchronously. Same result.
   */
  async getStateAsync(): Promise<AdamWState> {
    this.assertLive('AdamW.getStateAsync');
    const state: AdamWState = { step: this.t, m: {}, v: {}, shapes: {} };
    for (const name of this.names) {
      state.m[name] = (await this.m[name]!.data()) as Float32Array;
      state.v[name] = (await this.v[name]!.data()) as Float32Array;
      state.shapes[name] = [...this.params[name]!.shape];
    }
    return state;
  }

  /**
   * Restores {@link getState} output.
   * @throws {InvalidArgumentError} naming the parameter whose moments are missing or the wrong size.
   */
  setState(state: AdamWState): void {
    const op = 'AdamW.setState';
    this.assertLive(op);
    const step = assertInteger(op, 'state.step', state?.step, 0);
    for (const name of this.names) {
      const size = this.params[name]!.size;
      for (const key of ['m', 'v'] as const) {
        const data = state[key]?.[name];
        if (!data) throw new InvalidArgumentError(op, `state.${key}`, `has no entry for parameter '${name}'`);
        if (data.length !== size) {
          throw new InvalidArgumentError(
            op,
            `state.${key}`,
            `entry '${name}' must hold ${size} values ` +
              `(shape [${this.params[name]!.shape.join(', ')}]), got ${data.length}`,
          );
        }
      }
    }
    for (const name of this.names) {
      const shape = this.params[name]!.shape;
      tf.tidy(() => {
        this.m[name]!.assign(tf.tensor(state.m[name]!, shape, 'float32'));
        this.v[name]!.assign(tf.tensor(state.v[name]!, shape, 'float32'));
      });
    }
    this.t = step;
  }

  /** Disposes the moment variables (not the parameters). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const name of this.names) {
      this.m[name]!.dispose();
      this.v[name]!.dispose();
    }
  }

  private assertLive(op: string): void {
    if (this.disposed) throw new InvalidArgumentError(op, 'this', 'has been disposed');
  }
}
