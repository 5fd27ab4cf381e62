// Hand-derived cases for the BERT-uncased tokenizer over the bundled vocabulary. Expected pieces were
// checked against vocab/bert-base-uncased-vocab.txt (id = line number − 1). The id-for-id comparison with
// HuggingFace is tokenizer-fixture.test.ts.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, GeolipError, InvalidArgumentError } from '@geolip/geometry';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  BertTokenizer,
  basicTokenize,
  bundledVocabPath,
  loadBertUncasedTokenizer,
  toTensors,
  wordpieceTokenize,
} from '../src/index.js';

let tok: BertTokenizer;
beforeAll(async () => {
  tok = await loadBertUncasedTokenizer();
});

describe('vocabulary', () => {
  it('has 30,522 tokens and the special ids of bert-base-uncased', () => {
    expect(tok.vocabSize).toBe(30522);
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([0, 100, 101, 102, 103]);
  });

  it('loadBertUncasedTokenizer shares one instance; fromFile and fromVocabText agree with it', async () => {
    expect(await loadBertUncasedTokenizer()).toBe(tok);
    const path = await bundledVocabPath();
    const fromFile = await BertTokenizer.fromFile(path);
    expect(fromFile.encode('Hello, World!')).toEqual(tok.encode('Hello, World!'));
    const fromText = BertTokenizer.fromVocabText(readFileSync(path, 'utf8').replaceAll('\n', '\r\n'));
    expect(fromText.vocabSize).toBe(30522);
    expect(fromText.tokenize('Unaffable café')).toEqual(tok.tokenize('Unaffable café'));
  });

  it('reads ids from the vocabulary, not from constants', () => {
    const small = BertTokenizer.fromVocabText(
      ['[CLS]', '[SEP]', '[UNK]', '[PAD]', '[MASK]', 'hello', '##s', ','].join('\n'),
    );
    expect([small.padId, small.unkId, small.clsId, small.sepId, small.maskId]).toEqual([3, 2, 0, 1, 4]);
    expect(small.encode('Hellos, world').inputIds).toEqual([0, 5, 6, 7, 2, 1]);
  });

  it('refuses a vocabulary without the special tokens, or an empty one', () => {
    expect(() => BertTokenizer.fromVocabText('[CLS]\n[SEP]\nhello\n')).toThrow(FormatError);
    expect(() => BertTokenizer.fromVocabText('[CLS]\n[SEP]\nhello\n')).toThrow(/\[PAD\]/);
    expect(() => BertTokenizer.fromVocabText('')).toThrow(FormatError);
  });
});

