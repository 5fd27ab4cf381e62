// The glfm drift plot: size, panel geometry, curve pixels at hand-computed positions, the histogram heat map, and
// the eval records of metrics.jsonl read back as plot points (the PNG decoded with node:zlib).
import { describe, expect, it } from 'vitest';

import { encodeGrayPng } from '@geolip/train';

import { DRIFT_PLOT_LAYOUT, drawDriftPlot, panelOrigin, plotPoint } from '../src/recipes/glfm-plot.js';
import { readDriftPoints } from '../src/recipes/glfm.js';
import { decodeGrayPng } from './png.js';

const hist = (bin: number): Record<string, number> =>
  Object.fromEntries(
    Array.from({ length: 21 }, (_, i) => [`drift_hist_${String(i).padStart(2, '0')}`, i === bin ? 1 : 0]),
  );

describe('drawDriftPlot', () => {
  it('2 × 2 panels of 240 × 126 with margins: 556 × 320; origins and point mapping by hand', () => {
    expect(DRIFT_PLOT_LAYOUT).toMatchObject({
      plotWidth: 240,
      plotHeight: 126,
      left: 28,
      top: 18,
      right: 10,
      bottom: 16,
    });
    expect([0, 1, 2, 3].map(panelOrigin)).toEqual([
      { x: 28, y: 18 },
      { x: 306, y: 18 }, // 28 + 240 + 10 + 28
      { x: 28, y: 178 }, // 18 + 126 + 16 + 18
      { x: 306, y: 178 },
    ]);
    // Epoch 0 of 3 at value 0: left edge, 3 rows above the bottom row (18 + 125 − 3); epoch 2 of 3 at 1: right edge
    // (28 + 239), 3 rows below the top (18 + 3); 0.5: 18 + 122 − round(0.5·119) = 80.
    expect(plotPoint(0, 0, 3, 0)).toEqual({ x: 28, y: 140 });
    expect(plotPoint(0, 2, 3, 1)).toEqual({ x: 267, y: 21 });
    expect(plotPoint(0, 1, 3, 0.5)).toEqual({ x: 28 + 120, y: 80 }); // round(119.5) = 120
    expect(plotPoint(1, 0, 1, 2)).toEqual({ x: 306 + 120, y: 21 }); // one epoch: centred; values clamp to [0, 1]
  });

  it('curves at their values, the histogram cells by fraction, decoded from the PNG', () => {
    const points = [
      { epoch: 1, metrics: { near_binding: 0, structural_fraction: 1, semantic_fraction: 0, gate: 0.25, ...hist(0) } },
      {
        epoch: 2,
        metrics: { near_binding: 0.5, structural_fraction: 0.5, semantic_fraction: 0.5, gate: 0.5, ...hist(6) },
      },
    ];
    const plot = drawDriftPlot(points);
    const png = decodeGrayPng(encodeGrayPng(plot.width, plot.height, plot.pixels));
    expect([png.width, png.height]).toEqual([556, 320]);
    const at = (p: { x: number; y: number }) => png.pixels[p.y * png.width + p.x];
    expect(at(plotPoint(0, 0, 2, 0))).toBe(0); // near_binding, black
    expect(at(plotPoint(0, 1, 2, 0.5))).toBe(0);
    expect(at(plotPoint(1, 0, 2, 1))).toBe(0); // structural, black
    expect(at(plotPoint(1, 0, 2, 0))).toBe(150); // semantic, gray 150
    expect(at(plotPoint(2, 1, 2, 0.5))).toBe(0); // gate
    // Midway between the two near_binding markers the line passes through (x 147/148, value 0.25).
    const mid = plotPoint(0, 0, 2, 0.25);
    const column = Array.from({ length: 126 }, (_, j) => png.pixels[(18 + j) * png.width + mid.x + 120]);
    expect(column.some((v) => v === 0)).toBe(true);
    // Histogram: epoch 1 (left half) is all in bin 0 (bottom 6 rows), epoch 2 in bin 6 (rows 36–41 from the bottom).
    const o = panelOrigin(3);
    const cell = (x: number, bin: number) => png.pixels[(o.y + 126 - 6 * bin - 3) * png.width + o.x + x];
    expect(cell(10, 0)).toBe(0);
    expect(cell(10, 6)).toBe(255);
    expect(cell(130, 6)).toBe(0);
    expect(cell(130, 0)).toBe(255);
    // Outside the plot areas and text: white.
    expect(png.pixels[319 * png.width + 555]).toBe(255);
  });

  it('needs at least one epoch', () => {
    expect(() => drawDriftPlot([])).toThrow(/drawDriftPlot: 'points'/);
  });
});

describe('readDriftPoints', () => {
  it('eval records only, the last one of each step, sorted; epoch = step / steps per epoch', () => {
    const text = [
      { type: 'step', step: 1, loss: 1 },
      { type: 'eval', step: 8, metrics: { near_binding: 0.2 } },
      { type: 'eval', step: 4, metrics: { near_binding: 0.1 } },
      { type: 'eval', step: 8, metrics: { near_binding: 0.3 } },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    expect(readDriftPoints(`${text}\n`, 4)).toEqual([
      { epoch: 1, metrics: { near_binding: 0.1 } },
      { epoch: 2, metrics: { near_binding: 0.3 } },
    ]);
  });
});
