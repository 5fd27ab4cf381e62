// `geolip-bench run --shard i/N` and `geolip-bench merge`: a shard scores a contiguous slice of every pair task's
// pairs (and of MRPC's threshold-fit pairs) and writes the per-pair cosines and gold values; the merge concatenates
// them in order and computes every metric once, after the merge (Spearman, the F1 threshold and AUC need all the
// scores). Each pair's cosine depends only on its two sentences' embeddings, so the merged report equals the
// single-process one to the last digit for any embedder whose row does not depend on the rest of its batch.
import type { PairDataset, PairExample } from '@geolip/text/data';
import { readShardSet, shardRange, writeShardFile, type ShardFile, type ShardSpec } from '@geolip/io/node';

import type { Embedder } from './embedder.js';
import { pairTaskResult, scorePairs, type PairResultBase, type PairTask, type PairTaskResult } from './evaluate.js';
import type { PairTaskData } from './tasks/pair.js';

/** The kind of a `geolip-bench run` shard file. */
const RUN_SHARD_KIND = 'geolip-bench/run';

/** One split's slice of scores in a shard. */
interface SplitSlice {
  split: string;
  file: string;
  /** Pairs in the whole split. */
  n: number;
  dropped: number;
  start: number;
  end: number;
  /** Cosine per pair of the slice. */
  predicted: number[];
  /** Gold score (STS-B, SICK) or label (MRPC) per pair of the slice. */
  gold: number[];
}

/** One pair task in a shard. */
interface TaskSlice {
  task: PairTask;
  eval: SplitSlice;
  fit?: SplitSlice;
  /** Distinct sentences of the whole task (what the single process embeds). */
  uniqueSentences: number;
  embedSeconds: number;
  seconds: number;
  splits: Record<string, unknown>;
}

/** The payload of a `geolip-bench run` shard. */
export interface RunShardPayload {
  /** Settings that do not change the scores (paths, the backend asked for), reported by the merge. */
  settings: Record<string, unknown>;
  model: PairResultBase;
  backend: string;
  tasks: TaskSlice[];
}

const goldOf = (d: PairDataset): number[] =>
  d.pairs.map((p) => (d.task === 'mrpc' ? (p.label as number) : (p.score as number)));

function slice(d: PairDataset, shard: ShardSpec): { sub: PairDataset; start: number; end: number } {
  const { start, end } = shardRange(d.pairs.length, shard);
  return { sub: { ...d, pairs: d.pairs.slice(start, end) }, start, end };
}

/**
 * Scores one shard of every pair task and writes the shard file atomically.
 * @returns the shard file as written (its content hash included).
 */
export async function runPairShard(
  path: string,
  config: Record<string, unknown>,
  shard: ShardSpec,
  model: Embedder,
  backend: string,
  tasks: readonly { task: PairTask; data: PairTaskData }[],
  options: {
    batchSize: number;
    progress?: (task: PairTask) => { update(done: number, total: number): void; end(): void };
  },
  settings: Record<string, unknown> = {},
): Promise<ShardFile<RunShardPayload>> {
  const out: TaskSlice[] = [];
  for (const { task, data } of tasks) {
    const t0 = performance.now();
    const ev = slice(data.evalSet, shard);
    const fit = data.fit ? slice(data.fit, shard) : undefined;
    const bar = options.progress?.(task);
    // The whole splits, scored on this shard's slice only (in the whole run's batches: exact for any model).
    const scores = await scorePairs(model, data.evalSet, data.fit, {
      batchSize: options.batchSize,
      slice: { eval: ev, ...(fit ? { fit } : {}) },
      ...(bar ? { onProgress: bar.update } : {}),
    });
    bar?.end();
    const part = (d: PairDataset, s: { sub: PairDataset; start: number; end: number }, predicted: number[]) => ({
      split: d.split,
      file: d.file,
      n: d.pairs.length,
      dropped: d.dropped,
      start: s.start,
      end: s.end,
      predicted,
      gold: goldOf(s.sub),
    });
    out.push({
      task,
      eval: part(data.evalSet, ev, scores.predicted),
      ...(fit && data.fit ? { fit: part(data.fit, fit, scores.fitPredicted ?? []) } : {}),
      uniqueSentences: scores.uniqueSentences,
      embedSeconds: scores.embedSeconds,
      seconds: (performance.now() - t0) / 1000,
      splits: {
        evaluated: data.evalSet.split,
        file: data.evalSet.file,
        ...(data.fit ? { thresholdFit: data.fit.split, thresholdFitFile: data.fit.file } : {}),
      },
    });
  }
  const payload: RunShardPayload = {
    settings,
    model: { model: model.name, ...(model.params !== undefined ? { params: model.params } : {}), dim: model.dim },
    backend,
    tasks: out,
  };
  return writeShardFile(path, RUN_SHARD_KIND, config, shard, payload);
}

