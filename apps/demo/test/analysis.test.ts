// The page's pure parts in Node: input checks, the numbers computed from the embeddings, the SVG.
import { describe, expect, it } from 'vitest';

import { MAX_CHARS, MAX_SENTENCES, MIN_CV_SENTENCES, analyze, checkSentences } from '../src/analysis.js';
import { formatSimilarity, heatmapSvg, projectionSvg, similarityColor } from '../src/render.js';

describe('checkSentences', () => {
  it('one sentence per non-empty line, trimmed', () => {
    expect(checkSentences('  a b \n\n c\r\nd  ')).toEqual(['a b', 'c', 'd']);
  });
  it('messages for nothing typed, too many sentences, a sentence too long', () => {
    expect(checkSentences(' \n\t\n')).toBe('Type at least one sentence (one per line).');
    expect(checkSentences(Array.from({ length: MAX_SENTENCES + 1 }, (_, i) => `s${i}`).join('\n'))).toBe(
      `Too many sentences: 65; the demo embeds at most 64 at a time.`,
    );
    expect(checkSentences(`ok\n${'y'.repeat(MAX_CHARS + 1)}`)).toBe(
      'Sentence 2 is 2,001 characters long; the limit is 2,000.',
    );
    expect(checkSentences('y'.repeat(MAX_CHARS))).toEqual(['y'.repeat(MAX_CHARS)]);
  });
});

describe('analyze', () => {
  it('cosines of unit rows, by hand: e1, e2, (e1 + e2)/√2', () => {
    const s = Math.SQRT1_2;
    const a = analyze(['a', 'b', 'c'], Float32Array.from([1, 0, 0, 1, s, s]), 2);
    const sim = Array.from(a.similarity);
    expect(sim[0]).toBe(1);
    expect(sim[1]).toBe(0);
    expect(sim[2]).toBeCloseTo(s, 6);
    expect(sim[5]).toBeCloseTo(s, 6);
    expect(sim[7]).toBeCloseTo(s, 6); // symmetric
    expect(a.cv).toBeNull();
    // Three points on a line through the origin's circle: PCA keeps their pairwise distances (2 components of 2-d).
    const d = (i: number, j: number) =>
      Math.hypot(a.projection[2 * i]! - a.projection[2 * j]!, a.projection[2 * i + 1]! - a.projection[2 * j + 1]!);
    expect(d(0, 1)).toBeCloseTo(Math.SQRT2, 6);
    expect(d(0, 2)).toBeCloseTo(Math.hypot(1 - s, s), 6);
  });
  it('anchors: nearest by largest cosine, active = distinct nearest, one projection for both', () => {
    const s = Math.SQRT1_2;
    // Sentences e1, e2, (e1 + e2)/√2, −e1; anchors A1 = e1, A2 = e2, A3 = −e2. Ties go to the first anchor:
    // (e1 + e2)/√2 has cosine √½ with A1 and A2 → A1; −e1 has −1, 0, 0 → A2.
    const rows = Float32Array.from([1, 0, 0, 1, s, s, -1, 0]);
    const anchors = Float64Array.from([1, 0, 0, 1, 0, -1]);
    const a = analyze(['a', 'b', 'c', 'd'], rows, 2, anchors);
    expect(Array.from(a.nearest)).toEqual([0, 1, 0, 1]);
    expect(a.activeAnchors).toBe(2);
    expect(a.anchorProjection).toHaveLength(6);
    // PCA of 7 points in 2-d keeps all distances: sentence 1 (e1) sits exactly on anchor A1.
    expect(
      Math.hypot(a.projection[0]! - a.anchorProjection[0]!, a.projection[1]! - a.anchorProjection[1]!),
    ).toBeLessThan(1e-6);
    expect(analyze(['a'], rows.subarray(0, 2), 2).activeAnchors).toBe(0);
  });

  it(`pentachoron CV from ${MIN_CV_SENTENCES} sentences on; seeded, so repeatable`, () => {
    const rows = new Float32Array(6 * 8);
    for (let i = 0; i < 6; i++) rows[i * 8 + i] = 1; // 6 orthonormal rows: every simplex has the same volume
    const a = analyze(['1', '2', '3', '4', '5', '6'], rows, 8);
    expect(a.cv).toBeCloseTo(0, 6);
    expect(analyze(['1', '2', '3', '4', '5'], rows.subarray(0, 40), 8).cv).toBeNull();
    expect(a.effectiveDimension).toBeGreaterThan(4.9); // 6 centred orthonormal points span 5 equal directions
    expect(a.effectiveDimension).toBeLessThan(5.0001);
  });
});

describe('render', () => {
  it('heatmap: n² cells with exact data-value, 4 decimals shown up to 12 sentences, escaped titles', () => {
    const svg = heatmapSvg(['<a>', 'b'], Float64Array.from([1, 0.123456, 0.123456, 1]));
    expect(svg.match(/<g class="cell"/g)).toHaveLength(4);
    expect(svg).toContain('data-i="0" data-j="1" data-value="0.123456"');
    expect(svg).toContain('>0.1235</text>');
    expect(svg).toContain('1. &lt;a&gt;');
    expect(svg).not.toContain('<a>');
    const big = heatmapSvg(
      Array.from({ length: 13 }, (_, i) => `s${i}`),
      new Float64Array(169),
    );
    expect(big.match(/<g class="cell"/g)).toHaveLength(169);
    expect(big).not.toContain('0.0000</text>');
    expect(formatSimilarity(-0.00004)).toBe('-0.0000');
  });
  it('colours: white at 0, red at 1, blue at −1', () => {
    expect([similarityColor(0), similarityColor(1), similarityColor(-1), similarityColor(2)]).toEqual([
      'rgb(255,255,255)',
      'rgb(214,39,40)',
      'rgb(31,119,180)',
      'rgb(214,39,40)',
    ]);
  });
  it('projection: one labelled point per sentence and one diamond per anchor inside the square', () => {
    const svg = projectionSvg(
      ['a', 'b', 'c'],
      Float64Array.from([0, 0, 1, 0, 0, 1]),
      100,
      Float64Array.from([2, 2, -1, -1]),
      Int32Array.from([1, 0, 0]),
    );
    expect(svg.match(/<g class="point"/g)).toHaveLength(3);
    expect(svg.match(/<g class="anchor"/g)).toHaveLength(2);
    expect(svg).toContain('data-i="0" data-nearest="1"');
    expect(svg).toContain('nearest anchor A2');
    expect(svg.match(/<line /g)).toHaveLength(3);
    for (const m of svg.matchAll(/cx="([\d.]+)" cy="([\d.]+)"/g)) {
      expect(Number(m[1])).toBeGreaterThanOrEqual(0);
      expect(Number(m[2])).toBeLessThanOrEqual(100);
    }
  });
});
