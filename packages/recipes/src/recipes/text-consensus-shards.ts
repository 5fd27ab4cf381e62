// The sharded feature stage of `text-consensus`: `geolip-train run text-consensus --shard i/N` embeds the i-th of N
// row slices of the corpus with every expert the recipe runs and writes, under <out>/features/,
// `<expert>.part-i-of-N.safetensors` (F32 rows, their sha256 in the metadata) and then the shard's manifest
// `shard-i-of-N.json` (a @geolip/io shard file: the configuration's hash, the row range, each part's hash). Both are
// written atomically and the manifest last, so a manifest means a finished shard, and a rerun or a duplicate job
// writes the same bytes. `geolip-train merge` (or a later unsharded run) reads the manifests as one complete set —
// a missing, duplicate or foreign shard is a ShardSetError — and concatenates the rows in order: the same features,
// bit for bit, as one process embedding the whole corpus, hence the same consensus.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FormatError, Matrix } from '@geolip/geometry';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import {
  ShardSetError,
  contentHash,
  readShardSet,
  shardPath,
  shardRange,
  writeFileAtomic,
  writeShardFile,
  type ShardSpec,
} from '@geolip/io/node';
import type { TextExpert } from '@geolip/text/experts';

/** The kind of a text-consensus feature shard manifest. */
const KIND = 'geolip-train/text-consensus-features';

/** One expert's rows of one shard. */
interface FeaturePart {
  expert: string;
  /** File name under <out>/features/. */
  file: string;
  rows: number;
  dim: number;
  /** sha256 of the F32 rows (little-endian bytes). */
  sha256: string;
}

interface FeatureShardPayload {
  start: number;
  end: number;
  parts: FeaturePart[];
}

const sha256 = (data: Float32Array): string =>
  createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');

/** What determines the features: the corpus (its content), the experts the recipe runs and their batch size. */
function featureShardConfig(
  sentences: readonly string[],
  experts: readonly string[],
  embedBatch: number,
): Record<string, unknown> {
  return { recipe: 'text-consensus', corpus: contentHash(sentences), rows: sentences.length, experts, embedBatch };
}

/** Embeds `rows` with `expert` in batches of `batch`, checking every batch's size. */
export async function embedRows(
  expert: TextExpert,
  rows: readonly string[],
  batch: number,
  onBatch?: (done: number) => void,
): Promise<Float32Array> {
  const data = new Float32Array(rows.length * expert.dim);
  for (let s = 0; s < rows.length; s += batch) {
    const part = rows.slice(s, s + batch);
    const emb = await expert.embed(part);
    if (emb.length !== part.length * expert.dim)
      throw new FormatError(
        'text-consensus',
        `expert '${expert.name}'`,
        `returned ${emb.length} values for ${part.length} sentences of width ${expert.dim}`,
      );
    data.set(emb, s * expert.dim);
    onBatch?.(s + part.length);
  }
  return data;
}

/**
 * Rows [start, end) embedded in exactly the batches the whole run uses (chunks of `chunkRows` rows cut every `batch`
 * rows from each chunk's start): the batches that overlap the range are embedded whole and the range is kept. So the
 * rows equal the whole run's bit for bit even for an expert whose rows depend on their batch.
 */
async function embedInWholeRunBatches(
  expert: TextExpert,
  sentences: readonly string[],
  start: number,
  end: number,
  batch: number,
  chunkRows: number,
): Promise<Float32Array> {
  const out = new Float32Array((end - start) * expert.dim);
  for (let c = Math.floor(start / chunkRows) * chunkRows; c < end; c += chunkRows) {
    const chunkEnd = Math.min(c + chunkRows, sentences.length);
    for (let b = c; b < chunkEnd; b += batch) {
      const bEnd = Math.min(b + batch, chunkEnd);
      if (bEnd <= start || b >= end) continue;
      const emb = await embedRows(expert, sentences.slice(b, bEnd), batch);
      const from = Math.max(b, start);
      const to = Math.min(bEnd, end);
      out.set(emb.subarray((from - b) * expert.dim, (to - b) * expert.dim), (from - start) * expert.dim);
    }
  }
  return out;
}

/** An expert of a feature shard: how to get it, and what to do with it afterwards. */
export interface ShardExpert {
  name: string;
  load: () => Promise<TextExpert>;
  /**
   * Called once the shard is done with the expert (`failed`: its embedding threw). Default: `dispose()`. A caller
   * that caches experts across shards (a queue worker taking several jobs) keeps it instead, and drops it on failure.
   */
  release?: (expert: TextExpert, failed: boolean) => void;
}

