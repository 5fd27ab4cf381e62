// Shared helpers for the linalg tests: seeded random matrices and the invariants every
// decomposition is checked against (reconstruction, orthogonality, ordering). Never signs.
import { Matrix, matmul, matmulTransposeA, matmulTransposeB } from '../../src/linalg/index.js';
import { createRng } from '../../src/random/rng.js';

/** `[M, N]` with i.i.d. standard normal entries from a seeded stream. */
export function gaussian(rows: number, cols: number, seed: number): Matrix {
  const rng = createRng(seed);
  const m = new Matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

/** `[N, N]` symmetric: (G + Gᵀ)/2 for a Gaussian G. */
export function symmetric(n: number, seed: number): Matrix {
  const g = gaussian(n, n, seed);
  const out = new Matrix(n, n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) out.data[i * n + j] = 0.5 * (g.data[i * n + j]! + g.data[j * n + i]!);
  return out;
}

/** `[N, N]` symmetric positive definite: G·Gᵀ/N + ridge·I. */
export function spd(n: number, seed: number, ridge = 0.5): Matrix {
  const g = gaussian(n, n, seed);
  const out = matmulTransposeB(g, g);
  for (let i = 0; i < out.data.length; i++) out.data[i]! /= n;
  for (let i = 0; i < n; i++) out.data[i * n + i]! += ridge;
  // Exact symmetry (the product is symmetric only up to rounding of the summation order).
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out.data[j * n + i] = out.data[i * n + j]!;
  return out;
}

export function maxAbs(m: Matrix | Float64Array): number {
  const d = m instanceof Matrix ? m.data : m;
  let x = 0;
  for (let i = 0; i < d.length; i++) x = Math.max(x, Math.abs(d[i]!));
  return x;
}

/** max|a − b| over all entries (shapes must agree). */
export function maxDiff(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new Error(`maxDiff: [${a.shape}] vs [${b.shape}]`);
  let x = 0;
  for (let i = 0; i < a.data.length; i++) x = Math.max(x, Math.abs(a.data[i]! - b.data[i]!));
  return x;
}

/** max|QᵀQ − I| for a matrix with (supposedly) orthonormal columns. */
export function orthogonalityError(q: Matrix): number {
  const g = matmulTransposeA(q, q);
  const n = g.rows;
  let x = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) x = Math.max(x, Math.abs(g.data[i * n + j]! - (i === j ? 1 : 0)));
  return x;
}

/** U·diag(s)·Vᵀ. */
export function reconstruct(u: Matrix, s: Float64Array, v: Matrix): Matrix {
  const k = s.length;
  const us = u.clone();
  for (let i = 0; i < us.rows; i++) for (let j = 0; j < k; j++) us.data[i * k + j]! *= s[j]!;
  return matmulTransposeB(us, v);
}

/** True when every entry is ≤ the previous one. */
export function isDescending(x: Float64Array): boolean {
  for (let i = 1; i < x.length; i++) if (!(x[i]! <= x[i - 1]!)) return false;
  return true;
}

export function transpose(m: Matrix): Matrix {
  return m.transpose();
}

export { matmul };
