import { join } from 'node:path';
import { checkSplit, firstExisting, parseStrictFloat, readDataFile, RowError, runRows } from './common.js';
import type { PairDataset, PairLoadOptions, PairParseOptions } from './common.js';

/** Splits of the STS Benchmark. */
export type StsbSplit = 'train' | 'dev' | 'test';
const STSB_SPLITS: readonly StsbSplit[] = ['train', 'dev', 'test'];

function parseStsbImpl(op: string, text: string, file: string, options: PairParseOptions): PairDataset {
  return runRows(
    op,
    'stsb',
    text,
    file,
    options,
    () => false,
    (cols, line) => {
      if (cols.length < 7) throw new RowError(`expected at least 7 TAB-separated columns, got ${cols.length}`);
      // 7 columns, or 9 with the two source tags some rows carry: any other count is a TAB inside a sentence,
      // which would shift the columns silently.
      if (cols.length !== 7 && cols.length !== 9)
        throw new RowError(
          `expected 7 TAB-separated columns (9 with source tags), got ${cols.length}: a TAB inside a sentence?`,
        );
      const score = parseStrictFloat(cols[4]!);
      if (!Number.isFinite(score) || score < 0 || score > 5) {
        throw new RowError(`score (column 5) must be a number in [0, 5], got '${cols[4]}'`);
      }
      return { a: cols[5]!, b: cols[6]!, score, id: cols[3]!, genre: cols[0]!, line };
    },
  );
}

/**
 * Parses the text of an STS Benchmark file (`sts-{train,dev,test}.csv`).
 *
 * Lines are split on TAB only (no CSV quoting: sentences contain `"`). Columns 0–6 are genre,
 * file, year, id, score, sentence 1, sentence 2; the two trailing source-tag columns some rows carry
 * are ignored. Any other column count (a TAB inside a sentence) is a malformed row. Blank lines are skipped; line
 * ends may be `\n`, `\r\n` or `\r`; a file with no pairs is a FormatError.
 *
 * @param text - File contents.
 * @param file - Path or label used in error messages and recorded in the result.
 * @param options - `split` to record; `dropMalformed` to skip bad rows instead of throwing.
 * @returns The pairs with `score` in [0, 5] and `id` from column 3.
 * @throws {FormatError} A row has fewer than 7 columns or a score that is not a number in [0, 5]
 *   (message names the file and the 1-based line), unless `dropMalformed` is set.
 * @example
 * ```ts
 * const ds = parseStsb('main-captions\tMSRvid\t2012test\t0001\t5.000\tA man.\tA man!\n', 'x.csv');
 * ds.pairs[0]!.score; // 5
 * ```
 */
export function parseStsb(text: string, file: string, options: PairParseOptions = {}): PairDataset {
  return parseStsbImpl('parseStsb', text, file, options);
}

/**
 * Loads an STS Benchmark split from `${dir}/stsb/sts-${split}.csv` (or `${dir}/sts-${split}.csv`).
 *
 * @param dir - Data root (e.g. `shared/data`) or the `stsb` directory itself.
 * @param split - `'train'` (5749 pairs), `'dev'` (1500) or `'test'` (1379).
 * @param options - `dropMalformed` to skip bad rows instead of throwing.
 * @returns The parsed split (see {@link parseStsb}).
 * @throws {InvalidArgumentError} `split` is unknown, or neither candidate file exists (message lists both paths).
 * @throws {FormatError} A malformed row, with file path and 1-based line number.
 * @example
 * ```ts
 * const dev = await loadStsb('../shared/data', 'dev');
 * dev.pairs.length; // 1500
 * ```
 */
export async function loadStsb(dir: string, split: StsbSplit, options: PairLoadOptions = {}): Promise<PairDataset> {
  const op = 'loadStsb';
  checkSplit(op, split, STSB_SPLITS);
  const file = await firstExisting(op, 'dir', [join(dir, 'stsb', `sts-${split}.csv`), join(dir, `sts-${split}.csv`)]);
  const text = await readDataFile(op, file);
  return parseStsbImpl(op, text, file, { ...options, split });
}
