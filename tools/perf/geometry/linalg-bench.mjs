#!/usr/bin/env node
// Float64 SVD / symmetric eigen timings: @geolip/geometry's `linalg` versus ml-matrix, same
// matrices, same process, alternating reps.
//
//   npm run build && node tools/perf/geometry/linalg-bench.mjs   # after building @geolip/geometry
//   node tools/perf/geometry/linalg-bench.mjs --module=path/to/index.js   # any ES module exporting `linalg`
//   GEOLIP_DIST=/path/to/dist node tools/perf/geometry/linalg-bench.mjs   # another build directory
//   node tools/perf/geometry/linalg-bench.mjs --svd=256,768 --eigh=256 --reps=3
//
// It imports the BUILT package (packages/geometry/dist/index.js, whose `linalg` namespace comes from
// src/linalg/index.ts), so build first. `runLinalgBench` is also exported for run-benchmarks.mjs.
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { median } from './bench-utils.mjs';

import { EigenvalueDecomposition, Matrix as MlMatrix, SingularValueDecomposition } from 'ml-matrix';

const DEFAULT_SIZES = { svd: [256, 768, 1024], eigh: [256, 768] };

/** Deterministic standard-normal entries (mulberry32 + Box–Muller), independent of the package. */
function gaussianData(n, seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const theta = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

function symmetrize(data, n) {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    out[i * n + i] = data[i * n + i];
    for (let j = i + 1; j < n; j++) {
      const x = 0.5 * (data[i * n + j] + data[j * n + i]);
      out[i * n + j] = x;
      out[j * n + i] = x;
    }
  }
  return out;
}

function time(fn) {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
}

/** max_i |x_i − y_i| / |y_i| over two descending lists (floor 1e-300 on the denominator). */
function maxRelativeDifference(x, y) {
  let worst = 0;
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(Math.abs(y[i]), 1e-300));
  return worst;
}

async function loadLinalg(modulePath, distDir) {
  const url = modulePath
    ? pathToFileURL(resolve(process.cwd(), modulePath)).href
    : distDir
      ? pathToFileURL(resolve(process.cwd(), distDir, 'index.js')).href
      : new URL('../../../packages/geometry/dist/index.js', import.meta.url).href;
  let mod;
  try {
    mod = await import(url);
  } catch (error) {
    throw new Error(
      `linalg-bench: cannot import ${url} (run \`npm run build\` in packages/geometry first): ${error.message}`,
    );
  }
  const linalg = mod.linalg ?? mod;
  if (typeof linalg.svd !== 'function' || typeof linalg.eigh !== 'function' || typeof linalg.Matrix !== 'function') {
    throw new Error(`linalg-bench: ${url} exports no \`linalg\` namespace with svd, eigh and Matrix`);
  }
  return linalg;
}

/**
 * Times our SVD and symmetric eigendecomposition against ml-matrix on the same N×N Gaussian
 * matrices (eigh: the symmetric part), reporting the median of `reps` runs (1 run for N ≥ 1024).
 *
 * @param {object} [options]
 * @param {{svd?: number[], eigh?: number[]} | number[]} [options.sizes] - N per op; an array applies to both. Default svd 256/768/1024, eigh 256/768.
 * @param {number} [options.reps] - repetitions for N < 1024 (default 3).
 * @param {object} [options.linalg] - the `linalg` namespace to time (default: `linalg` of ../dist/index.js).
 * @param {string} [options.module] - path of an ES module exporting `linalg`, instead of ../dist/index.js.
 * @param {string} [options.distDir] - directory of another build (its index.js is used); default `$GEOLIP_DIST` or ../dist.
 * @param {(line: string) => void} [options.log] - progress output (default console.error; pass () => {} to silence).
 * @returns {Promise<{op: 'svd'|'eigh', n: number, oursMs: number, mlMatrixMs: number, ratio: number, maxRelDiff: number, agrees: boolean}[]>}
 *   ratio = mlMatrixMs / oursMs (how many times faster ours is); maxRelDiff compares the singular
 *   values (eigenvalues) of the two libraries, and `agrees` is maxRelDiff ≤ 1e-8.
 */
