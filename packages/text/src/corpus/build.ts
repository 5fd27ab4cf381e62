/**
 * `buildCorpus`: merges named lists of sentences into one distillation corpus (normalized, deduplicated,
 * length-filtered, optionally capped per source by a seeded sample), with per-source counts.
 */
import { InvalidArgumentError, createRng } from '@geolip/geometry';

/** One named list of texts. */
export interface CorpusSource {
  /** Unique name, used in counts and caps (e.g. `coco-captions`, `stsb-train`, `wordnet-glosses`). */
  name: string;
  texts: readonly string[];
}

/** Options of {@link buildCorpus}. */
export interface BuildCorpusOptions {
  /** Drop texts shorter than this many characters after normalization. Default 8. */
  minChars?: number;
  /** Drop texts longer than this many characters after normalization. Default 400. */
  maxChars?: number;
  /** Keep at most this many texts of a source (a seeded uniform sample, in source order). Default: all. */
  caps?: Readonly<Record<string, number>>;
  /** Seed of the sampling. Default 0. */
  seed?: number;
}

/** What happened to the texts of one source. */
export interface CorpusSourceCount {
  name: string;
  /** Texts given. */
  read: number;
  /** Dropped: shorter than `minChars` or longer than `maxChars`. */
  tooShort: number;
  tooLong: number;
  /** Dropped: the same normalized, lower-cased text appeared earlier (in this or an earlier source). */
  duplicates: number;
  /** Dropped by the cap's sample. */
  sampledOut: number;
  /** Kept in the corpus. */
  kept: number;
}

/** The corpus and its accounting: `read = tooShort + tooLong + duplicates + sampledOut + kept` per source. */
export interface Corpus {
  /** Sentences, sources in the given order, each source's texts in their order; one line each (no newlines). */
  sentences: string[];
  /** Index into `sources` of each sentence. */
  sourceOf: Int32Array;
  counts: CorpusSourceCount[];
}

/** Collapses whitespace (newlines and tabs included) to one space and trims; removes control characters. */
export function normalizeSentence(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000e-\u001f\u007f]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Builds a corpus from named sources.
 *
 * Each text is normalized ({@link normalizeSentence}), dropped if outside `[minChars, maxChars]`, dropped if its
 * lower-cased form was already kept, and finally, for a source with a cap smaller than what remains, a seeded
 * uniform sample of `cap` texts is kept in source order. Nothing else is dropped, and every drop is counted.
 *
 * @throws {InvalidArgumentError} a source name repeated or empty, a text that is not a string (names source and
 *   index), a cap for an unknown source or not a non-negative integer, or `minChars > maxChars`.
 * @example
 * ```ts
 * const c = buildCorpus([{ name: 'a', texts: ['A cat sits.', 'a  cat sits.', 'Hi'] }]);
 * c.sentences; // ['A cat sits.']; c.counts[0] → { read: 3, tooShort: 1, duplicates: 1, kept: 1, … }
 * ```
 */
export function buildCorpus(sources: readonly CorpusSource[], options: BuildCorpusOptions = {}): Corpus {
  const op = 'buildCorpus';
  const { minChars = 8, maxChars = 400, caps = {}, seed = 0 } = options;
  if (!Number.isInteger(minChars) || !Number.isInteger(maxChars) || minChars < 0 || minChars > maxChars) {
    throw new InvalidArgumentError(
      op,
      'options',
      `need integers 0 <= minChars <= maxChars, got ${minChars}, ${maxChars}`,
    );
  }
  const names = new Set<string>();
  for (const s of sources) {
    if (typeof s.name !== 'string' || s.name === '')
      throw new InvalidArgumentError(op, 'sources', 'every source needs a non-empty name');
    if (names.has(s.name)) throw new InvalidArgumentError(op, 'sources', `source name '${s.name}' is repeated`);
    names.add(s.name);
  }
  for (const [name, cap] of Object.entries(caps)) {
    if (!names.has(name))
      throw new InvalidArgumentError(
        op,
        'caps',
        `cap for unknown source '${name}' (sources: ${[...names].join(', ')})`,
      );
    if (!Number.isInteger(cap) || cap < 0)
      throw new InvalidArgumentError(op, 'caps', `caps['${name}'] must be a non-negative integer, got ${cap}`);
  }
  const seen = new Set<string>();
  const sentences: string[] = [];
  const sourceIdx: number[] = [];
  const counts: CorpusSourceCount[] = [];
  const rng = createRng(seed);
  sources.forEach((src, si) => {
    const c: CorpusSourceCount = {
      name: src.name,
      read: src.texts.length,
      tooShort: 0,
      tooLong: 0,
      duplicates: 0,
      sampledOut: 0,
      kept: 0,
    };
    const candidates: string[] = [];
    src.texts.forEach((t, i) => {
      if (typeof t !== 'string')
        throw new InvalidArgumentError(op, 'sources', `${src.name}[${i}] must be a string, got ${typeof t}`);
      const s = normalizeSentence(t);
      if (s.length < minChars) return void c.tooShort++;
      if (s.length > maxChars) return void c.tooLong++;
      const key = s.toLowerCase();
      if (seen.has(key)) return void c.duplicates++;
      seen.add(key);
      candidates.push(s);
    });
    let kept = candidates;
    const cap = caps[src.name];
    if (cap !== undefined && cap < candidates.length) {
      const chosen = Array.from(rng.choose(candidates.length, cap)).sort((a, b) => a - b);
      kept = chosen.map((i) => candidates[i]!);
      c.sampledOut = candidates.length - cap;
      // Sampled-out texts are no longer "seen": a later source may keep them.
      const keep = new Set(chosen);
      candidates.forEach((s, i) => {
        if (!keep.has(i)) seen.delete(s.toLowerCase());
      });
    }
    c.kept = kept.length;
    for (const s of kept) {
      sentences.push(s);
      sourceIdx.push(si);
    }
    counts.push(c);
  });
  return { sentences, sourceOf: Int32Array.from(sourceIdx), counts };
}
