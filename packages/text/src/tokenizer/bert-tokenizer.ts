import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { readBinarySource } from '@geolip/io';

import { basicTokenize, isWhitespace, lowerPerChar } from './basic.js';
import { wordpieceTokenize } from './wordpiece.js';

/** The special tokens of a BERT vocabulary; their ids are read from the vocabulary, never assumed. */
export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export type BertSpecialToken = (typeof BERT_SPECIAL_TOKENS)[number];

const SPECIAL_SET: ReadonlySet<string> = new Set(BERT_SPECIAL_TOKENS);
const SPECIAL_SPLIT = /(\[PAD\]|\[UNK\]|\[CLS\]|\[SEP\]|\[MASK\])/;

export interface EncodeOptions {
  /** Longest sequence, special tokens included. Default 512 (BERT's positions). */
  maxLength?: number;
  /** Wrap the sequence in `[CLS] … [SEP]`. Default true. */
  addSpecialTokens?: boolean;
  /**
   * Cut the word pieces so the sequence fits in `maxLength` (`[SEP]` is kept). Default true. With false a longer
   * sequence is returned whole.
   */
  truncation?: boolean;
}

export interface Encoding {
  /** Token ids, `[CLS]` and `[SEP]` included unless `addSpecialTokens: false`. */
  inputIds: number[];
  /** 1 for every id (nothing is padded in a single encoding). */
  attentionMask: number[];
}

export interface EncodeBatchOptions extends EncodeOptions {
  /** `'longest'` (default): pad to the longest sequence of the batch; `'max_length'`: pad every row to `maxLength`. */
  padding?: 'longest' | 'max_length';
}

/** A padded batch, row-major: row `b` is `inputIds.subarray(b * L, (b + 1) * L)`. */
export interface BatchEncoding {
  /** `[B, L]` token ids, `[PAD]` after each sequence. */
  inputIds: Int32Array;
  /** `[B, L]`, 1 for a real token (specials included), 0 for padding. Int32 like the ids; `toTensors` gives float32. */
  attentionMask: Int32Array;
  /** `[B, L]`. */
  shape: [number, number];
}

export interface DecodeOptions {
  /** Leave out `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`. Default true. */
  skipSpecialTokens?: boolean;
  /** HuggingFace's `clean_up_tokenization`: ' .' → '.', " n't" → "n't", and so on. Default true. */
  cleanUpTokenizationSpaces?: boolean;
}

/**
 * The BERT-uncased WordPiece tokenizer: the same tokens and ids as HuggingFace
 * `BertTokenizer(vocab_file, do_lower_case=True)` (see the package README for the steps).
 *
 * Immutable once built, so one instance can be shared.
 */
export class BertTokenizer {
  /** Token → id. When a token appears on two lines, the later line wins (as in the reference). */
  readonly vocab: ReadonlyMap<string, number>;
  /** Ids of the special tokens, read from the vocabulary. */
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  /** Words longer than this (in code points) become `[UNK]`. */
  readonly maxInputCharsPerWord = 100;

  private readonly idToToken: string[];
  private readonly specialIds: ReadonlySet<number>;

  private constructor(tokens: readonly string[]) {
    const vocab = new Map<string, number>();
    tokens.forEach((t, i) => vocab.set(t, i));
    this.vocab = vocab;
    this.idToToken = [...tokens];
    const idOf = (t: BertSpecialToken): number => {
      const id = vocab.get(t);
      if (id === undefined)
        throw new FormatError(
          'BertTokenizer.fromVocabText',
          'text',
          `has no line '${t}'; a BERT vocabulary needs ${BERT_SPECIAL_TOKENS.join(', ')}`,
        );
      return id;
    };
    this.padId = idOf('[PAD]');
    this.unkId = idOf('[UNK]');
    this.clsId = idOf('[CLS]');
    this.sepId = idOf('[SEP]');
    this.maskId = idOf('[MASK]');
    this.specialIds = new Set([this.padId, this.unkId, this.clsId, this.sepId, this.maskId]);
  }

