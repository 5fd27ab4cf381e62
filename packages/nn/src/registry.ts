/**
 * The model registry and `fromPretrained`: a weights file names its model type in its metadata (the `@geolip/io`
 * contract), a registry maps the type to a config parser and a constructor, and {@link loadPretrained} reads the file
 * once, dispatches, builds, loads the state dict, and disposes everything it made when any step fails.
 *
 * Each model package exports its registry (`textModels`, `visionModels`, `diffusionModels`) and a `fromPretrained`
 * bound to it; {@link ModelRegistry.merge} joins them.
 */
import { FormatError, GeolipError, InvalidArgumentError } from '@geolip/geometry';
import { LEGACY_MODEL_TYPES, MODEL_METADATA_KEYS, readModelMetadata, readWeightsFile, toFloat32 } from '@geolip/io';
import type { BinarySource, ModelMetadata, SafetensorEntry, WeightsFile } from '@geolip/io';

import { buildWithinBudget } from './module.js';
import type { Module } from './module.js';

/** What a {@link ModelSpec.load} hook receives besides the model. */
export interface PretrainedContext<C = unknown> {
  /** The file's tensors by name (PyTorch layout). */
  tensors: Record<string, SafetensorEntry>;
  /** The parsed config. */
  config: C;
  /** The file's metadata as read by `readModelMetadata` (null for a file without model metadata, e.g. a `.pt`). */
  metadata: ModelMetadata | null;
  /** Whether every parameter must be present and no tensor may be left over. */
  strict: boolean;
  /**
   * Whether the config came from the file (its metadata or checkpoint), not from `options.config`: a part of the
   * model that the file's own config declares must then be in the file.
   */
  configFromFile: boolean;
}

/** One model type of a registry. */
export interface ModelSpec<C = unknown, M extends Module = Module> {
  /** The registry key, `<package>/<model>` (what `geolip.type` holds). */
  type: string;
  /** One line for lists (`geolip-bench --help` and the like). */
  description: string;
  /** The class name in messages (`DualStreamViT`); default the type. */
  name?: string;
  /**
   * Validates the config found in a file (already JSON-parsed) and returns it typed.
   * @throws a `GeolipError` (usually `FormatError` or `InvalidArgumentError`) naming what is wrong.
   */
  parseConfig(json: unknown): C;
  /**
   * Builds an untrained model of `config` (it owns its parameters; the caller disposes it). `file.tensors` are the
   * weights about to be loaded, for sizes a config does not record (e.g. a classifier's class count).
   */
  create(config: C, file: { tensors: Record<string, SafetensorEntry> }): M;
  /** Loads the tensors into the model; default `model.loadSafetensorEntries(tensors, { strict })`. */
  load?(model: M, context: PretrainedContext<C>): void;
}

/** A weights file a package ships, listed in its registry (`geolip-bench` lists them as models). */
export interface ShippedWeights {
  /** The model type of the file. */
  type: string;
  /** The file name under the package's `weights/` folder. */
  file: string;
  /** One line: what the model is. */
  description: string;
}

/** Options of {@link loadPretrained} / {@link ModelRegistry.fromPretrained}. */
export interface FromPretrainedOptions<C = unknown> {
  /**
   * The expected model type. Required for files that carry no model metadata (a `.pt` checkpoint, a bare
   * safetensors file); for a file that names its type, a different type is an error.
   */
  type?: string | undefined;
  /** The config to build with, instead of the file's (e.g. a `.pt` checkpoint saved without one). */
  config?: C | undefined;
  /** Default true: every parameter must be in the file, and no tensor may be left over. */
  strict?: boolean | undefined;
  /** For `.pt` checkpoints: the key of the state dict (see `readTorchCheckpoint`). */
  stateDictKey?: string | undefined;
  /**
   * Default false: a weight that is NaN or ±Inf is refused (a `FormatError` naming the tensor) before the model is
   * built. Pass true to load such a file anyway (e.g. to inspect a diverged checkpoint).
   */
  allowNonFinite?: boolean | undefined;
  /** The function named in errors (default `fromPretrained`); loaders pass their own name. */
  op?: string | undefined;
}