/**
 * Runs shard `shard` of the feature stage (see the file's comment). Skips a shard whose manifest exists.
 * @returns the manifest's path and whether it was written now.
 */
export async function runFeatureShard(
  dir: string,
  shard: ShardSpec,
  sentences: readonly string[],
  experts: readonly ShardExpert[],
  embedBatch: number,
  chunkRows: number,
  log: (line: string) => void,
): Promise<{ manifest: string; written: boolean }> {
  const manifest = shardPath(join(dir, 'shard'), shard, '.json');
  if (existsSync(manifest)) return { manifest, written: false };
  const { start, end } = shardRange(sentences.length, shard);
  const rows = sentences.slice(start, end);
  const parts: FeaturePart[] = [];
  for (const e of experts) {
    const expert = await e.load();
    let failed = true;
    try {
      const data = await embedInWholeRunBatches(expert, sentences, start, end, embedBatch, chunkRows);
      const hash = sha256(data);
      const file = shardPath(e.name, shard, '.safetensors').replace('.shard-', '.part-');
      await writeFileAtomic(
        join(dir, file),
        writeSafetensors(
          { embeddings: { dtype: 'F32', shape: [rows.length, expert.dim], data } },
          { model: e.name, shard: `${shard.index}/${shard.count}`, rows: `${start}-${end}`, content_sha256: hash },
        ),
      );
      parts.push({ expert: e.name, file, rows: rows.length, dim: expert.dim, sha256: hash });
      log(`features shard ${shard.index}/${shard.count}: ${e.name} rows ${start}-${end} (${file})`);
      failed = false;
    } finally {
      if (e.release !== undefined) e.release(expert, failed);
      else expert.dispose?.();
    }
  }
  const config = featureShardConfig(
    sentences,
    experts.map((e) => e.name),
    embedBatch,
  );
  await writeShardFile(manifest, KIND, config, shard, { start, end, parts } satisfies FeatureShardPayload);
  return { manifest, written: true };
}

/** Whether <dir> holds feature shard manifests (then the stage reads them, strictly, instead of embedding). */
export function hasFeatureShards(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((n) => /^shard\.shard-\d+-of-\d+\.json$/.test(n));
}

/**
 * Reads every feature shard under `dir` as one complete set for this corpus and these experts, checks each part's
 * hash and returns each expert's rows, concatenated in shard order.
 * @throws {ShardSetError} for a missing, duplicate or foreign shard (another corpus, experts or batch size).
 * @throws {FormatError} for a part whose rows do not match their recorded hash.
 */
export async function readFeatureShards(
  op: string,
  dir: string,
  sentences: readonly string[],
  experts: readonly string[],
  embedBatch: number,
): Promise<Map<string, Matrix>> {
  const paths = readdirSync(dir)
    .filter((n) => /^shard\.shard-\d+-of-\d+\.json$/.test(n))
    .map((n) => join(dir, n));
  const files = await readShardSet<FeatureShardPayload>(op, paths, KIND);
  const expected = contentHash(featureShardConfig(sentences, experts, embedBatch));
  const foreign = files.find((f) => f.configHash !== expected);
  if (foreign !== undefined)
    throw new ShardSetError(
      op,
      shardPath(join(dir, 'shard'), foreign.shard, '.json'),
      'config',
      'was made for another corpus, expert list or embedBatch than this run',
    );
  const out = new Map<string, Matrix>();
  for (const name of experts) {
    const chunks: Float32Array[] = [];
    let dim = 0;
    for (const f of files) {
      const part = f.payload.parts.find((p) => p.expert === name)!;
      const path = join(dir, part.file);
      const tensor = readSafetensors(await readFile(path)).tensors.embeddings;
      const data = tensor?.data instanceof Float32Array ? tensor.data : undefined;
      if (data === undefined || sha256(data) !== part.sha256)
        throw new FormatError(op, path, `rows do not match the hash ${part.sha256} recorded in shard ${f.shard.index}`);
      chunks.push(data);
      dim = part.dim;
    }
    const rows = chunks.reduce((s, c) => s + c.length, 0) / Math.max(1, dim);
    const m = new Matrix(rows, dim);
    let offset = 0;
    for (const c of chunks) {
      m.data.set(c, offset);
      offset += c.length;
    }
    out.set(name, m);
  }
  return out;
}
