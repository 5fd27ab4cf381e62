import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, ShapeError, createRng } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { entryToTensor } from '@geolip/io';
import type { SafetensorEntry } from '@geolip/io';

/**
 * How a parameter is stored here versus in a PyTorch state dict:
 * - `'same'`: identical (embeddings, norm scales, biases, attention in-projections stored as PyTorch does);
 * - `'linear'`: here `[in, out]` (so `x·W` needs no transposed matmul), PyTorch `[out, in]`;
 * - `'conv2d'`: here tfjs's `[kh, kw, in, out]`, PyTorch `[out, in, kh, kw]`.
 */
export type ParamLayout = 'same' | 'linear' | 'conv2d';

interface ParamEntry {
  variable: tf.Variable;
  layout: ParamLayout;
}

/** A name → tensor map in PyTorch layout (what `torch.save(model.state_dict())` holds, as tfjs tensors). */
export type StateDict = Record<string, tf.Tensor>;

export interface LoadStateDictOptions {
  /** Fail on keys in `dict` the module does not have (default `true`). Missing keys always fail. */
  strict?: boolean;
}

/** Seed or generator for a module's initialization. */
export type InitSeed = number | Rng;

/** Turns an {@link InitSeed} into a generator (a number seeds a fresh one). */
export function toRng(seed: InitSeed | undefined): Rng {
  if (seed === undefined) return createRng(0);
  return typeof seed === 'number' ? createRng(seed) : seed;
}

/**
 * Base class of every block: named parameters and sub-modules registered in construction order, so
 * parameter names are stable (`layers.0.self_attn.in_proj_weight`) and match PyTorch's `state_dict()`
 * for the same architecture. Implements `@geolip/train`'s `TrainableModel.getWeights`.
 *
 * Subclasses create parameters with {@link Module.addParameter} and children with {@link Module.addModule}
 * in their constructor, and define a `forward`-style method of their own signature.
 */
export abstract class Module {
  private readonly ownParams = new Map<string, ParamEntry>();
  private readonly children = new Map<string, Module>();
  private disposed = false;