/** What {@link loadPretrained} returns: the model and what the file said about it. */
export interface Pretrained<M extends Module = Module, C = unknown> {
  model: M;
  type: string;
  config: C;
  /** `geolip.extra` (or a legacy file's other `geolip.*` keys); `{}` when none. */
  extra: Record<string, unknown>;
  /** The file's raw `__metadata__` (`{}` for `.pt` files). */
  rawMetadata: Record<string, string>;
  /** `'safetensors'` or `'pt'`. */
  format: WeightsFile['format'];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Model types by registry key: each maps to a config parser and a constructor (and optionally a load hook).
 *
 * @example
 * const models = new ModelRegistry('vision').register({ type: 'vision/dual-stream-vit', description: '…',
 *   parseConfig: (json) => json as DualStreamViTConfig, create: (c) => new DualStreamViT(c) });
 * const model = await models.fromPretrained('weights/fmnist-dual-stream.safetensors');
 */
export class ModelRegistry {
  private readonly specs = new Map<string, ModelSpec<never, Module>>();
  private readonly shippedWeights = new Map<string, ShippedWeights>();

  /** @param name - the registry's name in messages (e.g. `vision`). */
  constructor(readonly name: string = 'models') {
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidArgumentError('ModelRegistry', 'name', 'must be a non-empty string');
  }

  /**
   * Adds a model type.
   * @throws {InvalidArgumentError} naming `ModelRegistry.register` and `spec`: a spec without a `<package>/<model>`
   *   type, a description, `parseConfig` or `create`, or a type already registered.
   */
  register<C, M extends Module>(spec: ModelSpec<C, M>): this {
    const op = 'ModelRegistry.register';
    if (!isPlainObject(spec))
      throw new InvalidArgumentError(op, 'spec', 'must be an object { type, description, parseConfig, create, load? }');
    if (typeof spec.type !== 'string' || !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/.test(spec.type))
      throw new InvalidArgumentError(op, 'spec.type', `must be '<package>/<model>', got ${JSON.stringify(spec.type)}`);
    if (typeof spec.description !== 'string')
      throw new InvalidArgumentError(op, 'spec.description', 'must be a string');
    if (typeof spec.parseConfig !== 'function' || typeof spec.create !== 'function')
      throw new InvalidArgumentError(op, 'spec', 'needs parseConfig and create functions');
    if (spec.load !== undefined && typeof spec.load !== 'function')
      throw new InvalidArgumentError(op, 'spec.load', 'must be a function when given');
    if (this.specs.has(spec.type))
      throw new InvalidArgumentError(op, 'spec.type', `'${spec.type}' is already registered in ${this.name}`);
    this.specs.set(spec.type, spec as unknown as ModelSpec<never, Module>);
    return this;
  }

  /**
   * Lists a weights file the package ships, under a short name (e.g. `geolip-text`).
   * @throws {InvalidArgumentError} naming `ModelRegistry.ship`: an empty or repeated name, or a type not registered.
   */
  ship(name: string, weights: ShippedWeights): this {
    const op = 'ModelRegistry.ship';
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidArgumentError(op, 'name', 'must be a non-empty string');
    if (this.shippedWeights.has(name))
      throw new InvalidArgumentError(op, 'name', `'${name}' is already listed in ${this.name}`);
    if (!isPlainObject(weights) || !this.specs.has(weights.type))
      throw new InvalidArgumentError(
        op,
        'weights.type',
        `must be a type registered in ${this.name} (${this.types().join(', ')})`,
      );
    this.shippedWeights.set(name, Object.freeze({ ...weights }));
    return this;
  }

  /** The registered types, in registration order. */
  types(): string[] {
    return [...this.specs.keys()];
  }

  /** Whether `type` is registered. */
  has(type: string): boolean {
    return this.specs.has(type);
  }

  /**
   * The spec of `type`.
   * @throws {InvalidArgumentError} naming `op` (default `ModelRegistry.get`) and `'type'`, listing the registered
   *   types.
   */
  get(type: string, op = 'ModelRegistry.get'): ModelSpec<unknown, Module> {
    const spec = this.specs.get(type);
    if (spec === undefined)
      throw new InvalidArgumentError(
        op,
        'type',
        `'${String(type)}' is not a model type of ${this.name}; registered: ${this.types().join(', ') || 'none'}`,
      );
    return spec as unknown as ModelSpec<unknown, Module>;
  }

  /** The weights files the package ships, by short name. */
  shipped(): Readonly<Record<string, ShippedWeights>> {
    return Object.freeze(Object.fromEntries(this.shippedWeights));
  }

  /**
   * Reads a weights file, builds the model its metadata names (see {@link loadPretrained}) and returns it with what
   * the file said about it.
   */
  loadPretrained<M extends Module = Module, C = unknown>(
    source: BinarySource | WeightsFile,
    options: FromPretrainedOptions<C> = {},
  ): Promise<Pretrained<M, C>> {
    return loadPretrained<M, C>(this, source, options);
  }

