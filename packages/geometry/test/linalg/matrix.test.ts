import { describe, expect, it } from 'vitest';

import { ShapeError } from '../../src/errors.js';
import { Matrix, matmul, matmulTransposeA, matmulTransposeB } from '../../src/linalg/index.js';
import { gemm } from '../../src/linalg/matrix.js';
import { gaussian, maxAbs, maxDiff } from './helpers.js';

const EPS = 2.220446049250313e-16;

/** Reference C = A·B by plain triple loop (no blocking). */
function naiveProduct(a: Matrix, b: Matrix): Matrix {
  const out = new Matrix(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let p = 0; p < a.cols; p++) s += a.data[i * a.cols + p]! * b.data[p * b.cols + j]!;
      out.data[i * b.cols + j] = s;
    }
  }
  return out;
}

/** |C − C_ref| ≤ tol·k·ε·(|A|·|B|) entrywise, bounded here by max|A|·max|B|·k. */
function expectProductClose(got: Matrix, want: Matrix, a: Matrix, b: Matrix, k: number): void {
  expect(got.shape).toEqual(want.shape);
  const bound = 4 * Math.max(k, 1) * EPS * Math.max(maxAbs(a) * maxAbs(b) * Math.max(k, 1), Number.MIN_VALUE);
  expect(maxDiff(got, want)).toBeLessThanOrEqual(bound);
}

// Shapes chosen around the kernel's tile (3×4), row block (48), depth block (256) and the
// small-product cut-off (16³), plus degenerate ones.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [2, 3, 4],
  [5, 7, 3],
  [16, 16, 16],
  [17, 16, 16],
  [3, 4, 500],
  [1, 600, 9],
  [47, 33, 29],
  [48, 20, 44],
  [49, 257, 13],
  [100, 300, 50],
  [131, 513, 67],
  [7, 1, 300],
];

