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
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { assertFiniteData } from '@geolip/geometry/checks';
import { float32ToFloat16Bits, readSafetensors, toFloat32, writeSafetensors } from '@geolip/io';

import type { AdamWState } from '../loop/adamw.js';

/** The `format` tag of `state.json`. */
export const CHECKPOINT_FORMAT = 'geolip-train-checkpoint';
/**
 * The newest `state.json` version this release reads and writes. Version 1: a full checkpoint (F32 weights and Adam
 * moments). Version 2 adds `compact` and a weights file per parameter (`params[].file`): compact checkpoints are
 * written as version 2, so a release that predates them refuses one by its version instead of failing on the missing
 * moments; full checkpoints are still written as version 1, unchanged, and every release reads them.
 */
export const CHECKPOINT_VERSION = 2;
/** The `state.json` version of full checkpoints (unchanged since the first release). */
const FULL_VERSION = 1;
/**
 * Default largest weights file of a compact checkpoint: 15 MiB, 1 MiB under the 16 MiB a file coming back from the
 * GPU machine may have (`docs/gpu-machine.md`).
 */
export const COMPACT_SHARD_BYTES = 15 * 2 ** 20;
/** The largest finite float16, 65504; values of magnitude ≥ 65520 round to ±Infinity. */
const F16_MAX = 65504;

/** JSON values stored in a checkpoint (`config`, `extra`). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What {@link saveCheckpoint} writes. */
export interface CheckpointData {
  /** Model parameters by stable name (tensors or plain float32 arrays with shapes). */
  weights: Record<string, tf.Tensor | { shape: readonly number[]; data: Float32Array }>;
  /**
   * Optimizer moments and step count ({@link AdamW.getState}). Not written to a compact checkpoint, where it may be
   * null (a full checkpoint needs it).
   */
  optimizer: AdamWState | null;
  /** Training steps completed. */
  step: number;
  /** The loop's RNG: seed and `rng.state()`. */
  rng: { seed: number; state: [number, number, number, number] };
  /** Run configuration, compared on resume. */
  config?: JsonValue;
  /** Free-form JSON (e.g. `MasteryQueue.state()`, early-stop state). */
  extra?: JsonValue;
}

/** What {@link loadCheckpoint} returns for either kind of checkpoint. */
interface LoadedCheckpointBase {
  /** The directory actually read (`dir` itself, or the step directory `latest.json` points to). */
  dir: string;
  step: number;
  rng: { seed: number; state: [number, number, number, number] };
  config: JsonValue;
  extra: JsonValue;
  /** Parameters by name: shape and float32 values (a compact checkpoint's F16 values, widened exactly). */
  weights: Record<string, { shape: number[]; data: Float32Array }>;
}

/** A full checkpoint: F32 weights and the optimizer state, for a bit-exact resume. */
export interface LoadedFullCheckpoint extends LoadedCheckpointBase {
  compact: false;
  optimizer: AdamWState;
}

/**
 * A compact checkpoint: F16 weights and no optimizer state (`optimizer` is null: there are no moments to restore;
 * `train()` resumes it with a fresh AdamW and a learning-rate re-warm-up).
 */
export interface LoadedCompactCheckpoint extends LoadedCheckpointBase {
  compact: true;
  optimizer: null;
}

/** What {@link loadCheckpoint} returns: narrow on `compact` to reach the optimizer state. */
export type LoadedCheckpoint = LoadedFullCheckpoint | LoadedCompactCheckpoint;

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
  /**
   * Write a compact checkpoint: weights as F16 and no optimizer moments (about a sixth of a full one: 2 bytes per
   * parameter instead of 12), for carrying a run between sessions. Resuming one is not exact (see `train()`'s
   * `rewarmSteps`). Default false.
   */
  compact?: boolean;
  /**
   * Compact checkpoints only: the largest weights file in bytes (header included). Parameters are packed in order into
   * `weights.safetensors`, or into `weights-00001-of-0000N.safetensors`, … when they do not fit one file. Default
   * {@link COMPACT_SHARD_BYTES} (15 MiB). ≥ 1024.
   */
  shardBytes?: number;
}

/**
 * A compact checkpoint cannot hold a parameter: some of its values overflow float16 (magnitude ≥ 65520 rounds to
 * ±Infinity; the largest finite float16 is 65504). Names the parameter; nothing is written.
 */
