/**
 * Quotations from Debian's `fortunes` package (`/usr/share/games/fortunes/*`, strfile sources: entries
 * separated by lines holding a single `%`). Unlabeled English text for distillation corpora.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@geolip/geometry';

/** Options of {@link parseFortunes} and {@link loadFortunes}. */
export interface FortuneOptions {
  /** Keep entries of at most this many characters after whitespace is collapsed. Default 200. */
  maxChars?: number;
  /** Keep entries whose share of letters and spaces is at least this (drops ASCII art, tables, code). Default 0.85. */
  minLetterShare?: number;
}

/** Files of the `fortunes` package that are pictures or non-English and never kept by {@link loadFortunes}. */
export const FORTUNE_EXCLUDED_FILES: ReadonlySet<string> = new Set(['art', 'ascii-art', 'translate-me']);

/**
 * Parses one fortune file.
 *
 * @param text - File contents.
 * @param options - {@link FortuneOptions}.
 * @returns the kept entries in file order, each on one line: an attribution line (`-- Author`) is
 *   removed, whitespace runs become one space.
 * @example
 * ```ts
 * parseFortunes('A clash of doctrine is not a disaster.\n\t\t-- A. N. Whitehead\n%\nBe kind.\n%\n');
 * // ['A clash of doctrine is not a disaster.', 'Be kind.']
 * ```
 */
export function parseFortunes(text: string, options: FortuneOptions = {}): string[] {
  const { maxChars = 200, minLetterShare = 0.85 } = options;
  const out: string[] = [];
  const entries: string[][] = [[]];
  for (const line of text.split(/\r?\n/)) {
    if (line === '%') entries.push([]);
    else entries[entries.length - 1]!.push(line);
  }
  for (const entry of entries) {
    const s = entry
      .filter((l) => !/^\s*--\s/.test(l))
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (s.length === 0 || s.length > maxChars) continue;
    const letters = (s.match(/[\p{L} ]/gu) ?? []).length;
    if (letters / s.length < minLetterShare) continue;
    out.push(s);
  }
  return out;
}

/**
 * Reads every fortune source file of a directory (default: Debian's `/usr/share/games/fortunes`): the files
 * without an extension (`.dat` and `.u8` are strfile's indexes and links), sorted by name, except
 * {@link FORTUNE_EXCLUDED_FILES}.
 *
 * @throws {InvalidArgumentError} the directory cannot be read (says to install `fortunes`).
 */
export async function loadFortunes(dir = '/usr/share/games/fortunes', options: FortuneOptions = {}): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => !n.includes('.') && !FORTUNE_EXCLUDED_FILES.has(n)).sort();
  } catch (cause) {
    throw new InvalidArgumentError(
      'loadFortunes',
      'dir',
      `cannot read ${dir} (install Debian's fortunes, or run tools/setup/text-corpus.sh): ${String(cause)}`,
    );
  }
  const out: string[] = [];
  for (const name of names) out.push(...parseFortunes(await readFile(join(dir, name), 'utf8'), options));
  return out;
}
