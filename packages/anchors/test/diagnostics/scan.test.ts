import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, NonFiniteError, ShapeError, normalize, sampleSphere } from '@geolip/geometry';
import { beforeAll, describe, expect, it } from 'vitest';

import { type ScanReport, formatScan, scan, scanAsync } from '../../src/diagnostics/index.js';

const N = 512;
const D = 16;
/** Uniform on S^15 (seed 1: its sampled CV, 0.2085, sits inside the 0.20–0.23 band; §2.2 says ≈ 0.20). */
let sphere: tf.Tensor2D;
let anchors: tf.Tensor2D;
const labels = Array.from({ length: N }, (_, i) => i % 4);

beforeAll(() => {
  sphere = sampleSphere(N, D, { seed: 1 });
  anchors = sampleSphere(64, D, { seed: 100 });
});

/** The report without the fields that legitimately differ when rows are removed. */
function metrics(r: ScanReport): Omit<ScanReport, 'n' | 'nonFiniteRows'> {
  const { n: _n, nonFiniteRows: _bad, ...rest } = r;
  return rest;
}

describe('scan', () => {
  let report: ScanReport;
  beforeAll(() => {
    report = scan(sphere, { labels, anchors, name: 'random S^15' });
  });

  it('measures random points on S^15 as the spec says: CV ≈ 0.20 in band, eff dim ≈ 16, 1-NN ≈ chance', () => {
    expect(report.name).toBe('random S^15');
    expect([report.n, report.d, report.rows, report.nonFiniteRows]).toEqual([N, D, N, 0]);
    expect(report.norms.mean).toBeCloseTo(1, 6);
    expect(report.norms.min).toBeCloseTo(1, 6);
    expect(report.norms.max).toBeCloseTo(1, 6);
    expect(Math.abs(report.selfSimilarity.mean)).toBeLessThan(0.01); // E⟨u, v⟩ = 0, sd ≈ 1/(4·√(N²/2))
    expect(report.selfSimilarity.max).toBeGreaterThan(0.6);
    expect(report.selfSimilarity.max).toBeLessThan(1);

    expect(report.cv.cv).toBeGreaterThan(0.19);
    expect(report.cv.cv).toBeLessThan(0.22);
    expect(report.cv).toMatchObject({ valid: 200, total: 200, inBand: true });

    expect(report.effectiveDimension).toBeGreaterThan(15.5);
    expect(report.effectiveDimension).toBeLessThanOrEqual(16);

    const l = report.labels!;
    expect(l.classes).toBe(4);
    expect(l.chance).toBeCloseTo((4 * 128 * 127) / (512 * 511), 12);
    expect(Math.abs(l.knnAccuracy - 0.25)).toBeLessThan(0.06); // 3.2 binomial sd at N = 512
    expect(Math.abs(l.gap)).toBeLessThan(0.01);
    expect(l.gap).toBeCloseTo(l.same - l.diff, 12);
    expect(l.smallClasses).toBe(0);
    expect(l.classCV.map((c) => [c.label, c.count, c.total])).toEqual([
      [0, 128, 200],
      [1, 128, 200],
      [2, 128, 200],
      [3, 128, 200],
    ]);
    for (const c of l.classCV) {
      expect(Math.abs(c.cv - 0.2)).toBeLessThan(0.03);
      expect(c.inBand).toBe(c.cv >= 0.2 && c.cv <= 0.23);
    }

    const a = report.anchors!;
    expect(a.count).toBe(64);
    expect(a.cv!.total).toBe(200);
    expect(Math.abs(a.cv!.cv - 0.2)).toBeLessThan(0.03);
    expect(a.counts.reduce((s, c) => s + c, 0)).toBe(N);
    expect(a.active).toBeGreaterThan(55);
    expect(a.entropy).toBeGreaterThan(90);
    expect(a.entropy).toBeLessThanOrEqual(100);
    expect(a.gini).toBeGreaterThan(0);
    expect(a.gini).toBeLessThan(0.4);
  });

  it('formats the report as aligned lines', () => {
    const text = formatScan(report);
    const lines = text.split('\n');
    expect(lines[0]).toBe('SCAN random S^15');
    expect(lines).toContain('  N × D          512 × 16');
    expect(lines).toContain('  non-finite     0 rows');
    expect(lines).toContain(`  eff_dim        ${report.effectiveDimension.toFixed(2)} / 16`);
    expect(text).toMatch(/^ {2}eff_dim {8}15\.\d\d \/ 16$/m);
    expect(lines).toContain(`  CV (global)    ${report.cv.cv.toFixed(4)} [200/200 valid] ✓ in band 0.20–0.23`);
    expect(text).toMatch(/^ {2}norms {10}mean 1\.0000 {2}min 1\.0000 {2}max 1\.0000$/m);
    expect(text).toMatch(/^ {2}self-sim {7}mean -?0\.\d{4} {2}max 0\.\d{4}$/m);
    for (const c of report.labels!.classCV) {
      expect(lines).toContain(
        `  CV class ${c.label}     ${c.cv.toFixed(4)} [200/200 valid] ${c.inBand ? '✓ in band' : '✗ out of band'} 0.20–0.23  (n=128)`,
      );
    }
    expect(text).toMatch(/^ {2}anchor CV {6}0\.\d{4} \[200\/200 valid\] [✓✗] (in|out of) band 0\.20–0\.23$/m);
    expect(lines).toContain(
      `  anchor use     active ${report.anchors!.active}/64  entropy ${report.anchors!.entropy.toFixed(1)}%  gini ${report.anchors!.gini.toFixed(4)}`,
    );
    expect(text).toMatch(/^ {2}1-NN acc {7}0\.\d{4} {2}\(chance 0\.2485, 4 classes\)$/m);
    expect(text).toMatch(/^ {2}same\/diff {6}same -?0\.\d{4} {2}diff -?0\.\d{4} {2}gap -?0\.\d{4}$/m);
    // Every metric line has its label in a 15-character column after a 2-space indent.
    for (const line of lines.slice(1)) expect(line).toMatch(/^ {2}\S.{13} \S/);
  });

  it('excludes NaN/Inf rows: the metrics equal those of the finite rows alone', () => {
    const rows = sphere.arraySync();
    const nanRow = Array.from({ length: D }, (_, j) => (j === 3 ? NaN : 0.25));
    const infRow = Array.from({ length: D }, () => Infinity);
    const poisoned = tf.tensor2d([...rows.slice(0, 5), nanRow, ...rows.slice(5, 300), infRow, ...rows.slice(300)]);
    const poisonedLabels = [...labels.slice(0, 5), 7, ...labels.slice(5, 300), 2, ...labels.slice(300)];
    const bad = scan(poisoned, { labels: poisonedLabels, anchors, name: 'random S^15' });
    expect(bad.n).toBe(N + 2);
    expect(bad.nonFiniteRows).toBe(2);
    expect(bad.rows).toBe(N);
    expect(metrics(bad)).toEqual(metrics(report));
    expect(formatScan(bad)).toContain('  non-finite     2 rows (excluded)');
    poisoned.dispose();
  });

  it('is the same sync and async, and leaks no tensors', async () => {
    const source = { normalizedAnchors: () => normalize(anchors) as tf.Tensor2D };
    const before = tf.memory().numTensors;
    const sync = scan(sphere, { labels, anchors: source, name: 'random S^15' });
    expect(tf.memory().numTensors).toBe(before);
    const viaAsync = await scanAsync(sphere, { labels, anchors: source, name: 'random S^15' });
    expect(tf.memory().numTensors).toBe(before);
    expect(viaAsync).toEqual(sync);
    // The object source gives the same report as the tensor (up to float32 rounding of the normalization).
    expect(sync.anchors!.counts).toEqual(report.anchors!.counts);
    expect(sync.anchors!.cv!.cv).toBeCloseTo(report.anchors!.cv!.cv, 6);
  });

  it('leaves out the anchor and label parts when not asked for, and honours samples and seed', () => {
    const plain = scan(sphere, { samples: 50, seed: 3 });
    expect(plain.anchors).toBeNull();
    expect(plain.labels).toBeNull();
    expect(plain.name).toBeNull();
    expect(plain.cv.total).toBe(50);
    const text = formatScan(plain);
    expect(text.split('\n')[0]).toBe('SCAN');
    expect(text).not.toMatch(/anchor|1-NN|same\/diff|CV class/);
    expect(plain.effectiveDimension).toBe(report.effectiveDimension);
  });

  it('handles small classes, a few anchors and too few rows without throwing', () => {
    const e = sampleSphere(12, 6, { seed: 7 });
    const small = scan(e, { labels: [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2], anchors: sampleSphere(3, 6, { seed: 8 }) });
    expect(small.labels!.classCV.map((c) => c.label)).toEqual([0]);
    expect(small.labels!.smallClasses).toBe(2);
    expect(small.anchors!.cv).toBeNull();
    const text = formatScan(small);
    expect(text).toContain('  classes < 5    2 without a CV');
    expect(text).toContain('  anchor CV      n/a (A = 3 < 5)');

    const tiny = scan(
      tf.tensor2d([
        [1, 0],
        [0, 1],
        [1, 1],
      ]),
      { labels: [0, 1, 0] },
    );
    expect(tiny.cv).toEqual({ cv: NaN, valid: 0, total: 0, inBand: false });
    expect(formatScan(tiny)).toContain('  CV (global)    NaN [0/0 valid] ✗ out of band 0.20–0.23');

    const allBad = scan(
      tf.tensor2d([
        [NaN, 0],
        [0, Infinity],
      ]),
      {
        labels: [0, 1],
        anchors: tf.tensor2d([
          [1, 0],
          [0, 1],
        ]),
      },
    );
    expect(allBad.rows).toBe(0);
    expect(allBad.nonFiniteRows).toBe(2);
    expect(
      Number.isNaN(allBad.norms.mean) &&
        Number.isNaN(allBad.selfSimilarity.mean) &&
        Number.isNaN(allBad.labels!.knnAccuracy),
    ).toBe(true);
    expect(allBad.anchors!.active).toBe(0);
    expect(() => formatScan(allBad)).not.toThrow();
  });

  it('checks its arguments, naming them', async () => {
    const e = tf.tensor2d([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(() => scan(e, { labels: [0, 1, 2] })).toThrow(ShapeError);
    expect(() => scan(e, { labels: [0, 1, 2] })).toThrow(/scan: 'labels' must have shape \[N=2\], got \[3\]/);
    expect(() => scan(e, { labels: [0, 0.5] })).toThrow(/scan: 'labels' must hold integers, got 0.5 at index 1/);
    expect(() =>
      scan(e, {
        anchors: tf.tensor2d([
          [1, 0],
          [0, 1],
        ]),
      }),
    ).toThrow(/scan: 'anchors' must have shape \[A, D=3\], got \[2, 2\]/);
    expect(() => scan(e, { anchors: tf.tensor2d([[1, 0, 0]]) })).toThrow(
      /scan: 'anchors' must have shape \[A, D=3\] with A ≥ 2, got \[1, 3\]/,
    );
    expect(() => scan(tf.tensor1d([1, 2]) as never)).toThrow(/scan: 'embeddings' must have shape \[N, D\], got \[2\]/);
    expect(() => scan(e, { samples: 1 })).toThrow(InvalidArgumentError);
    expect(() => scan(e, { seed: -1 })).toThrow(/scan: 'seed' must be an integer >= 0/);
    expect(() =>
      scan(e, {
        anchors: tf.tensor2d([
          [NaN, 0, 0],
          [0, 1, 0],
        ]),
      }),
    ).toThrow(NonFiniteError);
    await expect(scanAsync(e, { labels: [0] })).rejects.toThrow(
      /scanAsync: 'labels' must have shape \[N=2\], got \[1\]/,
    );
    expect(() => formatScan(null as never)).toThrow(/formatScan: 'report'/);
  });

  it('doc example', () => {
    const e = sampleSphere(512, 16, { seed: 1 });
    const r = scan(e, { labels: Array.from({ length: 512 }, (_, i) => i % 4), name: 'random S^15' });
    expect(r.cv.valid).toBe(200);
    expect(r.cv.total).toBe(200);
    expect(r.cv.inBand).toBe(true);
    expect(r.cv.cv).toBeCloseTo(0.2085, 3);
    expect(formatScan(r).split('\n')[0]).toBe('SCAN random S^15');
  });
});