export class Float16OverflowError extends InvalidArgumentError {
  /** The parameter that does not fit. */
  readonly parameter: string;
  /** How many of its values overflow. */
  readonly count: number;
  /** Flat index of the first one. */
  readonly firstIndex: number;
  /** The first value that overflows. */
  readonly value: number;

  constructor(op: string, parameter: string, count: number, firstIndex: number, value: number) {
    super(
      op,
      'data.weights',
      `parameter '${parameter}' has ${count} value(s) outside float16's range ±${F16_MAX} (first ${value} at flat ` +
        `index ${firstIndex}): a compact checkpoint stores F16 weights; save a full checkpoint instead`,
    );
    this.name = 'Float16OverflowError';
    this.parameter = parameter;
    this.count = count;
    this.firstIndex = firstIndex;
    this.value = value;
  }
}

interface StateJson {
  format: string;
  version: number;
  /** Version 2 only (absent: false). */
  compact?: boolean;
  step: number;
  /** Full checkpoints only. */
  optimizerStep?: number;
  rng: { seed: number; state: [number, number, number, number] };
  config: JsonValue;
  extra: JsonValue;
  /** `file`: version 2 only (absent: `weights.safetensors`). */
  params: { name: string; shape: number[]; file?: string }[];
  files: Record<string, number>;
}

const STEP_DIR = /^step-(\d{9})$/;
/** `weights.safetensors`, or one shard of a compact checkpoint's weights. */
const WEIGHTS_FILE = /^weights(-\d{5}-of-\d{5})?\.safetensors$/;

/**
 * Saves a checkpoint atomically into `dir/step-NNNNNNNNN/` and points `dir/latest.json` at it.
 *
 * Files of a full checkpoint (the default): `weights.safetensors` (parameters, F32), `state.safetensors` (Adam moments
 * `m.<name>`, `v.<name>`, F32) and `state.json` (step, optimizer step, RNG, config, extra, parameter names and shapes,
 * byte sizes of the two safetensors files).
 *
 * A compact checkpoint (`options.compact`) holds the parameters as F16 in `weights.safetensors` (or in shards of at
 * most `options.shardBytes`, `weights-00001-of-0000N.safetensors`, …) and `state.json` with `compact: true` (step,
 * RNG, config, extra, each parameter's file): no optimizer state.
 *
 * @returns The step directory written.
 * @remarks
 * Atomicity: every file is written and fsynced in a fresh temporary directory, which is then
 * renamed to its final name; only then is `latest.json` replaced (write temp + fsync + rename).
 * A crash at any point leaves the previous checkpoint as the one {@link loadCheckpoint} finds;
 * a half-written temporary directory is never read (and is removed by the next save).
 * Reads every tensor to the CPU. A compact save checks every weight once (they are on the CPU anyway): float16
 * rounds to nearest even, values of magnitude below 2^−25 become ±0, and nothing turns into ±Infinity silently.
 * @throws {InvalidArgumentError} for a bad step or option, a name that is not a valid safetensors name, a full save
 *   without optimizer state, or a compact parameter larger than `shardBytes` on its own.
 * @throws {Float16OverflowError} (an {@link InvalidArgumentError}) when a compact save meets a weight that overflows
 *   float16 (names the parameter).
 * @throws {NonFiniteError} when a compact save meets a NaN or ±Infinity weight (names the parameter).
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
  const compact = options.compact ?? false;
  const shardBytes = options.shardBytes ?? COMPACT_SHARD_BYTES;
  if (!Number.isInteger(shardBytes) || shardBytes < 1024)
    throw new InvalidArgumentError(op, 'options.shardBytes', `must be an integer >= 1024, got ${String(shardBytes)}`);

  const files = compact ? compactFiles(op, data, shardBytes) : fullFiles(op, data);
  const json: StateJson = {
    format: CHECKPOINT_FORMAT,
    version: compact ? CHECKPOINT_VERSION : FULL_VERSION,
    ...(compact ? { compact: true } : {}),
    step: data.step,
    ...(compact ? {} : { optimizerStep: data.optimizer!.step }),
    rng: { seed: data.rng.seed, state: [...data.rng.state] as [number, number, number, number] },
    config: data.config ?? null,
    extra: data.extra ?? null,
    params: files.params,
    files: Object.fromEntries(Object.entries(files.bytes).map(([file, bytes]) => [file, bytes.byteLength])),
  };

  mkdirSync(dir, { recursive: true });
  const name = `step-${String(data.step).padStart(9, '0')}`;
  const tmp = join(dir, `.tmp-${name}-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  for (const [file, bytes] of Object.entries(files.bytes)) writeFileDurable(join(tmp, file), bytes);
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
  for (const e of entries)
    if (e.startsWith('.tmp-') || e.startsWith('.latest.json.tmp-'))
      rmSync(join(dir, e), { recursive: true, force: true });
  return final;
}

/** The files of one checkpoint: their bytes by file name, and the `params` list of `state.json`. */
interface CheckpointFiles {
  bytes: Record<string, Uint8Array>;
  params: StateJson['params'];
}

