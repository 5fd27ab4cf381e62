// Fuzz target for the pair loaders (issue 26): any text either parses into pairs equal to an independent reading
// (split on \r\n, \r or \n; 7 or 9 TAB columns; score in [0, 5]) or is refused with a FormatError naming the file.
// GEOLIP_FUZZ_RUNS sets the runs (default 300).
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { FormatError } from '@geolip/geometry';

import { parseStsb } from '../../src/data/index.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.GEOLIP_FUZZ_RUNS ?? '') || 300));

/** The independent reading of an STS-B file: the pairs, or null when some non-blank row is malformed. */
function reference(text: string): { a: string; b: string; score: number; line: number }[] | null {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: { a: string; b: string; score: number; line: number }[] = [];
  const lines = t.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    const cols = lines[i]!.split('\t');
    if (cols.length !== 7 && cols.length !== 9) return null;
    const s = cols[4]!.trim();
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
    const score = Number(s);
    if (!(score >= 0 && score <= 5)) return null;
    out.push({ a: cols[5]!, b: cols[6]!, score, line: i + 1 });
  }
  return out.length > 0 ? out : null;
}

const cell = fc.oneof(
  fc.constantFrom('', 'a', 'A man.', '2.5', '5', '0', '5.5', '-1', 'x\ty', '1e0', ' 3 '),
  fc.string({ maxLength: 6 }),
);
const sep = fc.constantFrom('\n', '\r\n', '\r', '\n\n', '\t', '');
const line = fc.array(cell, { minLength: 0, maxLength: 10 }).map((cs) => cs.join('\t'));
const goodLine = fc
  .tuple(cell, fc.double({ min: 0, max: 5, noNaN: true }), cell, cell)
  .map(([id, s, a, b]) => ['g', 'f', 'y', id, String(s), a, b].join('\t'));

describe('parseStsb fuzz', () => {
  test.prop([fc.array(fc.tuple(fc.oneof(line, goodLine), sep), { maxLength: 8 })], { seed: 0x575b01, numRuns: RUNS })(
    'pairs equal to the independent reading, or a FormatError naming the file',
    (parts) => {
      const text = parts.map(([l, s]) => l + s).join('');
      const want = reference(text);
      let got;
      try {
        got = parseStsb(text, 'fuzz.csv').pairs.map(({ a, b, score, line }) => ({ a, b, score, line }));
      } catch (e) {
        if (!(e instanceof FormatError) || !e.message.startsWith("parseStsb: 'file' fuzz.csv")) throw e;
        got = null;
      }
      expect(got).toEqual(want);
    },
  );
});
