// Reading expert feature matrices from disk: .npy, .safetensors, or a set of shard files.
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { FormatError, Matrix, NonFiniteError } from '@geolip/geometry';
import { parseNpy, readSafetensors, toFloat32 } from '@geolip/io';

const OP = 'readExpertFeatures';
const SHARD_RE = /^(.*)\.shard-(\d+)-of-(\d+)\.safetensors$/;

function fromSafetensors(bytes: Uint8Array, name: string): Matrix {
  let contents;
  try {
    contents = readSafetensors(bytes);
  } catch (error) {
    throw new FormatError(
      OP,
      name,
      `is not a valid safetensors file: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const names = Object.keys(contents.tensors);
  const key = names.includes('embeddings') ? 'embeddings' : names.length === 1 ? names[0]! : undefined;
  if (key === undefined) {
    throw new FormatError(
      OP,
      name,
      `has no tensor 'embeddings' and ${names.length} tensors (${names.join(', ') || 'none'}); ` +
        "expected 'embeddings' or a single tensor",
    );
  }
  const entry = contents.tensors[key]!;
  if (!['F32', 'F64', 'F16', 'BF16'].includes(entry.dtype))
    throw new FormatError(OP, name, `tensor '${key}' has dtype ${entry.dtype}; expected F32, F64, F16 or BF16`);
  if (entry.shape.length !== 2)
    throw new FormatError(
      OP,
      name,
      `tensor '${key}' has shape [${entry.shape.join(', ')}]; a 2-D shape [N, D] is required`,
    );
  const data =
    entry.dtype === 'F64' ? Float64Array.from(entry.data as Float64Array) : Float64Array.from(toFloat32(entry));
  return new Matrix(entry.shape[0]!, entry.shape[1]!, data);
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${escaped}$`);
}

/** The shard files (sorted by index) among `files` of `dir`; throws if the set is not complete. */
function shardFiles(dir: string, files: readonly string[], label: string): string[] {
  const groups = new Map<string, { total: number; byIndex: Map<number, string> }>();
  for (const f of files) {
    const m = SHARD_RE.exec(f);
    if (!m) continue;
    const [, prefix, i, n] = m;
    const index = Number(i);
    const total = Number(n);
    const g = groups.get(prefix!) ?? { total, byIndex: new Map<number, string>() };
    if (g.total !== total)
      throw new FormatError(OP, label, `mixes shard counts for '${prefix!}' (of-${g.total} and of-${total})`);
    if (index >= total) throw new FormatError(OP, label, `has shard ${f} with index ${index} ≥ count ${total}`);
    g.byIndex.set(index, f);
    groups.set(prefix!, g);
  }
  if (groups.size === 0) throw new FormatError(OP, label, 'holds no shard files (*.shard-i-of-N.safetensors)');
  if (groups.size > 1)
    throw new FormatError(
      OP,
      label,
      `holds shards of ${groups.size} different outputs (${[...groups.keys()].join(', ')}); point at one with a glob`,
    );
  const [prefix, g] = [...groups][0]!;
  const out: string[] = [];
  for (let i = 0; i < g.total; i++) {
    const f = g.byIndex.get(i);
    if (f === undefined)
      throw new FormatError(
        OP,
        label,
        `is missing shard ${join(dir, `${prefix}.shard-${i}-of-${g.total}.safetensors`)}`,
      );
    out.push(join(dir, f));
  }
  return out;
}

async function readOne(path: string): Promise<Matrix> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FormatError(
      OP,
      path,
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`,
      { cause: error },
    );
  }
  if (path.endsWith('.npy')) return parseNpy(bytes, path, OP);
  if (path.endsWith('.safetensors')) return fromSafetensors(bytes, path);
  throw new FormatError(
    OP,
    path,
    'has an unknown extension; expected .npy, .safetensors, a directory of shards or a glob',
  );
}

function concatRows(parts: readonly Matrix[], files: readonly string[], label: string): Matrix {
  const cols = parts[0]!.cols;
  let rows = 0;
  parts.forEach((p, i) => {
    if (p.cols !== cols)
      throw new FormatError(OP, label, `shard ${files[i]!} has width ${p.cols}, the first shard has ${cols}`);
    rows += p.rows;
  });
  const out = new Matrix(rows, cols);
  let offset = 0;
  for (const p of parts) {
    out.data.set(p.data, offset);
    offset += p.data.length;
  }
  return out;
}

function checkFinite(m: Matrix, label: string): Matrix {
  let count = 0;
  let first = -1;
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count > 0) throw new NonFiniteError(OP, label, count, first);
  return m;
}

async function readShards(files: readonly string[], label: string): Promise<Matrix> {
  const parts: Matrix[] = [];
  for (const f of files) parts.push(checkFinite(await readOne(f), f));
  return concatRows(parts, files, label);
}

/**
 * Reads one expert's `[N, D]` feature matrix.
 *
 * `path` may be:
 * - a `.npy` file (2-D, `'<f4'` or `'<f8'`, C order; see {@link parseNpy});
 * - a `.safetensors` file: the tensor `embeddings` (as written by `geolip-bench embed`) or the
 *   only tensor; F32, F64, F16 or BF16 (F64 is kept exactly, the others via geometry `toFloat32`);
 * - a directory holding the shards `<out>.shard-i-of-N.safetensors` of one output, or a glob
 *   (`*`/`?` in the last path component) matching them; shards are concatenated by row in index
 *   order 0..N−1.
 *
 * @returns A float64 `[N, D]` matrix.
 * @throws {FormatError} Naming the file: missing, unreadable, unknown extension, malformed, not
 *   2-D, a missing shard (named), shards of different widths.
 * @throws {NonFiniteError} Naming the file (or directory/glob) if any value is NaN or ±Infinity.
 */
export async function readExpertFeatures(path: string): Promise<Matrix> {
  if (/[*?]/.test(basename(path))) {
    const dir = dirname(path);
    const re = globToRegExp(basename(path));
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch (error) {
      throw new FormatError(
        OP,
        path,
        `cannot list directory ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        { cause: error },
      );
    }
    return readShards(
      shardFiles(
        dir,
        entries.filter((e) => re.test(e)),
        path,
      ),
      path,
    );
  }
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FormatError(OP, path, 'does not exist', { cause: error });
    throw error;
  }
  if (isDir) {
    return readShards(shardFiles(path, await readdir(path), path), path);
  }
  return checkFinite(await readOne(path), path);
}
