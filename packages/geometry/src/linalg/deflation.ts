/**
 * Deflation step shared by the implicit-shift QR iterations of `eigh` (tridiagonal) and `svd`
 * (bidiagonal): zero the negligible off-diagonal entries `e` at the bottom, then find the unreduced
 * block [lo, hi] that ends at the new `hi`. Returns hi = 0 when the whole matrix is diagonal.
 * @internal
 */
export function nextActiveBlock(e: Float64Array, hi: number, tol: number): { lo: number; hi: number } {
  while (hi > 0 && Math.abs(e[hi - 1]!) <= tol) {
    e[hi - 1] = 0;
    hi--;
  }
  if (hi === 0) return { lo: 0, hi: 0 };
  let lo = hi - 1;
  while (lo > 0 && Math.abs(e[lo - 1]!) > tol) lo--;
  if (lo > 0) e[lo - 1] = 0;
  return { lo, hi };
}
