import * as tf from '@tensorflow/tfjs-core';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ConvergenceError, InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { Matrix, eigh, matmul, matmulTransposeA, svd } from '../../src/linalg/index.js';
import { expectTensorClose } from '../../src/testing/expect-tensor-close.js';
import { gaussian, isDescending, maxAbs, maxDiff, orthogonalityError, reconstruct } from './helpers.js';

const EPS = 2.220446049250313e-16;
/**
 * The large cases are pure float64 JavaScript on a Matrix (no tfjs op), so their result cannot depend on the
 * backend: they run once, on the cpu project, instead of once per backend project.
 */
const ONCE = process.env.GEOLIP_BACKEND === 'wasm';

/** Checks every invariant of a thin SVD; tolerances grow like ε·max(M, N) (backward stability). */
function expectValidSvd(a: Matrix, tolFactor = 20): void {
  const { u, s, v } = svd(a);
  const k = Math.min(a.rows, a.cols);
  const tol = tolFactor * EPS * Math.max(a.rows, a.cols, 8);
  expect(u.shape).toEqual([a.rows, k]);
  expect(v.shape).toEqual([a.cols, k]);
  expect(s.length).toBe(k);
  expect(isDescending(s)).toBe(true);
  expect(s.every((x) => x >= 0)).toBe(true);
  const scale = Math.max(maxAbs(a), Number.MIN_VALUE);
  expect(maxDiff(reconstruct(u, s, v), a) / scale).toBeLessThan(tol);
  expect(orthogonalityError(u)).toBeLessThan(tol);
  expect(orthogonalityError(v)).toBeLessThan(tol);
}

