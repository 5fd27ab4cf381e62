#!/usr/bin/env node
// Conv2d weight + input gradient: tfjs's own Conv2D gradient (kernels Conv2DBackpropFilter + Conv2DBackpropInput)
// against @geolip/nn's Conv2d, whose weight gradient is kh·kw strided slices and matmuls (conv2dComposedGrad).
// Shapes are the GLFM encoder's at 28×28 (issue 9).
//
//   npm run bench:nn:conv-grad              (needs `npx turbo run build --filter=@geolip/nn`)
//   node tools/perf/nn/conv-grad.mjs --backend cpu --batch 16 --runs 3
//
// Each cell is the median of --runs timed runs after one warm-up, side by side in one process. Prints a Markdown
// table; writes JSON to results/perf/nn/conv-grad-<backend>.json (temp file, then rename).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { Conv2d } from '@geolip/nn';
import { initBackend } from '@geolip/nn/backend';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const backendName = arg('backend', 'cpu');
const batch = Number(arg('batch', '16'));
const runs = Number(arg('runs', '3'));

const SHAPES = [
  { name: '28×28, 64→64', h: 28, cin: 64, cout: 64, stride: 1 },
  { name: '14×14, 128→128', h: 14, cin: 128, cout: 128, stride: 1 },
  { name: '7×7, 256→256', h: 7, cin: 256, cout: 256, stride: 1 },
  { name: '28×28, 64→64, stride 2', h: 28, cin: 64, cout: 64, stride: 2 },
];

const info = await initBackend({ prefer: [backendName] });
if (info.name !== backendName) throw new Error(`conv-grad: asked for backend ${backendName}, got ${info.name}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(f) {
  const out = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const grads = f();
    await Promise.all(grads.map((g) => g.data()));
    tf.dispose(grads);
    if (i > 0) out.push(performance.now() - t0);
  }
  return median(out);
}

const rows = [];
for (const s of SHAPES) {
  const conv = new Conv2d(s.cin, s.cout, 3, { stride: s.stride, padding: 1, bias: false, seed: 0 });
  const x = tf.randomNormal([batch, s.h, s.h, s.cin], 0, 1, 'float32', 1);
  const w = conv.weight;
  // tfjs: pad, then its own Conv2D (valid) gradient.
  const tfjsGrad = () =>
    tf.grads((xi, wi) =>
      tf.sum(
        tf.conv2d(
          tf.pad(xi, [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
          wi,
          s.stride,
          'valid',
        ),
      ),
    )([x, w]);
  const oursGrad = () => {
    const { grads, value } = tf.variableGrads(() => tf.sum(conv.forward(x)), [w]);
    const dx = tf.grad((xi) => tf.sum(conv.forward(xi)))(x);
    value.dispose();
    return [dx, grads[w.name]];
  };
  const tfjsMs = await time(tfjsGrad);
  const oursMs = await time(oursGrad);
  rows.push({ shape: s.name, batch, tfjsMs, oursMs, speedup: tfjsMs / oursMs });
  tf.dispose(x);
  conv.dispose();
}

const lines = [
  `Conv2d gradients (∂x and ∂W of sum(conv(x))), backend ${backendName}, batch ${batch}, median of ${runs}:`,
  '',
  '| shape | tfjs Conv2D gradient (ms) | @geolip/nn Conv2d (ms) | speed-up |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.shape} | ${r.tfjsMs.toFixed(1)} | ${r.oursMs.toFixed(1)} | ${r.speedup.toFixed(1)}× |`),
];
console.log(lines.join('\n'));
const dir = path.join(here, '../../../results/perf/nn');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `conv-grad-${backendName}.json`);
writeFileSync(
  `${file}.tmp`,
  `${JSON.stringify({ date: new Date().toISOString(), backend: backendName, adapter: info.adapter ?? null, batch, runs, rows }, null, 2)}\n`,
);
renameSync(`${file}.tmp`, file);
