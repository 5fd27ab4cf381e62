#!/usr/bin/env node
// Times the pentachoron CV metric (float64, CPU) and the differentiable cvLoss (forward + backward on
// the active tfjs backend) for N = 1e3, 1e4, 1e5 points on S^15 and S^127.
//
//   node tools/perf/geometry/cv-bench.mjs [--backends cpu,wasm]     (after building @geolip/geometry)
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';

import { cvLoss, pentachoronCV, sampleSphere } from '../../../packages/geometry/dist/index.js';
import { initBackend } from '../../../packages/geometry/dist/backend.js';
import { markdownTable, ms, timeMedian } from './bench-utils.mjs';

export async function runCvBench({
  backends = ['cpu', 'wasm'],
  sizes = [1e3, 1e4, 1e5],
  dims = [16, 128],
  reps = 5,
} = {}) {
  const rows = [];
  for (const backend of backends) {
    process.env.GEOLIP_BACKEND = backend;
    await initBackend({ log: () => {} });
    for (const d of dims) {
      for (const n of sizes) {
        const x = sampleSphere(n, d, { seed: 1 });
        const metric = await timeMedian(() => pentachoronCV(x, { seed: 1 }), { reps });
        const metricAll = await timeMedian(() => pentachoronCV(x, { seed: 1, pool: Infinity }), { reps });
        const grad = tf.grad((t) => cvLoss(t, 0.2, { seed: 1 }));
        const loss = await timeMedian(() => tf.tidy(() => grad(x).dataSync()), { reps });
        x.dispose();
        rows.push({ backend, n, d, metric, metricAll, loss });
      }
    }
  }
  delete process.env.GEOLIP_BACKEND;
  const table = markdownTable(rows, [
    ['backend', 'backend'],
    ['N', 'n', (v) => v.toExponential(0).replace('+', '')],
    ['D', 'd'],
    ['pentachoronCV, pool 512 (ms)', 'metric', ms],
    ['pentachoronCV, pool = N (ms)', 'metricAll', ms],
    ['cvLoss fwd+bwd, 64 samples (ms)', 'loss', ms],
  ]);
  return { rows, table };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--backends');
  const { table } = await runCvBench(i > 0 ? { backends: process.argv[i + 1].split(',') } : {});
  console.log(table);
}