  /** {@link loadPretrainedFile} on this registry: synchronous, for a file already read. */
  loadPretrainedFile<M extends Module = Module, C = unknown>(
    file: WeightsFile,
    options: FromPretrainedOptions<C> = {},
  ): Pretrained<M, C> {
    return loadPretrainedFile<M, C>(this, file, options);
  }

  /** Reads a weights file and returns the model its metadata names, loaded (see {@link loadPretrained}). */
  async fromPretrained<M extends Module = Module>(
    source: BinarySource | WeightsFile,
    options: FromPretrainedOptions = {},
  ): Promise<M> {
    return (await loadPretrained<M>(this, source, { op: 'fromPretrained', ...options })).model;
  }

  /**
   * One registry holding every type (and shipped file) of `registries`.
   * @throws {InvalidArgumentError} when two registries hold the same type or shipped name.
   */
  static merge(name: string, ...registries: ModelRegistry[]): ModelRegistry {
    const out = new ModelRegistry(name);
    for (const r of registries) {
      if (!(r instanceof ModelRegistry))
        throw new InvalidArgumentError('ModelRegistry.merge', 'registries', 'must all be ModelRegistry instances');
      for (const spec of r.specs.values()) out.register(spec);
      for (const [n, w] of r.shippedWeights) out.ship(n, w);
    }
    return out;
  }
}

/** The number of elements of all `tensors`. */
function elementCount(tensors: Record<string, SafetensorEntry>): number {
  let n = 0;
  for (const e of Object.values(tensors)) n += e.shape.reduce((a, b) => a * b, 1);
  return n;
}

const FLOAT_DTYPES = new Set(['F16', 'BF16', 'F32', 'F64']);

/** Refuses a float tensor holding NaN or ±Inf (read from the CPU copy, before any model is built). */
function assertFiniteEntries(op: string, tensors: Record<string, SafetensorEntry>): void {
  for (const [name, e] of Object.entries(tensors)) {
    if (!FLOAT_DTYPES.has(e.dtype)) continue;
    const values = e.dtype === 'F32' || e.dtype === 'F64' ? (e.data as Float32Array | Float64Array) : toFloat32(e);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!))
        throw new FormatError(
          op,
          'source',
          `tensor '${name}' holds ${values[i]} at element ${i}: weights must be finite ` +
            '(pass options.allowNonFinite to load it anyway)',
        );
    }
  }
}

function isWeightsFile(v: unknown): v is WeightsFile {
  return (
    isPlainObject(v) &&
    (v.format === 'safetensors' || v.format === 'pt') &&
    isPlainObject(v.tensors) &&
    isPlainObject(v.metadata)
  );
}

/**
 * Loads a pretrained model by its file's metadata alone: reads the bytes (`readWeightsFile`: bytes, a path, a
 * `file:`/`http(s):`/`blob:`/`data:` URL; safetensors or `.pt`), reads the model metadata once (`readModelMetadata`),
 * looks the type up in `registry`, parses the config, builds the model and loads the state dict. On any failure
 * every tensor it made (the model's parameters, the loaded copies) is disposed before the error is thrown.
 *
 * @example
 * const { model, extra } = await loadPretrained(visionModels, 'weights/fmnist-dual-stream.safetensors');
 * @throws {InvalidArgumentError} naming the function: bad options, an unreadable source.
 * @throws {FormatError} naming the function and `'source'`: no model metadata and no `options.type`, a type that
 *   the registry does not hold (the message lists the registered ones), a type other than `options.type`, a
 *   config the model's parser rejects, tensors that do not fit the model (the message names the parameter).
 */
export async function loadPretrained<M extends Module = Module, C = unknown>(
  registry: ModelRegistry,
  source: BinarySource | WeightsFile,
  options: FromPretrainedOptions<C> = {},
): Promise<Pretrained<M, C>> {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new InvalidArgumentError('loadPretrained', 'options', 'must be an object');
  const op = options.op ?? 'loadPretrained';
  const file = isWeightsFile(source)
    ? source
    : await readWeightsFile(source, { op, stateDictKey: options.stateDictKey });
  // A model loaded before `initBackend()` gets the best backend available (said once on stderr), not tfjs's
  // "No backend found in registry". Loaded lazily: `import '@geolip/nn'` stays free of the backend code.
  const { ensureBackend } = await import('./backend.js');
  await ensureBackend(op);
  return loadPretrainedFile<M, C>(registry, file, options);
}

/**
 * The synchronous core of {@link loadPretrained}, for a file already read (`readWeightsFile` / `parseWeightsFile`).
 * Same checks, errors and clean-up.
 */
