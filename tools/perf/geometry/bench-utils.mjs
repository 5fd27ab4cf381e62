// Shared helpers for the geometry benchmarks: timing, medians, Markdown tables.
import { performance } from 'node:perf_hooks';

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `fn` `reps` times; returns the median wall time in ms and the last result. */
export function timeSync(fn, reps = 1) {
  const times = [];
  let last;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    last = fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), last };
}

/** Median wall time in ms of `reps` runs of `fn` (after `warmup` untimed runs). */
export async function timeMedian(fn, { reps = 5, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** A Markdown table from an array of row objects and [header, key, format?] columns. */
export function markdownTable(rows, columns) {
  const head = `| ${columns.map((c) => c[0]).join(' | ')} |`;
  const sep = `|${columns.map(() => '---').join('|')}|`;
  const body = rows.map(
    (r) => `| ${columns.map(([, key, fmt]) => (fmt ? fmt(r[key], r) : String(r[key]))).join(' | ')} |`,
  );
  return [head, sep, ...body].join('\n');
}

export const ms = (v) =>
  v === undefined || v === null || Number.isNaN(v)
    ? '—'
    : v >= 100
      ? v.toFixed(0)
      : v >= 1
        ? v.toFixed(2)
        : v.toFixed(3);
