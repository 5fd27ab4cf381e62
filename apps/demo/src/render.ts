// SVG for the page: the similarity heatmap and the 2-D projection. Strings in, strings out (tested in Node).

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

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
    parts.push(
      `<text class="axis" x="${label - 6}" y="${label + i * cell + cell / 2 + 4}" text-anchor="end">${i + 1}</text>`,
    );
    parts.push(
      `<text class="axis" x="${label + i * cell + cell / 2}" y="${label - 8}" text-anchor="middle">${i + 1}</text>`,
    );
    for (let j = 0; j < n; j++) {
      const v = similarity[i * n + j]!;
      const x = label + j * cell;
      const y = label + i * cell;
      const text =
        n <= 12
          ? `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" ` +
            `class="${Math.abs(v) > 0.6 ? 'dark' : ''}">${formatSimilarity(v)}</text>`
          : '';
      const title = `${i + 1}. ${sentences[i]}\n${j + 1}. ${sentences[j]}\ncosine ${formatSimilarity(v)}`;
      parts.push(
        `<g class="cell" data-i="${i}" data-j="${j}" data-value="${v}"><title>${esc(title)}</title>` +
          `<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="${similarityColor(v)}"/>${text}</g>`,
      );
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" ` +
    `role="img" aria-label="cosine similarity heatmap">${parts.join('')}</svg>`
  );
}

/**
 * The n points of `xy` (n × 2) scaled into a square, each labelled with its sentence number, among the K anchors
 * of `anchorXy` (K × 2; gray diamonds A1…AK). `nearest[i]` (optional) names sentence i's nearest anchor in its title
 * and draws a thin line to it.
 */
export function projectionSvg(
  sentences: readonly string[],
  xy: Float64Array,
  size = 360,
  anchorXy: Float64Array = new Float64Array(0),
  nearest: Int32Array = new Int32Array(0),
): string {
  const n = sentences.length;
  const k = anchorXy.length / 2;
  const pad = 28;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of [...xy, ...anchorXy]) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi > lo ? hi - lo : 1;
  const mid = (hi + lo) / 2;
  const map = (v: number) => size / 2 + ((v - mid) / span) * (size - 2 * pad);
  const at = (p: Float64Array, i: number): [number, number] => [map(p[2 * i]!), size - map(p[2 * i + 1]!)];
  const dots: string[] = [];
  for (let a = 0; a < k; a++) {
    const [x, y] = at(anchorXy, a);
    const d = 5;
    dots.push(
      `<g class="anchor" data-a="${a}"><title>anchor A${a + 1}</title>` +
        `<path d="M${x.toFixed(1)} ${(y - d).toFixed(1)}l${d} ${d}l-${d} ${d}l-${d} -${d}z"/>` +
        `<text x="${(x + 7).toFixed(1)}" y="${(y + 4).toFixed(1)}">A${a + 1}</text></g>`,
    );
  }
  for (let i = 0; i < n; i++) {
    const [x, y] = at(xy, i);
    const near = nearest.length > i ? nearest[i]! : -1;
    const link =
      near >= 0
        ? (() => {
            const [ax, ay] = at(anchorXy, near);
            return `<line x1="${x.toFixed(1)}" y1="${y.toFixed(1)}" x2="${ax.toFixed(1)}" y2="${ay.toFixed(1)}"/>`;
          })()
        : '';
    dots.push(
      `<g class="point" data-i="${i}"${near >= 0 ? ` data-nearest="${near}"` : ''}>` +
        `<title>${esc(`${i + 1}. ${sentences[i]}${near >= 0 ? `\nnearest anchor A${near + 1}` : ''}`)}</title>` +
        `${link}<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="5"/>` +
        `<text x="${(x + 8).toFixed(1)}" y="${(y + 4).toFixed(1)}">${i + 1}</text></g>`,
    );
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" ` +
    'role="img" aria-label="2-D PCA projection of the sentences among the anchors">' +
    `<rect class="frame" x="0.5" y="0.5" width="${size - 1}" height="${size - 1}"/>${dots.join('')}</svg>`
  );
}
