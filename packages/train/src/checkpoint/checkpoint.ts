import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { assertFiniteData } from '@geolip/geometry/checks';
import { readSafetensors, toFloat32, writeSafetensors } from '@geolip/io';

import type { AdamWState } from '../loop/adamw.js';

/** The `format` tag of `state.json`. */
export const CHECKPOINT_FORMAT = 'geolip-train-checkpoint';
/** The current `state.json` version. */
export const CHECKPOINT_VERSION = 1;

/** JSON values stored in a checkpoint (`config`, `extra`). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What {@link saveCheckpoint} writes. */
export interface CheckpointData {
  /** Model parameters by stable name (tensors or plain float32 arrays with shapes). */
  weights: Record<string, tf.Tensor | { shape: readonly number[]; data: Float32Array }>;
  /** Optimizer moments and step count ({@link AdamW.getState}). */
  optimizer: AdamWState;
  /** Training steps completed. */
  step: number;
  /** The loop's RNG: seed and `rng.state()`. */
  rng: { seed: number; state: [number, number, number, number] };
  /** Run configuration, compared on resume. */
  config?: JsonValue;
  /** Free-form JSON (e.g. `MasteryQueue.state()`, early-stop state). */
  extra?: JsonValue;
}

/** What {@link loadCheckpoint} returns. */
export interface LoadedCheckpoint {
  /** The directory actually read (`dir` itself, or the step directory `latest.json` points to). */
  dir: string;
  step: number;
  rng: { seed: number; state: [number, number, number, number] };
  config: JsonValue;
  extra: JsonValue;
  /** Parameters by name: shape and float32 values. */
  weights: Record<string, { shape: number[]; data: Float32Array }>;
  optimizer: AdamWState;
}

/** Options of {@link loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** Validate parameter names and shapes against these (e.g. `model.getWeights()`). */
  expectWeights?: Record<string, tf.Tensor>;
  /** Validate the stored config against this one (deep equality; the error names the first key that differs). */
  expectConfig?: JsonValue;
}

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Step directories kept in `dir` (older ones are deleted after a successful save). Default 2. ≥ 1. */
  keep?: number;
}

interface StateJson {
  format: string;
  version: number;
  step: number;
  optimizerStep: number;
  rng: { seed: number; state: [number, number, number, number] };
  config: JsonValue;
  extra: JsonValue;
  params: { name: string; shape: number[] }[];
  files: Record<string, number>;
}

const STEP_DIR = /^step-(\d{9})$/;

/**
 * Saves a checkpoint atomically into `dir/step-NNNNNNNNN/` and points `dir/latest.json` at it.
 *
 * Files: `weights.safetensors` (parameters, F32), `state.safetensors` (Adam moments `m.<name>`,
 * `v.<name>`, F32) and `state.json` (step, optimizer step, RNG, config, extra, parameter names
 * and shapes, byte sizes of the two safetensors files).
 *
 * @returns The step directory written.
 * @remarks
 * Atomicity: every file is written and fsynced in a fresh temporary directory, which is then
 * renamed to its final name; only then is `latest.json` replaced (write temp + fsync + rename).
 * A crash at any point leaves the previous checkpoint as the one {@link loadCheckpoint} finds;
 * a half-written temporary directory is never read (and is removed by the next save).
 * Reads every tensor to the CPU.
 * @throws {InvalidArgumentError} for a bad step, or a name that is not a valid safetensors name.
 */
