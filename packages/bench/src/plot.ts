// A dependency-free SVG scatter plot of gold score (x) against predicted similarity (y).

export interface ScatterOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Horizontal jitter as a fraction of the x range, for discrete gold values (e.g. MRPC 0/1). Default 0. */
  jitter?: number;
  /** Extra line under the title, e.g. "Spearman 78.10". */
  subtitle?: string;
}

/** `&`, `<`, `>`, `"` as entities (SVG text and double-quoted attributes; the HTML report too). @internal */
export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** "Nice" tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toFixed(12)));
  return ticks;
}

const fmt = (v: number): string => {
  const s =
    Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
  return s;
};

/** Deterministic pseudo-random in [0, 1) from an integer (for jitter). */
const hash01 = (i: number): number => {
  let x = (i + 1) * 0x9e3779b1;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  return (x >>> 0) / 2 ** 32;
};

/**
 * A self-contained SVG (no scripts, no external resources) with axes, ticks, axis labels, a title
 * and one circle per (gold, predicted) pair. Non-finite pairs are skipped.
 */
export function svgScatter(
  gold: readonly number[],
  predicted: readonly number[],
  options: ScatterOptions = {},
): string {
  if (gold.length !== predicted.length) {
    throw new Error(`svgScatter: gold has ${gold.length} values but predicted has ${predicted.length}`);
  }
  const width = options.width ?? 480;
  const height = options.height ?? 400;
  const m = { left: 60, right: 20, top: options.subtitle ? 52 : 36, bottom: 50 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;

  const pts: [number, number][] = [];
  for (let i = 0; i < gold.length; i++) {
    const x = gold[i]!;
    const y = predicted[i]!;
    if (Number.isFinite(x) && Number.isFinite(y)) pts.push([x, y]);
  }
  const range = (vals: number[]): [number, number] => {
    if (vals.length === 0) return [0, 1];
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    if (lo === hi) {
      lo -= 0.5;
      hi += 0.5;
    }
    const pad = (hi - lo) * 0.04;
    return [lo - pad, hi + pad];
  };
  const [x0, x1] = range(pts.map((p) => p[0]));
  const [y0, y1] = range(pts.map((p) => p[1]));
  const sx = (v: number): number => m.left + ((v - x0) / (x1 - x0)) * pw;
  const sy = (v: number): number => m.top + ph - ((v - y0) / (y1 - y0)) * ph;
  const jitter = (options.jitter ?? 0) * (x1 - x0);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title) {
    out.push(
      `<text class="title" x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">` +
        `${escapeXml(options.title)}</text>`,
    );
  }
  if (options.subtitle) {
    out.push(`<text x="${width / 2}" y="38" text-anchor="middle" fill="#444">${escapeXml(options.subtitle)}</text>`);
  }
  // Axes.
  out.push(`<g class="axes" stroke="#333" stroke-width="1">`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}"/>`);
  out.push(`</g>`);
  // Ticks and grid.
  out.push(`<g class="ticks">`);
  for (const t of niceTicks(x0, x1)) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 17}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eee"/>`);
    out.push(`<line x1="${m.left - 5}" y1="${y}" x2="${m.left}" y2="${y}" stroke="#333"/>`);
    out.push(`<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  out.push(`</g>`);
  out.push(
    `<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle">` +
      `${escapeXml(options.xLabel ?? 'gold score')}</text>`,
  );
  out.push(
    `<text x="14" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${m.top + ph / 2})">` +
      `${escapeXml(options.yLabel ?? 'cosine similarity')}</text>`,
  );
  // Points.
  out.push(`<g class="points" fill="#1f77b4" fill-opacity="0.45">`);
  pts.forEach(([x, y], i) => {
    const jx = jitter === 0 ? 0 : (hash01(i) - 0.5) * jitter;
    out.push(`<circle cx="${sx(x + jx).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5"/>`);
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
