import { describe, expect, it } from 'vitest';

import { ConvergenceError, InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { Matrix, eigh, matmul } from '../../src/linalg/index.js';
import { expectTensorClose } from '../../src/testing/expect-tensor-close.js';
import { isDescending, maxAbs, maxDiff, orthogonalityError, reconstruct, spd, symmetric } from './helpers.js';

const EPS = 2.220446049250313e-16;
/** The 512×512 case is pure float64 JavaScript (no tfjs op): it runs once, on the cpu project. */
const ONCE = process.env.GEOLIP_BACKEND === 'wasm';

/** A = V·diag(λ)·Vᵀ, VᵀV = I, λ descending; tolerances grow like ε·N. */
function expectValidEigh(a: Matrix, tolFactor = 20): ReturnType<typeof eigh> {
  const result = eigh(a);
  const { values, vectors } = result;
  const n = a.rows;
  const tol = tolFactor * EPS * Math.max(n, 8);
  expect(values.length).toBe(n);
  expect(vectors.shape).toEqual([n, n]);
  expect(isDescending(values)).toBe(true);
  const scale = Math.max(maxAbs(a), Number.MIN_VALUE);
  expect(maxDiff(reconstruct(vectors, values, vectors), a) / scale).toBeLessThan(tol);
  expect(orthogonalityError(vectors)).toBeLessThan(tol);
  return result;
}

describe('eigh', () => {
  it('matches hand-derived cases: 1×1, diagonal, [[2,1],[1,2]], [[0,1],[1,0]]', () => {
    const one = eigh([[-4]]);
    expect(Array.from(one.values)).toEqual([-4]);
    expect(Math.abs(one.vectors.get(0, 0))).toBe(1);

    const diag = eigh([
      [1, 0, 0],
      [0, 3, 0],
      [0, 0, 2],
    ]);
    expect(Array.from(diag.values)).toEqual([3, 2, 1]);
    // Column j is ±e_{index of values[j]}.
    expect(Math.abs(diag.vectors.get(1, 0))).toBe(1);
    expect(Math.abs(diag.vectors.get(2, 1))).toBe(1);
    expect(Math.abs(diag.vectors.get(0, 2))).toBe(1);

    const two = eigh([
      [2, 1],
      [1, 2],
    ]);
    expectTensorClose(two.values, [3, 1]);
    const c0 = two.vectors.column(0);
    expect(Math.abs(c0[0]! * c0[1]!)).toBeCloseTo(0.5, 15); // ±(1, 1)/√2

    const swap = eigh([
      [0, 1],
      [1, 0],
    ]);
    expectTensorClose(swap.values, [1, -1]);
  });

  it("returns ascending values with order: 'ascending', same vectors up to sign", () => {
    const a = symmetric(9, 1);
    const down = eigh(a);
    const up = eigh(a, { order: 'ascending' });
    expectTensorClose(up.values, Array.from(down.values).reverse(), { atol: 1e-14 });
    for (let j = 0; j < 9; j++) {
      const x = down.vectors.column(j);
      const y = up.vectors.column(8 - j);
      let dot = 0;
      for (let i = 0; i < 9; i++) dot += x[i]! * y[i]!;
      expect(Math.abs(dot)).toBeCloseTo(1, 12);
    }
  });

  it.each([1, 2, 3, 17, 128])('is valid on a random symmetric N×N matrix, N = %i', (n) => {
    expectValidEigh(symmetric(n, 200 + n));
  });

  it.skipIf(ONCE)('is valid on a 512×512 matrix; trace and Frobenius norm are preserved', () => {
    // Speed is measured by tools/perf/geometry/linalg-bench.mjs, not here (no wall-clock bound in a unit test).
    const a = symmetric(512, 512);
    const { values } = expectValidEigh(a);
    let trace = 0;
    let frob = 0;
    for (let i = 0; i < 512; i++) trace += a.get(i, i);
    for (const x of a.data) frob += x * x;
    expect(values.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 9);
    expect(values.reduce((s, x) => s + x * x, 0) / frob).toBeCloseTo(1, 12);
  });

  it('handles zero, identity, rank-1, repeated and graded spectra', () => {
    const zero = eigh(new Matrix(5, 5));
    expect(Array.from(zero.values)).toEqual([0, 0, 0, 0, 0]);
    expect(orthogonalityError(zero.vectors)).toBe(0);
    expectValidEigh(Matrix.identity(7));
    const x = [1, -2, 3, 0.5, 4];
    const r1 = Matrix.fromArray(x.map((a) => x.map((b) => a * b)));
    expectValidEigh(r1);
    expect(eigh(r1).values[0]).toBeCloseTo(
      x.reduce((s, v) => s + v * v, 0),
      12,
    );
    expectValidEigh(Matrix.fromArray(Array.from({ length: 12 }, () => new Array(12).fill(1))));
    // Graded: diag(10^-k) in a rotated basis.
    const { vectors: q } = eigh(symmetric(20, 3));
    const d = new Matrix(20, 20);
    for (let i = 0; i < 20; i++) d.data[i * 21] = 10 ** -(i / 2);
    const graded = matmul(matmul(q, d), q.transpose());
    for (let i = 0; i < 20; i++) for (let j = i + 1; j < 20; j++) graded.data[j * 20 + i] = graded.data[i * 20 + j]!;
    expectValidEigh(graded);
    expectTensorClose(
      eigh(graded).values,
      Array.from({ length: 20 }, (_, i) => 10 ** -(i / 2)),
      { atol: 1e-14, rtol: 1e-10 },
    );
  });

  it('has known eigenvalues 2 − 2cos(kπ/(N+1)) for the [−1, 2, −1] tridiagonal matrix', () => {
    const n = 60;
    const t = new Matrix(n, n);
    for (let i = 0; i < n; i++) {
      t.data[i * n + i] = 2;
      if (i + 1 < n) {
        t.data[i * n + i + 1] = -1;
        t.data[(i + 1) * n + i] = -1;
      }
    }
    const expected = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((n - k) * Math.PI) / (n + 1)));
    // Backward stable: absolute error ≈ ε·‖T‖₂ (‖T‖₂ < 4), here ≤ 5e-14.
    expectTensorClose(eigh(t).values, expected, { atol: 5e-14, rtol: 0 });
  });

  it('is exact under scaling, including near the overflow and underflow limits', () => {
    const a = spd(10, 4);
    const v = eigh(a).values;
    const big = new Matrix(
      10,
      10,
      a.data.map((x) => x * 1e300),
    );
    const tiny = new Matrix(
      10,
      10,
      a.data.map((x) => x * 1e-300),
    );
    expectTensorClose(
      eigh(big).values.map((x) => x / 1e300),
      v,
      { rtol: 1e-13, atol: 1e-14 },
    );
    expectTensorClose(
      eigh(tiny).values.map((x) => x * 1e300),
      v,
      { rtol: 1e-13, atol: 1e-14 },
    );
  });

  it('keeps subnormal spectra exact (regression found by fast-check)', () => {
    expect(
      Array.from(
        eigh([
          [0, 7.4e-323],
          [7.4e-323, 0],
        ]).values,
      ),
    ).toEqual([7.4e-323, -7.4e-323]);
  });

  it("throws ShapeError naming eigh and 'a' for a non-square matrix", () => {
    expect(() =>
      eigh([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ).toThrow(ShapeError);
    expect(() =>
      eigh([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ).toThrow(/eigh: 'a' must have shape \[N, N\] \(square\), got \[2, 3\]/);
  });

  it("throws InvalidArgumentError naming eigh and 'a' for a non-symmetric matrix", () => {
    expect(() =>
      eigh([
        [1, 2],
        [2.001, 1],
      ]),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      eigh([
        [1, 2],
        [2.001, 1],
      ]),
    ).toThrow(/eigh: 'a' must be symmetric/);
    // Within 1e-10·max|a_ij| is accepted (and averaged).
    expect(() =>
      eigh([
        [1, 2],
        [2 + 1e-12, 1],
      ]),
    ).not.toThrow();
  });

  it("throws NonFiniteError naming eigh and 'a'", () => {
    expect(() =>
      eigh([
        [1, Number.POSITIVE_INFINITY],
        [0, 1],
      ]),
    ).toThrow(NonFiniteError);
    expect(() =>
      eigh([
        [1, Number.POSITIVE_INFINITY],
        [0, 1],
      ]),
    ).toThrow(/eigh: 'a' has 1 non-finite/);
  });

  it('throws InvalidArgumentError for a bad order or sweep budget, ConvergenceError when the budget is exhausted', () => {
    expect(() => eigh([[1]], { order: 'up' as never })).toThrow(
      /eigh: 'options.order' must be 'descending' or 'ascending', got up/,
    );
    expect(() => eigh([[1]], { maxSweeps: 1.5 })).toThrow(/eigh: 'options.maxSweeps' must be an integer >= 1/);
    expect(() => eigh(symmetric(30, 5), { maxSweeps: 2 })).toThrow(ConvergenceError);
    expect(() => eigh(symmetric(30, 5), { maxSweeps: 2 })).toThrow(
      /eigh: symmetric QR did not converge within 2 sweeps/,
    );
  });

  it('doc example', () => {
    const { values, vectors } = eigh([
      [2, 1],
      [1, 2],
    ]);
    expectTensorClose(values, [3, 1]);
    expectTensorClose(vectors.column(0).map(Math.abs), [Math.SQRT1_2, Math.SQRT1_2], { atol: 1e-15 });
  });
});
