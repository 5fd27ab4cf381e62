import * as tf from '@tensorflow/tfjs-core';
import { FormatError, GeolipError, InvalidArgumentError, NonFiniteError } from '@geolip/geometry';
import {
  LEGACY_MODEL_KEYS,
  MODEL_METADATA_KEYS,
  readModelMetadata,
  readSafetensors,
  toFloat32,
  type SafetensorEntry,
  type SafetensorsContents,
  writeModelMetadata,
  writeSafetensors,
} from '@geolip/io';

import type { Module, StateDictKey } from '@geolip/nn';

import { Constellation, DROPOUT_MODES, type ConstellationConfig, type DropoutMode } from './constellation.js';
import { PATCHWORK_ACTIVATIONS, Patchwork, type PatchworkActivation, type PatchworkConfig } from './patchwork.js';
import { readSync } from './internal/module-checks.js';

/**
 * Metadata key naming the model type stored in a file (`'anchors/constellation'` or `'anchors/patchwork'`): the
 * `@geolip/io` contract's `geolip.type`. Files written before the contract named the class under a legacy key
 * (`Constellation`, `Patchwork`); the loaders still read them.
 */
export const MODULE_METADATA_KEY = MODEL_METADATA_KEYS.type;
/** Metadata key holding the module configuration as a JSON string (the contract's `geolip.config`). */
export const CONFIG_METADATA_KEY = MODEL_METADATA_KEYS.config;

/** The registry key (`geolip.type`) of a saved {@link Constellation}. */
export const CONSTELLATION_TYPE = 'anchors/constellation';
/** The registry key (`geolip.type`) of a saved {@link Patchwork}. */
export const PATCHWORK_TYPE = 'anchors/patchwork';
const TYPES = { Constellation: CONSTELLATION_TYPE, Patchwork: PATCHWORK_TYPE } as const;

type FloatEntry = { dtype: 'F32'; shape: number[]; data: Float32Array };

/**
 * Serializes a constellation as a safetensors file.
 *
 *     tensors:   anchors  [K, D] F32   (the raw variable, not normalized)
 *                home     [K, D] F32   (only if saveHome() was called)
 *     metadata:  format = "pt", geolip.type = "anchors/constellation", geolip.format = "1",
 *                geolip.config = JSON {"anchors": K, "dim": D, "dropout": p, "dropoutMode": "mask" | "subset"}
 *
 * @param constellation - the module to save (not modified).
 * @returns the file's bytes.
 * @throws {BackendError} on a backend that cannot read synchronously (use {@link saveConstellationAsync}).
 *
 * @remarks The dropout generator's state is not saved (it is training state, not a weight). The names
 * match a PyTorch module with a parameter `anchors` (and a buffer `home`), so `safetensors.torch.load_file`
 * reads the file as a state dict.
 *
 * @example
 * const bytes = saveConstellation(c);
 * const copy = loadConstellation(bytes); // copy.triangulate(x) equals c.triangulate(x) bit for bit
 */
export function saveConstellation(constellation: Constellation): Uint8Array {
  const op = 'saveConstellation';
  checkModule(op, 'constellation', constellation, Constellation);
  return write(
    readAllSync(op, constellation.stateDict(), 'use saveConstellationAsync'),
    'Constellation',
    constellation.config,
  );
}

/** {@link saveConstellation} reading the weights asynchronously (works on every backend). Same bytes. */
export async function saveConstellationAsync(constellation: Constellation): Promise<Uint8Array> {
  checkModule('saveConstellationAsync', 'constellation', constellation, Constellation);
  return write(await readAllAsync(constellation.stateDict()), 'Constellation', constellation.config);
}

/**
 * Serializes a patchwork as a safetensors file, under the PyTorch parameter names documented in
 * {@link Patchwork.stateDict} (`compartments.{k}.0.weight` `[2·d_comp, apc]`, `.0.bias`, `.2.weight`
 * `[d_comp, 2·d_comp]`, `.2.bias`, `.3.weight`, `.3.bias`, and `.1.scale` / `.1.bias` `[1]` for StarReLU),
 * all F32, with metadata `format = "pt"`, `geolip.type = "anchors/patchwork"`, `geolip.format = "1"` and
 * `geolip.config = JSON {"anchors": K, "compartments": n_comp, "compartmentDim": d_comp, "activation": …}`.
 *
 * @param patchwork - the module to save (not modified).
 * @returns the file's bytes.
 * @throws {BackendError} on a backend that cannot read synchronously (use {@link savePatchworkAsync}).
 *
 * @example
 * const copy = loadPatchwork(savePatchwork(p)); // copy.apply(tri) equals p.apply(tri) bit for bit
 */
