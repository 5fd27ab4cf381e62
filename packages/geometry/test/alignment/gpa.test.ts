import { describe, expect, it } from 'vitest';

import fixture from '../fixtures/alignment.json';
import { gpa, procrustes } from '../../src/alignment/index.js';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { det, matmul, matmulTransposeA, qr } from '../../src/linalg/index.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { createRng } from '../../src/random/rng.js';
import { expectTensorClose } from '../../src/testing/index.js';

function randomMatrix(rows: number, cols: number, seed: number, scale = 1): Matrix {
  const rng = createRng(seed);
  const m = new Matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal() * scale;
  return m;
}

function randomRotation(d: number, seed: number): Matrix {
  const { q } = qr(randomMatrix(d, d, seed));
  if (det(q) < 0) for (let i = 0; i < d; i++) q.data[i * d] = -q.data[i * d]!;
  return q;
}

function add(a: Matrix, b: Matrix): Matrix {
  return new Matrix(
    a.rows,
    a.cols,
    a.data.map((v, i) => v + b.data[i]!),
  );
}

function centredUnitRows(m: Matrix): Matrix {
  const { rows, cols } = m;
  const out = m.clone();
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += out.data[i * cols + j]!;
    for (let i = 0; i < rows; i++) out.data[i * cols + j]! -= s / rows;
  }
  for (let i = 0; i < rows; i++) {
    let n = 0;
    for (let j = 0; j < cols; j++) n += out.data[i * cols + j]! ** 2;
    for (let j = 0; j < cols; j++) out.data[i * cols + j]! /= Math.sqrt(n);
  }
  return out;
}

/** Three rotated, shifted, noisy copies of one shape. */
function noisyViews(shape: Matrix, noise: number, seed: number): Matrix[] {
  return [0, 1, 2].map((e) => {
    const view = add(
      matmul(shape, randomRotation(shape.cols, seed + 10 * e)),
      randomMatrix(shape.rows, shape.cols, seed + 10 * e + 1, noise),
    );
    for (let i = 0; i < view.rows; i++) for (let j = 0; j < view.cols; j++) view.data[i * view.cols + j]! += e - 1 + j;
    return view;
  });
}

