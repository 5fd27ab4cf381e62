// The glfm recipe's drift plot: four panels over epochs (the fraction of anchors near 0.29154, the structural /
// semantic split, gate and routing fraction, the drift histogram as a heat map), drawn into an 8-bit grayscale
// raster and written with @geolip/train's `encodeGrayPng`. A 3×5 pixel font (scaled 2×) labels titles and axes, so
// no font or canvas dependency is needed.
import { DRIFT_HISTOGRAM_EDGES } from '@geolip/diffusion';

/** One epoch's numbers (the recipe's eval record). */
export interface DriftPoint {
  /** Epochs done (step / steps per epoch; fractional after `--steps`). */
  epoch: number;
  metrics: Readonly<Record<string, number | null | undefined>>;
}

/** A curve of a panel: its metric key, its name in the legend and its gray level (0 black). */
export interface DriftSeries {
  key: string;
  name: string;
  gray: number;
}

/** Plot-area size of each panel and the margins around it, pixels. */
export const DRIFT_PLOT_LAYOUT = Object.freeze({
  plotWidth: 240,
  /** 21 histogram bins × 6 pixels. */
  plotHeight: 126,
  left: 28,
  top: 18,
  right: 10,
  bottom: 16,
});

/** Panels in reading order (2 × 2): title and curves (v4 adds the coarse / fine curves of panel 0). */
const DRIFT_PLOT_PANELS: readonly { title: string; series: readonly DriftSeries[] }[] = Object.freeze([
  { title: 'NEAR 0.29154 +-0.05', series: [{ key: 'near_binding', name: 'ALL', gray: 0 }] },
  {
    title: 'STRUCTURAL / SEMANTIC',
    series: [
      { key: 'structural_fraction', name: 'STRUCTURAL', gray: 0 },
      { key: 'semantic_fraction', name: 'SEMANTIC', gray: 150 },
    ],
  },
  {
    title: 'GATE / ROUTING',
    series: [
      { key: 'gate', name: 'GATE', gray: 0 },
      { key: 'routing_weight', name: 'WEIGHT', gray: 100 },
      { key: 'routing_energy', name: 'ENERGY', gray: 170 },
    ],
  },
  { title: 'DRIFT HISTOGRAM', series: [] },
]);

const GLYPHS: Record<string, string> = {
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '111001111100111',
  '3': '111001111001111',
  '4': '101101111001001',
  '5': '111100111001111',
  '6': '111100111101111',
  '7': '111001001010010',
  '8': '111101111101111',
  '9': '111101111001111',
  '.': '000000000000010',
  '-': '000000111000000',
  '+': '000010111010000',
  '/': '001001010100100',
  A: '010101111101101',
  B: '110101110101110',
  C: '111100100100111',
  D: '110101101101110',
  E: '111100111100111',
  F: '111100111100100',
  G: '111100101101111',
  H: '101101111101101',
  I: '111010010010111',
  K: '101101110101101',
  L: '100100100100111',
  M: '101111101101101',
  N: '110101101101101',
  O: '111101101101111',
  P: '111101111100100',
  R: '110101110101101',
  S: '111100111001111',
  T: '111010010010010',
  U: '101101101101111',
  V: '101101101101010',
  W: '101101111111101',
  X: '101101010101101',
  Y: '101101010010010',
};

/** A grayscale raster, white by default. */
class Raster {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height).fill(255);
  }
  set(x: number, y: number, gray: number): void {
    if (x >= 0 && y >= 0 && x < this.width && y < this.height) this.pixels[y * this.width + x] = gray;
  }
  rect(x: number, y: number, w: number, h: number, gray: number): void {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.set(i, j, gray);
  }
  /** Bresenham line. */
  line(x0: number, y0: number, x1: number, y1: number, gray: number): void {
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      this.set(x0, y0, gray);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }
  /** Text in the 3×5 font at scale 2 (8 pixels per character), top-left at (x, y). */
  text(x: number, y: number, s: string, gray = 0): void {
    for (const [k, ch] of [...s.toUpperCase()].entries()) {
      const g = GLYPHS[ch];
      if (!g) continue;
      for (let r = 0; r < 5; r++)
        for (let c = 0; c < 3; c++) if (g[r * 3 + c] === '1') this.rect(x + k * 8 + c * 2, y + r * 2, 2, 2, gray);
    }
  }
}

/** Top-left corner of panel `index`'s plot area (panels 2 × 2, reading order). */
export function panelOrigin(index: number): { x: number; y: number } {
  const L = DRIFT_PLOT_LAYOUT;
  const col = index % 2;
  const row = Math.floor(index / 2);
  return {
    x: col * (L.left + L.plotWidth + L.right) + L.left,
    y: row * (L.top + L.plotHeight + L.bottom) + L.top,
  };
}

/** Rows kept free above 1 and below 0, so curves at 0 or 1 stay clear of the frame. */
const CURVE_PAD = 3;

/**
 * The pixel of epoch `i` of `n` at value v ∈ [0, 1] (clamped) in panel `index`: x spans the width (one epoch: the
 * middle), v = 0 three rows above the bottom row, v = 1 three rows below the top.
 */
export function plotPoint(index: number, i: number, n: number, value: number): { x: number; y: number } {
  const L = DRIFT_PLOT_LAYOUT;
  const o = panelOrigin(index);
  const fx = n === 1 ? 0.5 : i / (n - 1);
  const v = Math.min(1, Math.max(0, value));
  return {
    x: o.x + Math.round(fx * (L.plotWidth - 1)),
    y: o.y + L.plotHeight - 1 - CURVE_PAD - Math.round(v * (L.plotHeight - 1 - 2 * CURVE_PAD)),
  };
}

