// Shard files: the unit of work of `--shard i/N` and of the queue. A shard file is JSON holding the job's
// kind, its configuration (and that configuration's hash), the shard's place i/N, a payload of per-item results
// and the payload's content hash. It is written atomically, so a reader sees a whole file or none, and rewriting
// it with the same content (a duplicate completion) changes nothing.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';

import { writeFileAtomic } from './write-atomic.js';

/** One shard of N: `index` in [0, count). */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** What a shard file holds. `P` is the kind's payload (per-item results, never statistics that cannot merge). */
export interface ShardFile<P = unknown> {
  schema: 'geolip/shard@1';
  /** What produced it, e.g. `'geolip-bench/run'`; shards of different kinds never merge. */
  kind: string;
  /** Everything that determines the result (model, data, options), without the shard itself. */
  config: Record<string, unknown>;
  /** sha256 of the canonical JSON of `config`: shards merge only when theirs are equal. */
  configHash: string;
  shard: ShardSpec;
  payload: P;
  /** sha256 of the canonical JSON of `payload`, checked when the file is read. */
  contentHash: string;
}

/** Why a set of shard files does not merge. */
export type ShardSetProblem = 'missing' | 'duplicate' | 'config' | 'count' | 'kind' | 'empty';

/**
 * A set of shard files that does not merge: a missing shard, a duplicate, a shard of another configuration, kind
 * or count. Never a silent drop: `merge` refuses and says which file and why.
 */
export class ShardSetError extends InvalidArgumentError {
  readonly problem: ShardSetProblem;
  constructor(op: string, argument: string, problem: ShardSetProblem, message: string) {
    super(op, argument, message);
    this.name = 'ShardSetError';
    this.problem = problem;
  }
}

/**
 * Parses a shard spec `i/N` (0 ≤ i < N, N ≥ 1).
 * @param op - the public function or command, for the message.
 * @param argument - the argument's name, e.g. `'--shard'`.
 * @throws {InvalidArgumentError} naming `op` and `argument` for anything else.
 * @example parseShardSpec('geolip-bench run', '--shard', '1/4'); // { index: 1, count: 4 }
 */
export function parseShardSpec(op: string, argument: string, spec: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(typeof spec === 'string' ? spec.trim() : '');
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index >= count)
    throw new InvalidArgumentError(op, argument, `must be i/N with 0 <= i < N, got '${String(spec)}'`);
  return { index, count };
}

/**
 * The contiguous item range [start, end) of shard i of N over n items: slices of ⌈n / N⌉ items, as
 * `geolip-bench embed` always cut them (the last ones may be short or empty).
 */
export function shardRange(n: number, shard: ShardSpec): { start: number; end: number } {
  const per = Math.ceil(n / shard.count);
  const start = Math.min(n, shard.index * per);
  return { start, end: Math.min(n, start + per) };
}

/** `<base>.shard-i-of-N<ext>`: the file name of one shard of `path` (`report.json` → `report.shard-0-of-2.json`). */
export function shardPath(path: string, shard: ShardSpec, ext: string): string {
  const base = path.endsWith(ext) ? path.slice(0, -ext.length) : path;
  return `${base}.shard-${shard.index}-of-${shard.count}${ext}`;
}

/** JSON with object keys sorted, so equal values hash equally. Non-finite numbers become strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return v;
  });
}

/** sha256 (hex) of the canonical JSON of `value`. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/**
 * Writes one shard file atomically (temp file + rename) and returns what it recorded.
 * Rewriting a shard with the same payload gives the same bytes, so a duplicate completion is harmless.
 */
export async function writeShardFile<P>(
  path: string,
  kind: string,
  config: Record<string, unknown>,
  shard: ShardSpec,
  payload: P,
): Promise<ShardFile<P>> {
  const file: ShardFile<P> = {
    schema: 'geolip/shard@1',
    kind,
    config,
    configHash: contentHash(config),
    shard: { index: shard.index, count: shard.count },
    payload,
    contentHash: contentHash(payload),
  };
  await writeFileAtomic(path, canonicalJson(file) + '\n');
  return file;
}