export function saveCheckpoint(dir: string, data: CheckpointData, options: SaveCheckpointOptions = {}): string {
  const op = 'saveCheckpoint';
  if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError(op, 'dir', 'must be a non-empty path');
  if (!Number.isInteger(data.step) || data.step < 0 || data.step > 999_999_999) {
    throw new InvalidArgumentError(op, 'data.step', `must be an integer in [0, 999999999], got ${String(data.step)}`);
  }
  const keep = options.keep ?? 2;
  if (!Number.isInteger(keep) || keep < 1)
    throw new InvalidArgumentError(op, 'options.keep', `must be an integer >= 1, got ${String(keep)}`);
  mkdirSync(dir, { recursive: true });

  const params: { name: string; shape: number[] }[] = [];
  const weightEntries: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, w] of Object.entries(data.weights)) {
    const shape = [...w.shape];
    const values = w instanceof tf.Tensor ? (w.dataSync() as Float32Array) : w.data;
    weightEntries[name] = { dtype: 'F32', shape, data: values };
    params.push({ name, shape });
  }
  const stateEntries: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const { name, shape } of params) {
    const m = data.optimizer.m[name];
    const v = data.optimizer.v[name];
    if (!m || !v) throw new InvalidArgumentError(op, 'data.optimizer', `has no moments for parameter '${name}'`);
    stateEntries[`m.${name}`] = { dtype: 'F32', shape, data: m };
    stateEntries[`v.${name}`] = { dtype: 'F32', shape, data: v };
  }
  const weightBytes = writeSafetensors(weightEntries, { format: 'pt' });
  const stateBytes = writeSafetensors(stateEntries);
  const json: StateJson = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step: data.step,
    optimizerStep: data.optimizer.step,
    rng: { seed: data.rng.seed, state: [...data.rng.state] as [number, number, number, number] },
    config: data.config ?? null,
    extra: data.extra ?? null,
    params,
    files: { 'weights.safetensors': weightBytes.byteLength, 'state.safetensors': stateBytes.byteLength },
  };

  const name = `step-${String(data.step).padStart(9, '0')}`;
  const tmp = join(dir, `.tmp-${name}-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  writeFileDurable(join(tmp, 'weights.safetensors'), weightBytes);
  writeFileDurable(join(tmp, 'state.safetensors'), stateBytes);
  writeFileDurable(join(tmp, 'state.json'), new TextEncoder().encode(JSON.stringify(json)));
  const final = join(dir, name);
  if (existsSync(final)) rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  syncDir(dir);
  const latestTmp = join(dir, `.latest.json.tmp-${process.pid}`);
  writeFileDurable(latestTmp, new TextEncoder().encode(JSON.stringify({ dir: name, step: data.step })));
  renameSync(latestTmp, join(dir, 'latest.json'));
  syncDir(dir);

  // Prune: old step directories beyond `keep`, and leftovers of crashed saves.
  const entries = readdirSync(dir);
  const steps = entries.filter((e) => STEP_DIR.test(e)).sort();
  for (const old of steps.slice(0, Math.max(0, steps.length - keep)))
    if (old !== name) rmSync(join(dir, old), { recursive: true, force: true });
  for (const e of entries) if (e.startsWith('.tmp-')) rmSync(join(dir, e), { recursive: true, force: true });
  return final;
}

/**
 * Loads a checkpoint written by {@link saveCheckpoint}. `dir` is either the checkpoint root
 * (`latest.json` is followed) or one step directory.
 *
 * @throws {FormatError} for a missing or malformed file, a file whose size differs from the one
 *   recorded (truncated), a broken safetensors file, a tensor that is not F32 or has the wrong
 *   shape, or non-finite weights.
 * @throws {ShapeError} when `expectWeights` is given and a parameter's shape differs (names it).
 * @throws {InvalidArgumentError} when a parameter is missing or unexpected (names it), or the
 *   config differs from `expectConfig` (names the first differing key).
 * @remarks Weights are checked for NaN/±Infinity once here (the data is on the CPU anyway).
 */
export function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): LoadedCheckpoint {
  const op = 'loadCheckpoint';
  if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError(op, 'dir', 'must be a non-empty path');
  let stepDir = dir;
  if (!existsSync(join(dir, 'state.json'))) {
    const latestPath = join(dir, 'latest.json');
    if (!existsSync(latestPath))
      throw new FormatError(op, 'dir', `${dir} holds neither state.json nor latest.json (no checkpoint)`);
    const latest = parseJson(op, latestPath) as { dir?: unknown };
    if (typeof latest?.dir !== 'string' || !STEP_DIR.test(latest.dir))
      throw new FormatError(op, 'latest.json', `must name a step directory, got ${JSON.stringify(latest?.dir)}`);
    stepDir = join(dir, latest.dir);
  }
  const state = parseJson(op, join(stepDir, 'state.json')) as StateJson;
  if (state?.format !== CHECKPOINT_FORMAT)
    throw new FormatError(
      op,
      'state.json',
      `must have format '${CHECKPOINT_FORMAT}', got ${JSON.stringify(state?.format)}`,
    );
  if (state.version !== CHECKPOINT_VERSION)
    throw new FormatError(
      op,
      'state.json',
      `has unsupported version ${JSON.stringify(state.version)} (expected ${CHECKPOINT_VERSION})`,
    );
  if (!Number.isInteger(state.step) || state.step < 0)
    throw new FormatError(op, 'state.json', `has a bad step ${JSON.stringify(state.step)}`);
  if (!Array.isArray(state.params)) throw new FormatError(op, 'state.json', "has no 'params' list");
  if (!Array.isArray(state.rng?.state) || state.rng.state.length !== 4)
    throw new FormatError(op, 'state.json', "has a bad 'rng.state'");

  const weightsFile = readChecked(op, stepDir, 'weights.safetensors', state.files?.['weights.safetensors']);
  const stateFile = readChecked(op, stepDir, 'state.safetensors', state.files?.['state.safetensors']);

  const weights: LoadedCheckpoint['weights'] = {};
  const optimizer: AdamWState = { step: state.optimizerStep, m: {}, v: {}, shapes: {} };
  for (const { name, shape } of state.params) {
    const w = takeF32(op, 'weights.safetensors', weightsFile, name, shape);
    assertFiniteData(op, `weights.safetensors: ${name}`, w);
    weights[name] = { shape: [...shape], data: w };
    optimizer.m[name] = takeF32(op, 'state.safetensors', stateFile, `m.${name}`, shape);
    optimizer.v[name] = takeF32(op, 'state.safetensors', stateFile, `v.${name}`, shape);
    optimizer.shapes[name] = [...shape];
  }

  if (options.expectWeights) {
    const expected = options.expectWeights;
    for (const name of Object.keys(expected)) {
      if (!(name in weights))
        throw new InvalidArgumentError(
          op,
          'checkpoint',
          `has no parameter '${name}' that the model has (checkpoint from another config?)`,
        );
      const want = expected[name]!.shape;
      const got = weights[name]!.shape;
      if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
        throw new ShapeError(
          op,
          `parameter '${name}'`,
          `[${want.join(', ')}] (the model's)`,
          got,
          'checkpoint from another config?',
        );
      }
    }
    for (const name of Object.keys(weights)) {
      if (!(name in expected))
        throw new InvalidArgumentError(
          op,
          'checkpoint',
          `has parameter '${name}' that the model does not have (checkpoint from another config?)`,
        );
    }
  }
  if (options.expectConfig !== undefined) {
    const diff = firstDifference(options.expectConfig, state.config, 'config');
    if (diff) throw new InvalidArgumentError(op, 'config', `differs from the checkpoint's at ${diff}`);
  }
  return {
    dir: stepDir,
    step: state.step,
    rng: { seed: state.rng.seed, state: state.rng.state.map((v) => v >>> 0) as [number, number, number, number] },
    config: state.config,
    extra: state.extra,
    weights,
    optimizer,
  };
}

