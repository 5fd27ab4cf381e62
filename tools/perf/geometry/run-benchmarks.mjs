#!/usr/bin/env node
// Runs every geometry benchmark in one process and writes BENCHMARKS.md (atomically: temp file + rename).
//
//   npm run bench:geometry            (repo root: builds, then runs this)
//   node tools/perf/geometry/run-benchmarks.mjs [--quick] [--out FILE]   (after building @geolip/geometry)
//
// --quick uses smaller sizes (for a smoke run); the committed BENCHMARKS.md is a full run.
import { cpus, totalmem } from 'node:os';
import { renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { runAlignmentBench } from './alignment-bench.mjs';
import { runCvBench } from './cv-bench.mjs';
import { runGpuBench } from './gpu-bench.mjs';
import { formatLinalgBench, runLinalgBench } from './linalg-bench.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIndex = args.indexOf('--out');
const out =
  outIndex >= 0
    ? args[outIndex + 1]
    : fileURLToPath(new URL('../../../packages/geometry/BENCHMARKS.md', import.meta.url));

const sections = [];
const started = new Date();
const progress = (m) => process.stderr.write(`[bench] ${m}\n`);

progress('pentachoron CV and cvLoss on cpu and wasm');
const cv = await runCvBench(quick ? { sizes: [1e3, 1e4], reps: 3 } : { reps: 5 });
sections.push([
  'Pentachoron CV',
  [
    'Uniform points on S^15 and S^127. `pentachoronCV` samples 200 pentachora in float64 on the CPU from the first',
    '`pool` rows (spec §2.1; with `pool = N` every row is eligible and all N rows are read from the backend);',
    '`cvLoss` is the differentiable loss (64 pentachora) timed forward + backward on the named tfjs backend.',
    '',
    cv.table,
  ].join('\n'),
]);

progress('linalg: SVD and eigh vs ml-matrix');
const linalgRows = await runLinalgBench(quick ? { sizes: [256], reps: 1, log: () => {} } : { log: () => {} });
sections.push([
  'Float64 linear algebra vs ml-matrix (same run)',
  [
    'Median wall time; `ratio` = ml-matrix time ÷ ours; singular values / eigenvalues checked to agree (1e-8 relative).',
    'Pure JS on the CPU: the tfjs backend plays no part.',
    '',
    formatLinalgBench(linalgRows),
  ].join('\n'),
]);

progress('alignment: Procrustes and GPA');
const alignLines = [];
await runAlignmentBench({ sizes: quick ? [128] : [128, 768], n: 2000, reps: 3, log: (l) => alignLines.push(l) });
sections.push(['Procrustes and GPA (float64, CPU)', alignLines.join('\n')]);

progress('gpu.js kernels');
const gpuLines = [];
try {
  await runGpuBench({ log: (l) => gpuLines.push(l) });
} catch (e) {
  gpuLines.push(`gpu.js benchmark skipped: ${e.message}`);
}
sections.push(['gpu.js kernels (`@geolip/geometry/gpu`)', gpuLines.join('\n')]);

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const text = [
  '# @geolip/geometry benchmarks',
  '',
  `Produced by \`npm run bench:geometry\` (repo root) = \`node tools/perf/geometry/run-benchmarks.mjs${quick ? ' --quick' : ''}\`,`,
  `on ${started.toISOString().slice(0, 10)}: Node ${process.version}, ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB.`,
  'All numbers are medians of repeated runs measured side by side in this one run; the machine is shared and noisy,',
  'so compare ratios within a table rather than absolute times across runs.',
  '',
  ...sections.flatMap(([title, body]) => [`## ${title}`, '', body, '']),
].join('\n');
writeFileSync(`${out}.tmp`, text);
renameSync(`${out}.tmp`, out);
progress(`wrote ${out} in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);