export function loadPretrainedFile<M extends Module = Module, C = unknown>(
  registry: ModelRegistry,
  file: WeightsFile,
  options: FromPretrainedOptions<C> = {},
): Pretrained<M, C> {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new InvalidArgumentError('loadPretrainedFile', 'options', 'must be an object');
  const op = options.op ?? 'loadPretrainedFile';
  if (!isWeightsFile(file)) throw new InvalidArgumentError(op, 'file', 'must be what readWeightsFile returns');
  if (!(registry instanceof ModelRegistry)) throw new InvalidArgumentError(op, 'registry', 'must be a ModelRegistry');
  const { type: expected, strict = true } = options;
  if (expected !== undefined && typeof expected !== 'string')
    throw new InvalidArgumentError(op, 'options.type', 'must be a string');
  if (typeof strict !== 'boolean') throw new InvalidArgumentError(op, 'options.strict', 'must be a boolean');
  const allowNonFinite = options.allowNonFinite ?? false;
  if (typeof allowNonFinite !== 'boolean')
    throw new InvalidArgumentError(op, 'options.allowNonFinite', 'must be a boolean');
  if (!allowNonFinite) assertFiniteEntries(op, file.tensors);
  const hasModelKeys = Object.keys(file.metadata).some((k) => k.startsWith('geolip.'));
  let metadata: ModelMetadata | null = null;
  if (hasModelKeys && (expected === undefined || options.config === undefined)) {
    try {
      metadata = readModelMetadata(file.metadata);
    } catch (cause) {
      throw new FormatError(op, 'source', cause instanceof Error ? cause.message : String(cause), { cause });
    }
  }
  const type = expected ?? metadata?.type;
  if (type === undefined) {
    throw new FormatError(
      op,
      'source',
      `names no model type (no geolip.type metadata${
        file.format === 'pt' ? ' in a .pt file' : ''
      }); pass options.type, one of: ${registry.types().join(', ')}`,
    );
  }
  if (expected !== undefined && metadata !== null && metadata.type !== expected) {
    const key = metadata.legacyKey ?? MODEL_METADATA_KEYS.type;
    const want =
      metadata.legacyKey === undefined
        ? expected
        : (Object.entries(LEGACY_MODEL_TYPES).find(([, t]) => t === expected)?.[0] ?? expected);
    throw new FormatError(
      op,
      'source',
      `metadata '${key}' must be '${want}', got ${JSON.stringify(file.metadata[key] ?? null)}: the file holds a '${
        metadata.type
      }' model, not '${expected}'`,
    );
  }
  let spec: ModelSpec<unknown, Module>;
  try {
    spec = registry.get(type, op);
  } catch (cause) {
    throw new FormatError(op, 'source', (cause as Error).message, { cause });
  }
  const rawConfig = options.config !== undefined ? options.config : metadata !== null ? metadata.config : file.config;
  if (rawConfig === undefined)
    throw new FormatError(
      op,
      'source',
      `has no config for '${type}' (no geolip.config metadata, no config in the checkpoint); pass options.config`,
    );
  let config: unknown;
  try {
    config = spec.parseConfig(rawConfig);
  } catch (cause) {
    throw new FormatError(
      op,
      'source',
      `metadata 'geolip.config' is not a valid ${spec.name ?? type} config: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
  let model: Module;
  try {
    // A strict load needs every parameter from the file, so a model far larger than the file's tensors cannot load:
    // it is refused while it is built, before a size in its config takes the memory and time (the slack, 2 × the
    // file's elements + 64 Ki, leaves a slightly wrong file to the load's own errors, which name the tensor).
    const build = (): Module => spec.create(config, { tensors: file.tensors });
    model = strict ? buildWithinBudget(op, 2 * elementCount(file.tensors) + 65_536, build) : build();
  } catch (cause) {
    if (cause instanceof FormatError && cause.op === op) throw cause;
    if (cause instanceof GeolipError)
      throw new FormatError(
        op,
        'source',
        `metadata 'geolip.config' is not a valid ${spec.name ?? type} config: ${cause.message}`,
        { cause },
      );
    throw cause;
  }
  try {
    const context: PretrainedContext = {
      tensors: file.tensors,
      config,
      metadata,
      strict,
      configFromFile: options.config === undefined,
    };
    if (spec.load !== undefined) spec.load(model, context);
    else model.loadSafetensorEntries(file.tensors, { strict });
  } catch (cause) {
    model.dispose();
    if (cause instanceof FormatError && cause.op === op) throw cause;
    if (cause instanceof GeolipError)
      throw new FormatError(op, 'source', `does not fit '${type}': ${cause.message}`, { cause });
    throw cause;
  }
  return {
    model: model as M,
    type,
    config: config as C,
    extra: metadata?.extra ?? {},
    rawMetadata: file.metadata,
    format: file.format,
  };
}
