import { FormatError, Matrix } from '@geolip/geometry';
import {
  type ModelMetadata,
  type SafetensorInput,
  float32ToFloat16Bits,
  readModelMetadata,
  readSafetensors,
  toFloat32,
  writeModelMetadata,
  writeSafetensors,
} from '@geolip/io';
import type { ConsensusModel, ConsensusProjector } from './types.js';

/** The model type of a consensus file (`geolip.type`; files before the metadata contract used `geolip.consensus`). */
const CONSENSUS_TYPE = 'train/consensus';

/**
 * Serializes a consensus to safetensors bytes (F64, so {@link loadConsensus} is exact).
 *
 * Tensors: `projectors.{name}.weight` `[K, D_e]` (= linearᵀ, the PyTorch `nn.Linear` layout),
 * `projectors.{name}.bias` `[K]`, `targets` `[N, K]`. `__metadata__` follows the model metadata contract of
 * `@geolip/io` (type `train/consensus`), its config JSON `{ format: 1, experts, config, diagnostics }` (non-finite
 * diagnostics are written as null).
 *
 * @param result - {@link buildConsensus}'s result or a loaded {@link ConsensusModel}.
 * @param options - `targetsDtype`: `'F64'` (default, exact), `'F32'` or `'F16'` for the `[N, K]` targets only (a
 *   quarter of the bytes, for moving large target sets to a training machine; unit rows keep ~3 decimal digits).
 * @returns The safetensors file bytes.
 * @example
 * const bytes = saveConsensus(buildConsensus(experts));
 * const again = loadConsensus(bytes);
 */
export function saveConsensus(
  result: ConsensusModel,
  options: { targetsDtype?: 'F64' | 'F32' | 'F16' } = {},
): Uint8Array {
  const tensors: Record<string, SafetensorInput> = {};
  for (const p of result.projectors) {
    const t = p.linear.transpose();
    tensors[`projectors.${p.name}.weight`] = { dtype: 'F64', shape: [t.rows, t.cols], data: t.data };
    tensors[`projectors.${p.name}.bias`] = { dtype: 'F64', shape: [p.bias.length], data: p.bias };
  }
  const shape = [result.targets.rows, result.targets.cols];
  const t = result.targets.data;
  const dtype = options.targetsDtype ?? 'F64';
  tensors.targets =
    dtype === 'F64'
      ? { dtype, shape, data: t }
      : dtype === 'F32'
        ? { dtype, shape, data: Float32Array.from(t) }
        : { dtype, shape, data: Uint16Array.from(t, (v) => float32ToFloat16Bits(v)) };
  const meta = { format: 1, experts: result.experts, config: result.config, diagnostics: result.diagnostics };
  return writeSafetensors(tensors, writeModelMetadata({ type: CONSENSUS_TYPE, config: meta }));
}

/**
 * Reads bytes written by {@link saveConsensus}. F32 weights, and F16 targets, are accepted too (widened to float64).
 * @param bytes - safetensors file contents.
 * @returns The {@link ConsensusModel} (NaN diagnostics come back as NaN).
 * @throws {FormatError} If the file is not a valid safetensors file or lacks the consensus tensors/metadata.
 */
export function loadConsensus(bytes: Uint8Array | ArrayBuffer): ConsensusModel {
  const op = 'loadConsensus';
  const { tensors, metadata } = readSafetensors(bytes, { copy: true });
  let model: ModelMetadata;
  try {
    model = readModelMetadata(metadata);
  } catch (cause) {
    throw new FormatError(
      op,
      'bytes',
      `has unreadable consensus metadata: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  if (model.type !== CONSENSUS_TYPE)
    throw new FormatError(op, 'bytes', `holds a '${model.type}' model, not a consensus ('${CONSENSUS_TYPE}')`);
  const meta = model.config as
    | {
        format: number;
        experts: string[];
        config: ConsensusModel['config'];
        diagnostics: ConsensusModel['diagnostics'];
      }
    | undefined;
  if (meta?.format !== 1 || !Array.isArray(meta.experts))
    throw new FormatError(op, 'bytes', 'has unsupported consensus metadata');
  const matrix = (name: string, rank: 1 | 2, f16 = false): { shape: number[]; data: Float64Array } => {
    const entry = tensors[name];
    if (entry === undefined) throw new FormatError(op, 'bytes', `has no tensor '${name}'`);
    if (
      (entry.dtype !== 'F64' && entry.dtype !== 'F32' && !(f16 && entry.dtype === 'F16')) ||
      entry.shape.length !== rank
    ) {
      throw new FormatError(
        op,
        'bytes',
        `tensor '${name}' must be rank-${rank} F64 or F32${f16 ? ' or F16' : ''}, ` +
          `got ${entry.dtype} [${entry.shape.join(', ')}]`,
      );
    }
    const data = entry.dtype === 'F16' ? toFloat32(entry) : (entry.data as Float64Array | Float32Array);
    return { shape: entry.shape, data: Float64Array.from(data) };
  };
  const projectors: ConsensusProjector[] = meta.experts.map((name) => {
    const w = matrix(`projectors.${name}.weight`, 2);
    const b = matrix(`projectors.${name}.bias`, 1);
    if (b.shape[0] !== w.shape[0])
      throw new FormatError(op, 'bytes', `'projectors.${name}.bias' must have ${w.shape[0]} entries`);
    return { name, linear: new Matrix(w.shape[0]!, w.shape[1]!, w.data).transpose(), bias: b.data };
  });
  const t = matrix('targets', 2, true);
  const diagnostics = restoreNaN(meta.diagnostics);
  return {
    targets: new Matrix(t.shape[0]!, t.shape[1]!, t.data),
    projectors,
    diagnostics,
    experts: meta.experts,
    config: meta.config,
  };
}

/** JSON writes NaN as null; read it back as NaN. */
function restoreNaN<T>(value: T): T {
  if (value === null) return NaN as T;
  if (Array.isArray(value)) return value.map(restoreNaN) as T;
  if (typeof value === 'object')
    return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, restoreNaN(v)])) as T;
  return value;
}
