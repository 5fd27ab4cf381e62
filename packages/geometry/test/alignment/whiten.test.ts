import { describe, expect, it } from 'vitest';

import fixture from '../fixtures/alignment.json';
import { whiten } from '../../src/alignment/index.js';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';
import { matmul, matmulTransposeA } from '../../src/linalg/index.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { createRng } from '../../src/random/rng.js';
import { RunningMoments } from '../../src/stats/index.js';
import { expectTensorClose } from '../../src/testing/index.js';

function correlated(rows: number, cols: number, seed: number): Matrix {
  const rng = createRng(seed);
  const z = new Matrix(rows, cols);
  for (let i = 0; i < z.data.length; i++) z.data[i] = rng.normal();
  const mix = new Matrix(cols, cols);
  for (let i = 0; i < mix.data.length; i++) mix.data[i] = rng.normal() * (1 + (i % cols));
  const out = matmul(z, mix);
  for (let i = 0; i < out.data.length; i++) out.data[i]! += 5 * ((i % cols) - 2);
  return out;
}

describe('whiten', () => {
  it('matches the numpy transcription of spec §3.3 (cov N−1, shrink, floor, ZCA)', () => {
    const f = fixture.whiten;
    const w = whiten(f.x, { shrinkage: f.shrinkage, floor: f.floor });
    expectTensorClose(w.mean, f.mean, { atol: 1e-13, rtol: 1e-12 });
    expectTensorClose(w.matrix, f.matrix, { atol: 1e-12, rtol: 1e-9 });
    expectTensorClose(w.whitened, f.whitened, { atol: 1e-11, rtol: 1e-9 });
  });

  it('gives identity covariance without shrinkage, and (I − ε·m·W²)/(1 − ε) with it', () => {
    const x = correlated(200, 6, 1);
    const exact = whiten(x, { shrinkage: 0 });
    const covOf = (m: Matrix) => new RunningMoments(m.cols).update(m).covariance();
    expectTensorClose(covOf(exact.whitened), Matrix.identity(6), { atol: 1e-10, rtol: 0 });

    const eps = 1e-3;
    const shrunk = whiten(x, { shrinkage: eps });
    const cov = new RunningMoments(6).update(x).covariance();
    let trace = 0;
    for (let i = 0; i < 6; i++) trace += cov.data[i * 7]!;
    const w2 = matmul(shrunk.matrix, shrunk.matrix);
    const expected = Matrix.identity(6);
    for (let i = 0; i < 36; i++) expected.data[i] = (expected.data[i]! - eps * (trace / 6) * w2.data[i]!) / (1 - eps);
    expectTensorClose(covOf(shrunk.whitened), expected, { atol: 1e-10, rtol: 0 });
    // Close to the identity: within the shrinkage effect ε·m/λ_min.
    const lambdaMin = shrunk.eigenvalues[5]!;
    expectTensorClose(covOf(shrunk.whitened), Matrix.identity(6), {
      atol: (eps * (trace / 6)) / lambdaMin + 1e-9,
      rtol: 0,
    });
  });

  it('W is symmetric, W⁻¹ is its inverse, and apply/invert round-trip new rows', () => {
    const x = correlated(80, 5, 2);
    const w = whiten(x);
    expectTensorClose(w.matrix, w.matrix.transpose(), { atol: 0, rtol: 0 });
    expectTensorClose(matmul(w.matrix, w.inverseMatrix), Matrix.identity(5), { atol: 1e-10, rtol: 0 });
    expectTensorClose(w.apply(x), w.whitened, { atol: 0, rtol: 0 });
    const y = correlated(7, 5, 3);
    expectTensorClose(w.invert(w.apply(y)), y, { atol: 1e-9, rtol: 1e-12 });
    expect(Array.from(w.eigenvalues)).toEqual([...w.eigenvalues].sort((a, b) => b - a));
  });

  it('floors the eigenvalues of rank-deficient data instead of dividing by zero', () => {
    // Column 2 = column 0 + column 1: rank 2 in 3-d; with ε = 0 one eigenvalue is ~0 → floored.
    const rows = Array.from({ length: 20 }, (_, i) => [Math.sin(i), Math.cos(3 * i), Math.sin(i) + Math.cos(3 * i)]);
    const w = whiten(rows, { shrinkage: 0, floor: 1e-6 });
    expect(w.eigenvalues[2]).toBe(1e-6);
    expect(Array.from(w.matrix.data).every(Number.isFinite)).toBe(true);
    // The two real directions still come out with unit variance.
    const cov = new RunningMoments(3).update(w.whitened).covariance();
    const trace = cov.data[0]! + cov.data[4]! + cov.data[8]!;
    expect(trace).toBeCloseTo(2, 6);
  });

  it('doc example', () => {
    const { whitened, matrix } = whiten(
      [
        [0, 0],
        [2, 0],
        [0, 4],
        [2, 4],
      ],
      { shrinkage: 0 },
    );
    expectTensorClose(
      matrix.toArray(),
      [
        [Math.sqrt(3 / 4), 0],
        [0, Math.sqrt(3 / 16)],
      ],
      { atol: 1e-14, rtol: 1e-12 },
    );
    expectTensorClose(
      matmulTransposeA(whitened, whitened).toArray(),
      [
        [3, 0],
        [0, 3],
      ],
      { atol: 1e-12, rtol: 1e-12 },
    );
  });

  it('throws typed errors naming the op and argument', () => {
    const x = correlated(10, 3, 4);
    expect(() => whiten(x, { shrinkage: 2 })).toThrow(InvalidArgumentError);
    expect(() => whiten(x, { shrinkage: 2 })).toThrow(
      /whiten: 'options.shrinkage' must be a finite number in \[0, 1\], got 2/,
    );
    expect(() => whiten(x, { floor: 0 })).toThrow(/whiten: 'options.floor' must be a finite number > 0, got 0/);
    expect(() => whiten(new Matrix(0, 3))).toThrow(ShapeError);
    expect(() => whiten(new Matrix(0, 3))).toThrow(
      /whiten: 'x' must have shape \[N, D\] with N ≥ 1 and D ≥ 1, got \[0, 3\]/,
    );
    const w = whiten(x);
    expect(() => w.apply([[1, 2]])).toThrow(/WhitenResult.apply: 'y' must have shape \[M, 3\], got \[1, 2\]/);
    expect(() => w.invert([[1, 2, 3, 4]])).toThrow(/WhitenResult.invert: 'z' must have shape \[M, 3\], got \[1, 4\]/);
    expect(() => whiten([[1, Infinity]])).toThrow(/whiten: 'x' has 1 non-finite/);
  });
});
