#!/usr/bin/env node
// gpu.js kernels (@geolip/geometry/gpu) against their float64 references, on the BUILT package.
//
//   npm run build && node tools/perf/geometry/gpu-bench.mjs            (after building @geolip/geometry)
//   node tools/perf/geometry/gpu-bench.mjs --mode cpu                  (request another gpu.js mode)
//   GEOLIP_DIST=/path/to/dist node tools/perf/geometry/gpu-bench.mjs   (another build directory)
//
// Cases:
// - Cayley–Menger determinants of B random 4-simplices [B, 5, 16], B = 1e3 and 1e4: gpu.js kernel
//   (Float64Array input, host packing included) vs the main entry's float64 `cayleyMengerDeterminant`
//   on nested arrays.
// - pairwiseCosine, N = M = 1000, D = 128: gpu.js kernel vs a plain float64 loop over normalized rows.
// Times are the median of `reps` timed calls after one untimed warm-up call (which compiles the
// kernel; its time is reported separately). Prints a Markdown table and returns its rows.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { timeSync } from './bench-utils.mjs';

/**
 * Runs the gpu.js benchmark.
 *
 * @param {object} [options]
 * @param {string} [options.distDir] - directory of the built package (default `../dist` next to this file, or `$GEOLIP_DIST`).
 * @param {number} [options.reps] - timed repetitions per case (default 7; 5 for the largest cases).
 * @param {string} [options.mode] - gpu.js mode to request (default 'gpu').
 * @param {(line: string) => void} [options.log] - where to print (default console.log).
 * @returns {Promise<Array<{ case: string, size: string, mode: string, gpuMs: number, firstCallMs: number, referenceMs: number, speedup: number, medianRelError: number }>>}
 */
export async function runGpuBench(options = {}) {
  const log = options.log ?? ((line) => console.log(line));
  const distDir =
    options.distDir ??
    process.env.GEOLIP_DIST ??
    fileURLToPath(new URL('../../../packages/geometry/dist/', import.meta.url));
  const indexPath = `${distDir.replace(/\/?$/, '/')}index.js`;
  const gpuPath = `${distDir.replace(/\/?$/, '/')}gpu.js`;
  if (!existsSync(indexPath) || !existsSync(gpuPath)) {
    throw new Error(
      `gpu-bench: built package not found (${indexPath}, ${gpuPath}); run \`npm run build\` in packages/geometry first`,
    );
  }
  const { cayleyMengerDeterminant } = await import(pathToFileURL(indexPath).href);
  const { loadGpu } = await import(pathToFileURL(gpuPath).href);

  const gpu = await loadGpu({ mode: options.mode ?? 'gpu' });
  const rows = [];
  try {
    const rng = mulberry32(2024);
    const normal = () => {
      const u = 1 - rng();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
    };

    // Cayley–Menger, [B, 5, 16]
    const V = 5;
    const D = 16;
    for (const B of [1_000, 10_000]) {
      const reps = options.reps ?? (B >= 10_000 ? 5 : 7);
      const flat = new Float64Array(B * V * D);
      for (let i = 0; i < flat.length; i++) flat[i] = normal();
      const nested = Array.from({ length: B }, (_, b) =>
        Array.from({ length: V }, (_, v) => Array.from(flat.subarray((b * V + v) * D, (b * V + v + 1) * D))),
      );
      const t0 = performance.now();
      const first = gpu.cayleyMengerDeterminants(flat, [B, V, D]);
      const firstCallMs = performance.now() - t0;
      const gpuMs = timeSync(() => gpu.cayleyMengerDeterminants(flat, [B, V, D]), reps).ms;
      const { ms: referenceMs, last: ref } = timeSync(() => cayleyMengerDeterminant(nested), reps);
      rows.push({
        case: `cayleyMengerDeterminants [B, ${V}, ${D}]`,
        size: `B = ${B.toLocaleString('en-US')}`,
        mode: gpu.mode,
        gpuMs,
        firstCallMs,
        referenceMs,
        speedup: referenceMs / gpuMs,
        medianRelError: medianRelError(first, ref),
      });
    }

    // pairwiseCosine, N = M = 1000, D = 128
    {
      const N = 1000;
      const Dc = 128;
      const reps = options.reps ?? 5;
      const make = () => {
        const data = new Float64Array(N * Dc);
        for (let i = 0; i < data.length; i++) data[i] = normal();
        return { data, rows: N, cols: Dc };
      };
      const a = make();
      const b = make();
      const t0 = performance.now();
      const first = gpu.pairwiseCosine(a, b);
      const firstCallMs = performance.now() - t0;
      const gpuMs = timeSync(() => gpu.pairwiseCosine(a, b), reps).ms;
      const { ms: referenceMs, last: ref } = timeSync(() => cosineLoop(a, b), reps);
      rows.push({
        case: `pairwiseCosine [N, ${Dc}] × [M, ${Dc}]`,
        size: `N = M = ${N.toLocaleString('en-US')}`,
        mode: gpu.mode,
        gpuMs,
        firstCallMs,
        referenceMs,
        speedup: referenceMs / gpuMs,
        medianRelError: medianRelError(first.data, ref),
      });
    }
  } finally {
    await gpu.destroy();
  }

  log(
    `gpu.js mode: ${rows[0]?.mode ?? gpu.mode} (requested '${gpu.requestedMode}'${gpu.attempts.length ? `; fell back after: ${gpu.attempts.map((a) => a.name).join(', ')}` : ''}); Node ${process.version}`,
  );
  log('');
  log(
    '| case | size | gpu.js mode | gpu.js median (ms) | gpu.js first call (ms) | float64 reference median (ms) | speedup | median rel. error |',
  );
  log('|---|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    log(
      `| ${r.case} | ${r.size} | ${r.mode} | ${r.gpuMs.toFixed(2)} | ${r.firstCallMs.toFixed(1)} | ${r.referenceMs.toFixed(2)} | ${r.speedup.toFixed(1)}× | ${r.medianRelError.toExponential(1)} |`,
    );
  }
  return rows;
}

function medianRelError(actual, expected) {
  const rel = [];
  for (let i = 0; i < expected.length; i++) {
    if (expected[i] !== 0) rel.push(Math.abs(actual[i] - expected[i]) / Math.abs(expected[i]));
  }
  rel.sort((x, y) => x - y);
  return rel[rel.length >> 1] ?? 0;
}

/** Plain float64 cosine loop: normalize rows (zero rows stay zero), then all dot products. */
function cosineLoop(a, b) {
  const unit = ({ data, rows, cols }) => {
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let t = 0; t < cols; t++) s += data[i * cols + t] ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let t = 0; t < cols; t++) out[i * cols + t] = data[i * cols + t] * inv;
    }
    return out;
  };
  const ua = unit(a);
  const ub = unit(b);
  const D = a.cols;
  const out = new Float64Array(a.rows * b.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let t = 0; t < D; t++) s += ua[i * D + t] * ub[j * D + t];
      out[i * b.rows + j] = s;
    }
  }
  return out;
}

/** Small seeded PRNG, so every run times the same data. */
function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const modeFlag = process.argv.indexOf('--mode');
  runGpuBench(modeFlag > 0 ? { mode: process.argv[modeFlag + 1] } : {}).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
