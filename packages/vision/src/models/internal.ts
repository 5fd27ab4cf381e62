/**
 * Internal helpers of the vision models (not exported from the package): a plain container for
 * `nn.Sequential`-style names, `Module` views of the anchors' `Constellation` and `Patchwork`, and the
 * config checks shared by the models.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Constellation, Patchwork } from '@geolip/anchors';
import { FormatError, InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { Module } from '@geolip/nn';
import type { LoadStateDictOptions, ParamLayout, StateDict } from '@geolip/nn';

/** A plain container, so children are named `head.0`, `head.2`, … as in PyTorch's `nn.Sequential`. */
export class Container extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.addModule(name, m);
  }
}

/**
 * A `Constellation` seen as a `Module`: lends its one variable as `anchors` (`[K, D]`, PyTorch layout),
 * so it takes part in a parent's `stateDict`, `loadStateDict`, `getWeights` and `paramCount`. Owns the
 * constellation: {@link ConstellationModule.dispose} disposes it.
 */
export class ConstellationModule extends Module {
  constructor(readonly constellation: Constellation) {
    super();
  }

  override namedParameters(prefix = ''): [string, tf.Variable, ParamLayout][] {
    const v = this.constellation.anchors;
    return v.isDisposed ? [] : [[`${prefix}anchors`, v, 'same']];
  }

  override dispose(): void {
    if (!this.constellation.anchors.isDisposed) this.constellation.dispose();
    super.dispose();
  }
}

/**
 * The per-compartment name suffixes of `Patchwork.getWeights`, in the order of
 * `Patchwork.trainableVariables` (W1, b1, W2, b2, LN weight, LN bias[, StarReLU s, b]).
 */
export const PATCHWORK_STACKED_SUFFIXES = ['0.weight', '0.bias', '2.weight', '2.bias', '3.weight', '3.bias', '1.scale', '1.bias'] as const;

/** Prefix of the stacked patchwork variables inside a {@link PatchworkModule}. */
export const PATCHWORK_STACKED = 'stacked';

/**
 * A `Patchwork` seen as a `Module`. The patchwork stores its weights stacked over compartments
 * (`[n_comp, 2·d_comp, apc]`, …), so this view lends those variables as `stacked.{suffix}` (e.g.
 * `stacked.0.weight`): what `getWeights()` and an optimizer see. The owning model converts them to and
 * from PyTorch's per-compartment names (`compartments.{k}.{suffix}`) in its `stateDict`/`loadStateDict`
 * ({@link toPatchworkTorch}, {@link fromPatchworkTorch}). Owns the patchwork.
 */
export class PatchworkModule extends Module {
  constructor(readonly patchwork: Patchwork) {
    super();
  }

  override namedParameters(prefix = ''): [string, tf.Variable, ParamLayout][] {
    const vars = this.patchwork.trainableVariables;
    if (vars.some((v) => v.isDisposed)) return [];
    return vars.map((v, i) => [`${prefix}${PATCHWORK_STACKED}.${PATCHWORK_STACKED_SUFFIXES[i]!}`, v, 'same']);
  }

  override dispose(): void {
    if (!this.patchwork.trainableVariables.some((v) => v.isDisposed)) this.patchwork.dispose();
    super.dispose();
  }
}

/**
 * A model's `stateDict()` with the patchwork's stacked variables (under `patchwork.stacked.*`) replaced by their
 * per-compartment PyTorch names (`patchwork.compartments.{k}.*`). Takes ownership of `raw`'s tensors.
 */
export function toPatchworkTorch(raw: StateDict, patchwork: Patchwork): StateDict {
  const out: StateDict = {};
  const stacked = `patchwork.${PATCHWORK_STACKED}.`;
  let inserted = false;
  for (const [name, t] of Object.entries(raw)) {
    if (!name.startsWith(stacked)) {
      out[name] = t;
      continue;
    }
    t.dispose();
    if (!inserted) {
      for (const [k, v] of Object.entries(patchwork.getWeights())) out[`patchwork.${k}`] = v;
      inserted = true;
    }
  }
  return out;
}

/**
 * Converts a PyTorch-layout dict with per-compartment patchwork keys to the stacked names of a {@link PatchworkModule}
 * and hands it to `load` (the model's `Module.loadStateDict`). Checks every patchwork key and shape first.
 * @throws {InvalidArgumentError} `dict` not an object. @throws {FormatError} a missing key. @throws {ShapeError} a wrong shape.
 */
export function fromPatchworkTorch(
  op: string,
  dict: Record<string, tf.Tensor>,
  patchwork: Patchwork,
  compartments: number,
  options: LoadStateDictOptions,
  load: (converted: Record<string, tf.Tensor>, options: LoadStateDictOptions) => void,
): void {
  if (dict === null || typeof dict !== 'object') throw new InvalidArgumentError(op, 'dict', `must be an object of tensors, got ${describeValue(dict)}`);
  const shapes = patchwork.weightShapes();
  const converted: Record<string, tf.Tensor> = {};
  const made: tf.Tensor[] = [];
  const consumed = new Set<string>();
  try {
    for (const suffix of PATCHWORK_STACKED_SUFFIXES.slice(0, patchwork.trainableVariables.length)) {
      const slices: tf.Tensor[] = [];
      for (let k = 0; k < compartments; k++) {
        const key = `compartments.${k}.${suffix}`;
        const t = dict[`patchwork.${key}`];
        if (t === undefined) throw new FormatError(op, 'dict', `has no key 'patchwork.${key}'`);
        const expected = shapes[key]!;
        if (t.rank !== expected.length || t.shape.some((s, i) => s !== expected[i])) throw new ShapeError(op, `dict['patchwork.${key}']`, `[${expected.join(', ')}]`, t.shape);
        slices.push(t);
        consumed.add(`patchwork.${key}`);
      }
      const stacked = suffix.startsWith('1.') ? tf.concat(slices) : tf.stack(slices);
      made.push(stacked);
      converted[`patchwork.${PATCHWORK_STACKED}.${suffix}`] = stacked;
    }
    for (const [k, t] of Object.entries(dict)) if (!consumed.has(k)) converted[k] = t;
    load(converted, options);
  } finally {
    tf.dispose(made);
  }
}

/** Checks that every listed key of `config` is a positive integer; throws naming `config.<key>`. */
export function checkPositiveIntegers<T extends object>(op: string, config: T, keys: readonly (keyof T & string)[]): void {
  for (const k of keys) {
    const v = config[k] as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new InvalidArgumentError(op, `config.${k}`, `must be a positive integer, got ${String(v)}`);
    }
  }
}

/** Rows divided by their L2 norm, `x / max(‖x‖, 1e-12)` (F.normalize). */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12)) as T);
}

/** `typeof`, with null, arrays and tensors spelled out, for messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor of shape [${value.shape.join(', ')}]`;
  return typeof value;
}