function label(epoch: number): string {
  return Number.isInteger(epoch) ? String(epoch) : epoch.toFixed(2);
}

/**
 * Draws the drift plot of a run's epochs (at least one): 2 × 2 panels of {@link DRIFT_PLOT_LAYOUT}, a legend under
 * each axis (each name in its curve's gray); `extraSeries` are more curves of the first panel. Curves are drawn
 * point to point with a 3×3 marker on each epoch; missing or non-finite values are skipped. The histogram panel
 * has one column per epoch and one 6-pixel row per bin of `DRIFT_HISTOGRAM_EDGES` (0 rad at the bottom, the ≥ 1 rad
 * bin at the top), darker for a larger fraction (gray = 255·(1 − fraction / the largest fraction)), with a dotted
 * line at 0.29154 rad.
 * @returns the raster `{ width, height, pixels }` (row-major bytes, 0 black) for `encodeGrayPng`.
 * @throws {RangeError} If `points` is empty.
 */
export function drawDriftPlot(
  points: readonly DriftPoint[],
  extraSeries: readonly DriftSeries[] = [],
): { width: number; height: number; pixels: Uint8Array } {
  if (points.length === 0) throw new RangeError("drawDriftPlot: 'points' must hold at least one epoch");
  const L = DRIFT_PLOT_LAYOUT;
  const width = 2 * (L.left + L.plotWidth + L.right);
  const height = 2 * (L.top + L.plotHeight + L.bottom);
  const r = new Raster(width, height);
  const n = points.length;
  DRIFT_PLOT_PANELS.forEach((panel, index) => {
    const o = panelOrigin(index);
    r.text(o.x, o.y - 14, panel.title);
    // Frame, y labels 0 and 1, x labels of the first and last epoch.
    r.line(o.x - 1, o.y - 1, o.x + L.plotWidth, o.y - 1, 0);
    r.line(o.x - 1, o.y + L.plotHeight, o.x + L.plotWidth, o.y + L.plotHeight, 0);
    r.line(o.x - 1, o.y - 1, o.x - 1, o.y + L.plotHeight, 0);
    r.line(o.x + L.plotWidth, o.y - 1, o.x + L.plotWidth, o.y + L.plotHeight, 0);
    if (index === 3) {
      r.text(o.x - 18, o.y, '1+');
      r.text(o.x - 10, o.y + L.plotHeight - 10, '0');
    } else {
      r.text(o.x - 10, o.y, '1');
      r.text(o.x - 10, o.y + L.plotHeight - 10, '0');
    }
    r.text(o.x, o.y + L.plotHeight + 4, label(points[0]!.epoch));
    const last = label(points[n - 1]!.epoch);
    r.text(o.x + L.plotWidth - 8 * last.length, o.y + L.plotHeight + 4, last);
    if (index === 3) {
      drawHistogram(r, points, o);
      return;
    }
    const series = index === 0 ? [...extraSeries, ...panel.series] : panel.series; // the main curve on top
    // Legend under the axis, between the epoch labels, each name in its curve's gray.
    let lx = o.x + 32;
    for (const s of index === 0 ? [...panel.series, ...extraSeries] : series) {
      r.text(lx, o.y + L.plotHeight + 4, s.name, s.gray);
      lx += 8 * (s.name.length + 1);
    }
    let drawn = 0;
    for (const s of series) {
      let prev: { x: number; y: number } | null = null;
      points.forEach((p, i) => {
        const v = p.metrics[s.key];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          prev = null;
          return;
        }
        const q = plotPoint(index, i, n, v);
        if (prev) r.line(prev.x, prev.y, q.x, q.y, s.gray);
        r.rect(q.x - 1, q.y - 1, 3, 3, s.gray);
        prev = q;
        drawn++;
      });
    }
    if (drawn === 0) r.text(o.x + 8, o.y + 8, 'NONE');
  });
  return { width, height, pixels: r.pixels };
}

function drawHistogram(r: Raster, points: readonly DriftPoint[], o: { x: number; y: number }): void {
  const L = DRIFT_PLOT_LAYOUT;
  const bins = DRIFT_HISTOGRAM_EDGES.length;
  const rowH = L.plotHeight / bins;
  const n = points.length;
  const cells = points.map((p) =>
    Array.from({ length: bins }, (_, b) => {
      const v = p.metrics[`drift_hist_${String(b).padStart(2, '0')}`];
      return typeof v === 'number' && Number.isFinite(v) ? v : 0;
    }),
  );
  const max = Math.max(1e-12, ...cells.flat());
  cells.forEach((col, i) => {
    const x0 = o.x + Math.floor((i * L.plotWidth) / n);
    const x1 = o.x + Math.floor(((i + 1) * L.plotWidth) / n);
    col.forEach((v, b) => {
      const gray = Math.round(255 * (1 - v / max));
      r.rect(x0, o.y + L.plotHeight - (b + 1) * rowH, x1 - x0, rowH, gray);
    });
  });
  // 0.29154 rad: bins are 0.05 rad and 6 pixels tall.
  const y = o.y + L.plotHeight - 1 - Math.round((0.29154 / 0.05) * rowH);
  for (let x = o.x; x < o.x + L.plotWidth; x += 4) r.set(x, y, 128);
}
