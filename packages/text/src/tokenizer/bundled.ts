import { bundledAssetPath as sharedBundledAssetPath } from '@geolip/geometry/internal';

import { BertTokenizer } from './bert-tokenizer.js';

/** File name of the bundled vocabulary, under the package's `vocab/` folder. */
export const BERT_UNCASED_VOCAB_FILE = 'bert-base-uncased-vocab.txt';

let cached: Promise<BertTokenizer> | undefined;

/**
 * The bert-base-uncased tokenizer over the vocabulary bundled with this package (30,522 tokens,
 * Apache-2.0, md5 64800d5d8528ce344256daf115d4965e). Node only; in a browser, fetch the vocabulary and
 * call `BertTokenizer.fromVocabText`. The tokenizer is built once and shared.
 */
export function loadBertUncasedTokenizer(): Promise<BertTokenizer> {
  cached ??= bundledVocabPath().then((p) => BertTokenizer.fromFile(p));
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

/** Absolute path of the bundled `vocab/bert-base-uncased-vocab.txt` (works from src/ and from dist/, ESM and CJS). */
export function bundledVocabPath(): Promise<string> {
  return bundledAssetPath('loadBertUncasedTokenizer', 'vocab', BERT_UNCASED_VOCAB_FILE);
}

/** Absolute path of a file this package ships in a top-level folder (`vocab/`, `weights/`); Node only. */
export function bundledAssetPath(op: string, folder: string, file: string): Promise<string> {
  let url: string | undefined;
  try {
    url = import.meta.url as string | undefined;
  } catch {
    // CJS build: no import.meta
  }
  return sharedBundledAssetPath(op, folder, file, {
    url,
    dirname: typeof __dirname === 'string' ? __dirname : undefined,
  });
}
declare const __dirname: string | undefined;
