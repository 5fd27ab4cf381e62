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

interface BufferEntry {
  value: tf.Tensor | null;
  persistent: boolean;
  optional: boolean;
  /** The shape of an unset optional buffer (what loadStateDict checks a stored value against). */
  shape: readonly number[] | null;
}

/** A name → tensor map in PyTorch layout (what `torch.save(model.state_dict())` holds, as tfjs tensors). */
export type StateDict = Record<string, tf.Tensor>;

export interface LoadStateDictOptions {
  /** Fail on keys in `dict` the module does not have (default `true`). Missing keys always fail. */
  strict?: boolean;
}

/**
 * One key of a state dict: its dotted name, its PyTorch shape, and whether {@link Module.loadStateDict} may go
 * without it.
 */
export interface StateDictKey {
  name: string;
  shape: number[];
  /** An optional buffer (see {@link BufferOptions.optional}): absent from the dict → left as it is. */
  optional: boolean;
  /** The dtype the value must have, when known (`'float32'` for parameters: no integer or bool tensor loads there). */
  dtype?: tf.DataType;
}

/** Options of {@link Module.addBuffer}. */
export interface BufferOptions {
  /** In `stateDict` / `loadStateDict` (default `true`), as PyTorch's `register_buffer(..., persistent=)`. */
  persistent?: boolean;
  /**
   * The buffer may be unset (`null`, e.g. a snapshot not taken yet): `stateDict` then omits it, and `loadStateDict`
   * accepts a dict with or without its key (absent → the buffer is left as it is). Default `false`.
   */
  optional?: boolean;
  /** The shape the buffer has once set; required for an optional buffer registered as `null`. */
  shape?: readonly number[];
}

/** Seed or generator for a module's initialization. */
export type InitSeed = number | Rng;

/** Turns an {@link InitSeed} into a generator (a number seeds a fresh one). */
export function toRng(seed: InitSeed | undefined): Rng {
  if (seed === undefined) return createRng(0);
  return typeof seed === 'number' ? createRng(seed) : seed;
}

/** The parameter budget of a model being built from a weights file (see {@link buildWithinBudget}). */
interface ParameterBudget {
  op: string;
  max: number;
  used: number;
  /** What was registered while building, disposed if the build fails. */
  made: tf.Tensor[];
}
let activeBudget: ParameterBudget | null = null;

const budgetError = (b: ParameterBudget, shape: readonly number[]): FormatError =>
  new FormatError(
    b.op,
    'source',
    `declares a model far larger than its tensors (more than ${b.max} parameter elements: a parameter of shape ` +
      `[${shape.join(', ')}] would bring it past them): a size in its config does not match the file`,
  );

/**
 * Throws when a parameter of `shape` would exceed the budget of the model being built from a file. Called by the
 * initializers before they allocate, so a config that declares a huge size fails before the memory is taken.
 * No-op outside {@link buildWithinBudget}.
 * @throws {FormatError} naming the loader and `'source'`.
 */
export function checkParameterBudget(shape: readonly number[]): void {
  const b = activeBudget;
  if (b === null) return;
  let n = 1;
  for (const d of shape) n *= d;
  if (!(b.used + n <= b.max)) throw budgetError(b, shape);
}

/**
 * Runs `build` (a model constructor) with a budget of `maxElements` parameter elements: a strict load needs every
 * parameter from the file, so a model with more parameter elements than the file's tensors hold cannot load, and is
 * refused while it is being built (before a huge size in its config allocates memory or time). On failure every
 * parameter and buffer registered by `build` is disposed.
 * @throws {FormatError} naming `op` and `'source'` when the model outgrows the budget; whatever `build` throws.
 */
export function buildWithinBudget<T>(op: string, maxElements: number, build: () => T): T {
  const outer = activeBudget;
  const budget: ParameterBudget = { op, max: maxElements, used: 0, made: [] };
  activeBudget = budget;
  try {
    return build();
  } catch (error) {
    for (const t of budget.made) if (!t.isDisposed) t.dispose();
    throw error;
  } finally {
    activeBudget = outer;
  }
}

const SEGMENT = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+)$/;