describe('svd', () => {
  it('matches hand-derived values: 1×1, diagonal, 2×2 with s = √45, √5', () => {
    const one = svd([[-3]]);
    expect(Array.from(one.s)).toEqual([3]);
    expect(one.u.get(0, 0) * one.v.get(0, 0)).toBe(-1);

    const diag = svd([
      [0, 0, 0],
      [0, -5, 0],
      [0, 0, 2],
      [0, 0, 0],
    ]);
    expectTensorClose(diag.s, [5, 2, 0]);

    const two = svd([
      [3, 0],
      [4, 5],
    ]);
    expectTensorClose(two.s, [Math.sqrt(45), Math.sqrt(5)]);
    // A·v_j = s_j·u_j
    const av = matmul(
      Matrix.fromArray([
        [3, 0],
        [4, 5],
      ]),
      two.v,
    );
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < 2; i++) expect(av.get(i, j)).toBeCloseTo(two.s[j]! * two.u.get(i, j), 14);
  });

  it('handles the zero matrix, a rank-1 matrix and an empty matrix', () => {
    const zero = svd(new Matrix(4, 3));
    expect(Array.from(zero.s)).toEqual([0, 0, 0]);
    expect(orthogonalityError(zero.u)).toBe(0);
    expect(orthogonalityError(zero.v)).toBe(0);

    // rank 1: outer product x·yᵀ has s = (‖x‖‖y‖, 0, …)
    const x = [1, 2, 3, 4, 5];
    const y = [2, -1, 0.5];
    const r1 = Matrix.fromArray(x.map((xi) => y.map((yj) => xi * yj)));
    const { s } = svd(r1);
    expect(s[0]).toBeCloseTo(Math.hypot(...x) * Math.hypot(...y), 13);
    expect(s[1]!).toBeLessThan(1e-14);
    expectValidSvd(r1);

    const empty = svd(new Matrix(0, 3));
    expect(empty.s.length).toBe(0);
    expect(empty.u.shape).toEqual([0, 0]);
    expect(empty.v.shape).toEqual([3, 0]);
  });

  it('is valid on 1×N, N×1, tall and wide shapes (wide is done through the transpose)', () => {
    expectValidSvd(gaussian(1, 7, 1));
    expectValidSvd(gaussian(7, 1, 2));
    expectValidSvd(gaussian(30, 12, 3)); // direct rotations of Uᵀ
    expectValidSvd(gaussian(12, 30, 4));
    expectValidSvd(gaussian(1024, 64, 5)); // M ≥ 2N: rotations accumulated in [N, N]
    expectValidSvd(gaussian(64, 1024, 6));
  });

  it.each([1, 2, 3, 17, 128])('is valid on a random N×N matrix, N = %i', (n) => {
    expectValidSvd(gaussian(n, n, 100 + n));
  });

  // Speed is measured by tools/perf/geometry/linalg-bench.mjs (npm run bench:geometry), not here: a wall-clock
  // bound in a unit test fails on a loaded machine without a wrong result.
  it.skipIf(ONCE)('is valid on a 768×768 matrix', () => {
    const a = gaussian(768, 768, 768);
    const { u, s, v } = svd(a);
    const tol = 20 * EPS * 768;
    expect(isDescending(s)).toBe(true);
    expect(maxDiff(reconstruct(u, s, v), a) / maxAbs(a)).toBeLessThan(tol);
    expect(orthogonalityError(u)).toBeLessThan(tol);
    expect(orthogonalityError(v)).toBeLessThan(tol);
  });

  it.skipIf(ONCE)('is valid on a 1024×1024 matrix (checked with O(N²) random probes instead of O(N³) products)', () => {
    const n = 1024;
    const a = gaussian(n, n, 1024);
    const { u, s, v } = svd(a);
    expect(isDescending(s)).toBe(true);
    const probes = gaussian(4, n, 4096);
    const tol = 20 * EPS * n;
    const apply = (m: Matrix, x: Float64Array, transposeM: boolean): Float64Array => {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (transposeM) out[j]! += m.data[i * n + j]! * x[i]!;
          else out[i]! += m.data[i * n + j]! * x[j]!;
        }
      }
      return out;
    };
    for (let p = 0; p < 4; p++) {
      const x = probes.row(p);
      const norm = Math.hypot(...x);
      // A·x versus U·diag(s)·(Vᵀ·x)
      const vx = apply(v, x, true);
      for (let j = 0; j < n; j++) vx[j]! *= s[j]!;
      const usvx = apply(u, vx, false);
      const ax = apply(a, x, false);
      let err = 0;
      for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(ax[i]! - usvx[i]!));
      expect(err / (s[0]! * norm)).toBeLessThan(tol);
      // ‖Uᵀ(U·x)‖ = ‖x‖ and Vᵀ(V·x) = x
      const back = apply(v, apply(v, x, false), true);
      let backErr = 0;
      for (let i = 0; i < n; i++) backErr = Math.max(backErr, Math.abs(back[i]! - x[i]!));
      expect(backErr / norm).toBeLessThan(tol);
      const ux = apply(u, x, false);
      expect(Math.hypot(...ux) / norm).toBeCloseTo(1, 12);
    }
  });

  it('is valid on rank-deficient matrices (zero columns, repeated rows, low rank)', () => {
    const a = gaussian(40, 25, 7);
    for (let i = 0; i < 40; i++) a.data[i * 25 + 3] = 0;
    expectValidSvd(a);
    const b = matmul(gaussian(50, 4, 8), gaussian(4, 30, 9)); // rank 4
    expectValidSvd(b);
    const sb = svd(b).s;
    expect(sb[3]!).toBeGreaterThan(1);
    expect(sb[4]! / sb[0]!).toBeLessThan(1e-14);
    // Upper bidiagonal with a zero diagonal: exercises the zero-diagonal chase.
    const j = new Matrix(30, 30);
    for (let i = 0; i < 29; i++) j.data[i * 30 + i + 1] = 1;
    j.data[10 * 30 + 10] = 0;
    expectValidSvd(j);
    expectTensorClose(svd(j).s.subarray(0, 29), new Float64Array(29).fill(1));
  });

  it('is valid where the blocked reflector accumulation meets zero reflectors (τ = 0) and rank deficiency', () => {
    // Upper triangular: every left reflector is the identity (zero tail), mixed with non-trivial right ones.
    const tri = gaussian(150, 150, 41);
    for (let i = 0; i < 150; i++) for (let j = 0; j < i; j++) tri.data[i * 150 + j] = 0;
    expectValidSvd(tri);
    // Zero and repeated columns in a tall matrix (n ≥ 64: blocked path for U and V).
    const a = gaussian(230, 140, 42);
    for (let i = 0; i < 230; i++) {
      a.data[i * 140 + 5] = 0;
      a.data[i * 140 + 70] = 0;
      a.data[i * 140 + 99] = a.data[i * 140 + 98]!;
    }
    expectValidSvd(a);
    // Low rank, wide and very tall (m ≥ 2n: rotations accumulated in [N, N]).
    expectValidSvd(matmul(gaussian(90, 12, 43), gaussian(12, 300, 44)));
    expectValidSvd(matmul(gaussian(400, 9, 45), gaussian(9, 130, 46)));
  });

  it('scales exactly and is unaffected by huge or tiny magnitudes', () => {
    const a = gaussian(20, 15, 10);
    const s = svd(a).s;
    const big = new Matrix(
      20,
      15,
      a.data.map((x) => x * 1e300),
    );
    const tiny = new Matrix(
      20,
      15,
      a.data.map((x) => x * 1e-300),
    );
    expectTensorClose(
      svd(big).s.map((x) => x / 1e300),
      s,
      { rtol: 1e-13, atol: 1e-13 },
    );
    expectTensorClose(
      svd(tiny).s.map((x) => x * 1e300),
      s,
      { rtol: 1e-13, atol: 1e-13 },
    );
  });

  it('handles subnormal and near-overflow entries (regressions found by fast-check)', () => {
    expect(Array.from(svd([[5e-324]]).s)).toEqual([5e-324]);
    const { u, s, v } = svd([
      [1e308, -1e308],
      [1e308, 1e308],
    ]);
    expectTensorClose(s, [Math.SQRT2 * 1e308, Math.SQRT2 * 1e308], { rtol: 1e-15 });
    expect(orthogonalityError(u)).toBeLessThan(1e-15);
    expect(orthogonalityError(v)).toBeLessThan(1e-15);
    // A column far below the rest (its squares underflow) must not spoil orthogonality.
    const a = gaussian(6, 4, 14);
    for (let i = 0; i < 6; i++) a.data[i * 4 + 1] = 1e-300 * (i + 1);
    expectValidSvd(a);
  });

  it('agrees with √eig(AᵀA) and gives the same singular values for Aᵀ', () => {
    const a = gaussian(25, 17, 11);
    const s = svd(a).s;
    const ata = matmulTransposeA(a, a);
    for (let i = 0; i < 17; i++) for (let j = i + 1; j < 17; j++) ata.data[j * 17 + i] = ata.data[i * 17 + j]!;
    const lambda = eigh(ata).values;
    expectTensorClose(s, lambda.map(Math.sqrt), { atol: 1e-12, rtol: 1e-12 });
    expectTensorClose(svd(a.transpose()).s, s, { atol: 1e-13 * s[0]!, rtol: 0 });
  });

  it('has repeated singular values for an orthogonal matrix', () => {
    const { u } = svd(gaussian(40, 40, 12));
    const { s } = svd(u);
    expectTensorClose(s, new Float64Array(40).fill(1), { atol: 1e-13, rtol: 0 });
  });

  it('accepts nested arrays and rank-2 tensors', () => {
    const t = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const fromTensor = svd(t as tf.Tensor2D).s;
    t.dispose();
    expectTensorClose(
      fromTensor,
      svd([
        [1, 2],
        [3, 4],
        [5, 6],
      ]).s,
    );
  });

  it('holds its invariants on arbitrary small matrices (fast-check, seed 42)', () => {
    const matrixArb = fc
      .record({ m: fc.integer({ min: 1, max: 6 }), n: fc.integer({ min: 1, max: 6 }) })
      .chain(({ m, n }) =>
        fc
          .array(
            fc.oneof(
              fc.constant(0),
              fc.constant(1),
              fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true }),
            ),
            { minLength: m * n, maxLength: m * n },
          )
          .map((xs) => new Matrix(m, n, Float64Array.from(xs))),
      );
    fc.assert(
      fc.property(matrixArb, (a) => {
        expectValidSvd(a, 50);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it("throws NonFiniteError naming svd and 'a'", () => {
    expect(() =>
      svd([
        [1, Number.NaN],
        [0, 1],
      ]),
    ).toThrow(NonFiniteError);
    expect(() =>
      svd([
        [1, Number.NaN],
        [0, 1],
      ]),
    ).toThrow(/svd: 'a' has 1 non-finite value\(s\) \(first at flat index 1\)/);
  });

  it("throws ShapeError naming svd and 'a' for ragged rows or a rank-3 tensor", () => {
    expect(() => svd([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => svd([[1, 2], [3]])).toThrow(/svd: 'a' must have shape/);
    const t = tf.zeros([2, 2, 2]);
    expect(() => svd(t as unknown as tf.Tensor2D)).toThrow(/svd: 'a' must have shape \[rows, cols\], got \[2, 2, 2\]/);
    t.dispose();
  });

  it('throws ConvergenceError naming svd when the sweep budget is exhausted, InvalidArgumentError for a bad budget', () => {
    const a = gaussian(30, 30, 13);
    expect(() => svd(a, { maxSweeps: 1 })).toThrow(ConvergenceError);
    expect(() => svd(a, { maxSweeps: 1 })).toThrow(/svd: bidiagonal QR did not converge within 1 sweeps/);
    expect(() => svd(a, { maxSweeps: 0 })).toThrow(/svd: 'options.maxSweeps' must be an integer >= 1/);
  });

  it('doc example', () => {
    const { u, s, v } = svd([
      [3, 0],
      [4, 5],
    ]);
    expectTensorClose(s, [6.708203932499369, 2.23606797749979]);
    const a = Matrix.fromArray([
      [3, 0],
      [4, 5],
    ]);
    const av0 = matmul(a, new Matrix(2, 1, v.column(0)));
    expectTensorClose(
      av0.data,
      u.column(0).map((x) => x * s[0]!),
      { atol: 1e-14 },
    );
  });
});

describe('svd with { vectors: false }', () => {
  /** max_i |x_i − y_i| / |y_i| (exact zeros must match exactly). */
  function maxRelative(x: Float64Array, y: Float64Array): number {
    let worst = 0;
    for (let i = 0; i < y.length; i++) {
      const d = Math.abs(x[i]! - y[i]!);
      worst = Math.max(worst, y[i] === 0 ? (d === 0 ? 0 : Infinity) : d / Math.abs(y[i]!));
    }
    return worst;
  }

  it.each([
    [1, 1],
    [1, 7],
    [7, 1],
    [5, 5],
    [30, 12], // tall: Uᵀ rotated directly in the full SVD
    [12, 30], // wide (m < n): through the transpose
    [300, 40], // m ≥ 2n: the full SVD uses the [n, n] accumulator
    [40, 300],
    [129, 128],
    [128, 129],
  ])('returns the singular values of the full SVD (to 1e-12 relative) for a random %i×%i matrix', (m, n) => {
    const a = gaussian(m, n, 31 * m + n);
    const full = svd(a);
    const values = svd(a, { vectors: false });
    expect(values.u).toBeUndefined();
    expect(values.v).toBeUndefined();
    expect(values.s.length).toBe(Math.min(m, n));
    expect(isDescending(values.s)).toBe(true);
    expect(maxRelative(values.s, full.s)).toBeLessThanOrEqual(1e-12);
  });

  it('matches on rank-deficient, scaled, zero and empty matrices', () => {
    const low = matmul(gaussian(60, 5, 1), gaussian(5, 45, 2)); // rank 5
    const fullLow = svd(low).s;
    const sLow = svd(low, { vectors: false }).s;
    expectTensorClose(sLow, fullLow, { atol: 1e-13 * fullLow[0]!, rtol: 1e-12 });
    expect(sLow[5]! / sLow[0]!).toBeLessThan(1e-14);
    const tiny = new Matrix(
      9,
      14,
      gaussian(9, 14, 3).data.map((x) => x * 1e-300),
    );
    expect(maxRelative(svd(tiny, { vectors: false }).s, svd(tiny).s)).toBeLessThanOrEqual(1e-12);
    expect(Array.from(svd(new Matrix(4, 3), { vectors: false }).s)).toEqual([0, 0, 0]);
    expect(svd(new Matrix(0, 3), { vectors: false }).s.length).toBe(0);
    expect(svd(new Matrix(3, 0), { vectors: false })).toEqual({ s: new Float64Array(0) });
    expectTensorClose(
      svd(
        [
          [3, 0],
          [4, 5],
        ],
        { vectors: false },
      ).s,
      [Math.sqrt(45), Math.sqrt(5)],
    );
  });

  it('accepts tensors and nested arrays, and vectors: true (or no option) gives the full result', () => {
    const t = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const fromTensor = svd(t as tf.Tensor2D, { vectors: false }).s;
    t.dispose();
    expectTensorClose(
      fromTensor,
      svd([
        [1, 2],
        [3, 4],
        [5, 6],
      ]).s,
    );
    const withVectors = svd(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { vectors: true },
    );
    expect(withVectors.u.shape).toEqual([3, 2]);
    expect(withVectors.v.shape).toEqual([2, 2]);
  });

  it('validates the options and still throws ConvergenceError on a tiny sweep budget', () => {
    expect(() =>
      svd(
        [
          [1, 2],
          [3, 4],
        ],
        { vectors: 'no' as unknown as boolean },
      ),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      svd(
        [
          [1, 2],
          [3, 4],
        ],
        { vectors: 'no' as unknown as boolean },
      ),
    ).toThrow(/svd: 'options.vectors' must be a boolean, got string/);
    expect(() => svd(gaussian(30, 30, 13), { vectors: false, maxSweeps: 1 })).toThrow(
      /svd: bidiagonal QR did not converge within 1 sweeps/,
    );
    expect(() => svd([[Number.NaN]], { vectors: false })).toThrow(NonFiniteError);
  });
});