/** Host float32 values of each parameter, in `data.weights` order. */
function hostWeights(data: CheckpointData): { name: string; shape: number[]; values: Float32Array }[] {
  return Object.entries(data.weights).map(([name, w]) => ({
    name,
    shape: [...w.shape],
    values: w instanceof tf.Tensor ? (w.dataSync() as Float32Array) : w.data,
  }));
}

/** A full checkpoint: F32 weights, F32 moments (version 1, as it has always been written). */
function fullFiles(op: string, data: CheckpointData): CheckpointFiles {
  const optimizer = data.optimizer;
  if (optimizer === null || typeof optimizer !== 'object')
    throw new InvalidArgumentError(op, 'data.optimizer', 'is required for a full checkpoint (or save it compact)');
  const params: StateJson['params'] = [];
  const weightEntries: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  const stateEntries: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const { name, shape, values } of hostWeights(data)) {
    weightEntries[name] = { dtype: 'F32', shape, data: values };
    params.push({ name, shape });
    const m = optimizer.m[name];
    const v = optimizer.v[name];
    if (!m || !v) throw new InvalidArgumentError(op, 'data.optimizer', `has no moments for parameter '${name}'`);
    stateEntries[`m.${name}`] = { dtype: 'F32', shape, data: m };
    stateEntries[`v.${name}`] = { dtype: 'F32', shape, data: v };
  }
  return {
    bytes: {
      'weights.safetensors': writeSafetensors(weightEntries, { format: 'pt' }),
      'state.safetensors': writeSafetensors(stateEntries),
    },
    params,
  };
}