describe('gpa', () => {
  it('matches the numpy transcription of spec §3.4 (centre, row-normalize, first reference, 5 rounds)', () => {
    const f = fixture.gpa;
    const r = gpa(f.views);
    expect(r.iterations).toBe(5);
    expectTensorClose(r.consensus, f.consensus, { atol: 1e-12, rtol: 1e-10 });
    r.aligned.forEach((a, e) => expectTensorClose(a, f.aligned[e]!, { atol: 1e-12, rtol: 1e-10 }));
    expectTensorClose(r.diagnostics.cosineToConsensus, f.cosineToConsensus, { atol: 1e-13, rtol: 0 });
    expect(r.diagnostics.equidistance).toBeCloseTo(f.equidistance, 12);
  });

  it('recovers the shared shape of three rotated noisy copies (up to one global rotation)', () => {
    const shape = randomMatrix(60, 6, 1);
    const views = noisyViews(shape, 0.02, 100);
    const r = gpa(views);
    const truth = centredUnitRows(shape);
    // Gauge: the consensus lives in some frame; align it to the truth with one Procrustes fit.
    const { residual } = procrustes(r.consensus, truth);
    expect(residual / Math.sqrt(60)).toBeLessThan(0.02); // RMS row error, at the noise level
    for (const c of r.diagnostics.cosineToConsensus) expect(c).toBeGreaterThan(0.99);
    expect(r.diagnostics.equidistance).toBeLessThan(0.01);
    // Consensus rows are unit vectors; rotations are orthogonal; aligned_e = pre_e·R_e.
    for (let i = 0; i < 60; i++) {
      let n = 0;
      for (let j = 0; j < 6; j++) n += r.consensus.data[i * 6 + j]! ** 2;
      expect(n).toBeCloseTo(1, 12);
    }
    r.rotations.forEach((q, e) => {
      expectTensorClose(matmulTransposeA(q, q), Matrix.identity(6), { atol: 1e-12, rtol: 0 });
      expectTensorClose(matmul(centredUnitRows(views[e]!), q), r.aligned[e]!, { atol: 1e-12, rtol: 1e-10 });
    });
  });

  it('is exact on noiseless copies and stops early with a tolerance', () => {
    const shape = randomMatrix(30, 4, 2);
    const views = noisyViews(shape, 0, 200);
    const full = gpa(views);
    expect(full.diagnostics.equidistance).toBeLessThan(1e-12);
    for (const c of full.diagnostics.cosineToConsensus) expect(c).toBeCloseTo(1, 12);
    expect(procrustes(full.consensus, centredUnitRows(shape)).residual).toBeLessThan(1e-9);
    // With reference 'first', the consensus is view 0 in its own frame (gauge fixed): R_0 = I.
    expectTensorClose(full.rotations[0]!, Matrix.identity(4), { atol: 1e-12, rtol: 0 });

    const early = gpa(views, { iterations: 20, tolerance: 1e-10 });
    expect(early.iterations).toBeLessThan(20);
    expect(early.diagnostics.lastChange).toBeLessThan(1e-10);
    expectTensorClose(early.consensus, full.consensus, { atol: 1e-12, rtol: 0 });
  });

  it("supports reference 'mean', whitening and no row normalization", () => {
    const shape = randomMatrix(50, 5, 3);
    const views = noisyViews(shape, 0.01, 300);
    const mean = gpa(views, { reference: 'mean', iterations: 8 });
    expect(procrustes(mean.consensus, centredUnitRows(shape)).residual / Math.sqrt(50)).toBeLessThan(0.02);

    const whitened = gpa(views, { whiten: true });
    expect(whitened.whitenings).toHaveLength(3);
    for (const c of whitened.diagnostics.cosineToConsensus) expect(c).toBeGreaterThan(0.98);
    expectTensorClose(whitened.means[1]!, whitened.whitenings![1]!.mean, { atol: 0, rtol: 0 });

    const raw = gpa(views, { rowNormalize: false, center: false });
    expect(raw.means[0]!.every((v) => v === 0)).toBe(true);
    for (const c of raw.diagnostics.cosineToConsensus) expect(c).toBeGreaterThan(0.5);
  });

  it('doc example', () => {
    const shape = [
      [1, 0],
      [0, 1],
      [-1, 0],
      [0, -1],
      [1, 1],
    ];
    const turned = shape.map(([a, b]) => [-b!, a!]);
    const { consensus, diagnostics } = gpa([shape, turned], { center: false });
    expect(diagnostics.equidistance).toBeLessThan(1e-12);
    expect(consensus.shape).toEqual([5, 2]);
  });

  it('throws typed errors naming the op and argument', () => {
    const a = randomMatrix(10, 4, 4);
    expect(() => gpa([a])).toThrow(InvalidArgumentError);
    expect(() => gpa([a])).toThrow(/gpa: 'views' must be an array of at least 2 views, got 1/);
    expect(() => gpa([a, randomMatrix(10, 5, 1)])).toThrow(ShapeError);
    expect(() => gpa([a, randomMatrix(10, 5, 1)])).toThrow(
      /gpa: 'views\[1\]' must have shape \[N=10, D=4\], got \[10, 5\] \(all views must have the same width/,
    );
    expect(() => gpa([a, a, randomMatrix(9, 4, 1)])).toThrow(
      /gpa: 'views\[2\]' must have shape \[N=10, D=4\], got \[9, 4\]/,
    );
    expect(() => gpa([a, a], { iterations: 0 })).toThrow(/gpa: 'options.iterations' must be an integer >= 1, got 0/);
    expect(() => gpa([a, a], { reference: 'last' as 'first' })).toThrow(
      /gpa: 'options.reference' must be 'first' or 'mean', got last/,
    );
    expect(() => gpa([a, a], { tolerance: -1 })).toThrow(/gpa: 'options.tolerance' must be a finite number >= 0/);
    const bad = a.clone();
    bad.data[0] = NaN;
    expect(() => gpa([a, bad])).toThrow(NonFiniteError);
    expect(() => gpa([a, bad])).toThrow(/gpa: 'views\[1\]' has 1 non-finite/);
  });
});