export function savePatchwork(patchwork: Patchwork): Uint8Array {
  const op = 'savePatchwork';
  checkModule(op, 'patchwork', patchwork, Patchwork);
  return write(readAllSync(op, patchwork.stateDict(), 'use savePatchworkAsync'), 'Patchwork', patchwork.config);
}

/** {@link savePatchwork} reading the weights asynchronously (works on every backend). Same bytes. */
export async function savePatchworkAsync(patchwork: Patchwork): Promise<Uint8Array> {
  checkModule('savePatchworkAsync', 'patchwork', patchwork, Patchwork);
  return write(await readAllAsync(patchwork.stateDict()), 'Patchwork', patchwork.config);
}

/**
 * Loads a constellation saved by {@link saveConstellation}, or any safetensors file holding exactly
 * `anchors` `[K, D]` (and optionally `home` `[K, D]`), e.g. a PyTorch state dict.
 *
 * @param bytes - the file's bytes.
 * @returns a new Constellation with the stored weights and configuration (the caller disposes it).
 *   Without `geolip.config` metadata the configuration is taken from the shapes, with dropout 0.
 *
 * @throws {FormatError} naming `'bytes'`: not a safetensors file, another module's file, bad
 *   `geolip.config` JSON, a missing or unexpected tensor, a wrong shape or a non-float dtype.
 * @throws {NonFiniteError} naming the tensor when a stored value is NaN/Inf.
 *
 * @remarks F32 loads bit-exactly; F64, F16 and BF16 are converted to float32.
 */
export function loadConstellation(bytes: Uint8Array | ArrayBuffer): Constellation {
  const op = 'loadConstellation';
  const { tensors, config } = parse(op, bytes, 'Constellation');
  return loadInto(op, new Constellation(constellationConfigFrom(op, tensors, config)), tensors);
}

/**
 * The {@link Constellation} config of a file: its tensors' sizes, checked against (and completed by) the stored
 * config JSON (`undefined` when the file has none: dropout 0). Used by {@link loadConstellation} and the registry.
 * @throws {FormatError} naming `op` and `'bytes'`.
 * @internal
 */
export function constellationConfigFrom(
  op: string,
  tensors: Record<string, SafetensorEntry>,
  stored: unknown,
): ConstellationConfig & { init: 'xavier' } {
  const anchors = tensors.anchors;
  if (!anchors) fail(op, "is missing the tensor 'anchors'");
  if (anchors.shape.length !== 2 || anchors.shape[0]! < 2 || anchors.shape[1]! < 1) {
    fail(op, `tensor 'anchors' must have shape [K, D] with K >= 2, got [${anchors.shape.join(', ')}]`);
  }
  const [k, d] = anchors.shape as [number, number];
  const config = readConfig(op, stored, { anchors: k, dim: d, dropout: 0, dropoutMode: 'mask' as DropoutMode }, (c) => {
    expectInteger(op, c, 'anchors', 2);
    expectInteger(op, c, 'dim', 1);
    if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout <= 1))
      fail(op, `has a bad ${CONFIG_METADATA_KEY}: 'dropout' must be a number in [0, 1]`);
    if (!(DROPOUT_MODES as readonly unknown[]).includes(c.dropoutMode))
      fail(op, `has a bad ${CONFIG_METADATA_KEY}: 'dropoutMode' must be one of ${DROPOUT_MODES.join(', ')}`);
  });
  return {
    anchors: config.anchors,
    dim: config.dim,
    init: 'xavier',
    dropout: config.dropout,
    dropoutMode: config.dropoutMode,
  };
}

/**
 * Loads a patchwork saved by {@link savePatchwork}, or any safetensors file holding exactly the
 * parameter names of {@link Patchwork.stateDict} (e.g. a PyTorch state dict of the same module).
 *
 * @param bytes - the file's bytes.
 * @returns a new Patchwork with the stored weights and configuration (the caller disposes it). Without
 *   `geolip.config` metadata the configuration is taken from the shapes (n_comp from the number of
 *   compartments, StarReLU when `compartments.0.1.scale` is present).
 *
 * @throws {FormatError} naming `'bytes'`: not a safetensors file, another module's file, bad
 *   `geolip.config`, a missing or unexpected tensor, a wrong shape or a non-float dtype.
 * @throws {NonFiniteError} naming the tensor when a stored value is NaN/Inf.
 */
