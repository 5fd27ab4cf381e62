/**
 * The folder layout transformers.js loads from a local directory (`pipeline(task, dir, { local_files_only: true })`
 * with `env.localModelPath` and `env.allowRemoteModels = false`):
 *
 *     <dir>/config.json             model_type, sizes, and a `geolip` block (what the graph computes)
 *     <dir>/tokenizer.json          HuggingFace tokenizers JSON (text models)
 *     <dir>/tokenizer_config.json   model_max_length, do_lower_case, special tokens (text models)
 *     <dir>/special_tokens_map.json
 *     <dir>/onnx/model.onnx         float32 weights
 *     <dir>/onnx/model_fp16.onnx    float16 weights cast to float32 in the graph (`dtype: 'fp16'` in transformers.js)
 *     <dir>/onnx/model_quantized.onnx  int8 matrices dequantised in the graph (`dtype: 'q8'`; text models, opt-in)
 *
 * Every file is written to a temporary name and renamed (`writeFileAtomic`).
 */
import { InvalidArgumentError } from '@geolip/geometry';
import { writeFileAtomic } from '@geolip/io/node';

/**
 * The weight variants a folder can hold: `fp32` → `onnx/model.onnx`, `fp16` → `onnx/model_fp16.onnx`, `q8` →
 * `onnx/model_quantized.onnx` (transformers.js's file for `dtype: 'q8'`: the MatMul weights and the token embedding
 * as int8 with per-column / per-row scales, `DequantizeLinear` in the graph; see `OnnxGraphBuilder` of `@geolip/io`).
 */
export type ExportVariant = 'fp32' | 'fp16' | 'q8';

/** Every variant, in the order they are written. */
export const EXPORT_VARIANTS: readonly ExportVariant[] = Object.freeze(['fp32', 'fp16', 'q8']);

/** The variants written when none are named: `fp32` and `fp16` (`q8` is asked for). */
export const DEFAULT_VARIANTS: readonly ExportVariant[] = Object.freeze(['fp32', 'fp16']);

/** The file of a variant, relative to the folder (transformers.js's names for `dtype: 'fp32' | 'fp16' | 'q8'`). */
export function variantFile(variant: ExportVariant): string {
  return { fp32: 'onnx/model.onnx', fp16: 'onnx/model_fp16.onnx', q8: 'onnx/model_quantized.onnx' }[variant];
}

/** The tensor type of a variant's weights in the graph. */
export function variantWeightType(variant: ExportVariant): 'float32' | 'float16' | 'int8' {
  return ({ fp32: 'float32', fp16: 'float16', q8: 'int8' } as const)[variant];
}

/** One file written by an export. */
export interface ExportedFile {
  /** Path relative to the folder, with `/`. */
  path: string;
  bytes: number;
}

/** A progress line (the CLI prints them on stderr). */
export type ExportProgress = (line: string) => void;

/** The options every export takes, checked (`op` names the export in the errors). */
export interface CommonExportOptions {
  outDir: string;
  variants: readonly ExportVariant[];
  onProgress: ExportProgress;
}

/**
 * Checks `options` (an object), `options.outDir` (a non-empty path) and `options.variants` (default
 * {@link DEFAULT_VARIANTS}, none twice) and fills the defaults.
 * @throws {InvalidArgumentError} naming the option at fault.
 */
export function readCommonOptions(
  op: string,
  options: { outDir?: unknown; variants?: readonly ExportVariant[]; onProgress?: ExportProgress },
): CommonExportOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(op, 'options', 'must be an object');
  const { outDir, variants = DEFAULT_VARIANTS, onProgress = () => {} } = options;
  if (typeof outDir !== 'string' || outDir.length === 0)
    throw new InvalidArgumentError(op, 'options.outDir', 'must be a non-empty path');
  if (!Array.isArray(variants) || variants.length === 0 || variants.some((v) => !EXPORT_VARIANTS.includes(v)))
    throw new InvalidArgumentError(op, 'options.variants', `must be a non-empty list of ${EXPORT_VARIANTS.join(', ')}`);
  if (new Set(variants).size !== variants.length)
    throw new InvalidArgumentError(op, 'options.variants', 'names a variant twice');
  return { outDir, variants, onProgress };
}

/** Writes `data` to `<dir>/<rel>` atomically and records it. */
export async function writeOne(
  dir: string,
  rel: string,
  data: string | Uint8Array,
  files: ExportedFile[],
  progress: ExportProgress,
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  await writeFileAtomic(`${dir}/${rel}`, data);
  files.push({ path: rel, bytes });
  progress(`wrote ${rel} (${formatBytes(bytes)})`);
}

/** `12.3 MiB`, `4.0 KiB`, `87 B`. */
export function formatBytes(n: number): string {
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Pretty JSON with a final newline. */
export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
