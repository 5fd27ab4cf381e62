import { join } from 'node:path';
import { InvalidArgumentError } from '@geolip/geometry';
import { checkSplit, firstExisting, readDataFile, RowError, runRows } from './common.js';
import type { PairDataset, PairExample, PairLoadOptions, PairParseOptions } from './common.js';

/** Splits of MRPC. */
export type MrpcSplit = 'train' | 'test';
const MRPC_SPLITS: readonly MrpcSplit[] = ['train', 'test'];

function parseMrpcImpl(op: string, text: string, file: string, options: PairParseOptions): PairDataset {
  return runRows(
    op,
    'mrpc',
    text,
    file,
    options,
    (l) => l.startsWith('Quality'),
    (cols, line) => {
      if (cols.length < 5) throw new RowError(`expected at least 5 TAB-separated columns, got ${cols.length}`);
      if (cols.length !== 5)
        throw new RowError(`expected 5 TAB-separated columns, got ${cols.length}: a TAB inside a sentence?`);
      const q = cols[0]!.trim();
      if (q !== '0' && q !== '1') throw new RowError(`Quality (column 1) must be 0 or 1, got '${cols[0]}'`);
      return { a: cols[3]!, b: cols[4]!, label: q === '1' ? 1 : 0, id: `${cols[1]!.trim()}-${cols[2]!.trim()}`, line };
    },
  );
}

/**
 * Parses the text of an MRPC file (`msr_paraphrase_{train,test}.txt`).
 *
 * TAB-separated columns: Quality (0/1), #1 ID, #2 ID, #1 String, #2 String. A leading BOM is
 * stripped and a first line starting with `Quality` is skipped as a header (the original files
 * have none). Strings are returned as written (the tokenized variant's `<QUOTE>` is not undone).
 *
 * @param text - File contents.
 * @param file - Path or label used in error messages.
 * @param options - `split` to record; `dropMalformed` to skip bad rows instead of throwing.
 * @returns Pairs with `label` and `id` = `"#1 ID-#2 ID"`.
 * @throws {FormatError} Too few columns or a Quality other than 0/1 (message names the file and
 *   1-based line), unless `dropMalformed` is set.
 * @example
 * ```ts
 * const ds = parseMrpc('\uFEFF1\t10\t11\tHe left.\tHe went away.\n', 'x.txt');
 * ds.pairs[0]!.label; // 1
 * ```
 */
export function parseMrpc(text: string, file: string, options: PairParseOptions = {}): PairDataset {
  return parseMrpcImpl('parseMrpc', text, file, options);
}

/**
 * Loads an MRPC split from `${dir}/mrpc/msr_paraphrase_${split}.txt` or
 * `${dir}/mrpc/original/msr_paraphrase_${split}.txt` (or the file directly under `dir`).
 *
 * MRPC has no official dev split: carve one from train with {@link mrpcDevSplit} and keep the
 * test split for the final evaluation only.
 *
 * @param dir - Data root or the `mrpc` directory.
 * @param split - `'train'` (4076 pairs) or `'test'` (1725: 1147 positive, 578 negative).
 * @param options - `dropMalformed` to skip bad rows instead of throwing.
 * @returns The parsed split (see {@link parseMrpc}).
 * @throws {InvalidArgumentError} Unknown `split`, or no file at the expected paths (listed in the message).
 * @throws {FormatError} A malformed row, with file path and 1-based line number.
 * @example
 * ```ts
 * const train = await loadMrpc('../shared/data', 'train');
 * train.pairs.length; // 4076
 * ```
 */
export async function loadMrpc(dir: string, split: MrpcSplit, options: PairLoadOptions = {}): Promise<PairDataset> {
  const op = 'loadMrpc';
  checkSplit(op, split, MRPC_SPLITS);
  const name = `msr_paraphrase_${split}.txt`;
  const file = await firstExisting(op, 'dir', [
    join(dir, 'mrpc', name),
    join(dir, 'mrpc', 'original', name),
    join(dir, name),
  ]);
  return parseMrpcImpl(op, await readDataFile(op, file), file, { ...options, split });
}

/** Options of {@link mrpcDevSplit}. */
export interface DevSplitOptions {
  /** Fraction of each label class moved to dev, in (0, 1). Default 0.1. */
  fraction?: number;
  /** Seed of the deterministic shuffle (any integer). Default 0. */
  seed?: number;
}

/** mulberry32: small deterministic 32-bit PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Carves a deterministic dev split out of an MRPC (or any labelled pair) training set.
 *
 * Stratified by label: for each class, `round(fraction · count)` examples, chosen by a
 * Fisher–Yates shuffle seeded with `seed` (mulberry32), go to dev; the rest stay in train. Both
 * outputs keep file order. Use this for threshold selection and tuning; the MRPC **test** split is
 * held out and must only be used for the final number.
 *
 * @param dataset - Usually `await loadMrpc(dir, 'train')`.
 * @param options - `fraction` (default 0.1) and `seed` (default 0).
 * @returns `{ train, dev }` with `split` = `${dataset.split}:train` / `${dataset.split}:dev`.
 * @throws {InvalidArgumentError} `fraction` not in (0, 1) or `seed` not an integer.
 * @example
 * ```ts
 * const { train, dev } = mrpcDevSplit(await loadMrpc('../shared/data', 'train'), { fraction: 0.1, seed: 0 });
 * dev.pairs.length; // 407
 * ```
 */
export function mrpcDevSplit(
  dataset: PairDataset,
  options: DevSplitOptions = {},
): { train: PairDataset; dev: PairDataset } {
  const op = 'mrpcDevSplit';
  const fraction = options.fraction ?? 0.1;
  const seed = options.seed ?? 0;
  if (!(fraction > 0 && fraction < 1))
    throw new InvalidArgumentError(op, 'fraction', `must be in (0, 1), got ${fraction}`);
  if (!Number.isInteger(seed)) throw new InvalidArgumentError(op, 'seed', `must be an integer, got ${seed}`);
  const rand = mulberry32(seed);
  const groups = new Map<string, number[]>();
  dataset.pairs.forEach((p, i) => {
    const key = String(p.label ?? 'none');
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const isDev = new Uint8Array(dataset.pairs.length);
  for (const key of [...groups.keys()].sort()) {
    const idx = groups.get(key)!;
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = t;
    }
    const take = Math.round(fraction * idx.length);
    for (let i = 0; i < take; i++) isDev[idx[i]!] = 1;
  }
  const train: PairExample[] = [];
  const dev: PairExample[] = [];
  dataset.pairs.forEach((p, i) => (isDev[i] ? dev : train).push(p));
  const base = { task: dataset.task, file: dataset.file, dropped: 0, droppedLines: [] as number[] };
  return {
    train: { ...base, split: `${dataset.split}:train`, pairs: train },
    dev: { ...base, split: `${dataset.split}:dev`, pairs: dev },
  };
}
