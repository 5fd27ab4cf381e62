import { describe, expect, it } from 'vitest';

import { InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { Matrix, det, inverseSqrt, matmul, matmulTransposeA, polarFactor, qr, sqrtm } from '../../src/linalg/index.js';
import { expectTensorClose } from '../../src/testing/expect-tensor-close.js';
import { gaussian, maxAbs, maxDiff, orthogonalityError, spd } from './helpers.js';

function expectSymmetric(m: Matrix): void {
  const n = m.rows;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(m.get(i, j)).toBe(m.get(j, i));
}

describe('inverseSqrt', () => {
  it('inverts the square root of a diagonal matrix exactly', () => {
    expectTensorClose(
      inverseSqrt([
        [4, 0],
        [0, 9],
      ]),
      [
        [0.5, 0],
        [0, 1 / 3],
      ],
      { atol: 1e-16 },
    );
    expectTensorClose(inverseSqrt([[0.25]]), [[2]]);
  });

  it('whitens: W·A·W = I and W is symmetric (random SPD up to 128)', () => {
    for (const n of [2, 10, 128]) {
      const a = spd(n, 60 + n);
      const w = inverseSqrt(a);
      expectSymmetric(w);
      const waw = matmul(matmul(w, a), w);
      expect(maxDiff(waw, Matrix.identity(n))).toBeLessThan(1e-12);
    }
  });

  it('floors small and negative eigenvalues instead of failing', () => {
    // Rank-1 PSD matrix: eigenvalues 2 and 0 → weights 2^(−1/2) and floor^(−1/2).
    const w = inverseSqrt(
      [
        [1, 1],
        [1, 1],
      ],
      { floor: 1e-4 },
    );
    // W = (1/√2)·½[[1,1],[1,1]] + 100·½[[1,−1],[−1,1]]
    const p = 0.5 / Math.SQRT2;
    expectTensorClose(
      w,
      [
        [p + 50, p - 50],
        [p - 50, p + 50],
      ],
      { rtol: 1e-12, atol: 1e-12 },
    );
    const neg = inverseSqrt(
      [
        [-1, 0],
        [0, 4],
      ],
      { floor: 0.25 },
    );
    expectTensorClose(
      neg,
      [
        [2, 0],
        [0, 0.5],
      ],
      { atol: 1e-15 },
    );
  });

  it("throws InvalidArgumentError naming inverseSqrt and 'floor' or 'a'", () => {
    expect(() => inverseSqrt([[1]], { floor: 0 })).toThrow(InvalidArgumentError);
    expect(() => inverseSqrt([[1]], { floor: 0 })).toThrow(/inverseSqrt: 'floor' must be a finite number > 0, got 0/);
    expect(() => inverseSqrt([[1]], { floor: Number.NaN })).toThrow(/inverseSqrt: 'floor'/);
    expect(() =>
      inverseSqrt([
        [1, 2],
        [0, 1],
      ]),
    ).toThrow(/inverseSqrt: 'a' must be symmetric/);
    expect(() => inverseSqrt([[1, 2]])).toThrow(ShapeError);
    expect(() => inverseSqrt([[1, 2]])).toThrow(/inverseSqrt: 'a' must have shape \[N, N\]/);
    expect(() => inverseSqrt([[Number.NaN]])).toThrow(NonFiniteError);
  });

  it('doc example', () => {
    expectTensorClose(
      inverseSqrt([
        [4, 0],
        [0, 9],
      ]),
      [
        [0.5, 0],
        [0, 1 / 3],
      ],
      { atol: 1e-16 },
    );
  });
});

describe('sqrtm', () => {
  it('squares back to A and inverts inverseSqrt (random SPD)', () => {
    for (const n of [1, 7, 64]) {
      const a = spd(n, 70 + n);
      const s = sqrtm(a);
      expectSymmetric(s);
      expect(maxDiff(matmul(s, s), a) / maxAbs(a)).toBeLessThan(1e-13);
      expect(maxDiff(matmul(s, inverseSqrt(a)), Matrix.identity(n))).toBeLessThan(1e-12);
    }
  });

  it('clamps negative eigenvalues to the floor (0 by default)', () => {
    expectTensorClose(
      sqrtm([
        [-4, 0],
        [0, 9],
      ]),
      [
        [0, 0],
        [0, 3],
      ],
      { atol: 1e-15 },
    );
    expectTensorClose(
      sqrtm(
        [
          [-4, 0],
          [0, 9],
        ],
        { floor: 1 },
      ),
      [
        [1, 0],
        [0, 3],
      ],
      { atol: 1e-15 },
    );
  });

  it("throws InvalidArgumentError naming sqrtm and 'floor' or 'a'", () => {
    expect(() => sqrtm([[1]], { floor: -1 })).toThrow(/sqrtm: 'floor' must be a finite number >= 0, got -1/);
    expect(() =>
      sqrtm([
        [1, 3],
        [2, 1],
      ]),
    ).toThrow(/sqrtm: 'a' must be symmetric/);
    expect(() => sqrtm([[1, 3]])).toThrow(/sqrtm: 'a' must have shape \[N, N\]/);
  });

  it('doc example', () => {
    expectTensorClose(
      sqrtm([
        [4, 0],
        [0, 9],
      ]),
      [
        [2, 0],
        [0, 3],
      ],
      { atol: 1e-15 },
    );
  });
});

describe('polarFactor', () => {
  it('is orthogonal and recovers a random rotation in orthogonal Procrustes (spec §14.5, to 1e-10)', () => {
    const x = gaussian(200, 16, 1);
    const { q: r0 } = qr(gaussian(16, 16, 2));
    const y = matmul(x, r0);
    const r = polarFactor(matmulTransposeA(x, y)); // argmin_R ‖X·R − Y‖_F
    expect(orthogonalityError(r)).toBeLessThan(1e-13);
    expect(maxDiff(r, r0)).toBeLessThan(1e-10);
  });

  it('gives orthonormal columns for tall A and orthonormal rows for wide A; reflections are kept', () => {
    expect(orthogonalityError(polarFactor(gaussian(9, 4, 3)))).toBeLessThan(1e-14);
    const wide = polarFactor(gaussian(4, 9, 4));
    expect(wide.shape).toEqual([4, 9]);
    expect(orthogonalityError(wide.transpose())).toBeLessThan(1e-14);
    expect(
      det(
        polarFactor([
          [2, 0],
          [0, -3],
        ]),
      ),
    ).toBeCloseTo(-1, 15);
  });

  it("throws NonFiniteError naming polarFactor and 'a'", () => {
    expect(() => polarFactor([[Number.NaN]])).toThrow(NonFiniteError);
    expect(() => polarFactor([[Number.NaN]])).toThrow(/polarFactor: 'a' has 1 non-finite/);
  });

  it('doc example', () => {
    expectTensorClose(
      polarFactor([
        [2, 0],
        [0, -3],
      ]),
      [
        [1, 0],
        [0, -1],
      ],
      { atol: 1e-15 },
    );
  });
});
