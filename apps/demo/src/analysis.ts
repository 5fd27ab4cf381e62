// What the demo computes from the sentence embeddings: pure functions (no DOM), tested in Node.
import { createRng, effectiveDimension, pca, pentachoronCV } from '@geolip/geometry';

/** At most this many sentences per run. */
export const MAX_SENTENCES = 64;
/** At most this many characters per sentence (the encoder also truncates to its maxLength word pieces). */
export const MAX_CHARS = 2000;

/**
 * One sentence per non-empty line, trimmed; or a message for the page when the input cannot be embedded
 * (nothing typed, too many sentences, a sentence too long).
 */
export function checkSentences(text: string): string[] | string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) return 'Type at least one sentence (one per line).';
  if (lines.length > MAX_SENTENCES)
    return `Too many sentences: ${lines.length}; the demo embeds at most ${MAX_SENTENCES} at a time.`;
  const long = lines.findIndex((l) => l.length > MAX_CHARS);
  if (long >= 0)
    return (
      `Sentence ${long + 1} is ${lines[long]!.length.toLocaleString('en-US')} characters long; ` +
      `the limit is ${MAX_CHARS.toLocaleString('en-US')}.`
    );
  return lines;
}

/** `n × dim` row-major values as `n` rows (what `@geolip/geometry` and `@geolip/anchors` take as nested arrays). */
export function toRows(flat: Float32Array | Float64Array, dim: number): number[][] {
  return Array.from({ length: flat.length / dim }, (_, i) => Array.from(flat.subarray(i * dim, (i + 1) * dim)));
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += a[k]! * b[k]!;
  return sum;
}

/** The pentachoron CV is shown from this many sentences on (C(6, 5) = 6 distinct simplices). */
export const MIN_CV_SENTENCES = 6;

export interface Analysis {
  sentences: string[];
  /** n × n cosine similarities (row-major), from the unit-norm embeddings. */
  similarity: Float64Array;
  /**
   * n × 2 coordinates of the sentences: the first two principal components of the sentences and the anchors
   * together (zeros when there are fewer than 2 rows in all).
   */
  projection: Float64Array;
  /** K × 2 coordinates of the anchors, in the same projection. */
  anchorProjection: Float64Array;
  /** For each sentence, the index of its nearest anchor (largest cosine); empty without anchors. */
  nearest: Int32Array;
  /** Number of distinct anchors that are some sentence's nearest (0 without anchors). */
  activeAnchors: number;
  /**
   * Pentachoron CV (seeded, 200 samples) of the embeddings; null for fewer than {@link MIN_CV_SENTENCES}
   * sentences (5 points make one simplex: its CV is 0 by construction).
   */
  cv: number | null;
  /** Participation ratio of the singular values (@geolip/geometry `effectiveDimension`). */
  effectiveDimension: number;
}

/**
 * Similarity matrix, 2-D PCA and geometry numbers of `rows` (`n × dim`, row-major, unit rows), placed among
 * `anchors` (`K × dim`, row-major, unit rows; none by default).
 */
export function analyze(
  sentences: string[],
  rows: Float32Array,
  dim: number,
  anchors: Float64Array = new Float64Array(0),
): Analysis {
  const n = sentences.length;
  const nested = toRows(rows.subarray(0, n * dim), dim);
  const anchorRows = toRows(anchors, dim);
  const k = anchorRows.length;
  const similarity = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) similarity[i * n + j] = dot(nested[i]!, nested[j]!);
  const both = new Float64Array((n + k) * 2);
  if (n + k >= 2) {
    const p = pca([...nested, ...anchorRows], 2).projected;
    for (let i = 0; i < n + k; i++) for (let c = 0; c < 2; c++) both[i * 2 + c] = p.get(i, c);
  }
  const nearest = new Int32Array(k > 0 ? n : 0);
  if (k > 0) {
    for (let i = 0; i < n; i++) {
      let best = -Infinity;
      for (let a = 0; a < k; a++) {
        const cos = dot(nested[i]!, anchorRows[a]!);
        if (cos > best) [best, nearest[i]] = [cos, a];
      }
    }
  }
  const cv = n >= MIN_CV_SENTENCES ? pentachoronCV(nested, { rng: createRng(0), minValid: 2 }).cv : null;
  return {
    sentences,
    similarity,
    projection: both.slice(0, n * 2),
    anchorProjection: both.slice(n * 2),
    nearest,
    activeAnchors: new Set(nearest).size,
    cv,
    effectiveDimension: effectiveDimension(nested),
  };
}
