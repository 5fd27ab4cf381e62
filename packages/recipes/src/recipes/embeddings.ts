// Reading a recipe's precomputed feature file: a .safetensors with tensor 'embeddings' [N, D] (F16, BF16, F32 or F64),
// read as float32, plus the optional ordered image file names of the coco-soup experts.
import { existsSync, readFileSync } from 'node:fs';

import { RecipeConfigError } from '@geolip/train';
import { readSafetensors, toFloat32 } from '@geolip/io';

/** A feature matrix read by {@link readEmbeddingsFile}. */
export interface EmbeddingsFile {
  path: string;
  rows: number;
  cols: number;
  /** `[rows·cols]` row-major float32. */
  data: Float32Array;
  /** The file's `__metadata__` (`{}` when none). */
  metadata: Record<string, string>;
  /** The tensor's dtype in the file. */
  dtype: string;
}

/**
 * Reads the tensor `embeddings` (or the file's only tensor) of a .safetensors file as float32.
 * @param field - the config key that named the file (every error names it, e.g. `fmnist-david: 'features.train' …`).
 * @throws {RecipeConfigError} a missing or unreadable file, no such tensor, a shape other than [N, D], a non-float
 *   dtype, or a NaN / ±Infinity entry.
 */
export function readEmbeddingsFile(recipe: string, field: string, path: string): EmbeddingsFile {
  const fail = (msg: string): never => {
    throw new RecipeConfigError(recipe, `'${field}' ${path} ${msg}`, { path: field });
  };
  if (!existsSync(path)) fail('does not exist');
  let contents;
  try {
    contents = readSafetensors(readFileSync(path));
  } catch (error) {
    return fail(`is not a valid safetensors file (${error instanceof Error ? error.message : String(error)})`);
  }
  const names = Object.keys(contents.tensors);
  const key = names.includes('embeddings') ? 'embeddings' : names.length === 1 ? names[0]! : undefined;
  if (key === undefined) return fail(`has no tensor 'embeddings' (tensors: ${names.join(', ') || 'none'})`);
  const entry = contents.tensors[key]!;
  if (!['F16', 'BF16', 'F32', 'F64'].includes(entry.dtype))
    fail(`tensor '${key}' has dtype ${entry.dtype}; expected F16, BF16, F32 or F64`);
  if (entry.shape.length !== 2) fail(`tensor '${key}' has shape [${entry.shape.join(', ')}]; expected [N, D]`);
  const data = toFloat32(entry);
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    fail(`tensor '${key}' holds a non-finite value (${data[bad]}) at row ${Math.floor(bad / entry.shape[1]!)}`);
  return { path, rows: entry.shape[0]!, cols: entry.shape[1]!, data, metadata: contents.metadata, dtype: entry.dtype };
}

/** Metadata keys (and sidecar-object keys) that may hold the ordered image file names, in the order tried. */
const IMAGE_NAME_KEYS = ['files', 'file_names', 'fileNames', 'images', 'image_files', 'names', 'paths'] as const;

function namesFrom(value: unknown): string[] | undefined {
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  if (
    Array.isArray(value) &&
    value.every(
      (v) => v !== null && typeof v === 'object' && typeof (v as { file_name?: unknown }).file_name === 'string',
    )
  ) {
    return (value as { file_name: string }[]).map((v) => v.file_name);
  }
  return undefined;
}

/**
 * The ordered image file names of an expert's rows, from (first match wins):
 * 1. `names`, an explicit JSON file given in the config;
 * 2. the safetensors metadata: one of {@link IMAGE_NAME_KEYS} holding a JSON array of strings;
 * 3. a sidecar JSON next to the file (`<file>.json`, or the file name with `.safetensors` replaced by `.json`)
 *    holding an array of strings, an array of `{file_name}`, or an object with one of {@link IMAGE_NAME_KEYS}.
 * @throws {RecipeConfigError} naming `field` when none is found or the count differs from the rows.
 */
export function imageNames(
  recipe: string,
  field: string,
  file: EmbeddingsFile,
  namesPath?: string,
): { names: string[]; source: string } {
  const fail = (msg: string): never => {
    throw new RecipeConfigError(recipe, `'${field}' ${msg}`, { path: field });
  };
  const parse = (text: string, where: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (error) {
      return fail(`${where} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  };
  const fromJson = (value: unknown): string[] | undefined => {
    const direct = namesFrom(value);
    if (direct) return direct;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const k of IMAGE_NAME_KEYS) {
        const v = namesFrom((value as Record<string, unknown>)[k]);
        if (v) return v;
      }
    }
    return undefined;
  };
  let found: { names: string[]; source: string } | undefined;
  if (namesPath !== undefined) {
    if (!existsSync(namesPath)) fail(`names file ${namesPath} does not exist`);
    const names = fromJson(parse(readFileSync(namesPath, 'utf8'), namesPath));
    if (!names)
      fail(
        `names file ${namesPath} holds no list of file names ` +
          `(an array of strings, or an object with one of ${IMAGE_NAME_KEYS.join(', ')})`,
      );
    found = { names: names!, source: namesPath };
  }
  for (const k of IMAGE_NAME_KEYS) {
    if (found) break;
    const raw = file.metadata[k];
    if (raw === undefined) continue;
    const names = fromJson(parse(raw, `metadata '${k}' of ${file.path}`));
    if (names) found = { names, source: `${file.path} metadata '${k}'` };
  }
  for (const side of [`${file.path}.json`, file.path.replace(/\.safetensors$/i, '.json')]) {
    if (found || side === file.path || !existsSync(side)) continue;
    const names = fromJson(parse(readFileSync(side, 'utf8'), side));
    if (names) found = { names, source: side };
  }
  if (!found) {
    return fail(
      `${file.path}: no image file names found: put a JSON array of file names under one of the metadata keys ` +
        `${IMAGE_NAME_KEYS.join(', ')}, ` +
        `or in a sidecar ${file.path.replace(/\.safetensors$/i, '.json')}, or name a file with 'names'`,
    );
  }
  if (found.names.length !== file.rows)
    fail(`${found.source} lists ${found.names.length} file names for the ${file.rows} rows of ${file.path}`);
  return found;
}
