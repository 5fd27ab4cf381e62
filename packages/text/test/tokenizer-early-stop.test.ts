/**
 * Issue 26 ("Public API", unbounded work): with truncation, the tokenizer stops reading once `maxLength` pieces are
 * out, and gives the same ids as tokenizing the whole text and cutting (checked against that reference).
 */
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';

import { BERT_SPECIAL_TOKENS, type BertTokenizer, loadBertUncasedTokenizer } from '../src/index.js';
import { basicTokenize, lowerPerChar } from '../src/tokenizer/basic.js';
import { wordpieceTokenize } from '../src/tokenizer/wordpiece.js';

let tok: BertTokenizer;
let vocab: Map<string, number>;

beforeAll(async () => {
  tok = await loadBertUncasedTokenizer();
  const tokens = tok.convertIdsToTokens(Array.from({ length: tok.vocabSize }, (_, i) => i));
  vocab = new Map(tokens.map((t, i) => [t, i]));
});

/** The whole-text tokenizer (before the early stop): special split, basic tokenizer, WordPiece, then cut. */
function referenceIds(text: string, maxLength: number): number[] {
  const pieces: string[] = [];
  for (const segment of text.split(/(\[PAD\]|\[UNK\]|\[CLS\]|\[SEP\]|\[MASK\])/)) {
    if (segment === '') continue;
    if ((BERT_SPECIAL_TOKENS as readonly string[]).includes(segment)) {
      pieces.push(segment);
      continue;
    }
    for (const word of basicTokenize(lowerPerChar(segment))) pieces.push(...wordpieceTokenize(word, vocab, '[UNK]'));
  }
  const ids = tok.convertTokensToIds(pieces).slice(0, maxLength - 2);
  return [tok.convertTokensToIds(['[CLS]'])[0]!, ...ids, tok.convertTokensToIds(['[SEP]'])[0]!];
}

const SENTENCES = [
  'A man is playing the cello.',
  'Café au lait, naïve résumé — ΣΊΣΥΦΟΣ!',
  "don't stop [CLS] me[SEP]now\t\tplease\r\n",
  '北京欢迎你 and tokyo 東京',
  'unaffable\u00a0supercalifragilistic\u3000x\u2028y\u0000z\u200b',
  '   ',
  '',
];

describe('issue 26: tokenizer stops at maxLength', () => {
  it('reads a few hundred characters of a 10 MB text with maxLength 64', () => {
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(230_000);
    expect(text.length).toBeGreaterThan(10_000_000);
    const { tokens, consumed } = tok.tokenizeUpTo(text, 62);
    expect(tokens.length).toBeGreaterThanOrEqual(62);
    expect(consumed).toBeLessThan(1000);
    const ids = tok.encode(text, { maxLength: 64 }).inputIds;
    expect(ids).toEqual(referenceIds(text.slice(0, 10_000), 64));
    expect(ids).toHaveLength(64);
  });

  it('gives the same ids as the whole-text tokenizer on normal inputs', () => {
    for (const s of SENTENCES) {
      for (const maxLength of [2, 3, 5, 8, 64, 512]) {
        expect(tok.encode(s, { maxLength }).inputIds).toEqual(referenceIds(s, maxLength));
        expect(tok.encode(s.repeat(20), { maxLength }).inputIds).toEqual(referenceIds(s.repeat(20), maxLength));
      }
    }
    expect(tok.tokenize(SENTENCES.join(' '))).toEqual(
      tok.convertIdsToTokens(referenceIds(SENTENCES.join(' '), 10_000).slice(1, -1)),
    );
  });

  const pieces = fc.constantFrom(
    'a',
    'dog',
    'Café',
    'naïve',
    '[CLS]',
    '[SEP]',
    '[MASK',
    'x]',
    '北',
    '!',
    "'",
    ' ',
    '  ',
    '\t',
    '\n',
    '\r',
    '\u00a0',
    '\u3000',
    '\u2028',
    '\u0000',
    '\u200b',
    'e\u0301',
    '\u0301',
    'Σ',
    '😀',
    'unaffable',
  );
  test.prop([fc.array(pieces, { maxLength: 60 }).map((p) => p.join('')), fc.integer({ min: 2, max: 40 })], {
    numRuns: 200,
  })('same ids as the whole-text tokenizer on generated text', (text, maxLength) => {
    expect(tok.encode(text, { maxLength }).inputIds).toEqual(referenceIds(text, maxLength));
  });
});
