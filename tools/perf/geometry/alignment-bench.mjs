#!/usr/bin/env node
// Times float64 Procrustes and GPA (3 views, 5 rounds) on the BUILT package.
//
//   npm run build -w @geolip/geometry && node tools/perf/geometry/alignment-bench.mjs
//   node tools/perf/geometry/alignment-bench.mjs --sizes 128,768 --n 2000 --reps 3     (after building @geolip/geometry)
//
// Data: N rows of standard normals (seeded), views = data·Q_e + 0.05·noise with random rotations Q_e.
// Each cell is the median wall time of `reps` runs after one untimed warm-up at the smallest size.
// Everything runs on the CPU in float64 (no tfjs backend is involved).
import { fileURLToPath } from 'node:url';

import { Matrix, createRng, gpa, procrustes } from '../../../packages/geometry/dist/index.js';
import { timeSync } from './bench-utils.mjs';

function randomMatrix(rows, cols, rng, scale = 1) {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return m;
}

/** X·Q + noise, with Q orthogonal from Gram–Schmidt on a Gaussian matrix. */
function rotatedNoisyCopy(x, rng, noise) {
  const d = x.cols;
  const q = randomMatrix(d, d, rng);
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += q.data[i * d + j] * q.data[i * d + k];
      for (let i = 0; i < d; i++) q.data[i * d + j] -= dot * q.data[i * d + k];
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += q.data[i * d + j] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < d; i++) q.data[i * d + j] /= norm;
  }
  const out = new Matrix(x.rows, d);
  for (let r = 0; r < x.rows; r++) {
    for (let k = 0; k < d; k++) {
      const v = x.data[r * d + k];
      for (let j = 0; j < d; j++) out.data[r * d + j] += v * q.data[k * d + j];
    }
    for (let j = 0; j < d; j++) out.data[r * d + j] += noise * rng.normal();
  }
  return out;
}

/**
 * Runs the alignment benchmark and prints a Markdown table.
 * @param {{ sizes?: number[], n?: number, reps?: number, gpaReps?: number, iterations?: number, log?: (line: string) => void }} [options]
 *   `reps` (default 3) for Procrustes; `gpaReps` (default 3 at D ≤ 256, 1 above, since one 768-d GPA
 *   run is 15 SVDs) for GPA.
 * @returns {Promise<Array<{ op: string, n: number, d: number, views: number, iterations: number, reps: number, medianMs: number, check: number }>>}
 *   one row per (op, D); `check` is the Procrustes residual / √(N·D) or the GPA equidistance.
 */
export async function runAlignmentBench(options = {}) {
  const sizes = options.sizes ?? [128, 768];
  const n = options.n ?? 2000;
  const reps = options.reps ?? 3;
  const iterations = options.iterations ?? 5;
  const log = options.log ?? ((line) => console.log(line));
  const rng = createRng(1234);

  // Warm-up (JIT) on a small problem, untimed.
  {
    const x = randomMatrix(200, 32, rng);
    procrustes(x, rotatedNoisyCopy(x, rng, 0.05));
    gpa([x, rotatedNoisyCopy(x, rng, 0.05), rotatedNoisyCopy(x, rng, 0.05)], { iterations: 2 });
  }

  const rows = [];
  for (const d of sizes) {
    const x = randomMatrix(n, d, rng);
    const views = [rotatedNoisyCopy(x, rng, 0.05), rotatedNoisyCopy(x, rng, 0.05), rotatedNoisyCopy(x, rng, 0.05)];

    const p = timeSync(() => procrustes(views[0], views[1]), reps);
    rows.push({
      op: 'procrustes',
      n,
      d,
      views: 2,
      iterations: 1,
      reps,
      medianMs: p.ms,
      check: p.last.residual / Math.sqrt(n * d),
    });

    const gReps = options.gpaReps ?? (d <= 256 ? 3 : 1);
    const g = timeSync(() => gpa(views, { iterations }), gReps);
    rows.push({
      op: 'gpa',
      n,
      d,
      views: 3,
      iterations: g.last.iterations,
      reps: gReps,
      medianMs: g.ms,
      check: g.last.diagnostics.equidistance,
    });
  }

  log(`Alignment (float64, CPU) — Node ${process.version}, ${process.platform}/${process.arch}`);
  log('');
  log('| op | N | D | views | iterations | reps | median ms | check |');
  log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    log(
      `| ${r.op} | ${r.n} | ${r.d} | ${r.views} | ${r.iterations} | ${r.reps} | ${r.medianMs.toFixed(1)} | ${r.check.toExponential(2)} |`,
    );
  }
  log('');
  log(
    'check: Procrustes RMS entry residual ‖XR − Y‖_F/√(N·D) (noise level 0.05·√2 ≈ 0.071), or GPA equidistance (spec §3.4).',
  );
  return rows;
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--sizes') out.sizes = value.split(',').map(Number);
    else if (key === '--n') out.n = Number(value);
    else if (key === '--reps') out.reps = Number(value);
    else if (key === '--gpa-reps') out.gpaReps = Number(value);
    else if (key === '--iterations') out.iterations = Number(value);
    else continue;
    i++;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runAlignmentBench(parseArgs(process.argv.slice(2)));
}