/** A compact checkpoint: F16 weights packed in order into files of at most `shardBytes`, no moments. */
function compactFiles(op: string, data: CheckpointData, shardBytes: number): CheckpointFiles {
  type Entry = { dtype: 'F16'; shape: number[]; data: Uint16Array };
  const shards: { entries: Record<string, Entry>; bytes: number }[] = [];
  // Header size of a file: 8 bytes of length, the JSON (one entry per tensor, plus the metadata) padded to 8.
  const headerBase = 8 + JSON.stringify({ __metadata__: { format: 'pt' } }).length + 8;
  const entryHeader = (name: string, shape: number[]): number =>
    JSON.stringify({
      [name]: { dtype: 'F16', shape, data_offsets: [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] },
    }).length;
  const params: StateJson['params'] = [];
  const shardOf: number[] = [];
  for (const { name, shape, values } of hostWeights(data)) {
    const half = toFloat16(op, name, values);
    const cost = half.byteLength + entryHeader(name, shape);
    if (headerBase + cost > shardBytes)
      throw new InvalidArgumentError(
        op,
        'options.shardBytes',
        `is ${shardBytes} bytes, but parameter '${name}' alone takes ${headerBase + cost} as F16; ` +
          'raise shardBytes (and split the file to carry it) or keep full checkpoints',
      );
    let shard = shards.at(-1);
    if (shard === undefined || shard.bytes + cost > shardBytes) {
      shard = { entries: {}, bytes: headerBase };
      shards.push(shard);
    }
    shard.entries[name] = { dtype: 'F16', shape, data: half };
    shard.bytes += cost;
    shardOf.push(shards.length - 1);
    params.push({ name, shape });
  }
  const n = shards.length;
  const fileName = (i: number): string =>
    n <= 1
      ? 'weights.safetensors'
      : `weights-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
  const bytes: Record<string, Uint8Array> = {};
  shards.forEach((shard, i) => {
    bytes[fileName(i)] = writeSafetensors(shard.entries, { format: 'pt' });
  });
  if (n === 0) bytes[fileName(0)] = writeSafetensors({}, { format: 'pt' });
  params.forEach((p, i) => (p.file = fileName(shardOf[i]!)));
  return { bytes, params };
}

/**
 * float16 bit patterns of `values` (round to nearest even).
 * @throws {NonFiniteError} for NaN or ±Infinity.
 * @throws {Float16OverflowError} for a finite value that rounds past 65504.
 */
function toFloat16(op: string, name: string, values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  let nonFinite = 0;
  let firstNonFinite = -1;
  let overflow = 0;
  let firstOverflow = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      nonFinite += 1;
      if (firstNonFinite < 0) firstNonFinite = i;
      continue;
    }
    const bits = float32ToFloat16Bits(v);
    if ((bits & 0x7c00) === 0x7c00) {
      overflow += 1;
      if (firstOverflow < 0) firstOverflow = i;
    }
    out[i] = bits;
  }
  if (nonFinite > 0) throw new NonFiniteError(op, `data.weights['${name}']`, nonFinite, firstNonFinite);
  if (overflow > 0) throw new Float16OverflowError(op, name, overflow, firstOverflow, values[firstOverflow]!);
  return out;
}

/**
 * Loads a checkpoint written by {@link saveCheckpoint}. `dir` is either the checkpoint root
 * (`latest.json` is followed) or one step directory.
 *
 * @returns A full checkpoint (`compact: false`: F32 weights and `optimizer`, the AdamW state), or a compact one
 *   (`compact: true`: F16 weights widened exactly to float32, and `optimizer: null`). Both kinds and both `state.json`
 *   versions (1 and 2) load.
 * @throws {FormatError} for a missing or malformed file, a file whose size differs from the one
 *   recorded (truncated), a broken safetensors file, a tensor that is not of its kind's dtype (F32, or F16 in a
 *   compact checkpoint) or has the wrong shape, or non-finite weights.
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
  if (state.version !== FULL_VERSION && state.version !== CHECKPOINT_VERSION)
    throw new FormatError(
      op,
      'state.json',
      `has unsupported version ${JSON.stringify(state.version)} (expected ${FULL_VERSION} or ${CHECKPOINT_VERSION})`,
    );
  const compact = state.version === FULL_VERSION ? false : state.compact;
  if (typeof compact !== 'boolean') throw new FormatError(op, 'state.json', "has no boolean 'compact' (version 2)");
  if (!Number.isInteger(state.step) || state.step < 0)
    throw new FormatError(op, 'state.json', `has a bad step ${JSON.stringify(state.step)}`);
  if (!Array.isArray(state.params)) throw new FormatError(op, 'state.json', "has no 'params' list");
  if (!Array.isArray(state.rng?.state) || state.rng.state.length !== 4)
    throw new FormatError(op, 'state.json', "has a bad 'rng.state'");
  if (!compact && !Number.isInteger(state.optimizerStep))
    throw new FormatError(op, 'state.json', `has a bad optimizerStep ${JSON.stringify(state.optimizerStep)}`);

  // Every weights file the parameters name (version 1: the one weights.safetensors), each read once.
  const weightFiles = new Map<string, ReturnType<typeof readSafetensors>>();
  const weightsFile = (file: unknown): ReturnType<typeof readSafetensors> => {
    const name = file ?? 'weights.safetensors';
    if (typeof name !== 'string' || !WEIGHTS_FILE.test(name))
      throw new FormatError(op, 'state.json', `names a bad weights file ${JSON.stringify(file)}`);
    let contents = weightFiles.get(name);
    if (contents === undefined) {
      contents = readChecked(op, stepDir, name, state.files?.[name]);
      weightFiles.set(name, contents);
    }
    return contents;
  };
  const stateFile = compact
    ? undefined
    : readChecked(op, stepDir, 'state.safetensors', state.files?.['state.safetensors']);

  const weights: LoadedCheckpoint['weights'] = {};
  const optimizer: AdamWState = { step: state.optimizerStep ?? 0, m: {}, v: {}, shapes: {} };
  const dtype = compact ? 'F16' : 'F32';
  for (const { name, shape, file } of state.params) {
    const where = file ?? 'weights.safetensors';
    const w = takeFloat(op, where, weightsFile(file), name, shape, dtype);
    assertFiniteData(op, `${where}: ${name}`, w);
    weights[name] = { shape: [...shape], data: w };
    if (stateFile) {
      optimizer.m[name] = takeFloat(op, 'state.safetensors', stateFile, `m.${name}`, shape, 'F32');
      optimizer.v[name] = takeFloat(op, 'state.safetensors', stateFile, `v.${name}`, shape, 'F32');
      optimizer.shapes[name] = [...shape];
    }
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
  const base = {
    dir: stepDir,
    step: state.step,
    rng: { seed: state.rng.seed, state: state.rng.state.map((v) => v >>> 0) as [number, number, number, number] },
    config: state.config,
    extra: state.extra,
    weights,
  };
  return compact ? { ...base, compact: true, optimizer: null } : { ...base, compact: false, optimizer };
}

/** Options of {@link compactCheckpoint}. */
export interface CompactCheckpointOptions {
  /** The largest weights file in bytes (see {@link SaveCheckpointOptions.shardBytes}). Default 15 MiB. */
  shardBytes?: number;
  /** Step directories kept in `to` (see {@link SaveCheckpointOptions.keep}). Default 1: only the one written. */
  keep?: number;
}

/** What {@link compactCheckpoint} wrote. */
export interface CompactCheckpointResult {
  /** The checkpoint read (its step directory). */
  from: string;
  /** The step directory written under `to`. */
  dir: string;
  step: number;
  /** Byte size of every file written in `dir` (weights files and `state.json`), by name. */
  files: Record<string, number>;
}

/**
 * Writes a compact copy (F16 weights, no optimizer state; see {@link saveCheckpoint}) of the checkpoint in `from` (a
 * checkpoint root, whose `latest.json` is followed, or one step directory) into the checkpoint root `to`, with the
 * same step, RNG, config and extra. `to` then holds a checkpoint root of its own (`latest.json` and the step
 * directory) that `train({ resumeFrom })` and `geolip-train run --resume` take in place of the full one.
 *
 * @remarks The use: keep full checkpoints (exact resume) on the GPU machine while it is held, and carry only the
 * compact copy between sessions (about a sixth of the bytes). Converting a compact checkpoint again copies it.
 * @throws {InvalidArgumentError} when `to` is the checkpoint root being read (the copy would replace it), and
 *   everything {@link loadCheckpoint} and {@link saveCheckpoint} throw (a weight that overflows float16 among them).
 */
export function compactCheckpoint(
  from: string,
  to: string,
  options: CompactCheckpointOptions = {},
): CompactCheckpointResult {
  const op = 'compactCheckpoint';
  if (typeof to !== 'string' || to === '') throw new InvalidArgumentError(op, 'to', 'must be a non-empty path');
  const ck = loadCheckpoint(from);
  if (resolve(to) === resolve(dirname(ck.dir)))
    throw new InvalidArgumentError(op, 'to', `is the checkpoint root being read (${resolve(to)}); write elsewhere`);
  const dir = saveCheckpoint(
    to,
    { weights: ck.weights, optimizer: null, step: ck.step, rng: ck.rng, config: ck.config, extra: ck.extra },
    {
      compact: true,
      keep: options.keep ?? 1,
      ...(options.shardBytes !== undefined ? { shardBytes: options.shardBytes } : {}),
    },
  );
  const files = Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).size]));
  return { from: ck.dir, dir, step: ck.step, files };
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

function takeFloat(
  op: string,
  file: string,
  contents: ReturnType<typeof readSafetensors>,
  name: string,
  shape: number[],
  dtype: 'F32' | 'F16',
): Float32Array {
  const entry = contents.tensors[name];
  if (!entry) throw new FormatError(op, file, `has no tensor '${name}' listed in state.json`);
  if (entry.dtype !== dtype) throw new FormatError(op, file, `tensor '${name}' must be ${dtype}, got ${entry.dtype}`);
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