/** A split rebuilt from the shards' gold values (the metrics read only `score` / `label`). */
function joinSplit(
  op: string,
  task: PairTask,
  parts: readonly SplitSlice[],
): { data: PairDataset; predicted: number[] } {
  const first = parts[0]!;
  const predicted: number[] = [];
  const gold: number[] = [];
  let next = 0;
  for (const p of parts) {
    if (p.start !== next || p.n !== first.n || p.predicted.length !== p.end - p.start)
      throw new Error(`${op}: shards of ${task} ${first.split} do not tile its ${first.n} pairs (at pair ${next})`);
    predicted.push(...p.predicted);
    gold.push(...p.gold);
    next = p.end;
  }
  if (next !== first.n) throw new Error(`${op}: shards of ${task} ${first.split} cover ${next} of ${first.n} pairs`);
  const pairs: PairExample[] = gold.map((g) =>
    task === 'mrpc' ? { a: '', b: '', label: g as 0 | 1, line: 0 } : { a: '', b: '', score: g, line: 0 },
  ) as PairExample[];
  return {
    data: { task, split: first.split, file: first.file, pairs, dropped: first.dropped, droppedLines: [] },
    predicted,
  };
}

/** What {@link mergeRunShards} returns: the results, the shards' settings and backend. */
export interface MergedRun {
  results: PairTaskResult[];
  config: Record<string, unknown>;
  splits: Record<string, unknown>;
  backend: string;
  settings: Record<string, unknown>;
  model: PairResultBase;
  shards: { index: number; contentHash: string }[];
}

/**
 * Reads a complete set of `run` shard files (see `readShardSet` for what is refused) and computes every task's
 * metrics from the concatenated per-pair scores.
 */
export async function mergeRunShards(op: string, paths: readonly string[]): Promise<MergedRun> {
  const files = await readShardSet<RunShardPayload>(op, paths, RUN_SHARD_KIND);
  const first = files[0]!.payload;
  const results: PairTaskResult[] = [];
  const splits: Record<string, unknown> = {};
  first.tasks.forEach((t, k) => {
    const parts = files.map((f) => f.payload.tasks[k]!);
    const ev = joinSplit(
      op,
      t.task,
      parts.map((p) => p.eval),
    );
    const fit = t.fit
      ? joinSplit(
          op,
          t.task,
          parts.map((p) => p.fit!),
        )
      : undefined;
    const embedSeconds = parts.reduce((s, p) => s + p.embedSeconds, 0);
    results.push(
      pairTaskResult(
        first.model,
        ev.data,
        fit?.data,
        {
          predicted: ev.predicted,
          ...(fit ? { fitPredicted: fit.predicted } : {}),
          uniqueSentences: t.uniqueSentences,
          embedSeconds,
        },
        parts.reduce((s, p) => s + p.seconds, 0),
      ),
    );
    splits[t.task] = t.splits;
  });
  const backends = [...new Set(files.map((f) => f.payload.backend))];
  return {
    results,
    config: files[0]!.config,
    splits,
    backend: backends.join(','),
    settings: first.settings,
    model: first.model,
    shards: files.map((f) => ({ index: f.shard.index, contentHash: f.contentHash })),
  };
}
