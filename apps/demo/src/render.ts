// SVG for the page: the similarity heatmap and the 2-D projection. Strings in, strings out (tested in Node).

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Cosine in [−1, 1] → a blue (−1) / white (0) / red (1) fill. */
export function similarityColor(c: number): string {
  const t = Math.max(-1, Math.min(1, c));
  const mix = (a: number) => Math.round(255 - (255 - a) * Math.abs(t));
  return t >= 0 ? `rgb(${mix(214)},${mix(39)},${mix(40)})` : `rgb(${mix(31)},${mix(119)},${mix(180)})`;
}

/** Shown numbers: 4 decimals (the cell's `data-value` keeps the full value). */
export const formatSimilarity = (c: number): string => c.toFixed(4);

/**
 * An n × n heatmap: cell (i, j) is a `<g class="cell" data-i data-j data-value>` with a `<title>` naming both
 * sentences; with 12 sentences or fewer the value is written in the cell.
 */
export function heatmapSvg(sentences: readonly string[], similarity: Float64Array): string {
  const n = sentences.length;
  const cell = Math.max(14, Math.min(64, Math.floor(560 / Math.max(n, 1))));
  const label = 28;
  const size = label + n * cell;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(`<text class="axis" x="${label - 6}" y="${label + i * cell + cell / 2 + 4}" text-anchor="end">${i + 1}</text>`);
    parts.push(`<text class="axis" x="${label + i * cell + cell / 2}" y="${label - 8}" text-anchor="middle">${i + 1}</text>`);
    for (let j = 0; j < n; j++) {
      const v = similarity[i * n + j]!;
      const x = label + j * cell;
      const y = label + i * cell;
      const text = n <= 12 ? `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" class="${Math.abs(v) > 0.6 ? 'dark' : ''}">${formatSimilarity(v)}</text>` : '';
      parts.push(
        `<g class="cell" data-i="${i}" data-j="${j}" data-value="${v}"><title>${esc(`${i + 1}. ${sentences[i]}\n${j + 1}. ${sentences[j]}\ncosine ${formatSimilarity(v)}`)}</title>` +
          `<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="${similarityColor(v)}"/>${text}</g>`,
      );
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" role="img" aria-label="cosine similarity heatmap">${parts.join('')}</svg>`;
}

/** The n points of `xy` (n × 2) scaled into a square, each labelled with its sentence number. */
export function projectionSvg(sentences: readonly string[], xy: Float64Array, size = 360): string {
  const n = sentences.length;
  const pad = 28;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of xy) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi > lo ? hi - lo : 1;
  const mid = (hi + lo) / 2;
  const map = (v: number) => size / 2 + ((v - mid) / span) * (size - 2 * pad);
  const dots: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = map(xy[2 * i]!);
    const y = size - map(xy[2 * i + 1]!);
    dots.push(
      `<g class="point" data-i="${i}"><title>${esc(`${i + 1}. ${sentences[i]}`)}</title><circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="5"/>` +
        `<text x="${(x + 8).toFixed(1)}" y="${(y + 4).toFixed(1)}">${i + 1}</text></g>`,
    );
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" role="img" aria-label="2-D PCA projection">` +
    `<rect class="frame" x="0.5" y="0.5" width="${size - 1}" height="${size - 1}"/>${dots.join('')}</svg>`
  );
}