export function loadPatchwork(bytes: Uint8Array | ArrayBuffer): Patchwork {
  const op = 'loadPatchwork';
  const { tensors, config } = parse(op, bytes, 'Patchwork');
  return loadInto(op, new Patchwork(patchworkConfigFrom(op, tensors, config)), tensors);
}

/**
 * The {@link Patchwork} config of a file: inferred from its tensors, checked against (and completed by) the stored
 * config JSON (`undefined` when the file has none). Used by {@link loadPatchwork} and the registry.
 * @throws {FormatError} naming `op` and `'bytes'`.
 * @internal
 */
export function patchworkConfigFrom(
  op: string,
  tensors: Record<string, SafetensorEntry>,
  stored: unknown,
): PatchworkConfig {
  const first = tensors['compartments.0.0.weight'];
  if (!first) fail(op, "is missing the tensor 'compartments.0.0.weight'");
  if (first.shape.length !== 2 || first.shape[0]! % 2 !== 0 || first.shape[0]! < 2 || first.shape[1]! < 1) {
    fail(op, `tensor 'compartments.0.0.weight' must have shape [2·d_comp, apc], got [${first.shape.join(', ')}]`);
  }
  let compartments = 0;
  while (`compartments.${compartments}.0.weight` in tensors) compartments++;
  const inferred: PatchworkConfig = {
    anchors: first.shape[1]! * compartments,
    compartments,
    compartmentDim: first.shape[0]! / 2,
    activation: 'compartments.0.1.scale' in tensors ? 'star-relu' : 'squared-relu',
  };
  const config = readConfig(op, stored, inferred, (c) => {
    expectInteger(op, c, 'anchors', 1);
    expectInteger(op, c, 'compartments', 1);
    expectInteger(op, c, 'compartmentDim', 1);
    if (!(PATCHWORK_ACTIVATIONS as readonly unknown[]).includes(c.activation)) {
      fail(op, `has a bad ${CONFIG_METADATA_KEY}: 'activation' must be one of ${PATCHWORK_ACTIVATIONS.join(', ')}`);
    }
    if ((c.anchors as number) % (c.compartments as number) !== 0)
      fail(op, `has a bad ${CONFIG_METADATA_KEY}: 'anchors' must be divisible by 'compartments'`);
  });
  return { ...config, activation: config.activation as PatchworkActivation };
}

/**
 * Checks the file's tensors against `module.stateDictKeys()` (exact names, shapes, float dtype, finite values),
 * loads them with `module.loadStateDict`, and returns the module; disposes it on any failure.
 */
function loadInto<M extends Module>(op: string, module: M, tensors: Record<string, SafetensorEntry>): M {
  let values: Record<string, tf.Tensor> = {};
  try {
    values = toTensors(op, tensors, module.stateDictKeys());
    module.loadStateDict(values);
    return module;
  } catch (e) {
    module.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(values));
  }
}

// ---------------------------------------------------------------------------------------------

function checkModule(
  op: string,
  argument: string,
  value: unknown,
  type: typeof Constellation | typeof Patchwork,
): void {
  if (!(value instanceof type)) throw new InvalidArgumentError(op, argument, `must be a ${type.name}`);
}

function write(
  entries: Record<string, FloatEntry>,
  module: keyof typeof TYPES,
  config: ConstellationConfig | PatchworkConfig,
): Uint8Array {
  return writeSafetensors(entries, { format: 'pt', ...writeModelMetadata({ type: TYPES[module], config }) });
}

function readAllSync(op: string, weights: Record<string, tf.Tensor>, hint: string): Record<string, FloatEntry> {
  try {
    const out: Record<string, FloatEntry> = {};
    for (const [name, t] of Object.entries(weights)) {
      out[name] = {
        dtype: 'F32',
        shape: [...t.shape],
        data: Float32Array.from(readSync(op, name, t, hint) as Float32Array),
      };
    }
    return out;
  } finally {
    tf.dispose(weights);
  }
}

async function readAllAsync(weights: Record<string, tf.Tensor>): Promise<Record<string, FloatEntry>> {
  try {
    const out: Record<string, FloatEntry> = {};
    for (const [name, t] of Object.entries(weights)) {
      out[name] = { dtype: 'F32', shape: [...t.shape], data: Float32Array.from((await t.data()) as Float32Array) };
    }
    return out;
  } finally {
    tf.dispose(weights);
  }
}

