#!/usr/bin/env node
// Checks that no line of source is wider than the formatter's width: every tracked file under `packages/*/src` and
// `apps/*/src` ending in .ts, .tsx, .mjs or .js, against the `printWidth` of `.prettierrc.json` (Prettier cannot
// wrap long string literals, template literals, regexes or comments; those are wrapped by hand).
// Usage: node tools/scripts/line-width.mjs [repoRoot]
//   (prints `path:line: N characters (limit W)` for each long line and exits 1 when there is one)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The files checked: `<packages|apps>/<name>/src/…` with one of these endings. */
export const SOURCE_FILE = /^(?:packages|apps)\/[^/]+\/src\/.+\.(?:ts|tsx|mjs|js)$/;

/**
 * Reads `printWidth` from `<root>/.prettierrc.json`.
 * @param {string} root - the repository root.
 * @returns {number} the width (Prettier's default, 80, when the file does not set it).
 * @throws {Error} naming `readPrintWidth` and `root` when the file is missing or unreadable, or the width is not a
 *   positive integer.
 */
export function readPrintWidth(root) {
  const file = join(root, '.prettierrc.json');
  let config;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`readPrintWidth: 'root' has no readable .prettierrc.json (${file}): ${e.message}`);
  }
  const width = config.printWidth ?? 80;
  if (!Number.isInteger(width) || width < 1) {
    throw new Error(`readPrintWidth: 'root' has a printWidth that is not a positive integer: ${String(width)}`);
  }
  return width;
}

/**
 * The tracked source files of the repository at `root` that the check reads (see {@link SOURCE_FILE}), as paths
 * relative to `root` with `/` separators, sorted. Files deleted from the work tree are skipped.
 * @param {string} root - the repository root (a git work tree).
 * @returns {string[]}
 * @throws {Error} naming `trackedSourceFiles` and `root` when `root` is not a git work tree.
 */
export function trackedSourceFiles(root) {
  let out;
  try {
    out = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    throw new Error(`trackedSourceFiles: 'root' is not a git work tree (${root}): ${e.message}`);
  }
  return out
    .split('\0')
    .filter((f) => SOURCE_FILE.test(f) && existsSync(join(root, f)))
    .sort();
}

/**
 * Width of one line as Prettier measures it against `printWidth`: one per character, none for combining marks and
 * control characters, two for wide East Asian characters and most emoji (Prettier's own `getStringWidth` when
 * Prettier is installed, else this rule applied per code point).
 * @type {(line: string) => number}
 */
let stringWidth = fallbackWidth;
try {
  const prettier = await import('prettier');
  if (typeof prettier.util?.getStringWidth === 'function') stringWidth = prettier.util.getStringWidth;
} catch {
  // Prettier is not installed: the fallback below counts the same for the characters this repository uses.
}

/**
 * The width rule of {@link lineWidth} without Prettier: per code point, 0 for control characters, combining marks,
 * emoji modifiers, the zero-width joiner and variation selectors; 2 for emoji and wide East Asian characters; else 1.
 * @param {string} line - one line.
 * @returns {number}
 */
export function fallbackWidth(line) {
  let width = 0;
  for (const ch of line) {
    const cp = ch.codePointAt(0);
    if (cp <= 31 || (cp >= 127 && cp <= 159) || /\p{M}|\p{Emoji_Modifier}|\u200d|[\ufe00-\ufe0f]/u.test(ch)) continue;
    const wide =
      /\p{Emoji_Presentation}/u.test(ch) ||
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

/**
 * Width of `line` in characters as the formatter counts them.
 * @param {string} line - one line, without its line break.
 * @returns {number}
 */
export function lineWidth(line) {
  return stringWidth(line);
}

/**
 * Finds every line wider than the limit in the tracked source files of the repository at `root`.
 * @param {string} root - the repository root (a git work tree with a `.prettierrc.json`).
 * @param {{ limit?: number }} [options] - `limit`: the width allowed (default: `printWidth` of `.prettierrc.json`).
 * @returns {{ limit: number, files: number, problems: { path: string, line: number, width: number }[] }} the limit
 *   applied, the number of files read, and the long lines in path and line order (`path` relative to `root`).
 * @throws {Error} naming the function and `root` (see {@link readPrintWidth}, {@link trackedSourceFiles}), or
 *   `checkLineWidth` and `options.limit` when the limit is not a positive integer.
 */
export function checkLineWidth(root, options = {}) {
  const limit = options.limit ?? readPrintWidth(root);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new Error(`checkLineWidth: 'options.limit' must be a positive integer, got ${String(limit)}`);
  }
  const files = trackedSourceFiles(root);
  const problems = [];
  for (const path of files) {
    const lines = readFileSync(join(root, path), 'utf8').split(/\r?\n/);
    lines.forEach((text, i) => {
      const width = lineWidth(text);
      if (width > limit) problems.push({ path, line: i + 1, width });
    });
  }
  return { limit, files: files.length, problems };
}

/**
 * One report line per problem: `path:line: N characters (limit W)`.
 * @param {{ limit: number, problems: { path: string, line: number, width: number }[] }} result - of
 *   {@link checkLineWidth}.
 * @returns {string[]}
 */
export function formatProblems({ limit, problems }) {
  return problems.map((p) => `${p.path}:${p.line}: ${p.width} characters (limit ${limit})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
  try {
    const result = checkLineWidth(root);
    const lines = formatProblems(result);
    if (lines.length > 0) {
      for (const line of lines) console.error(line);
      console.error(`line-width: ${lines.length} line(s) over ${result.limit} characters in ${result.files} files`);
      process.exit(1);
    }
    console.log(`line-width: ${result.files} files, no line over ${result.limit} characters`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  }
}