/** Assigns loaded weights to variables (names and shapes must match; see `expectWeights`). */
export function assignWeights(variables: Record<string, tf.Variable>, weights: LoadedCheckpoint['weights']): void {
  for (const [name, v] of Object.entries(variables)) {
    const w = weights[name];
    if (!w) throw new InvalidArgumentError('assignWeights', 'weights', `has no entry for parameter '${name}'`);
    tf.tidy(() => v.assign(tf.tensor(w.data, v.shape, 'float32')));
  }
}

/** Path-qualified first difference between two JSON values, or null when equal. */
function firstDifference(expected: unknown, actual: unknown, path: string): string | null {
  if (expected === actual) return null;
  if (typeof expected !== typeof actual || expected === null || actual === null || typeof expected !== 'object') {
    return `${path}: expected ${JSON.stringify(expected)}, checkpoint has ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected) !== Array.isArray(actual))
    return `${path}: expected ${JSON.stringify(expected)}, checkpoint has ${JSON.stringify(actual)}`;
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
  for (const k of keys) {
    const d = firstDifference(e[k], a[k], Array.isArray(expected) ? `${path}[${k}]` : `${path}.${k}`);
    if (d) return d;
  }
  return null;
}

function parseJson(op: string, path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FormatError(op, basename(path), `cannot be read (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(op, basename(path), `is not valid JSON (truncated?): ${(e as Error).message}`, { cause: e });
  }
}

function readChecked(
  op: string,
  dir: string,
  file: string,
  expectedBytes: unknown,
): ReturnType<typeof readSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(join(dir, file));
  } catch (e) {
    throw new FormatError(op, file, `cannot be read (${(e as Error).message})`, { cause: e });
  }
  if (typeof expectedBytes === 'number' && bytes.byteLength !== expectedBytes) {
    throw new FormatError(
      op,
      file,
      `has ${bytes.byteLength} bytes, state.json records ${expectedBytes} (truncated or replaced)`,
    );
  }
  try {
    return readSafetensors(bytes, { copy: true });
  } catch (e) {
    if (e instanceof FormatError)
      throw new FormatError(op, file, `is not a valid safetensors file: ${e.message}`, { cause: e });
    throw e;
  }
}

function takeF32(
  op: string,
  file: string,
  contents: ReturnType<typeof readSafetensors>,
  name: string,
  shape: number[],
): Float32Array {
  const entry = contents.tensors[name];
  if (!entry) throw new FormatError(op, file, `has no tensor '${name}' listed in state.json`);
  if (entry.dtype !== 'F32') throw new FormatError(op, file, `tensor '${name}' must be F32, got ${entry.dtype}`);
  if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
    throw new FormatError(
      op,
      file,
      `tensor '${name}' has shape [${entry.shape.join(', ')}], state.json records [${shape.join(', ')}]`,
    );
  }
  return toFloat32(entry);
}

function writeFileDurable(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directory fsync is not supported everywhere (e.g. Windows); the renames are still atomic.
  }
}