/**
 * Base class of everything that owns trainable tensors: named parameters, buffers and sub-modules registered in
 * construction order, so names are stable (`layers.0.self_attn.in_proj_weight`) and match PyTorch's `state_dict()`
 * for the same architecture. Implements `@geolip/train`'s `TrainableModel.getWeights`.
 *
 * Subclasses create parameters with {@link Module.addParameter}, non-trainable state with {@link Module.addBuffer}
 * and children with {@link Module.addModule} in their constructor, and define a `forward`-style method of their own
 * signature.
 *
 * One meaning for each accessor, in every package:
 * - {@link Module.getWeights}: the live `tf.Variable`s by dotted name (what an optimizer trains; not copies);
 * - {@link Module.stateDict}: new tensors in PyTorch layout under PyTorch's names (the caller disposes them);
 * - {@link Module.loadStateDict}: the inverse, atomic (every name and shape is checked before anything changes);
 * - {@link Module.paramCount}: the number of scalar parameters.
 *
 * Order: a module's own parameters first (in registration order), then (in a state dict) its persistent buffers,
 * then its children (PyTorch's order). A parameter
 * name may be dotted (`projection.weight`, `rotations.0`) when a module keeps the parameters of trivial PyTorch
 * sub-modules (a bare `nn.Linear` read directly, an `nn.ParameterList`) flat on itself; its first segment then may
 * not name a child.
 *
 * **Stored layout ≠ PyTorch layout.** Parameters stored transposed declare it with their {@link ParamLayout}. A
 * module that stores its state differently altogether (e.g. `Patchwork` of `@geolip/anchors` keeps its
 * compartments stacked in `[n_comp, …]` variables, where PyTorch has `compartments.{k}.*`) overrides the three
 * hooks that define its *own* contribution to its parent's state dict, {@link Module.ownStateKeys},
 * {@link Module.ownStateDict} and {@link Module.loadOwnState}; `stateDict`, `loadStateDict` (checks included) and
 * `stateDictKeys` of every ancestor then use the PyTorch names with no conversion in the model. `getWeights` still
 * returns what is stored.
 *
 * **Buffers** ({@link Module.addBuffer}, PyTorch's `register_buffer`) are tensors the module owns that are not
 * trained: not in `getWeights`/`paramCount`, in the state dict when persistent, disposed with the module.
 */
export abstract class Module {
  private readonly ownParams = new Map<string, ParamEntry>();
  private readonly ownBuffers = new Map<string, BufferEntry>();
  private readonly children = new Map<string, Module>();
  private disposed = false;

  /**
   * The class name in messages: `constructor.name` without the marks a bundler adds when it renames a class
   * (a leading `_`, as esbuild's `_CaptionEncoder`; a trailing `$1`, as rollup's), so errors name the public class.
   */
  protected get className(): string {
    return this.constructor.name.replace(/^_+/, '').replace(/\$\d+$/, '') || 'Module';
  }

  /**
   * Registers a trainable parameter (takes ownership of `init`).
   * @param name - an identifier, or dotted identifiers / indices (`projection.weight`, `rotations.0`; see the class
   *   doc).
   * @param layout - how it maps to PyTorch's layout; see {@link ParamLayout}.
   * @throws {InvalidArgumentError} naming `name` when it is not fresh or not a (dotted) identifier.
   */
  protected addParameter(name: string, init: tf.Tensor, layout: ParamLayout = 'same', trainable = true): tf.Variable {
    this.checkFreshName('addParameter', name, true);
    const b = activeBudget;
    if (b !== null) {
      if (!(b.used + init.size <= b.max)) {
        init.dispose();
        throw budgetError(b, init.shape);
      }
      b.used += init.size;
    }
    const variable = tf.variable(init, trainable);
    init.dispose();
    b?.made.push(variable);
    this.ownParams.set(name, { variable, layout });
    return variable;
  }

