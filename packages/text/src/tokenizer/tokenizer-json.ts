/**
 * The HuggingFace `tokenizer.json` form of a {@link BertTokenizer} (what transformers.js and `tokenizers` load), and
 * the way back for WordPiece tokenizers that lower-case (BERT uncased and its relatives, e.g. MiniLM).
 */
import { FormatError, InvalidArgumentError } from '@geolip/geometry';

import { BERT_SPECIAL_TOKENS, BertTokenizer } from './bert-tokenizer.js';

/** The `tokenizer.json` object of `tokenizer`: BertNormalizer (lower-casing), BertPreTokenizer, WordPiece. */
export function bertTokenizerToJson(tokenizer: BertTokenizer): Record<string, unknown> {
  if (!(tokenizer instanceof BertTokenizer))
    throw new InvalidArgumentError('bertTokenizerToJson', 'tokenizer', 'must be a BertTokenizer');
  const tokens = tokenizer.convertIdsToTokens(Array.from({ length: tokenizer.vocabSize }, (_, i) => i));
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  const special = (t: string): Record<string, unknown> => ({
    id: tokenizer.vocab.get(t),
    content: t,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tpl = (t: string): unknown => ({ SpecialToken: { id: t, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...BERT_SPECIAL_TOKENS].sort((a, b) => vocab[a]! - vocab[b]!).map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tpl('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, tpl('[SEP]')],
      pair: [
        tpl('[CLS]'),
        { Sequence: { id: 'A', type_id: 0 } },
        tpl('[SEP]'),
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(
        (['[CLS]', '[SEP]'] as const).map((t) => [t, { id: t, ids: [tokenizer.vocab.get(t)], tokens: [t] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: tokenizer.maxInputCharsPerWord,
      vocab,
    },
  };
}

/**
 * A {@link BertTokenizer} from the text of a `tokenizer.json` whose model is WordPiece with the `##` prefix and
 * whose normalizer lower-cases (a BertNormalizer with `lowercase: true`).
 * @throws {FormatError} naming `text` for JSON that is not such a tokenizer (the message says what differs).
 */
export function bertTokenizerFromJson(text: string): BertTokenizer {
  const op = 'bertTokenizerFromJson';
  if (typeof text !== 'string') throw new InvalidArgumentError(op, 'text', 'must be a string');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(op, 'text', `is not JSON (${(e as Error).message})`);
  }
  const model = (json?.model ?? null) as Record<string, unknown> | null;
  if (model === null || model.type !== 'WordPiece')
    throw new FormatError(op, 'text', `has model type ${JSON.stringify(model?.type)}; only WordPiece is supported`);
  if ((model.continuing_subword_prefix ?? '##') !== '##')
    throw new FormatError(op, 'text', "has a continuing_subword_prefix other than '##'");
  const norm = (json.normalizer ?? null) as Record<string, unknown> | null;
  if (norm === null || norm.type !== 'BertNormalizer' || norm.lowercase !== true)
    throw new FormatError(op, 'text', 'must have a BertNormalizer with lowercase: true (an uncased BERT tokenizer)');
  const vocab = model.vocab as Record<string, number> | undefined;
  if (vocab === null || typeof vocab !== 'object') throw new FormatError(op, 'text', 'has no model.vocab object');
  const entries = Object.entries(vocab);
  const tokens: string[] = new Array(entries.length);
  for (const [t, id] of entries) {
    if (!Number.isInteger(id) || id < 0 || id >= entries.length || tokens[id] !== undefined)
      throw new FormatError(
        op,
        'text',
        `model.vocab ids must be 0..${entries.length - 1}, each once; '${t}' has ${id}`,
      );
    if (t.includes('\n')) throw new FormatError(op, 'text', `model.vocab has a token with a line break (id ${id})`);
    tokens[id] = t;
  }
  return BertTokenizer.fromVocabText(tokens.join('\n'));
}
