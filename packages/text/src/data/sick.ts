import { join } from 'node:path';
import { checkSplit, firstExisting, parseStrictFloat, readDataFile, RowError, runRows } from './common.js';
import type { PairDataset, PairLoadOptions, PairParseOptions } from './common.js';

/** Splits of SICK (the test file is `SICK_test_annotated.txt`). */
export type SickSplit = 'train' | 'trial' | 'test';
const SICK_SPLITS: readonly SickSplit[] = ['train', 'trial', 'test'];
/** The three SICK entailment judgments. */
export const SICK_ENTAILMENT = ['ENTAILMENT', 'NEUTRAL', 'CONTRADICTION'] as const;

function parseSickImpl(op: string, text: string, file: string, options: PairParseOptions): PairDataset {
  return runRows(
    op,
    'sick',
    text,
    file,
    options,
    (l) => l.startsWith('pair_ID'),
    (cols, line) => {
      if (cols.length < 5) throw new RowError(`expected at least 5 TAB-separated columns, got ${cols.length}`);
      if (cols.length !== 5)
        throw new RowError(`expected 5 TAB-separated columns, got ${cols.length}: a TAB inside a sentence?`);
      const score = parseStrictFloat(cols[3]!);
      if (!Number.isFinite(score) || score < 1 || score > 5) {
        throw new RowError(`relatedness (column 4) must be a number in [1, 5], got '${cols[3]}'`);
      }
      const entailment = cols[4]!.trim();
      if (!(SICK_ENTAILMENT as readonly string[]).includes(entailment)) {
        throw new RowError(`entailment (column 5) must be one of ${SICK_ENTAILMENT.join(', ')}, got '${entailment}'`);
      }
      return { a: cols[1]!, b: cols[2]!, score, entailment, id: cols[0]!.trim(), line };
    },
  );
}

/**
 * Parses the text of a SICK file (`SICK_{train,trial,test_annotated}.txt`).
 *
 * TAB-separated columns: pair_ID, sentence_A, sentence_B, relatedness_score (1–5),
 * entailment_judgment. A leading BOM is stripped; a first line starting with `pair_ID` is treated
 * as a header and skipped (the shared copies have no header). Blank lines are skipped.
 *
 * @param text - File contents.
 * @param file - Path or label used in error messages.
 * @param options - `split` to record; `dropMalformed` to skip bad rows instead of throwing.
 * @returns Pairs with `score` (relatedness), `entailment` and `id` (pair_ID).
 * @throws {FormatError} Too few columns, relatedness not in [1, 5], or an unknown entailment label
 *   (message names the file and 1-based line), unless `dropMalformed` is set.
 * @example
 * ```ts
 * const ds = parseSick('pair_ID\tA\tB\tr\te\n1\tA dog runs\tA dog is running\t4.9\tENTAILMENT\n', 'x.txt');
 * ds.pairs[0]!.line; // 2
 * ```
 */
export function parseSick(text: string, file: string, options: PairParseOptions = {}): PairDataset {
  return parseSickImpl('parseSick', text, file, options);
}

/**
 * Loads a SICK split from `${dir}/sick/SICK_${split}.txt` (`SICK_test_annotated.txt` for `'test'`),
 * or the same file name directly under `dir`.
 *
 * @param dir - Data root or the `sick` directory itself.
 * @param split - `'train'` (4500 pairs), `'trial'` (500) or `'test'` (4927).
 * @param options - `dropMalformed` to skip bad rows instead of throwing.
 * @returns The parsed split (see {@link parseSick}).
 * @throws {InvalidArgumentError} Unknown `split`, or no file at the expected paths (listed in the message).
 * @throws {FormatError} A malformed row, with file path and 1-based line number.
 * @example
 * ```ts
 * const trial = await loadSick('../shared/data', 'trial');
 * trial.pairs.length; // 500
 * ```
 */
export async function loadSick(dir: string, split: SickSplit, options: PairLoadOptions = {}): Promise<PairDataset> {
  const op = 'loadSick';
  checkSplit(op, split, SICK_SPLITS);
  const name = `SICK_${split === 'test' ? 'test_annotated' : split}.txt`;
  const file = await firstExisting(op, 'dir', [join(dir, 'sick', name), join(dir, name)]);
  return parseSickImpl(op, await readDataFile(op, file), file, { ...options, split });
}