describe('tokenize', () => {
  it.each([
    ['Hello, World!', ['hello', ',', 'world', '!']],
    ['unaffable', ['una', '##ffa', '##ble']],
    ['Café naïve Ångström', ['cafe', 'naive', 'ang', '##strom']],
    ['e\u0301te\u0301', ['et', '##e']], // combining acute accents (Mn) are dropped
    ['3.14 1,000,000', ['3', '.', '14', '1', ',', '000', ',', '000']],
    ["don't", ['don', "'", 't']],
    [
      'http://example.com/a-b?x=1',
      ['http', ':', '/', '/', 'example', '.', 'com', '/', 'a', '-', 'b', '?', 'x', '=', '1'],
    ],
    ['MiXeD CaSe', ['mixed', 'case']],
    ['日本語', ['日', '本', '語']],
    ['你好世界', ['[UNK]', '[UNK]', '世', '[UNK]']], // 你 好 界 are not in the uncased vocabulary
    ['🙂👍🏽', ['[UNK]']], // one word (no spaces, no punctuation), no piece matches
    ['a[MASK]b', ['a', '[MASK]', 'b']], // literal special tokens stay whole, as in the reference
    ['[mask]', ['[', 'mask', ']']], // … only when written in upper case
  ])('%j', (text, expected) => {
    expect(tok.tokenize(text)).toEqual(expected);
  });

  it('splits CJK ideographs per character even without spaces', () => {
    expect(basicTokenize('ab日本cd')).toEqual(['ab', '日', '本', 'cd']);
  });

  it('splits Unicode punctuation (P*) as well as ASCII', () => {
    expect(basicTokenize('«hi»—there…')).toEqual(['«', 'hi', '»', '—', 'there', '…']);
  });

  it('removes NUL, U+FFFD and control/format characters; whitespace of any kind separates', () => {
    expect(tok.tokenize('\u0000x\u200by\tz\u00ad\ufffd')).toEqual(['x', '##y', 'z']);
    expect(tok.tokenize('a\u00a0b\u3000c\r\nd\u2028e')).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a word of more than 100 characters is [UNK]; 100 is still split', () => {
    expect(tok.tokenize('a'.repeat(101))).toEqual(['[UNK]']);
    expect(tok.tokenize('a'.repeat(200))).toEqual(['[UNK]']);
    const hundred = tok.tokenize('a'.repeat(100));
    expect(hundred.length).toBeGreaterThan(1);
    expect(hundred.map((p) => p.replace(/^##/, '')).join('')).toBe('a'.repeat(100));
  });

  it('counts characters as code points (an astral character is one character)', () => {
    const vocab = new Map([
      ['𝒜', 0],
      ['##b', 1],
    ]);
    expect(wordpieceTokenize('𝒜b', vocab, '[UNK]')).toEqual(['𝒜', '##b']);
    expect(wordpieceTokenize('𝒜'.repeat(3), vocab, '[UNK]', 2)).toEqual(['[UNK]']);
  });

  it('empty and blank text give no tokens', () => {
    expect(tok.tokenize('')).toEqual([]);
    expect(tok.tokenize(' \t\n\u0007')).toEqual([]);
  });
});

describe('encode', () => {
  it('wraps the ids in [CLS] … [SEP] with a mask of ones', () => {
    expect(tok.encode('Hello, World!')).toEqual({
      inputIds: [101, 7592, 1010, 2088, 999, 102],
      attentionMask: [1, 1, 1, 1, 1, 1],
    });
    expect(tok.encode('Hello, World!', { addSpecialTokens: false }).inputIds).toEqual([7592, 1010, 2088, 999]);
  });

  it("'' gives [CLS] [SEP] only", () => {
    expect(tok.encode('')).toEqual({ inputIds: [101, 102], attentionMask: [1, 1] });
    expect(tok.encode('', { addSpecialTokens: false }).inputIds).toEqual([]);
  });

  it('truncates the pieces so that [CLS] … [SEP] fits in maxLength', () => {
    const long = 'word '.repeat(1000);
    expect(tok.encode(long).inputIds).toHaveLength(512);
    const five = tok.encode('Hello, World!', { maxLength: 5 }).inputIds;
    expect(five).toEqual([101, 7592, 1010, 2088, 102]);
    expect(tok.encode('Hello, World!', { maxLength: 2 }).inputIds).toEqual([101, 102]);
    expect(tok.encode('Hello, World!', { maxLength: 3, addSpecialTokens: false }).inputIds).toEqual([7592, 1010, 2088]);
    expect(tok.encode(long, { truncation: false }).inputIds).toHaveLength(1002);
  });

  it('convertTokensToIds / convertIdsToTokens', () => {
    expect(tok.convertTokensToIds(['hello', 'no-such-piece'])).toEqual([7592, 100]);
    expect(tok.convertIdsToTokens([101, 7592, 102])).toEqual(['[CLS]', 'hello', '[SEP]']);
  });
});

describe('encodeBatch', () => {
  it("pads to the longest row with [PAD] and masks the padding ('longest')", () => {
    const b = tok.encodeBatch(['Hello, World!', 'hello', '']);
    expect(b.shape).toEqual([3, 6]);
    expect(Array.from(b.inputIds)).toEqual([
      101, 7592, 1010, 2088, 999, 102, 101, 7592, 102, 0, 0, 0, 101, 102, 0, 0, 0, 0,
    ]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
    expect(b.inputIds).toBeInstanceOf(Int32Array);
    expect(b.attentionMask).toBeInstanceOf(Int32Array);
  });

  it("pads every row to maxLength ('max_length') and truncates longer rows", () => {
    const b = tok.encodeBatch(['hello', 'Hello, World!'], { padding: 'max_length', maxLength: 4 });
    expect(b.shape).toEqual([2, 4]);
    expect(Array.from(b.inputIds)).toEqual([101, 7592, 102, 0, 101, 7592, 1010, 102]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 0, 1, 1, 1, 1]);
  });

  it('an empty batch has no rows', () => {
    expect(tok.encodeBatch([]).shape).toEqual([0, 0]);
    expect(tok.encodeBatch([], { padding: 'max_length', maxLength: 8 }).shape).toEqual([0, 8]);
  });

  it('rows equal encode() of each text', () => {
    const texts = ['A man is playing a flute.', 'Three men are playing chess.', 'naïve café'];
    const b = tok.encodeBatch(texts);
    const [, l] = b.shape;
    texts.forEach((t, i) => {
      const ids = tok.encode(t).inputIds;
      expect(Array.from(b.inputIds.subarray(i * l, i * l + ids.length))).toEqual(ids);
    });
  });

  it('toTensors gives int32 ids and a float32 mask of shape [B, L]', () => {
    const before = tf.memory().numTensors;
    const { inputIds, attentionMask } = toTensors(tok.encodeBatch(['Hello, World!', 'hello']));
    expect(inputIds.dtype).toBe('int32');
    expect(attentionMask.dtype).toBe('float32');
    expect(inputIds.shape).toEqual([2, 6]);
    expect(Array.from(attentionMask.dataSync())).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    tf.dispose([inputIds, attentionMask]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('decode', () => {
  it('joins word pieces and drops special tokens', () => {
    expect(tok.decode(tok.encode('Unaffable naïve café, Hello!').inputIds)).toBe('unaffable naive cafe, hello!');
    expect(tok.decode(tok.encode('hello').inputIds, { skipSpecialTokens: false })).toBe('[CLS] hello [SEP]');
    expect(tok.decode(Int32Array.from([7592, 1010, 2088]), { cleanUpTokenizationSpaces: false })).toBe('hello , world');
    expect(tok.decode([])).toBe('');
  });

  it('round-trips lower-case ASCII text', () => {
    for (const s of ['a man is playing the cello.', "i don't know, do you?", 'three men are playing chess!']) {
      expect(tok.decode(tok.encode(s).inputIds)).toBe(s);
    }
  });
});

describe('bad input', () => {
  it('non-string text names the function and the argument', () => {
    const bad = 42 as unknown as string;
    expect(() => tok.tokenize(bad)).toThrow(InvalidArgumentError);
    expect(() => tok.tokenize(bad)).toThrow("BertTokenizer.tokenize: 'text' must be a string, got 42");
    expect(() => tok.encode(null as unknown as string)).toThrow(
      "BertTokenizer.encode: 'text' must be a string, got null",
    );
    expect(() => tok.encodeBatch(['ok', undefined as unknown as string])).toThrow(
      "BertTokenizer.encodeBatch: 'texts[1]' must be a string",
    );
    expect(() => tok.encodeBatch('text' as unknown as string[])).toThrow(/'texts' must be an array/);
    expect(() => BertTokenizer.fromVocabText(3 as unknown as string)).toThrow(InvalidArgumentError);
  });

  it('maxLength must be a positive integer, at least 2 with special tokens', () => {
    expect(() => tok.encode('hi', { maxLength: 1 })).toThrow(/'maxLength' must be at least 2/);
    expect(tok.encode('hi', { maxLength: 1, addSpecialTokens: false }).inputIds).toEqual([7632]);
    expect(() => tok.encode('hi', { maxLength: 0, addSpecialTokens: false })).toThrow(InvalidArgumentError);
    expect(() => tok.encode('hi', { maxLength: 2.5 })).toThrow(InvalidArgumentError);
    expect(() => tok.encodeBatch(['hi'], { maxLength: 1 })).toThrow(InvalidArgumentError);
  });

  it('padding must be known; max_length without truncation refuses a longer row', () => {
    expect(() => tok.encodeBatch(['hi'], { padding: 'none' as 'longest' })).toThrow(/'padding'/);
    expect(() =>
      tok.encodeBatch(['hello world again'], { padding: 'max_length', maxLength: 3, truncation: false }),
    ).toThrow(/'texts\[0\]' has 5 tokens/);
  });

  it('decode refuses ids outside the vocabulary', () => {
    expect(() => tok.decode([101, 30522])).toThrow(
      "BertTokenizer.decode: 'ids[1]' must be an integer in [0, 30522), got 30522",
    );
    expect(() => tok.decode([-1])).toThrow(InvalidArgumentError);
    expect(() => tok.decode([1.5])).toThrow(InvalidArgumentError);
  });

  it('errors are GeolipErrors', () => {
    expect(() => tok.tokenize(undefined as unknown as string)).toThrow(GeolipError);
  });
});