  /**
   * Builds a tokenizer from the text of a `vocab.txt`: one token per line, id = line index (from 0).
   * A trailing newline is ignored and a trailing '\r' is removed from each line (so CRLF files work).
   * Throws `FormatError` when the text is empty or lacks one of the five special tokens.
   */
  static fromVocabText(text: string): BertTokenizer {
    if (typeof text !== 'string')
      throw new InvalidArgumentError('BertTokenizer.fromVocabText', 'text', `must be a string, got ${describe(text)}`);
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0)
      throw new FormatError('BertTokenizer.fromVocabText', 'text', 'is empty; expected one token per line');
    return new BertTokenizer(lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)));
  }

  /**
   * Reads a `vocab.txt`: a path (Node), an `http(s):` / `blob:` / `data:` / `file:` URL, or, in a browser, a URL
   * relative to the page (fetched). See `readBinarySource` for what counts as which.
   * @throws {InvalidArgumentError} naming `path`: not a string or URL, unreadable, or a fetch that fails.
   */
  static async fromFile(path: string | URL): Promise<BertTokenizer> {
    if (typeof path !== 'string' && !(path instanceof URL))
      throw new InvalidArgumentError(
        'BertTokenizer.fromFile',
        'path',
        `must be a string or a URL, got ${describe(path)}`,
      );
    const bytes = await readBinarySource('BertTokenizer.fromFile', 'path', path);
    return BertTokenizer.fromVocabText(new TextDecoder().decode(bytes));
  }

  /** Number of lines of the vocabulary (30,522 for bert-base-uncased). */
  get vocabSize(): number {
    return this.idToToken.length;
  }

  /**
   * Text → word pieces, without special tokens added. `''` (or only whitespace/control characters) → `[]`.
   * The literal strings `[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]` in the text (upper case, as written)
   * stay single tokens, as in the reference.
   */
  tokenize(text: string): string[] {
    if (typeof text !== 'string')
      throw new InvalidArgumentError('BertTokenizer.tokenize', 'text', `must be a string, got ${describe(text)}`);
    return this.tokenizeUnchecked(text);
  }

  /** Tokens → ids; a token outside the vocabulary maps to `[UNK]`'s id. */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.vocab.get(t) ?? this.unkId);
  }

  /** Ids → tokens; throws `InvalidArgumentError` on an id outside `[0, vocabSize)`. */
  convertIdsToTokens(ids: ArrayLike<number>): string[] {
    return this.idsToTokens(ids, 'BertTokenizer.convertIdsToTokens');
  }

  /**
   * One text → ids and attention mask. `''` → `[CLS] [SEP]` (`[101, 102]`). With truncation the word
   * pieces are cut to `maxLength − 2` so `[CLS] … [SEP]` fits.
   */
  encode(text: string, options: EncodeOptions = {}): Encoding {
    const op = 'BertTokenizer.encode';
    if (typeof text !== 'string') throw new InvalidArgumentError(op, 'text', `must be a string, got ${describe(text)}`);
    const o = this.checkOptions(op, options);
    const inputIds = this.encodeIds(text, o);
    return { inputIds, attentionMask: inputIds.map(() => 1) };
  }

  /**
   * Many texts → one padded `[B, L]` batch. `L` is the longest sequence (`padding: 'longest'`, the default)
   * or `maxLength` (`padding: 'max_length'`). With `truncation: false` and `padding: 'max_length'`, a sequence
   * longer than `maxLength` is an error (the batch would be ragged). An empty list gives `[0, 0]` (`'longest'`)
   * or `[0, maxLength]`.
   */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): BatchEncoding {
    const op = 'BertTokenizer.encodeBatch';
    if (!Array.isArray(texts))
      throw new InvalidArgumentError(op, 'texts', `must be an array of strings, got ${describe(texts)}`);
    texts.forEach((t, i) => {
      if (typeof t !== 'string')
        throw new InvalidArgumentError(op, `texts[${i}]`, `must be a string, got ${describe(t)}`);
    });
    const o = this.checkOptions(op, options);
    const padding = options.padding ?? 'longest';
    if (padding !== 'longest' && padding !== 'max_length')
      throw new InvalidArgumentError(op, 'padding', `must be 'longest' or 'max_length', got ${describe(padding)}`);
    const rows = texts.map((t) => this.encodeIds(t, o));
    let length: number;
    if (padding === 'max_length') {
      length = o.maxLength;
      rows.forEach((r, i) => {
        if (r.length > length)
          throw new InvalidArgumentError(
            op,
            `texts[${i}]`,
            `has ${r.length} tokens, more than maxLength ${length}; pass truncation: true or padding: 'longest'`,
          );
      });
    } else {
      length = rows.reduce((m, r) => Math.max(m, r.length), 0);
    }
    const inputIds = new Int32Array(rows.length * length).fill(this.padId);
    const attentionMask = new Int32Array(rows.length * length);
    rows.forEach((r, b) => {
      inputIds.set(r, b * length);
      attentionMask.fill(1, b * length, b * length + r.length);
    });
    return { inputIds, attentionMask, shape: [rows.length, length] };
  }

  /**
   * Ids → text: the word pieces joined (`'##'` glued to the piece before), specials left out by default.
   * Lower-cased and accent-stripped text does not come back as it was: `decode(encode('Café').inputIds)` is `'cafe'`.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const op = 'BertTokenizer.decode';
    const skip = options.skipSpecialTokens ?? true;
    const cleanUp = options.cleanUpTokenizationSpaces ?? true;
    const tokens = this.idsToTokens(ids, op);
    const kept = skip ? tokens.filter((_, i) => !this.specialIds.has(Number(ids[i]))) : tokens;
    const text = kept.join(' ').replaceAll(' ##', '').trim();
    return cleanUp ? cleanUpTokenization(text) : text;
  }

  private tokenizeUnchecked(text: string): string[] {
    return this.tokenizeUpTo(text, Infinity).tokens;
  }

  /**
   * @internal Word pieces of `text`, stopping once at least `limit` are out: the text is read chunk by chunk, cut
   * at whitespace characters (which always separate words, so the pieces are those of the whole text), and reading
   * stops there. `consumed` is how many UTF-16 code units were read.
   */
  tokenizeUpTo(text: string, limit: number): { tokens: string[]; consumed: number } {
    const out: string[] = [];
    let pos = 0;
    while (pos < text.length && out.length < limit) {
      let end = pos;
      while (end < text.length && !isCutPoint(text.charCodeAt(end))) end++;
      if (end > pos) this.tokenizeChunk(text.slice(pos, end), out);
      pos = end + 1;
    }
    return { tokens: out, consumed: Math.min(pos, text.length) };
  }

  private tokenizeChunk(text: string, out: string[]): void {
    for (const segment of text.split(SPECIAL_SPLIT)) {
      if (segment === '') continue;
      if (SPECIAL_SET.has(segment)) {
        out.push(segment);
        continue;
      }
      for (const word of basicTokenize(lowerPerChar(segment))) {
        for (const piece of wordpieceTokenize(word, this.vocab, '[UNK]', this.maxInputCharsPerWord)) out.push(piece);
      }
    }
  }

  private encodeIds(text: string, o: Required<EncodeOptions>): number[] {
    const room = o.addSpecialTokens ? o.maxLength - 2 : o.maxLength;
    const tokens = this.tokenizeUpTo(text, o.truncation ? room : Infinity).tokens;
    let ids = this.convertTokensToIds(tokens);
    if (o.truncation && ids.length > room) ids = ids.slice(0, room);
    return o.addSpecialTokens ? [this.clsId, ...ids, this.sepId] : ids;
  }

  private checkOptions(op: string, options: EncodeOptions): Required<EncodeOptions> {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describe(options)}`);
    const maxLength = options.maxLength ?? 512;
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const truncation = options.truncation ?? true;
    if (!Number.isInteger(maxLength) || maxLength < 1)
      throw new InvalidArgumentError(op, 'maxLength', `must be a positive integer, got ${describe(maxLength)}`);
    if (addSpecialTokens && maxLength < 2)
      throw new InvalidArgumentError(op, 'maxLength', `must be at least 2 to hold [CLS] and [SEP], got ${maxLength}`);
    return { maxLength, addSpecialTokens, truncation };
  }

  private idsToTokens(ids: ArrayLike<number>, op: string): string[] {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number')
      throw new InvalidArgumentError(op, 'ids', `must be an array of token ids, got ${describe(ids)}`);
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = Number(ids[i]);
      const token = Number.isInteger(id) ? this.idToToken[id] : undefined;
      if (token === undefined)
        throw new InvalidArgumentError(
          op,
          `ids[${i}]`,
          `must be an integer in [0, ${this.vocabSize}), got ${describe(ids[i])}`,
        );
      out.push(token);
    }
    return out;
  }
}

/**
 * A batch as tfjs tensors: `inputIds` int32 `[B, L]` and `attentionMask` float32 `[B, L]` (the mask type
 * `@geolip/nn`'s attention and `maskedMeanPool` take). The caller owns (and disposes) both.
 */
export function toTensors(batch: BatchEncoding): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D } {
  if (
    batch === null ||
    typeof batch !== 'object' ||
    !(batch.inputIds instanceof Int32Array) ||
    !(batch.attentionMask instanceof Int32Array) ||
    !Array.isArray(batch.shape)
  ) {
    throw new InvalidArgumentError('toTensors', 'batch', 'must be a BatchEncoding from BertTokenizer.encodeBatch');
  }
  const [b, l] = batch.shape;
  if (batch.inputIds.length !== b * l || batch.attentionMask.length !== b * l) {
    throw new InvalidArgumentError(
      'toTensors',
      'batch',
      `has shape [${b}, ${l}] but ${batch.inputIds.length} ids and ${batch.attentionMask.length} mask values`,
    );
  }
  return {
    inputIds: tf.tensor2d(batch.inputIds, [b, l], 'int32'),
    attentionMask: tf.tensor2d(Float32Array.from(batch.attentionMask), [b, l], 'float32'),
  };
}

/** HuggingFace `clean_up_tokenization`. */
function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'undefined') return String(value);
  return typeof value;
}

/**
 * A UTF-16 unit where the text may be cut between words: the whitespace of the basic tokenizer (space, tab, LF, CR,
 * category Zs; all in the BMP, none a surrogate). Each becomes a word boundary, composes with nothing under NFC and
 * is not part of a special token, so tokenizing the pieces between them gives the pieces of the whole.
 */
function isCutPoint(code: number): boolean {
  if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) return true;
  return code >= 0xa0 && code < 0xd800 && isWhitespace(String.fromCharCode(code));
}