function fail(op: string, message: string, cause?: unknown): never {
  throw new FormatError(op, 'bytes', message, cause === undefined ? undefined : { cause });
}

function parse(op: string, bytes: unknown, module: keyof typeof TYPES): SafetensorsContents & { config: unknown } {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer))
    fail(op, `must be a Uint8Array or an ArrayBuffer, got ${bytes === null ? 'null' : typeof bytes}`);
  let contents: SafetensorsContents;
  try {
    contents = readSafetensors(bytes as Uint8Array | ArrayBuffer);
  } catch (e) {
    if (!GeolipError.isInstance(e)) throw e;
    fail(op, `is not a valid safetensors file (${e.message})`, e);
  }
  const { metadata } = contents;
  // A bare state dict (e.g. from PyTorch) names no model: its config comes from the shapes.
  const named = [MODEL_METADATA_KEYS.type, ...LEGACY_MODEL_KEYS].some((k) => metadata[k] !== undefined);
  if (!named) {
    const text = metadata[CONFIG_METADATA_KEY];
    if (text === undefined) return { ...contents, config: undefined };
    try {
      return { ...contents, config: JSON.parse(text) as unknown };
    } catch (e) {
      fail(op, `has ${CONFIG_METADATA_KEY} metadata that is not JSON`, e);
    }
  }
  let meta;
  try {
    meta = readModelMetadata(metadata);
  } catch (e) {
    if (!GeolipError.isInstance(e)) throw e;
    fail(op, `has bad model metadata (${e.message})`, e);
  }
  if (meta.type !== TYPES[module]) {
    const held = Object.keys(TYPES).find((name) => TYPES[name as keyof typeof TYPES] === meta.type) ?? meta.type;
    fail(op, `holds a ${held}, not a ${module}`);
  }
  return { ...contents, config: meta.config };
}

function readConfig<T extends object>(
  op: string,
  stored: unknown,
  inferred: T,
  validate: (c: Record<string, unknown>) => void,
): T {
  if (stored === undefined) return inferred;
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored))
    fail(op, `has ${CONFIG_METADATA_KEY} metadata that is not a JSON object`);
  const config = { ...inferred, ...(stored as Record<string, unknown>) } as Record<string, unknown>;
  validate(config);
  for (const key of Object.keys(inferred)) {
    // Sizes must agree with the tensors (the shape check below would catch it too, with a less direct message).
    const a = (inferred as Record<string, unknown>)[key];
    if (typeof a === 'number' && key !== 'dropout' && config[key] !== a) {
      fail(op, `has ${CONFIG_METADATA_KEY} ${key}=${String(config[key])}, but the tensors imply ${key}=${a}`);
    }
  }
  return config as T;
}

function expectInteger(op: string, config: Record<string, unknown>, key: string, min: number): void {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    fail(op, `has a bad ${CONFIG_METADATA_KEY}: '${key}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}

/** Checks the exact name set (optional keys may be absent), shapes, dtypes and finiteness, and uploads the tensors. */
function toTensors(
  op: string,
  tensors: Record<string, SafetensorEntry>,
  keys: readonly StateDictKey[],
): Record<string, tf.Tensor> {
  const known = new Set(keys.map((k) => k.name));
  for (const name of Object.keys(tensors)) {
    if (!known.has(name)) fail(op, `has an unexpected tensor '${name}'`);
  }
  const values: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const { name, shape, optional } of keys) {
    const entry = tensors[name];
    if (!entry) {
      if (optional) continue;
      fail(op, `is missing the tensor '${name}'`);
    }
    if (entry.shape.length !== shape.length || entry.shape.some((s, i) => s !== shape[i])) {
      fail(op, `tensor '${name}' must have shape [${shape.join(', ')}], got [${entry.shape.join(', ')}]`);
    }
    if (!['F32', 'F64', 'F16', 'BF16'].includes(entry.dtype))
      fail(op, `tensor '${name}' must have a float dtype (F32, F64, F16, BF16), got ${entry.dtype}`);
    const data = toFloat32(entry);
    let count = 0;
    let firstIndex = -1;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        if (firstIndex < 0) firstIndex = i;
        count++;
      }
    }
    if (count > 0) throw new NonFiniteError(op, name, count, firstIndex);
    values[name] = { data, shape };
  }
  const out: Record<string, tf.Tensor> = {};
  for (const [name, { data, shape }] of Object.entries(values)) out[name] = tf.tensor(data, shape, 'float32');
  return out;
}
