// The pair loaders on hostile files (issue 26): CR-only line ends, a TAB inside a sentence, empty files and unreadable
// paths give the right pairs or a typed error naming the file, never a silent misread.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { loadStsb, parseMrpc, parseSick, parseStsb } from '../../src/data/index.js';

const row = (...c: string[]): string => c.join('\t');
const sts = (id: string, a: string, b: string): string => row('main-captions', 'MSRvid', '2012test', id, '2.5', a, b);

describe('pair loaders on hostile files', () => {
  it('CR-only line ends are line ends (a whole file read as one row)', () => {
    const ds = parseStsb([sts('1', 'a', 'b'), sts('2', 'c', 'd'), sts('3', 'e', 'f')].join('\r'), 'cr.csv');
    expect(ds.pairs.map((p) => [p.id, p.a, p.b, p.line])).toEqual([
      ['1', 'a', 'b', 1],
      ['2', 'c', 'd', 2],
      ['3', 'e', 'f', 3],
    ]);
  });

  it('a TAB inside a sentence is a FormatError naming the file and line (it shifted the columns silently)', () => {
    const ok = sts('1', 'a', 'b');
    expect(() => parseStsb(`${ok}\n${sts('2', 'one\thalf', 'other')}\n`, 'tab.csv')).toThrow(
      /^parseStsb: 'file' tab\.csv line 2: expected 7 TAB-separated columns \(9 with source tags\), got 8/,
    );
    expect(() => parseSick(row('1', 'A dog\truns', 'A dog is running', '4.9', 'ENTAILMENT'), 's.txt')).toThrow(
      /s\.txt line 1: expected 5 TAB-separated columns, got 6/,
    );
    expect(() => parseMrpc(row('1', '10', '11', 'He left.', 'He\twent away.'), 'm.txt')).toThrow(
      /m\.txt line 1: expected 5 TAB-separated columns, got 6/,
    );
  });

  it('an empty file, or one whose rows were all dropped, is a FormatError naming the file', () => {
    for (const text of ['', '\n\r\n', '\uFEFF'])
      expect(() => parseStsb(text, 'empty.csv')).toThrow(/^parseStsb: 'file' empty\.csv: holds no stsb pairs/);
    expect(() => parseSick('junk\n', 'j.txt', { dropMalformed: true })).toThrow(/all 1 rows were malformed/);
  });

  it('a data file that is a directory is an InvalidArgumentError naming it, not a raw EISDIR', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'geolip-stsb-'));
    try {
      await mkdir(join(dir, 'sts-dev.csv'));
      const error = await loadStsb(dir, 'dev').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/^loadStsb: 'file' cannot read .*sts-dev\.csv \(EISDIR/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
