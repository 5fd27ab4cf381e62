import { checkFinite, checkMinLength, checkSameLength } from './check.js';
import type { NumericArray } from './check.js';

/**
 * Ranks of `x` (1-based, float64), ties receiving the average of the ranks they span:
 * the same as `scipy.stats.rankdata(x, method='average')`.
 *
 * @param x - `[N]` values.
 * @returns `[N]` ranks in [1, N].
 * @throws {NonFiniteError} `x` contains NaN or ±Infinity.
 * @remarks O(N log N).
 * @example
 * ```ts
 * Array.from(rank([10, 20, 10, 30])); // [1.5, 3, 1.5, 4]
 * ```
 */
export function rank(x: NumericArray): Float64Array {
  checkFinite('rank', 'x', x);
  return rankUnchecked(x);
}

/** Internal: average ranks without input checks. */
export function rankUnchecked(x: NumericArray): Float64Array {
  const n = x.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((i, j) => x[i]! - x[j]!);
  const r = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]!] === x[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

function pearsonUnchecked(x: NumericArray, y: NumericArray): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return Number.NaN;
  const r = sxy / (Math.sqrt(sxx) * Math.sqrt(syy));
  return Math.max(-1, Math.min(1, r));
}

/**
 * Pearson correlation r = Σ(xᵢ−x̄)(yᵢ−ȳ) / (‖x−x̄‖·‖y−ȳ‖), in float64
 * (= `scipy.stats.pearsonr(x, y)[0]`).
 *
 * @param x - `[N]` values, N ≥ 2.
 * @param y - `[N]` values.
 * @returns r in [−1, 1]; `NaN` if either input is constant (scipy also returns nan).
 * @throws {ShapeError} `y` has a different length from `x`.
 * @throws {InvalidArgumentError} N < 2.
 * @throws {NonFiniteError} NaN or ±Infinity in `x` or `y`.
 * @remarks Two-pass (mean first) for accuracy; O(N).
 * @example
 * ```ts
 * pearson([1, 2, 3], [2, 4, 6.5]); // ≈ 0.9979
 * ```
 */
export function pearson(x: NumericArray, y: NumericArray): number {
  const op = 'pearson';
  checkSameLength(op, 'x', x, 'y', y);
  checkMinLength(op, 'x', x, 2);
  checkFinite(op, 'x', x);
  checkFinite(op, 'y', y);
  return pearsonUnchecked(x, y);
}

/**
 * Spearman rank correlation ρ = pearson(rank(x), rank(y)) with average ranks for ties
 * (= `scipy.stats.spearmanr(x, y).statistic`). The STS-B / SICK-R headline metric (×100).
 *
 * @param x - `[N]` predicted similarities, N ≥ 2.
 * @param y - `[N]` gold scores.
 * @returns ρ in [−1, 1]; `NaN` if either input is constant.
 * @throws {ShapeError} `y` has a different length from `x`.
 * @throws {InvalidArgumentError} N < 2.
 * @throws {NonFiniteError} NaN or ±Infinity in `x` or `y`.
 * @remarks O(N log N).
 * @example
 * ```ts
 * spearman([0.1, 0.4, 0.3], [1, 5, 2]); // 1 (up to rounding)
 * ```
 */
export function spearman(x: NumericArray, y: NumericArray): number {
  const op = 'spearman';
  checkSameLength(op, 'x', x, 'y', y);
  checkMinLength(op, 'x', x, 2);
  checkFinite(op, 'x', x);
  checkFinite(op, 'y', y);
  return pearsonUnchecked(rankUnchecked(x), rankUnchecked(y));
}
