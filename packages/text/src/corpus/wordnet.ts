/**
 * WordNet 3.0 glosses and example sentences, read from the database files of Debian's `wordnet-base`
 * (`/usr/share/wordnet/data.{noun,verb,adj,adv}`). Unlabeled English text for distillation corpora.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';

/** The four WordNet data files, in the order they are read. */
export const WORDNET_PARTS = ['noun', 'verb', 'adj', 'adv'] as const;

/** Glosses and examples of one or more WordNet data files, in file order. */
export interface WordnetText {
  /** One definition per synset: the gloss without its quoted examples (`;`-separated parts joined with `; `). */
  glosses: string[];
  /** The quoted example sentences of the glosses, without their quotes. */
  examples: string[];
}

/** Splits `text` at `;` outside double quotes. */
function splitGloss(gloss: string): string[] {
  const parts: string[] = [];
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < gloss.length; i++) {
    const c = gloss[i];
    if (c === '"') inQuote = !inQuote;
    else if (c === ';' && !inQuote) {
      parts.push(gloss.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(gloss.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/**
 * Parses one WordNet `data.*` file.
 *
 * @param text - File contents (the files are ASCII; read them as latin1 or utf8).
 * @param file - Path or label used in error messages.
 * @returns the gloss and the examples of every synset line; the licence header (lines that start with
 *   two spaces) and blank lines are skipped.
 * @throws {FormatError} a synset line without the ` | ` that starts its gloss (message names file and line).
 * @example
 * ```ts
 * parseWordnetData(
 *   '00217593 04 n 01 kill 1 000 | the destruction of an enemy plane; "the pilot reported two kills"  \n',
 *   'x',
 * );
 * // { glosses: ['the destruction of an enemy plane'], examples: ['the pilot reported two kills'] }
 * ```
 */
export function parseWordnetData(text: string, file: string): WordnetText {
  const glosses: string[] = [];
  const examples: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.startsWith('  ') || line.trim() === '') continue;
    const bar = line.indexOf(' | ');
    if (bar < 0)
      throw new FormatError('parseWordnetData', 'text', `${file}:${i + 1}: synset line without ' | ' before its gloss`);
    const defs: string[] = [];
    for (const part of splitGloss(line.slice(bar + 3))) {
      if (part.startsWith('"')) {
        const ex = part.replace(/^"+|"+$/g, '').trim();
        if (ex.length > 0) examples.push(ex);
      } else {
        defs.push(part);
      }
    }
    if (defs.length > 0) glosses.push(defs.join('; '));
  }
  return { glosses, examples };
}

/**
 * Reads the four WordNet data files of a directory (default: Debian's `/usr/share/wordnet`).
 *
 * @param dir - Directory with `data.noun`, `data.verb`, `data.adj`, `data.adv`.
 * @returns glosses and examples, nouns first (117,659 glosses and 48,339 examples for WordNet 3.0).
 * @throws {InvalidArgumentError} a file cannot be read (names the path and says to install `wordnet-base`).
 */
export async function loadWordnet(dir = '/usr/share/wordnet'): Promise<WordnetText> {
  const out: WordnetText = { glosses: [], examples: [] };
  for (const part of WORDNET_PARTS) {
    const file = join(dir, `data.${part}`);
    let text: string;
    try {
      text = await readFile(file, 'latin1');
    } catch (cause) {
      throw new InvalidArgumentError(
        'loadWordnet',
        'dir',
        `cannot read ${file} (install Debian's wordnet-base, or run tools/setup/text-corpus.sh): ${String(cause)}`,
      );
    }
    const parsed = parseWordnetData(text, file);
    out.glosses.push(...parsed.glosses);
    out.examples.push(...parsed.examples);
  }
  return out;
}