  /**
   * Registers a buffer: a tensor the module owns that is not a parameter (PyTorch's `register_buffer`): not in
   * `getWeights` or `paramCount`; in `stateDict`/`loadStateDict` when persistent; disposed with the module.
   * Takes ownership of `value` (may be `null` for an optional buffer, see {@link BufferOptions}).
   * @throws {InvalidArgumentError} naming `name` when it is not fresh, or `options` when an unset buffer has no shape.
   */
  protected addBuffer(name: string, value: tf.Tensor | null, options: BufferOptions = {}): void {
    const op = `${this.className}.addBuffer`;
    this.checkFreshName('addBuffer', name, true);
    const optional = options.optional ?? false;
    if (value === null && (!optional || options.shape === undefined)) {
      throw new InvalidArgumentError(op, 'options', `an unset buffer '${name}' must be optional and have a shape`);
    }
    if (value !== null && options.shape !== undefined && !sameShape(value.shape, options.shape)) {
      throw new ShapeError(op, 'value', `[${options.shape.join(', ')}]`, value.shape);
    }
    if (value !== null) activeBudget?.made.push(value);
    this.ownBuffers.set(name, {
      value: value === null ? null : tf.keep(value),
      persistent: options.persistent ?? true,
      optional,
      shape: options.shape ? [...options.shape] : null,
    });
  }

  /**
   * Replaces the value of the buffer `name` (takes ownership of `value`; disposes the previous one). `null` unsets an
   * optional buffer.
   * @throws {InvalidArgumentError} for an unknown buffer, or `null` for a buffer that is not optional.
   * @throws {ShapeError} when `value` does not have the declared shape.
   */
  protected setBuffer(name: string, value: tf.Tensor | null): void {
    const op = `${this.className}.setBuffer`;
    const entry = this.ownBuffers.get(name);
    if (entry === undefined) throw new InvalidArgumentError(op, 'name', `'${name}' is not a buffer of this module`);
    if (value === null && !entry.optional)
      throw new InvalidArgumentError(op, 'value', `buffer '${name}' is not optional`);
    const shape = entry.shape ?? entry.value?.shape;
    if (value !== null && shape !== undefined && !sameShape(value.shape, shape))
      throw new ShapeError(op, 'value', `[${shape.join(', ')}]`, value.shape);
    if (entry.value !== null && entry.value !== value) entry.value.dispose();
    entry.value = value === null ? null : tf.keep(value);
  }

  /** The current value of the buffer `name` (owned by the module: do not dispose it), or `null` when unset. */
  protected getBuffer(name: string): tf.Tensor | null {
    const entry = this.ownBuffers.get(name);
    if (entry === undefined)
      throw new InvalidArgumentError(`${this.className}.getBuffer`, 'name', `'${name}' is not a buffer of this module`);
    return entry.value;
  }

