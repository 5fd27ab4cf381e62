import { GeolipError } from '@geolip/geometry';
import { importUnbundled } from '@geolip/geometry/internal';

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

/**
 * Absolute path of a file the package ships in a top-level folder (`vocab/`, `weights/`): looked up next to the
 * module's folder and one level up, so it works from `src/*`, `src/tokenizer/*`, `dist/*`, ESM and CJS.
 * @throws {GeolipError} naming `op` and the paths tried, when the file is not there.
 */
export async function bundledAssetPath(op: string, folder: string, file: string): Promise<string> {
  const { existsSync } = await importUnbundled<typeof import('node:fs')>('node:fs');
  const { join } = await importUnbundled<typeof import('node:path')>('node:path');
  const { fileURLToPath } = await importUnbundled<typeof import('node:url')>('node:url');
  const dirs: string[] = [];
  try {
    const url = import.meta.url as string | undefined;
    if (typeof url === 'string') dirs.push(fileURLToPath(new URL('.', url)));
  } catch {
    // CJS build: no import.meta
  }
  if (typeof __dirname === 'string') dirs.push(__dirname);
  const candidates = dirs.flatMap((d) => [join(d, '..', folder, file), join(d, '..', '..', folder, file)]);
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) throw new GeolipError(op, `bundled ${folder}/${file} not found; looked at ${candidates.join(', ')}`);
  return found;
}
declare const __dirname: string | undefined;
