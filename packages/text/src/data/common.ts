/**
 * Shared types and helpers for the sentence-pair loaders (STS-B, SICK-R, MRPC).
 */
import { access, readFile } from 'node:fs/promises';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';

/** One sentence pair with its gold annotation. */
export interface PairExample {
  /** First sentence. */
  a: string;
  /** Second sentence. */
  b: string;
  /** Graded similarity: STS-B 0–5, SICK relatedness 1–5. Absent for MRPC. */
  score?: number;
  /** Binary paraphrase label (MRPC). Absent for STS-B and SICK. */
  label?: 0 | 1;
  /** SICK entailment judgment: `ENTAILMENT`, `NEUTRAL` or `CONTRADICTION`. */
  entailment?: string;
  /** STS-B only: the genre column (main-captions, main-forum, main-news). */
  genre?: string;
  /** Row id as given in the file (STS-B `id` column, SICK `pair_ID`, MRPC `"#1 ID-#2 ID"`). */
  id?: string;
  /** 1-based line number in the source file. */
  line: number;
}

/** A parsed split of a sentence-pair benchmark. */
export interface PairDataset {
  task: 'stsb' | 'sick' | 'mrpc';
  /** Split name (`train`, `dev`, `trial`, `test`, or a derived name such as `train:dev`). */
  split: string;
  /** Path (or label) the text came from; used in error messages. */
  file: string;
  pairs: PairExample[];
  /** Number of malformed rows skipped (only non-zero with `dropMalformed: true`). */
  dropped: number;
  /** 1-based line numbers of the skipped rows. */
  droppedLines: number[];
}

/** Options shared by every pair loader and parser. */
export interface PairLoadOptions {
  /**
   * Skip malformed rows (counting them in `dropped` / `droppedLines`) instead of throwing
   * `FormatError`. Default `false`.
   */
  dropMalformed?: boolean;
}

/** Options of the pure `parse…` functions. */
export interface PairParseOptions extends PairLoadOptions {
  /** Split name to record in the result. Default `''`. */
  split?: string;
}

/** Strips a leading U+FEFF byte-order mark. */
function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Splits text into lines, accepting `\n`, `\r\n` and a lone `\r` (old Mac line ends read a file as one row). */
function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** Strict decimal float parser: rejects `''`, `'1.2abc'`, `'0x10'` (unlike `parseFloat`/`Number`). */
export function parseStrictFloat(s: string): number {
  const t = s.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number.NaN;
  return Number(t);
}

/** Internal: a malformed row; caught by `runRows` which either rethrows as FormatError or drops. */
export class RowError extends Error {}

/**
 * Internal driver shared by the tab-separated parsers: iterates over lines (1-based), skips blank
 * lines and headers, and applies the malformed-row policy.
 */
export function runRows(
  op: string,
  task: PairDataset['task'],
  text: string,
  file: string,
  options: PairParseOptions,
  isHeader: (line: string) => boolean,
  parseRow: (cols: string[], line: number) => PairExample,
): PairDataset {
  const lines = splitLines(stripBom(text));
  const pairs: PairExample[] = [];
  const droppedLines: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    if (i === 0 && isHeader(raw)) continue;
    try {
      pairs.push(parseRow(raw.split('\t'), i + 1));
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      if (options.dropMalformed) droppedLines.push(i + 1);
      else throw new FormatError(op, 'file', `${file} line ${i + 1}: ${e.message}`);
    }
  }
  if (pairs.length === 0)
    throw new FormatError(
      op,
      'file',
      `${file}: holds no ${task} pairs` +
        (droppedLines.length > 0 ? ` (all ${droppedLines.length} rows were malformed and dropped)` : ' (empty file?)'),
    );
  return { task, split: options.split ?? '', file, pairs, dropped: droppedLines.length, droppedLines };
}

/**
 * Reads a data file as UTF-8; a missing file, a directory or another read error is an InvalidArgumentError naming
 * the function and the file, not a raw ENOENT / EISDIR.
 */
export async function readDataFile(op: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(op, 'file', `cannot read ${file} (${(e as Error).message})`, { cause: e });
  }
}

/** Returns the first existing path, or throws InvalidArgumentError listing every candidate. */
export async function firstExisting(op: string, argument: string, candidates: string[]): Promise<string> {
  for (const c of candidates) {
    try {
      await access(c);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new InvalidArgumentError(op, argument, `no data file found; expected one of: ${candidates.join(', ')}`);
}

/** Throws InvalidArgumentError unless `value` is one of `allowed`. */
export function checkSplit<T extends string>(op: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      op,
      'split',
      `must be one of ${allowed.map((s) => `'${s}'`).join(', ')}, got '${value}'`,
    );
  }
  return value as T;
}