export async function runLinalgBench(options = {}) {
  const sizesOption = options.sizes ?? DEFAULT_SIZES;
  const sizes = Array.isArray(sizesOption)
    ? { svd: sizesOption, eigh: sizesOption }
    : { svd: sizesOption.svd ?? [], eigh: sizesOption.eigh ?? [] };
  const reps = options.reps ?? 3;
  const log = options.log ?? ((line) => console.error(line));
  const linalg = options.linalg ?? (await loadLinalg(options.module, options.distDir ?? process.env.GEOLIP_DIST));

  // Warm up both JITs (untimed) so the first timed size is not measuring tier-up.
  for (const n of [48, 96, 160]) {
    const w = gaussianData(n * n, n);
    linalg.svd(new linalg.Matrix(n, n, w));
    linalg.eigh(new linalg.Matrix(n, n, symmetrize(w, n)));
    new SingularValueDecomposition(MlMatrix.from1DArray(n, n, Array.from(w)));
    new EigenvalueDecomposition(MlMatrix.from1DArray(n, n, Array.from(symmetrize(w, n))));
  }

  const rows = [];
  for (const op of ['svd', 'eigh']) {
    for (const n of sizes[op]) {
      const raw = gaussianData(n * n, 1000 + n);
      const data = op === 'svd' ? raw : symmetrize(raw, n);
      const ours = new linalg.Matrix(n, n, data);
      const theirs = MlMatrix.from1DArray(n, n, Array.from(data));
      const count = n >= 1024 ? 1 : reps;
      const oursTimes = [];
      const theirTimes = [];
      let oursValues;
      let theirValues;
      for (let r = 0; r < count; r++) {
        if (op === 'svd') {
          const a = time(() => linalg.svd(ours));
          oursTimes.push(a.ms);
          oursValues = a.result.s;
          const b = time(() => new SingularValueDecomposition(theirs));
          theirTimes.push(b.ms);
          theirValues = b.result.diagonal;
        } else {
          const a = time(() => linalg.eigh(ours));
          oursTimes.push(a.ms);
          oursValues = a.result.values;
          const b = time(() => new EigenvalueDecomposition(theirs));
          theirTimes.push(b.ms);
          theirValues = b.result.realEigenvalues;
        }
      }
      const theirSorted = Float64Array.from(theirValues).sort().reverse();
      const maxRelDiff = maxRelativeDifference(oursValues, theirSorted);
      const row = {
        op,
        n,
        oursMs: median(oursTimes),
        mlMatrixMs: median(theirTimes),
        ratio: median(theirTimes) / median(oursTimes),
        maxRelDiff,
        agrees: maxRelDiff <= 1e-8,
      };
      log(
        `linalg-bench: ${op} ${n}×${n}: ours ${row.oursMs.toFixed(0)} ms, ml-matrix ${row.mlMatrixMs.toFixed(0)} ms (${count} rep(s)), max rel diff ${maxRelDiff.toExponential(2)}`,
      );
      rows.push(row);
    }
  }
  return rows;
}

/** The rows as a Markdown table. */
export function formatLinalgBench(rows) {
  const lines = [
    '| op | N×N | ours (ms) | ml-matrix (ms) | ml-matrix / ours | values agree (max rel diff) |',
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.op} | ${r.n}×${r.n} | ${r.oursMs.toFixed(0)} | ${r.mlMatrixMs.toFixed(0)} | ${r.ratio.toFixed(2)}× | ${r.agrees ? 'yes' : 'NO'} (${r.maxRelDiff.toExponential(1)}) |`,
    );
  }
  return lines.join('\n');
}

function parseArgs(argv) {
  const out = {};
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'module') out.module = value;
    else if (key === 'reps') out.reps = Number(value);
    else if (key === 'svd' || key === 'eigh') {
      out.sizes ??= { svd: [], eigh: [] };
      out.sizes[key] = value ? value.split(',').map(Number) : [];
    } else throw new Error(`linalg-bench: unknown argument ${arg}`);
  }
  if (out.sizes) {
    out.sizes.svd = argv.some((a) => a.startsWith('--svd')) ? out.sizes.svd : DEFAULT_SIZES.svd;
    out.sizes.eigh = argv.some((a) => a.startsWith('--eigh')) ? out.sizes.eigh : DEFAULT_SIZES.eigh;
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await runLinalgBench(parseArgs(process.argv.slice(2)));
  console.log(`Node ${process.version}, ${(await import('node:os')).cpus().length} CPU(s)\n`);
  console.log(formatLinalgBench(rows));
  if (rows.some((r) => !r.agrees)) {
    console.error('linalg-bench: singular values / eigenvalues disagree with ml-matrix beyond 1e-8 relative');
    process.exitCode = 1;
  }
}
