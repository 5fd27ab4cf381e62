import { describe, expect, it } from 'vitest';

import { InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { Matrix, det, inverse, lu, matmul, solve } from '../../src/linalg/index.js';
import { createRng } from '../../src/random/rng.js';
import { expectTensorClose } from '../../src/testing/expect-tensor-close.js';
import { gaussian, maxAbs, maxDiff } from './helpers.js';

/** Rebuilds P·A from the packed factors: L·U. */
function multiplyFactors(packed: Matrix): Matrix {
  const n = packed.rows;
  const l = Matrix.identity(n);
  const u = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j < i) l.data[i * n + j] = packed.get(i, j);
      else u.data[i * n + j] = packed.get(i, j);
    }
  }
  return matmul(l, u);
}

describe('lu', () => {
  it('factors P·A = L·U with |l_ij| ≤ 1 (hand case and random 40×40)', () => {
    const hand = lu([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(hand.pivots)).toEqual([1, 0]);
    expect(hand.sign).toBe(-1);
    expectTensorClose(hand.lu, [
      [3, 4],
      [1 / 3, 2 - 4 / 3],
    ]);

    const a = gaussian(40, 40, 1);
    const { lu: packed, pivots } = lu(a);
    const pa = new Matrix(40, 40);
    for (let i = 0; i < 40; i++) pa.data.set(a.row(pivots[i]!), i * 40);
    expect(maxDiff(multiplyFactors(packed), pa)).toBeLessThan(1e-13);
    for (let i = 0; i < 40; i++) for (let j = 0; j < i; j++) expect(Math.abs(packed.get(i, j))).toBeLessThanOrEqual(1);
  });

  it('does not throw on a singular matrix (the zero pivot stays in U)', () => {
    const { lu: packed } = lu([
      [0, 0],
      [0, 0],
    ]);
    expect(Array.from(packed.data)).toEqual([0, 0, 0, 0]);
  });
});

describe('det', () => {
  it('matches hand-derived values (1×1, 2×2, triangular, permutation, singular, 0×0)', () => {
    expect(det([[-7]])).toBe(-7);
    expect(
      det([
        [1, 2],
        [3, 4],
      ]),
    ).toBeCloseTo(-2, 14);
    expect(
      det([
        [2, 5, 1],
        [0, 3, 7],
        [0, 0, -4],
      ]),
    ).toBeCloseTo(-24, 13);
    expect(
      det([
        [0, 1, 0],
        [0, 0, 1],
        [1, 0, 0],
      ]),
    ).toBe(1); // a 3-cycle is an even permutation
    expect(
      det([
        [0, 1],
        [1, 0],
      ]),
    ).toBe(-1);
    expect(
      det([
        [1, 2],
        [2, 4],
      ]),
    ).toBe(0);
    expect(det(new Matrix(0, 0))).toBe(1);
  });

  it('is multiplicative, transpose-invariant, and det(A⁻¹) = 1/det(A) on random matrices', () => {
    for (const [n, seed] of [
      [2, 1],
      [5, 2],
      [12, 3],
      [30, 4],
    ] as const) {
      const a = gaussian(n, n, seed);
      const b = gaussian(n, n, seed + 100);
      const da = det(a);
      const db = det(b);
      expect(det(matmul(a, b)) / (da * db)).toBeCloseTo(1, 10);
      expect(det(a.transpose()) / da).toBeCloseTo(1, 11);
      expect(det(inverse(a)) * da).toBeCloseTo(1, 10);
    }
  });

  it('scales as c^N·det(A)', () => {
    const a = gaussian(6, 6, 9);
    const scaled = new Matrix(
      6,
      6,
      a.data.map((x) => -2 * x),
    );
    expect(det(scaled) / (64 * det(a))).toBeCloseTo(1, 12);
  });

  it("throws ShapeError naming det and 'a' for a non-square matrix", () => {
    expect(() => det([[1, 2]])).toThrow(ShapeError);
    expect(() => det([[1, 2]])).toThrow(/det: 'a' must have shape \[N, N\] \(square\), got \[1, 2\]/);
    expect(() => lu([[1, 2]])).toThrow(/lu: 'a' must have shape \[N, N\]/);
  });

  it("throws NonFiniteError naming det and 'a'", () => {
    expect(() => det([[Number.NaN]])).toThrow(NonFiniteError);
    expect(() => det([[Number.NaN]])).toThrow(/det: 'a' has 1 non-finite/);
  });

  it('doc example', () => {
    expect(
      det([
        [1, 2],
        [3, 4],
      ]),
    ).toBeCloseTo(-2, 14);
    const {
      lu: packed,
      pivots,
      sign,
    } = lu([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(pivots)).toEqual([1, 0]);
    expect(sign).toBe(-1);
    expectTensorClose(
      packed,
      [
        [3, 4],
        [1 / 3, 2 / 3],
      ],
      { atol: 1e-15 },
    );
  });
});

describe('solve', () => {
  it('solves hand cases with a vector or a matrix right-hand side', () => {
    expectTensorClose(
      solve(
        [
          [2, 0],
          [0, 4],
        ],
        new Float64Array([2, 2]),
      ),
      [1, 0.5],
    );
    const x = solve(
      [
        [0, 1],
        [1, 0],
      ],
      [
        [1, 2],
        [3, 4],
      ],
    );
    expect(x.toArray()).toEqual([
      [3, 4],
      [1, 2],
    ]);
    expectTensorClose(solve([[5]], new Float64Array([10])), [2]);
  });

  it('has a small residual ‖A·X − B‖ on random systems up to 200×200', () => {
    const rng = createRng(7);
    for (const n of [1, 3, 17, 64, 200]) {
      const a = gaussian(n, n, 10 + n);
      const b = gaussian(n, 3, 20 + n);
      const x = solve(a, b);
      const residual = maxDiff(matmul(a, x), b);
      expect(residual / (maxAbs(a) * maxAbs(x) * n)).toBeLessThan(1e-14);
      const bv = Float64Array.from({ length: n }, () => rng.normal());
      const xv = solve(a, bv);
      expect(xv).toBeInstanceOf(Float64Array);
      const axv = matmul(a, new Matrix(n, 1, xv));
      expect(maxDiff(axv, new Matrix(n, 1, bv)) / (maxAbs(a) * maxAbs(xv) * n)).toBeLessThan(1e-14);
    }
  });

  it('divides by subnormal pivots instead of multiplying by an overflowing reciprocal', () => {
    expect(Array.from(solve([[5e-324]], new Float64Array([0])))).toEqual([0]);
    expect(
      Array.from(
        solve(
          [
            [1e-320, 0],
            [0, 2e-320],
          ],
          new Float64Array([1e-320, 2e-320]),
        ),
      ),
    ).toEqual([1, 1]);
  });

  it("throws InvalidArgumentError naming solve and 'a' for a singular matrix", () => {
    expect(() =>
      solve(
        [
          [1, 2],
          [2, 4],
        ],
        new Float64Array([1, 1]),
      ),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      solve(
        [
          [1, 2],
          [2, 4],
        ],
        new Float64Array([1, 1]),
      ),
    ).toThrow(/solve: 'a' is singular to working precision \(pivot 1/);
    // Numerically singular (the last pivot is ~1e-16, not exactly 0).
    expect(() =>
      solve(
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ],
        [[1], [1], [1]],
      ),
    ).toThrow(/solve: 'a' is singular/);
  });

  it("throws ShapeError naming solve and 'b' (or 'a') for mismatched shapes", () => {
    expect(() =>
      solve(
        [
          [1, 0],
          [0, 1],
        ],
        new Float64Array(3),
      ),
    ).toThrow(ShapeError);
    expect(() =>
      solve(
        [
          [1, 0],
          [0, 1],
        ],
        new Float64Array(3),
      ),
    ).toThrow(/solve: 'b' must have shape \[N=2\] or \[N=2, K\], got \[3\]/);
    expect(() =>
      solve(
        [
          [1, 0],
          [0, 1],
        ],
        [[1, 2, 3]],
      ),
    ).toThrow(/solve: 'b' must have shape \[N=2, K\], got \[1, 3\]/);
    expect(() => solve([[1, 0]], [[1]])).toThrow(/solve: 'a' must have shape \[N, N\]/);
  });

  it("throws NonFiniteError naming solve and 'b'", () => {
    expect(() =>
      solve(
        [
          [1, 0],
          [0, 1],
        ],
        new Float64Array([1, Number.NaN]),
      ),
    ).toThrow(/solve: 'b' has 1 non-finite value\(s\) \(first at flat index 1\)/);
    expect(() =>
      solve(
        [
          [1, 0],
          [0, 1],
        ],
        [[1], [Number.NEGATIVE_INFINITY]],
      ),
    ).toThrow(NonFiniteError);
  });

  it('doc example', () => {
    expectTensorClose(
      solve(
        [
          [2, 0],
          [0, 4],
        ],
        new Float64Array([2, 2]),
      ),
      [1, 0.5],
    );
    expect(
      solve(
        [
          [2, 0],
          [0, 4],
        ],
        [[2], [2]],
      ).toArray(),
    ).toEqual([[1], [0.5]]);
  });
});

describe('inverse', () => {
  it('satisfies A·A⁻¹ = A⁻¹·A = I on random matrices', () => {
    for (const n of [1, 2, 9, 50]) {
      const a = gaussian(n, n, 30 + n);
      const inv = inverse(a);
      const scale = maxAbs(a) * maxAbs(inv) * n;
      expect(maxDiff(matmul(a, inv), Matrix.identity(n)) / scale).toBeLessThan(1e-14);
      expect(maxDiff(matmul(inv, a), Matrix.identity(n)) / scale).toBeLessThan(1e-14);
    }
  });

  it("throws InvalidArgumentError naming inverse and 'a' for a singular matrix, ShapeError for a non-square one", () => {
    expect(() =>
      inverse([
        [0, 0],
        [0, 0],
      ]),
    ).toThrow(/inverse: 'a' is singular to working precision/);
    expect(() => inverse([[1, 2, 3]])).toThrow(/inverse: 'a' must have shape \[N, N\]/);
  });

  it('doc example', () => {
    expectTensorClose(
      inverse([
        [4, 7],
        [2, 6],
      ]),
      [
        [0.6, -0.7],
        [-0.2, 0.4],
      ],
      { atol: 1e-15 },
    );
  });
});