  /** Registers a child module under `name` (a digit string for list items, as PyTorch's `ModuleList`). */
  protected addModule<M extends Module>(name: string, module: M): M {
    this.checkFreshName('addModule', name, false);
    if (!(module instanceof Module))
      throw new InvalidArgumentError(`${this.className}.addModule`, 'module', 'must be a Module');
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

  /**
   * Every buffer that is set, as `[dotted name, tensor]` (owned by the modules), in registration order (depth first).
   */
  namedBuffers(prefix = ''): [string, tf.Tensor][] {
    const out: [string, tf.Tensor][] = [];
    for (const [name, e] of this.ownBuffers) if (e.value !== null) out.push([prefix + name, e.value]);
    for (const [name, child] of this.children) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /**
   * Every parameter by its stable dotted name: the live variables, not copies (the `TrainableModel.getWeights` of
   * `@geolip/train`).
   */
  getWeights(): Record<string, tf.Variable> {
    this.assertLive('getWeights');
    const out: Record<string, tf.Variable> = {};
    for (const [name, v] of this.namedParameters()) out[name] = v;
    return out;
  }

  /**
   * The trainable parameters (the live variables of {@link Module.getWeights}), in order: the `varList` of
   * `tf.variableGrads` or `optimizer.minimize`.
   */
  get trainableVariables(): tf.Variable[] {
    this.assertLive('trainableVariables');
    return this.namedParameters()
      .map(([, v]) => v)
      .filter((v) => v.trainable);
  }

  /**
   * Number of scalar parameters (trainable or not), as PyTorch's `sum(p.numel() for p in m.parameters())`; 0 once
   * disposed.
   */
  paramCount(): number {
    if (this.disposed) return 0;
    let n = 0;
    for (const [, v] of this.namedParameters()) n += v.size;
    return n;
  }

  /**
   * Every key of {@link Module.stateDict} (and what {@link Module.loadStateDict} accepts) with its PyTorch shape, in
   * order.
   */
  stateDictKeys(): StateDictKey[] {
    this.assertLive('stateDictKeys');
    const out: StateDictKey[] = [];
    this.visit('', (m, prefix) => {
      for (const k of m.ownStateKeys()) out.push({ ...k, name: prefix + k.name });
    });
    return out;
  }

  /**
   * The parameters and persistent buffers in PyTorch layout under their PyTorch names: new tensors the caller
   * disposes. Write them with `writeSafetensors` from `@geolip/geometry`.
   */
  stateDict(): StateDict {
    this.assertLive('stateDict');
    const out: StateDict = {};
    this.visit('', (m, prefix) => {
      for (const [name, t] of Object.entries(m.ownStateDict())) out[prefix + name] = t;
    });
    return out;
  }

  /**
   * Loads PyTorch-layout tensors (e.g. from a safetensors file) into the parameters and persistent buffers.
   * Checks every name and shape before changing anything, so a failed load leaves the module as it was. The
   * tensors stay the caller's (values are copied).
   * @throws {InvalidArgumentError} if `dict` is not an object.
   * @throws {FormatError} naming the missing key or the unexpected key (strict).
   * @throws {ShapeError} naming the key of a tensor of the wrong shape.
   */
  loadStateDict(dict: Record<string, tf.Tensor>, options: LoadStateDictOptions = {}): void {
    const op = `${this.className}.loadStateDict`;
    this.assertLive('loadStateDict');
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict))
      throw new InvalidArgumentError(op, 'dict', 'must be an object of tensors');
    const strict = options.strict ?? true;
    const keys = this.stateDictKeys();
    for (const { name, shape, optional, dtype } of keys) {
      const t = dict[name];
      if (t === undefined) {
        if (optional) continue;
        throw new FormatError(op, 'dict', `has no key '${name}'`);
      }
      if (!(t instanceof tf.Tensor)) throw new InvalidArgumentError(op, `dict['${name}']`, 'must be a tf.Tensor');
      if (!sameShape(t.shape, shape)) throw new ShapeError(op, `dict['${name}']`, `[${shape.join(', ')}]`, t.shape);
      if (dtype === 'float32' && t.dtype !== 'float32')
        throw new FormatError(
          op,
          `dict['${name}']`,
          `has dtype ${t.dtype}, not float32: an integer or bool tensor is not a float weight`,
        );
    }
    if (strict) {
      const known = new Set(keys.map((k) => k.name));
      const extra = Object.keys(dict).filter((k) => !known.has(k));
      if (extra.length > 0)
        throw new FormatError(
          op,
          'dict',
          `has unexpected key${extra.length > 1 ? 's' : ''} ${extra.map((k) => `'${k}'`).join(', ')} ` +
            '(pass { strict: false } to ignore them)',
        );
    }
    this.visit('', (m, prefix) => {
      const own: Record<string, tf.Tensor> = {};
      for (const k of m.ownStateKeys()) {
        const t = dict[prefix + k.name];
        if (t !== undefined) own[k.name] = t;
      }
      m.loadOwnState(own);
    });
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

  /** Frees every parameter and buffer, the children's included. The module is unusable afterwards. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const child of this.children.values()) child.dispose();
    for (const e of this.ownParams.values()) if (!e.variable.isDisposed) e.variable.dispose();
    for (const e of this.ownBuffers.values()) {
      e.value?.dispose();
      e.value = null;
    }
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  // -------------------------------------------------------------------------------------------
  // The module's own contribution to its parent's state dict (override the three together).
  // -------------------------------------------------------------------------------------------

  /**
   * The keys (relative to this module, children excluded) this module contributes to a state dict, with their
   * PyTorch shapes. Default: every parameter (shape in PyTorch layout), then every persistent buffer that is set or
   * optional. Override together with {@link Module.ownStateDict} and {@link Module.loadOwnState} for a stored layout
   * that is not PyTorch's.
   */
  protected ownStateKeys(): StateDictKey[] {
    const out: StateDictKey[] = [];
    for (const [name, e] of this.ownParams)
      out.push({ name, shape: torchShape(e.variable.shape, e.layout), optional: false, dtype: e.variable.dtype });
    for (const [name, e] of this.ownBuffers) {
      if (!e.persistent || (e.value === null && !e.optional)) continue;
      out.push({ name, shape: [...(e.shape ?? e.value!.shape)], optional: e.optional });
    }
    return out;
  }

  /**
   * This module's own entries of {@link Module.stateDict} (relative names, children excluded), as new tensors in
   * PyTorch layout. Default: the parameters through their {@link ParamLayout}, then clones of the persistent buffers
   * that are set.
   */
  protected ownStateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, e] of this.ownParams) out[name] = toTorchLayout(e.variable, e.layout);
    for (const [name, e] of this.ownBuffers) if (e.persistent && e.value !== null) out[name] = tf.clone(e.value);
    return out;
  }

  /**
   * Stores this module's own entries (relative names as in {@link Module.ownStateKeys}; every required key present
   * with its shape, already checked by {@link Module.loadStateDict}; optional keys may be absent). The tensors stay
   * the caller's. Default: parameters assigned through their layout (cast to float32), buffers replaced by copies.
   */
  protected loadOwnState(dict: Record<string, tf.Tensor>): void {
    for (const [name, e] of this.ownParams) {
      const t = dict[name]!;
      tf.tidy(() => e.variable.assign(fromTorchLayout(tf.cast(t, 'float32'), e.layout)));
    }
    for (const [name, e] of this.ownBuffers) {
      const t = dict[name];
      if (!e.persistent || t === undefined) continue;
      const dtype = e.value?.dtype ?? 'float32';
      this.setBuffer(
        name,
        tf.tidy(() => tf.clone(tf.cast(t, dtype))),
      );
    }
  }

  protected assertLive(method: string): void {
    if (this.disposed) throw new InvalidArgumentError(`${this.className}.${method}`, 'this', 'the module was disposed');
  }

  /** Calls `f` on this module and every descendant (depth first, registration order) with its name prefix. */
  private visit(prefix: string, f: (m: Module, prefix: string) => void): void {
    f(this, prefix);
    for (const [name, child] of this.children) child.visit(`${prefix}${name}.`, f);
  }

  /**
   * Throws unless `name` is free: a parameter or buffer name is one or more dot-separated identifiers / indices, a
   * child name one identifier or index; no name may equal, extend or be extended by another (`a` vs `a.b`).
   */
  private checkFreshName(method: string, name: string, dotted: boolean): void {
    const segments = typeof name === 'string' ? name.split('.') : [];
    const valid =
      segments.length > 0 &&
      (dotted ? segments.every((seg) => SEGMENT.test(seg)) : segments.length === 1 && /^[A-Za-z0-9_]+$/.test(name));
    const clash = (other: string) => other === name || other.startsWith(`${name}.`) || name.startsWith(`${other}.`);
    const taken = valid && [...this.ownParams.keys(), ...this.ownBuffers.keys(), ...this.children.keys()].some(clash);
    if (!valid || taken) {
      throw new InvalidArgumentError(
        `${this.className}.${method}`,
        'name',
        `'${String(name)}' is not a fresh identifier`,
      );
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
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
  checkParameterBudget(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (2 * rng.uniform() - 1) * bound;
  return tf.tensor(data, shape, 'float32');
}

/** `N(0, std²)` of `shape`. */
export function normalInit(shape: number[], std: number, rng: Rng): tf.Tensor {
  checkParameterBudget(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return tf.tensor(data, shape, 'float32');
}

/** Xavier/Glorot uniform: `U(±√(6 / (fanIn + fanOut)))`. */
export function xavierUniform(shape: number[], fanIn: number, fanOut: number, rng: Rng): tf.Tensor {
  return uniformInit(shape, Math.sqrt(6 / (fanIn + fanOut)), rng);
}
