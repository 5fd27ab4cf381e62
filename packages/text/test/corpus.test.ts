import { existsSync } from 'node:fs';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import {
  buildCorpus,
  loadFortunes,
  loadWordnet,
  normalizeSentence,
  parseFortunes,
  parseWordnetData,
} from '../src/corpus/index.js';

const WORDNET_SNIPPET = [
  '  1 This software and database is being provided to you, the LICENSEE, by  ',
  '  2 Princeton University under the following license.  ',
  '00217499 04 n 01 disaster 0 001 @ 00217014 n 0000 | an act that has disastrous consequences  ',
  '00217593 04 n 01 kill 1 002 @ 00217014 n 0000 + 00355365 v 0101 | the destruction of an enemy plane or ship or tank or missile; "the pilot reported two kills during the mission"  ',
  '01234567 00 a 01 odd 0 000 | not divisible by two; having a remainder; "odd numbers"; "the 3rd; and 5th"  ',
  '',
].join('\n');

describe('parseWordnetData', () => {
  it('splits each gloss into its definition and its quoted examples, skipping the licence header', () => {
    expect(parseWordnetData(WORDNET_SNIPPET, 'data.noun')).toEqual({
      glosses: [
        'an act that has disastrous consequences',
        'the destruction of an enemy plane or ship or tank or missile',
        'not divisible by two; having a remainder',
      ],
      examples: ['the pilot reported two kills during the mission', 'odd numbers', 'the 3rd; and 5th'],
    });
  });

  it('names the file and line of a synset line without a gloss', () => {
    expect(() => parseWordnetData('00217499 04 n 01 disaster 0 001\n', 'data.x')).toThrow(FormatError);
    expect(() => parseWordnetData('\n00217499 04 n 01 disaster 0 001\n', 'data.x')).toThrow(/data.x:2/);
  });

  it('says which package to install when the directory is missing', async () => {
    await expect(loadWordnet('/nonexistent/wordnet')).rejects.toThrow(/wordnet-base/);
    await expect(loadFortunes('/nonexistent/fortunes')).rejects.toThrow(/fortunes/);
  });
});

describe('parseFortunes', () => {
  it('splits at % lines, drops attributions, joins lines and filters long or non-text entries', () => {
    const text = [
      'A clash of doctrine is not a disaster -- it is an opportunity.',
      '\t\t-- Alfred North Whitehead',
      '%',
      'Be',
      'kind.',
      '%',
      '  /\\_/\\',
      ' ( o.o )',
      '  > ^ <',
      '%',
      'x'.repeat(250),
      '%',
      '',
    ].join('\n');
    expect(parseFortunes(text)).toEqual(['A clash of doctrine is not a disaster -- it is an opportunity.', 'Be kind.']);
    expect(parseFortunes(text, { maxChars: 300 })).toHaveLength(3);
  });
});

describe('buildCorpus', () => {
  it('normalizes, drops short/long/duplicate texts (case-insensitive, across sources) and counts every drop', () => {
    const c = buildCorpus(
      [
        { name: 'a', texts: ['A cat  sits\non the mat.', 'Hi', 'a cat sits on the mat.', 'y'.repeat(500)] },
        { name: 'b', texts: ['A CAT SITS ON THE MAT.', 'A dog runs.'] },
      ],
      { minChars: 5, maxChars: 400 },
    );
    expect(c.sentences).toEqual(['A cat sits on the mat.', 'A dog runs.']);
    expect(Array.from(c.sourceOf)).toEqual([0, 1]);
    expect(c.counts).toEqual([
      { name: 'a', read: 4, tooShort: 1, tooLong: 1, duplicates: 1, sampledOut: 0, kept: 1 },
      { name: 'b', read: 2, tooShort: 0, tooLong: 0, duplicates: 1, sampledOut: 0, kept: 1 },
    ]);
  });

  it('caps a source with a seeded sample that keeps source order; read = sum of the outcomes', () => {
    const texts = Array.from({ length: 100 }, (_, i) => `sentence number ${i}`);
    const one = buildCorpus([{ name: 's', texts }], { caps: { s: 10 }, seed: 4 });
    const two = buildCorpus([{ name: 's', texts }], { caps: { s: 10 }, seed: 4 });
    const other = buildCorpus([{ name: 's', texts }], { caps: { s: 10 }, seed: 5 });
    expect(one.sentences).toEqual(two.sentences);
    expect(one.sentences).not.toEqual(other.sentences);
    expect(one.sentences).toHaveLength(10);
    const idx = one.sentences.map((s) => Number(s.split(' ')[2]));
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    const k = one.counts[0]!;
    expect(k.read).toBe(k.tooShort + k.tooLong + k.duplicates + k.sampledOut + k.kept);
    expect(k.sampledOut).toBe(90);
  });

  it('lets a later source keep a text that an earlier cap sampled out', () => {
    const c = buildCorpus(
      [
        { name: 'a', texts: ['first sentence', 'second sentence'] },
        { name: 'b', texts: ['first sentence', 'second sentence'] },
      ],
      { caps: { a: 1 } },
    );
    expect(c.sentences).toHaveLength(2);
    expect(c.counts[1]!.duplicates).toBe(1);
  });

  it('refuses bad sources and options', () => {
    expect(() =>
      buildCorpus([
        { name: 'a', texts: [] },
        { name: 'a', texts: [] },
      ]),
    ).toThrow(/repeated/);
    expect(() => buildCorpus([{ name: '', texts: [] }])).toThrow(InvalidArgumentError);
    expect(() => buildCorpus([{ name: 'a', texts: ['ok ok ok', 3 as unknown as string] }])).toThrow(
      /a\[1\] must be a string/,
    );
    expect(() => buildCorpus([{ name: 'a', texts: [] }], { caps: { b: 1 } })).toThrow(/unknown source 'b'/);
    expect(() => buildCorpus([{ name: 'a', texts: [] }], { caps: { a: -1 } })).toThrow(/non-negative integer/);
    expect(() => buildCorpus([], { minChars: 10, maxChars: 5 })).toThrow(/minChars <= maxChars/);
  });

  it('normalizeSentence collapses whitespace and strips control characters', () => {
    expect(normalizeSentence(' a\tb\n\nc\u0007 ')).toBe('a b c');
  });
});

describe.skipIf(!existsSync('/usr/share/wordnet/data.noun'))('WordNet 3.0 from Debian wordnet-base', () => {
  it('has 117,659 synset glosses and 48,339 quoted examples', async () => {
    const wn = await loadWordnet();
    expect(wn.glosses).toHaveLength(117_659); // every synset line has a definition part
    expect(wn.examples.length).toBeGreaterThan(48_000);
  });
});