describe('matmul kernels', () => {
  it.each(SHAPES)('matmul [%i, %i]·[%i, M] matches the naive product', (n, k, m) => {
    const a = gaussian(n, k, n * 1000 + k);
    const b = gaussian(k, m, m * 1000 + k + 1);
    expectProductClose(matmul(a, b), naiveProduct(a, b), a, b, k);
  });

  it.each(SHAPES)(
    'matmulTransposeA and matmulTransposeB agree with matmul on explicit transposes (%i, %i, %i)',
    (n, k, m) => {
      const a = gaussian(n, k, 7 * n + k);
      const b = gaussian(k, m, 11 * m + k);
      const want = naiveProduct(a, b);
      expectProductClose(matmulTransposeA(a.transpose(), b), want, a, b, k);
      expectProductClose(matmulTransposeB(a, b.transpose()), want, a, b, k);
    },
  );

  it('is exact on small integers and leaves the inputs untouched', () => {
    const a = new Matrix(
      37,
      260,
      Float64Array.from({ length: 37 * 260 }, (_, i) => ((i * 7) % 11) - 5),
    );
    const b = new Matrix(
      260,
      23,
      Float64Array.from({ length: 260 * 23 }, (_, i) => ((i * 5) % 13) - 6),
    );
    const aCopy = a.data.slice();
    const bCopy = b.data.slice();
    const want = naiveProduct(a, b);
    expect(Array.from(matmul(a, b).data)).toEqual(Array.from(want.data));
    expect(Array.from(matmulTransposeA(a.transpose(), b).data)).toEqual(Array.from(want.data));
    expect(Array.from(matmulTransposeB(a, b.transpose()).data)).toEqual(Array.from(want.data));
    expect(a.data).toEqual(aCopy);
    expect(b.data).toEqual(bCopy);
  });

  it('gives Gram matrices AᵀA and AAᵀ that are symmetric to rounding', () => {
    const a = gaussian(301, 70, 3);
    const g = matmulTransposeA(a, a);
    const h = matmulTransposeB(a, a);
    expect(g.shape).toEqual([70, 70]);
    expect(h.shape).toEqual([301, 301]);
    expect(maxDiff(g, g.transpose())).toBeLessThan(1e-12 * maxAbs(g));
    expect(maxDiff(h, h.transpose())).toBeLessThan(1e-12 * maxAbs(h));
    expectProductClose(g, naiveProduct(a.transpose(), a), a, a, 301);
  });

  it('handles empty dimensions: zero inner size gives zeros, zero outer size an empty matrix', () => {
    const z = matmul(new Matrix(3, 0), new Matrix(0, 4));
    expect(z.shape).toEqual([3, 4]);
    expect(Array.from(z.data)).toEqual(new Array(12).fill(0));
    expect(matmul(new Matrix(0, 5), gaussian(5, 2, 1)).shape).toEqual([0, 2]);
    expect(matmulTransposeA(new Matrix(0, 3), new Matrix(0, 2)).shape).toEqual([3, 2]);
    expect(matmulTransposeB(gaussian(4, 3, 2), new Matrix(0, 3)).shape).toEqual([4, 0]);
  });

  it('throws ShapeError naming the op (default or given)', () => {
    const a = new Matrix(2, 3);
    expect(() => matmul(a, new Matrix(2, 2))).toThrow(ShapeError);
    expect(() => matmul(a, new Matrix(2, 2))).toThrow(/^matmul: 'b' must have shape \[3, M\], got \[2, 2\]/);
    expect(() => matmul(a, new Matrix(2, 2), 'procrustes')).toThrow(/^procrustes: 'b'/);
    expect(() => matmulTransposeA(a, new Matrix(3, 2))).toThrow(
      /^matmulTransposeA: 'b' must have shape \[2, Q\], got \[3, 2\]/,
    );
    expect(() => matmulTransposeB(a, new Matrix(3, 2))).toThrow(
      /^matmulTransposeB: 'b' must have shape \[M, 3\], got \[3, 2\]/,
    );
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])(
    'internal gemm accumulates op(A)·op(B) into a sub-block of C (transA %s, transB %s), small and blocked',
    (transA, transB) => {
      for (const [n, m, k] of [
        [3, 5, 4],
        [70, 53, 300],
      ] as const) {
        const a = gaussian(n, k, n + k);
        const b = gaussian(k, m, m + k);
        const want = naiveProduct(a, b);
        // Embed op(A) and op(B) at an offset inside larger arrays with wider rows.
        const aStored = transA ? a.transpose() : a;
        const bStored = transB ? b.transpose() : b;
        const lda = aStored.cols + 3;
        const ldb = bStored.cols + 5;
        const aBuf = new Float64Array(7 + aStored.rows * lda).fill(Number.NaN);
        const bBuf = new Float64Array(2 + bStored.rows * ldb).fill(Number.NaN);
        for (let i = 0; i < aStored.rows; i++)
          for (let j = 0; j < aStored.cols; j++) aBuf[7 + i * lda + j] = aStored.data[i * aStored.cols + j]!;
        for (let i = 0; i < bStored.rows; i++)
          for (let j = 0; j < bStored.cols; j++) bBuf[2 + i * ldb + j] = bStored.data[i * bStored.cols + j]!;
        const ldc = m + 2;
        const c = new Float64Array(1 + n * ldc).fill(1);
        gemm(n, m, k, aBuf, 7, lda, transA, bBuf, 2, ldb, transB, c, 1, ldc);
        const got = new Matrix(n, m);
        for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) got.data[i * m + j] = c[1 + i * ldc + j]! - 1;
        expectProductClose(got, want, a, b, k);
        // Entries outside the block are untouched.
        expect(c[0]).toBe(1);
        for (let i = 0; i < n; i++) expect([c[1 + i * ldc + m], c[1 + i * ldc + m + 1]]).toEqual([1, 1]);
      }
    },
  );
});