  /**
   * Registers a trainable parameter (takes ownership of `init`).
   * @param layout - how it maps to PyTorch's layout; see {@link ParamLayout}.
   */
  protected addParameter(name: string, init: tf.Tensor, layout: ParamLayout = 'same', trainable = true): tf.Variable {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || this.ownParams.has(name) || this.children.has(name)) {
      throw new InvalidArgumentError(`${this.constructor.name}.addParameter`, 'name', `'${name}' is not a fresh identifier`);
    }
    const variable = tf.variable(init, trainable);
    init.dispose();
    this.ownParams.set(name, { variable, layout });
    return variable;
  }

  /** Registers a child module under `name` (a digit string for list items, as PyTorch's `ModuleList`). */
  protected addModule<M extends Module>(name: string, module: M): M {
    if (!/^[A-Za-z0-9_]+$/.test(name) || this.ownParams.has(name) || this.children.has(name)) {
      throw new InvalidArgumentError(`${this.constructor.name}.addModule`, 'name', `'${name}' is not a fresh identifier`);
    }
    this.children.set(name, module);
    return module;
  }

  /** Every parameter as `[dotted name, variable, layout]`, in registration order (depth first). */
  namedParameters(prefix = ''): [string, tf.Variable, ParamLayout][] {
    const out: [string, tf.Variable, ParamLayout][] = [];
    for (const [name, e] of this.ownParams) out.push([prefix + name, e.variable, e.layout]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** Every parameter by its stable dotted name (the `TrainableModel.getWeights` of `@geolip/train`). */
  getWeights(): Record<string, tf.Variable> {
    this.assertLive('getWeights');
    const out: Record<string, tf.Variable> = {};
    for (const [name, v] of this.namedParameters()) out[name] = v;
    return out;
  }

  /** Number of scalar parameters (trainable or not), as PyTorch's `sum(p.numel() for p in m.parameters())`. */
  paramCount(): number {
    let n = 0;
    for (const [, v] of this.namedParameters()) n += v.size;
    return n;
  }

  /**
   * The parameters in PyTorch layout under their PyTorch names: new tensors the caller disposes.
   * Write them with `writeSafetensors` from `@geolip/geometry`.
   */
  stateDict(): StateDict {
    this.assertLive('stateDict');
    const out: StateDict = {};
    for (const [name, v, layout] of this.namedParameters()) out[name] = toTorchLayout(v, layout);
    return out;
  }

  /**
   * Loads PyTorch-layout tensors (e.g. from a safetensors file) into the parameters.
   * Checks every name and shape before changing anything, so a failed load leaves the module as it was.
   * @throws {FormatError} naming the missing key, the unexpected key (strict), or the shape mismatch.
   */
  loadStateDict(dict: Record<string, tf.Tensor>, options: LoadStateDictOptions = {}): void {
    const op = `${this.constructor.name}.loadStateDict`;
    this.assertLive('loadStateDict');
    const strict = options.strict ?? true;
    const params = this.namedParameters();
    const known = new Set(params.map(([n]) => n));
    for (const [name, v, layout] of params) {
      const t = dict[name];
      if (t === undefined) throw new FormatError(op, 'dict', `has no key '${name}'`);
      const expected = torchShape(v.shape, layout);
      if (t.shape.length !== expected.length || t.shape.some((s, i) => s !== expected[i])) {
        throw new ShapeError(op, `dict['${name}']`, `[${expected.join(', ')}]`, t.shape);
      }
    }
    if (strict) {
      const extra = Object.keys(dict).filter((k) => !known.has(k));
      if (extra.length > 0) throw new FormatError(op, 'dict', `has unexpected key${extra.length > 1 ? 's' : ''} ${extra.map((k) => `'${k}'`).join(', ')} (pass { strict: false } to ignore them)`);
    }
    for (const [name, v, layout] of params) {
      tf.tidy(() => v.assign(fromTorchLayout(tf.cast(dict[name]!, 'float32'), layout)));
    }
  }

  /**
   * {@link loadStateDict} from the tensors of a safetensors file (`readSafetensors(bytes).tensors`, any float dtype):
   * converts them to tensors, loads them, and frees the converted tensors whether or not the load succeeds.
   * @throws see {@link loadStateDict}.
   */
  loadSafetensorEntries(entries: Record<string, SafetensorEntry>, options: LoadStateDictOptions = {}): void {
    const dict: Record<string, tf.Tensor> = {};
    try {
      for (const [name, entry] of Object.entries(entries)) dict[name] = entryToTensor(entry);
      this.loadStateDict(dict, options);
    } finally {
      tf.dispose(Object.values(dict));
    }
  }

  /** Frees every parameter. The module is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const [, v] of this.namedParameters()) v.dispose();
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  protected assertLive(method: string): void {
    if (this.disposed) throw new InvalidArgumentError(`${this.constructor.name}.${method}`, 'this', 'the module was disposed');
  }
}

function torchShape(shape: number[], layout: ParamLayout): number[] {
  if (layout === 'linear') return [shape[1]!, shape[0]!];
  if (layout === 'conv2d') return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
  return shape.slice();
}

/** Internal layout → PyTorch layout (a new tensor). */
export function toTorchLayout(t: tf.Tensor, layout: ParamLayout): tf.Tensor {
  if (layout === 'linear') return tf.transpose(t, [1, 0]);
  if (layout === 'conv2d') return tf.transpose(t, [3, 2, 0, 1]);
  return tf.clone(t);
}

/** PyTorch layout → internal layout (a new tensor). */
export function fromTorchLayout(t: tf.Tensor, layout: ParamLayout): tf.Tensor {
  if (layout === 'linear') return tf.transpose(t, [1, 0]);
  if (layout === 'conv2d') return tf.transpose(t, [2, 3, 1, 0]);
  return tf.clone(t);
}

// ---------------------------------------------------------------------------------------------
// Seeded initializers (PyTorch's defaults, drawn from our own generator: values differ from
// PyTorch's streams, distributions match).
// ---------------------------------------------------------------------------------------------

/** `U(-bound, bound)` of `shape`. */
export function uniformInit(shape: number[], bound: number, rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (2 * rng.uniform() - 1) * bound;
  return tf.tensor(data, shape, 'float32');
}

/** `N(0, std²)` of `shape`. */
export function normalInit(shape: number[], std: number, rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return tf.tensor(data, shape, 'float32');
}

/** Xavier/Glorot uniform: `U(±√(6 / (fanIn + fanOut)))`. */
export function xavierUniform(shape: number[], fanIn: number, fanOut: number, rng: Rng): tf.Tensor {
  return uniformInit(shape, Math.sqrt(6 / (fanIn + fanOut)), rng);
}