/**
 * Reads one shard file and checks its schema and content hash.
 * @throws {FormatError} naming `readShardFile` and the path when the file is not a shard file or its payload does not
 *   match its recorded hash (a torn or edited file).
 */
export async function readShardFile<P = unknown>(path: string): Promise<ShardFile<P>> {
  const op = 'readShardFile';
  let json: ShardFile<P>;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as ShardFile<P>;
  } catch (cause) {
    throw new FormatError(op, path, `is not readable JSON: ${String(cause)}`, { cause });
  }
  if (json?.schema !== 'geolip/shard@1' || typeof json.kind !== 'string' || typeof json.shard !== 'object')
    throw new FormatError(op, path, "is not a shard file (schema 'geolip/shard@1')");
  if (contentHash(json.payload) !== json.contentHash)
    throw new FormatError(op, path, `payload does not match its content hash ${json.contentHash}`);
  if (contentHash(json.config) !== json.configHash)
    throw new FormatError(op, path, `config does not match its hash ${json.configHash}`);
  return json;
}

/**
 * Reads shard files and checks that they are exactly one complete set: one kind, one configuration, one count N and
 * each index 0…N−1 once. Returns them in index order.
 * @param op - the caller (`'geolip-bench merge'`), for the messages.
 * @param paths - the shard files.
 * @param kind - the expected kind.
 * @throws {ShardSetError} naming `op` and the offending file: `empty`, `kind`, `config`, `count`, `duplicate`,
 *   `missing` (with the missing indices).
 * @throws {FormatError} for a file that is not a valid shard file.
 */
export async function readShardSet<P = unknown>(
  op: string,
  paths: readonly string[],
  kind: string,
): Promise<ShardFile<P>[]> {
  if (paths.length === 0) throw new ShardSetError(op, 'shards', 'empty', 'must name at least one shard file');
  const files = await Promise.all(paths.map((p) => readShardFile<P>(p)));
  const first = files[0]!;
  const byIndex = new Map<number, string>();
  files.forEach((f, i) => {
    const path = paths[i]!;
    if (f.kind !== kind) throw new ShardSetError(op, path, 'kind', `is a '${f.kind}' shard, expected '${kind}'`);
    if (f.configHash !== first.configHash)
      throw new ShardSetError(
        op,
        path,
        'config',
        `comes from another configuration than ${paths[0]} (config hash ${f.configHash.slice(0, 12)} vs ` +
          `${first.configHash.slice(0, 12)}): ${configDiff(first.config, f.config)}`,
      );
    if (f.shard.count !== first.shard.count)
      throw new ShardSetError(
        op,
        path,
        'count',
        `is shard ${f.shard.index}/${f.shard.count}, ${paths[0]} is of ${first.shard.count}`,
      );
    const seen = byIndex.get(f.shard.index);
    if (seen !== undefined)
      throw new ShardSetError(op, path, 'duplicate', `is shard ${f.shard.index}/${f.shard.count}, as is ${seen}`);
    byIndex.set(f.shard.index, path);
  });
  const missing: number[] = [];
  for (let i = 0; i < first.shard.count; i++) if (!byIndex.has(i)) missing.push(i);
  if (missing.length > 0) {
    const have = [...byIndex.keys()].sort((a, b) => a - b).join(', ');
    throw new ShardSetError(
      op,
      'shards',
      'missing',
      `lack shard(s) ${missing.join(', ')} of ${first.shard.count} (have ${have})`,
    );
  }
  return files.sort((a, b) => a.shard.index - b.shard.index);
}

function configDiff(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const diff = keys.filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
  return diff.length === 0 ? 'same fields, different values' : `'${diff.join("', '")}' differ`;
}
