import { describe, expect, it } from 'vitest';

import { InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { Matrix, cholesky, matmul, matmulTransposeB, qr } from '../../src/linalg/index.js';
import { expectTensorClose } from '../../src/testing/expect-tensor-close.js';
import { gaussian, maxAbs, maxDiff, orthogonalityError, spd } from './helpers.js';

const EPS = 2.220446049250313e-16;

describe('cholesky', () => {
  it('matches hand-derived factors (1×1, 2×2, diagonal)', () => {
    expect(cholesky([[9]]).toArray()).toEqual([[3]]);
    expectTensorClose(
      cholesky([
        [4, 2],
        [2, 3],
      ]),
      [
        [2, 0],
        [1, Math.SQRT2],
      ],
    );
    expect(
      cholesky([
        [4, 0, 0],
        [0, 1, 0],
        [0, 0, 0.25],
      ]).toArray(),
    ).toEqual([
      [2, 0, 0],
      [0, 1, 0],
      [0, 0, 0.5],
    ]);
  });

  it('reconstructs A = L·Lᵀ with L lower triangular and a positive diagonal (random SPD up to 256)', () => {
    for (const n of [1, 2, 17, 64, 256]) {
      const a = spd(n, 40 + n);
      const l = cholesky(a);
      expect(maxDiff(matmulTransposeB(l, l), a) / maxAbs(a)).toBeLessThan(10 * n * EPS);
      for (let i = 0; i < n; i++) {
        expect(l.get(i, i)).toBeGreaterThan(0);
        for (let j = i + 1; j < n; j++) expect(l.get(i, j)).toBe(0);
      }
    }
  });

  it("throws InvalidArgumentError naming cholesky and 'a' if not positive definite", () => {
    expect(() =>
      cholesky([
        [1, 2],
        [2, 1],
      ]),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      cholesky([
        [1, 2],
        [2, 1],
      ]),
    ).toThrow(/cholesky: 'a' is not positive definite \(pivot 1 is -3\.000e\+0\)/);
    expect(() => cholesky([[-1]])).toThrow(/cholesky: 'a' is not positive definite \(pivot 0/);
    expect(() =>
      cholesky([
        [0, 0],
        [0, 0],
      ]),
    ).toThrow(/cholesky: 'a' is not positive definite/);
  });

  it('throws InvalidArgumentError for a non-symmetric matrix, ShapeError for a non-square one, NonFiniteError for NaN', () => {
    expect(() =>
      cholesky([
        [4, 1],
        [2, 3],
      ]),
    ).toThrow(/cholesky: 'a' must be symmetric/);
    expect(() => cholesky([[4, 1, 0]])).toThrow(ShapeError);
    expect(() => cholesky([[4, 1, 0]])).toThrow(/cholesky: 'a' must have shape \[N, N\] \(square\), got \[1, 3\]/);
    expect(() => cholesky([[Number.NaN]])).toThrow(NonFiniteError);
  });

  it('doc example', () => {
    expect(
      cholesky([
        [4, 2],
        [2, 3],
      ]).toArray(),
    ).toEqual([
      [2, 0],
      [1, 1.4142135623730951],
    ]);
  });
});

describe('qr', () => {
  it('matches a hand-derived 2×2 factorization with diag(R) ≥ 0', () => {
    const { q, r } = qr([
      [3, 1],
      [4, 2],
    ]);
    expectTensorClose(
      r,
      [
        [5, 2.2],
        [0, 0.4],
      ],
      { atol: 1e-15 },
    );
    expectTensorClose(
      q,
      [
        [0.6, -0.8],
        [0.8, 0.6],
      ],
      { atol: 1e-15 },
    );
    const neg = qr([[-2]]);
    expect(neg.r.toArray()).toEqual([[2]]);
    expect(neg.q.toArray()).toEqual([[-1]]);
  });

  it.each([
    [1, 1],
    [5, 1],
    [1, 5],
    [40, 10],
    [10, 40],
    [128, 128],
    [300, 60],
  ])('gives A = Q·R, QᵀQ = I, R upper triangular with diag ≥ 0 for %i×%i', (m, n) => {
    const a = gaussian(m, n, m * 1000 + n);
    const { q, r } = qr(a);
    const k = Math.min(m, n);
    expect(q.shape).toEqual([m, k]);
    expect(r.shape).toEqual([k, n]);
    const tol = 20 * EPS * Math.max(m, n, 8);
    expect(maxDiff(matmul(q, r), a) / maxAbs(a)).toBeLessThan(tol);
    expect(orthogonalityError(q)).toBeLessThan(tol);
    for (let i = 0; i < k; i++) {
      expect(r.get(i, i)).toBeGreaterThanOrEqual(0);
      for (let j = 0; j < i; j++) expect(r.get(i, j)).toBe(0);
    }
  });

  it('handles zero and rank-deficient matrices', () => {
    const zero = qr(new Matrix(4, 3));
    expect(Array.from(zero.r.data).every((x) => x === 0)).toBe(true);
    expect(orthogonalityError(zero.q)).toBe(0);
    const a = gaussian(20, 6, 3);
    for (let i = 0; i < 20; i++) a.data[i * 6 + 2] = 2 * a.data[i * 6]!; // column 2 = 2·column 0
    const { q, r } = qr(a);
    expect(maxDiff(matmul(q, r), a)).toBeLessThan(1e-13);
    expect(orthogonalityError(q)).toBeLessThan(1e-13);
    expect(Math.abs(r.get(2, 2))).toBeLessThan(1e-14);
  });

  it('works near the overflow limit (A is scaled internally)', () => {
    const { q, r } = qr([
      [1e300, 1e300],
      [1e300, -1e300],
    ]);
    expectTensorClose(
      r,
      [
        [Math.SQRT2 * 1e300, 0],
        [0, Math.SQRT2 * 1e300],
      ],
      { rtol: 1e-15, atol: 1e285 },
    );
    expect(orthogonalityError(q)).toBeLessThan(1e-15);
  });

  it("throws NonFiniteError naming qr and 'a'", () => {
    expect(() => qr([[1, Number.NaN]])).toThrow(NonFiniteError);
    expect(() => qr([[1, Number.NaN]])).toThrow(/qr: 'a' has 1 non-finite/);
    expect(() => qr([[1, 2], [3]])).toThrow(/qr: 'a' must have shape/);
  });

  it('doc example', () => {
    const { q, r } = qr([
      [3, 1],
      [4, 2],
    ]);
    expectTensorClose(
      r,
      [
        [5, 2.2],
        [0, 0.4],
      ],
      { atol: 1e-15 },
    );
    expectTensorClose(
      q,
      [
        [0.6, -0.8],
        [0.8, 0.6],
      ],
      { atol: 1e-15 },
    );
  });
});
