// GPU-machine checks of issue 6, in one process (packed by tools/device/pack.mjs):
//   1. initBackend() from @geolip/nn/backend picks webgpu on the hardware adapter and registers the fused kernels;
//   2. parity: every fused kernel and every @geolip/nn block, forward and gradients, webgpu against cpu
//      (same seeded weights and inputs, built separately on each backend);
//   3. STS-B dev through `geolip-bench run --backend webgpu` and through the bench API on webgpu and on cpu,
//      with a seeded random @geolip/nn encoder (`nn-check-encoder`, below): per-pair cosines and Spearman must
//      agree to 1e-4.
//
//   node tools/device/pack.mjs tools/device/gpu-suite.mjs --out .device/suite
//   (GPU machine, repo root)  bash .device/suite/run.sh --out $OUT
// Writes $OUT/gpu-suite.json (and the CLI's $OUT/stsb-webgpu.json); exits 1 if a check fails. Needs the STS-B dev
// split (packages/bench/data/stsb, or --data): with carry-slim.sh, KEEP="tools/device/ packages/bench/data/stsb/".
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { createRng, pentachoronCVAsync, sampleSimplexIndices, sampleSphere } from '@geolip/geometry';
import {
  Conv2d,
  ConvResBlock,
  GroupNorm,
  MultiHeadAttention,
  TransformerEncoder,
  adamwStep,
  adamwUpdate,
  biasGelu,
  composedLayerNorm,
  KERNELS,
  gelu,
  hasKernel,
  layerNorm,
  maskedMeanPool,
  pentachoronCVOnDevice,
  simplexVolumes,
  scaledDotProductAttention,
  sumOfSquares,
} from '@geolip/nn';
import { initBackend, registerKernels } from '@geolip/nn/backend';
import { Constellation } from '@geolip/anchors';
import { builtinModels, evaluatePairTask, loadStsb } from '@geolip/bench';
import { train } from '@geolip/train';

import { main as benchMain } from '../../packages/bench/dist/cli.js';
import { main as trainMain } from '../../packages/recipes/dist/cli.js';

const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : '.';
const dataDir = args.includes('--data') ? args[args.indexOf('--data') + 1] : 'packages/bench/data';
// --gpu-backend wasm runs the same checks against cpu on a machine without a GPU (to test this script).
const GPU = args.includes('--gpu-backend') ? args[args.indexOf('--gpu-backend') + 1] : 'webgpu';
mkdirSync(outDir, { recursive: true });
const report = { date: new Date().toISOString(), node: process.version, checks: [], ok: true };
// The report is written at the end, or, when a later stage throws (a missing data file, a crash), on exit with what
// ran so far and `incomplete` set: the checks that passed before the failure are not lost.
let reportWritten = false;
function writeReport() {
  const file = join(outDir, 'gpu-suite.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
  renameSync(`${file}.tmp`, file);
  reportWritten = true;
}
process.on('uncaughtException', (error) => {
  report.ok = false;
  report.incomplete = `stopped by ${error?.name ?? 'an error'}: ${error?.message ?? String(error)}`;
  console.error(error);
  process.exit(1);
});
process.on('exit', () => {
  if (reportWritten) return;
  report.ok = false;
  report.incomplete ??= 'the suite stopped before its end (see the log)';
  writeReport();
});
const fail = (msg) => {
  report.ok = false;
  console.error(`FAIL ${msg}`);
};

const info = await initBackend({ ...(GPU === 'webgpu' ? {} : { prefer: [GPU] }), log: (m) => console.error(m) });
report.backend = {
  name: info.name,
  adapter: info.adapter ?? null,
  skipped: info.skipped,
  kernels: info.kernels.map((k) => k.name),
};
if (info.name !== GPU) fail(`initBackend() chose ${info.name}, not ${GPU}`);
// initBackend registers kernels only for the backend it picked. Where it refused the GPU backend (a software
// adapter such as lavapipe, when this suite runs locally), register that backend's kernels anyway, so the parity
// checks below still run the fused kernels there.
if (info.name !== GPU && (await tf.setBackend(GPU).catch(() => false))) {
  report.backend.kernels = (await registerKernels(GPU)).map((k) => k.name);
  await tf.setBackend(info.name);
}

// ---------------------------------------------------------------------------------------------------------
// Parity
function data(n, seed, scale = 1) {
  const rng = createRng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal() * scale;
  return a;
}
const size = (shape) => shape.reduce((a, b) => a * b, 1);
const T = (shape, seed, scale = 1) => tf.tensor(data(size(shape), seed, scale), shape);

/** Runs `fn` (returning named tensors, or a promise of them) on `backend`; returns their data. */
async function on(backend, fn) {
  await tf.setBackend(backend);
  const outs = await fn();
  const res = {};
  for (const [k, v] of Object.entries(outs)) {
    res[k] = { shape: v.shape, data: await v.data() };
  }
  tf.dispose(Object.values(outs));
  tf.disposeVariables();
  return res;
}
function compare(name, gpu, cpu, tol) {
  let worst = 0;
  let worstKey = '';
  for (const k of Object.keys(cpu)) {
    const a = gpu[k].data;
    const b = cpu[k].data;
    let scale = 0;
    for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i] - b[i]) / Math.max(1, scale);
      if (!(d <= worst)) {
        worst = Number.isNaN(d) ? Infinity : d;
        worstKey = k;
      }
    }
  }
  const ok = worst <= tol;
  report.checks.push({
    kind: 'parity',
    name,
    tensors: Object.keys(cpu).length,
    maxScaledDiff: worst,
    worstTensor: worstKey,
    tol,
    ok,
  });
  console.error(
    `${ok ? 'ok  ' : 'FAIL'} ${name}: max |gpu − cpu| / max(1, max|cpu|) = ${worst.toExponential(2)} (${worstKey})`,
  );
  if (!ok) report.ok = false;
}
async function parity(name, fn, tol = 1e-4) {
  const gpu = await on(GPU, fn);
  const cpu = await on('cpu', fn);
  compare(name, gpu, cpu, tol);
}
const gradsOf = (f, xs) => {
  const g = tf.grads(f)(xs);
  return Object.fromEntries(g.map((t, i) => [`d${i}`, t]));
};
function moduleGrads(module, lossFn) {
  const { value, grads } = tf.variableGrads(lossFn);
  const byName = {};
  for (const [k, v] of Object.entries(module.getWeights())) byName[`grad:${k}`] = grads[v.name];
  return { loss: value, ...byName };
}

for (const shape of [
  [4096, 384],
  [7, 130],
  [3, 5, 7],
]) {
  const d = shape[shape.length - 1];
  await parity(`layerNorm fused ${JSON.stringify(shape)} (forward + grads)`, () => {
    const x = T(shape, 1, 3);
    const g = tf.add(1, T([d], 2, 0.3));
    const b = T([d], 3);
    const w = T(shape, 4);
    const fn = tf.getBackend() === 'cpu' ? composedLayerNorm : layerNorm;
    return { y: fn(x, g, b), ...gradsOf((xi, gi, bi) => tf.sum(tf.mul(fn(xi, gi, bi), w)), [x, g, b]) };
  });
}
for (const approximate of ['none', 'tanh']) {
  await parity(`biasGelu fused (${approximate}) [4096, 1536] (forward + grads)`, () => {
    const x = T([4096, 1536], 5, 2);
    const b = T([1536], 6);
    const w = T([4096, 1536], 7);
    const fn =
      tf.getBackend() === 'cpu'
        ? (xi, bi) => gelu(tf.add(xi, bi), approximate)
        : (xi, bi) => biasGelu(xi, bi, approximate);
    return { y: fn(x, b), ...gradsOf((xi, bi) => tf.sum(tf.mul(fn(xi, bi), w)), [x, b]) };
  });
}
await parity(
  'adamwStep fused, 3 steps [384, 1536]',
  () => {
    let s = { p: T([384, 1536], 8), m: tf.zeros([384, 1536]), v: tf.zeros([384, 1536]) };
    for (let t = 1; t <= 3; t++) {
      s = adamwStep(s.p, T([384, 1536], 9 + t), s.m, s.v, {
        beta1: 0.9,
        beta2: 0.999,
        stepSize: 1e-3 / (1 - 0.9 ** t),
        sqrtBc2: Math.sqrt(1 - 0.999 ** t),
        epsilon: 1e-8,
        decay: 1 - 1e-3 * 0.01,
      });
    }
    return s;
  },
  1e-5,
);
for (const tile of ['64', '128']) {
  await parity(
    `tiled matmul ${tile}×${tile} (forced): 4 transpose cases, ragged and batched shapes, with gradients`,
    () => {
      process.env.GEOLIP_WEBGPU_MATMUL_TILE = tile;
      const out = {};
      for (const [tA, tB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const a = T(tA ? [70, 200] : [200, 70], 41);
        const b = T(tB ? [130, 70] : [70, 130], 42);
        out[`c${+tA}${+tB}`] = tf.matMul(a, b, tA, tB);
        Object.assign(
          out,
          gradsOf((x, y) => tf.sum(tf.square(tf.matMul(x, y, tA, tB))), [a, b]),
        );
        for (const k of ['d0', 'd1']) ((out[`${k}_${+tA}${+tB}`] = out[k]), delete out[k]);
      }
      out.batched = tf.matMul(T([3, 150, 33], 43), T([33, 90], 44));
      out.big = tf.matMul(T([512, 384], 45), T([384, 1536], 46));
      delete process.env.GEOLIP_WEBGPU_MATMUL_TILE;
      return out;
    },
  );
}
await parity(
  'adamwUpdate (in place on webgpu), 3 steps, 4 parameters incl. [30522, 384], reads between steps',
  async () => {
    const shapes = [[30522, 384], [384, 1536], [1536], [7, 5]];
    // Made in a tidy, so each variable owns its storage (as @geolip/train's AdamW makes its moments).
    const owned = (make) => tf.tidy(() => tf.variable(make(), false));
    const items = shapes.map((shape, i) => ({
      p: owned(() => T(shape, 20 + i)),
      m: owned(() => tf.zeros(shape)),
      v: owned(() => tf.zeros(shape)),
      scalars: null,
    }));
    let inPlace = 0;
    const seen = {};
    for (let t = 1; t <= 3; t++) {
      for (const [i, it] of items.entries()) {
        it.g = T(shapes[i], 30 + 10 * t + i);
        it.scalars = {
          beta1: 0.9,
          beta2: 0.999,
          stepSize: 1e-3 / (1 - 0.9 ** t),
          sqrtBc2: Math.sqrt(1 - 0.999 ** t),
          epsilon: 1e-8,
          decay: i === 2 ? 1 : 1 - 1e-3 * 0.01,
        };
      }
      inPlace += adamwUpdate(items);
      // A read caches a CPU copy in tfjs-webgpu: the next in-place step must drop it.
      seen[`p3_after_${t}`] = tf.tensor(await items[3].p.data(), shapes[3]);
      tf.dispose(items.map((it) => it.g));
    }
    if (tf.getBackend() === GPU && GPU === 'webgpu' && inPlace !== 3 * items.length)
      fail(`adamwUpdate went in place for ${inPlace} of ${3 * items.length} updates on webgpu`);
    const out = { ...seen };
    items.forEach((it, i) => Object.assign(out, { [`p${i}`]: it.p, [`m${i}`]: it.m, [`v${i}`]: it.v }));
    return out;
  },
  1e-5,
);
// Gradient clipping (issue 19): the squared global norm through GeolipSumSquares (webgpu: up to 7 tensors per
// dispatch, then passes over the partial sums) against the composed square + sum + addN on cpu.
await parity(
  'sumOfSquares (GeolipSumSquares on webgpu): 120 transformer-like gradients, 50 odd sizes incl. an empty one, ' +
    '[30522, 384], 1 and 0 tensors',
  () => {
    if (tf.getBackend() === GPU && GPU === 'webgpu' && process.env.GEOLIP_WEBGPU_FUSED !== '0') {
      if (!hasKernel(KERNELS.sumSquares)) fail('GeolipSumSquares is not registered on webgpu');
    }
    const mix = [[384, 1152], [1152], [384, 384], [384], [384], [384], [384, 1536], [1536], [1536, 384], [384]];
    const sets = {
      transformer: Array.from({ length: 120 }, (_, i) => T(mix[i % 10], 60 + i, 0.1)),
      odd: Array.from({ length: 50 }, (_, i) =>
        i === 17 ? tf.zeros([0, 4]) : T([1 + ((i * 37) % 101), 1 + ((i * 13) % 7)], 200 + i),
      ),
      big: [T([30522, 384], 300, 0.1)],
      one: [T([5, 5, 5], 301)],
      none: [],
    };
    return Object.fromEntries(Object.entries(sets).map(([k, ts]) => [k, sumOfSquares(ts)]));
  },
  1e-5,
);
// Clipping folded into the in-place AdamW: gradScale ([] or [1]) multiplies the gradient in the shader; on cpu the
// unfused computation (tf.mul(g, scale), then the update).
await parity(
  'adamwUpdate with gradScale (in place on webgpu) against tf.mul(g, scale) + AdamW on cpu, 3 steps, 5 parameters',
  async () => {
    const shapes = [[30522, 384], [384, 1536], [1536], [7, 5], []];
    const owned = (make) => tf.tidy(() => tf.variable(make(), false));
    const items = shapes.map((shape, i) => ({
      p: owned(() => T(shape, 400 + i)),
      m: owned(() => tf.zeros(shape)),
      v: owned(() => tf.zeros(shape)),
    }));
    let inPlace = 0;
    for (let t = 1; t <= 3; t++) {
      const scales = [tf.scalar(0.37 * t), tf.tensor1d([1 / (t + 0.3)])];
      const grads = shapes.map((shape, i) => T(shape, 410 + 10 * t + i));
      const batch = items.map((it, i) => ({
        ...it,
        g: grads[i],
        scalars: {
          beta1: 0.9,
          beta2: 0.999,
          stepSize: 1e-3 / (1 - 0.9 ** t),
          sqrtBc2: Math.sqrt(1 - 0.999 ** t),
          epsilon: 1e-8,
          decay: i === 2 ? 1 : 1 - 1e-3 * 0.01,
        },
        // Item 3 has no scale (the shader then reads a buffer holding 1).
        ...(i === 3 ? {} : { gradScale: scales[i % 2] }),
      }));
      if (tf.getBackend() === 'cpu') {
        const clipped = batch.map((it) => (it.gradScale ? tf.mul(it.g, tf.reshape(it.gradScale, [])) : it.g.clone()));
        adamwUpdate(batch.map((it, i) => ({ p: it.p, m: it.m, v: it.v, g: clipped[i], scalars: it.scalars })));
        tf.dispose(clipped);
      } else {
        inPlace += adamwUpdate(batch);
      }
      tf.dispose([...grads, ...scales]);
    }
    if (tf.getBackend() === GPU && GPU === 'webgpu' && inPlace !== 3 * items.length)
      fail(`adamwUpdate with gradScale went in place for ${inPlace} of ${3 * items.length} updates on webgpu`);
    const out = {};
    items.forEach((it, i) => Object.assign(out, { [`p${i}`]: it.p, [`m${i}`]: it.m, [`v${i}`]: it.v }));
    return out;
  },
  1e-5,
);
// train() with clipNorm: the norm through GeolipSumSquares and the clip factor passed to the in-place AdamW
// (gradScale) on webgpu; the composed norm and the tensor path on cpu. 8 steps of a 4-layer MLP (8 parameters, so
// two groups of the kernel's first pass), every step clipped; the step records and the parameters must agree.
{
  const clipNorm = 0.1;
  const runs = {};
  for (const backend of [GPU, 'cpu']) {
    await tf.setBackend(backend);
    const dims = [16, 64, 64, 32, 8];
    const vars = {};
    for (let l = 0; l < 4; l++) {
      // Made in a tidy, so each variable owns its storage (the first update then already goes in place).
      vars[`w${l}`] = tf.tidy(() =>
        tf.variable(T([dims[l], dims[l + 1]], 500 + l, 0.3), true, `clip-${backend}-w${l}`),
      );
      vars[`b${l}`] = tf.tidy(() => tf.variable(T([dims[l + 1]], 510 + l, 0.1), true, `clip-${backend}-b${l}`));
    }
    const x = T([64, 16], 520);
    const y = T([64, 8], 521);
    const model = {
      getWeights: () => vars,
      loss: () =>
        tf.tidy(() => {
          let h = x;
          for (let l = 0; l < 4; l++) {
            h = tf.add(tf.matMul(h, vars[`w${l}`]), vars[`b${l}`]);
            if (l < 3) h = tf.relu(h);
          }
          return tf.mean(tf.square(tf.sub(h, y)));
        }),
    };
    const records = [];
    await train({
      model,
      data: () => null,
      steps: 8,
      clipNorm,
      optimizer: { lr: 1e-2, weightDecay: 0.01 },
      log: (r) => r.type === 'step' && records.push(r),
    });
    const params = {};
    for (const [n, v] of Object.entries(vars)) params[n] = await v.data();
    tf.dispose([x, y, ...Object.values(vars)]);
    runs[backend] = { records, params };
  }
  let worstRecord = 0;
  runs.cpu.records.forEach((r, i) => {
    const g = runs[GPU].records[i];
    for (const k of ['loss', 'gradNorm']) worstRecord = Math.max(worstRecord, Math.abs(g[k] - r[k]) / Math.abs(r[k]));
  });
  let worstParam = 0;
  for (const [n, b] of Object.entries(runs.cpu.params)) {
    let scale = 1;
    for (const v of b) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(runs[GPU].params[n][i] - b[i]) / scale;
      worstParam = Number.isNaN(d) ? Infinity : Math.max(worstParam, d);
    }
  }
  const clipped = runs.cpu.records.every((r) => r.gradNorm > clipNorm);
  const ok = runs[GPU].records.length === 8 && clipped && worstRecord <= 1e-4 && worstParam <= 1e-4;
  report.checks.push({
    kind: 'train-clip',
    name: 'train() with clipNorm (GeolipSumSquares + gradScale in the in-place AdamW): 8 steps, 4-layer MLP',
    gradNorm: { [GPU]: runs[GPU].records.map((r) => r.gradNorm), cpu: runs.cpu.records.map((r) => r.gradNorm) },
    everyStepClipped: clipped,
    maxRelRecordDiff: worstRecord,
    maxScaledParamDiff: worstParam,
    tol: 1e-4,
    ok,
  });
  console.error(
    `${ok ? 'ok  ' : 'FAIL'} train() with clipNorm ${GPU} vs cpu: 8 steps (clipped: ${clipped}), max rel diff of ` +
      `loss/gradNorm ${worstRecord.toExponential(2)}, max scaled parameter diff ${worstParam.toExponential(2)}`,
  );
  if (!ok) report.ok = false;
}
// The fused attention core (webgpu: 1 dispatch forward, 4 backward) against the composed ops on cpu.
const paddingRows = (B, L, lengths) =>
  tf.tensor2d(lengths.map((n) => Array.from({ length: L }, (_, j) => (j < n ? 1 : 0))));
await parity('scaledDotProductAttention fused B4 H6 L32 d384, padding (one row all padded): output + dq dk dv', () => {
  const [q, k, v, w] = [T([4, 32, 384], 30), T([4, 32, 384], 31), T([4, 32, 384], 32), T([4, 32, 384], 33)];
  const opts = { heads: 6, keyPaddingMask: paddingRows(4, 32, [32, 20, 1, 0]) };
  const f = (a, b, c) => scaledDotProductAttention(a, b, c, opts);
  return { y: f(q, k, v), ...gradsOf((a, b, c) => tf.sum(tf.mul(f(a, b, c), w)), [q, k, v]) };
});
await parity(
  'scaledDotProductAttention fused cross B2 H4 Lq 70 Lk 130 dv 48, padding + attnMask: output + grads',
  () => {
    const [q, k, v, w] = [T([2, 70, 32], 34), T([2, 130, 32], 35), T([2, 130, 48], 36), T([2, 70, 48], 37)];
    const am = tf.where(tf.greater(T([70, 130], 38), 1.5), tf.fill([70, 130], -Infinity), T([70, 130], 39, 0.5));
    const opts = { heads: 4, keyPaddingMask: paddingRows(2, 130, [130, 77]), attnMask: am };
    const f = (a, b, c) => scaledDotProductAttention(a, b, c, opts);
    return { y: f(q, k, v), ...gradsOf((a, b, c) => tf.sum(tf.mul(f(a, b, c), w)), [q, k, v]) };
  },
);
await parity('TransformerEncoder (2 layers, d 64, padding mask): output + every parameter gradient', () => {
  const enc = new TransformerEncoder({
    vocabSize: 1000,
    maxPositions: 64,
    dModel: 64,
    heads: 4,
    ffDim: 128,
    layers: 2,
    seed: 3,
  });
  const ids = tf.tensor2d(
    [
      [5, 17, 900, 33, 2, 0, 0, 0],
      [44, 1, 2, 3, 4, 5, 6, 7],
      [9, 9, 9, 0, 0, 0, 0, 0],
    ],
    undefined,
    'int32',
  );
  const mask = tf.tensor2d([
    [1, 1, 1, 1, 1, 0, 0, 0],
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 0, 0, 0, 0, 0],
  ]);
  const w = T([3, 64], 21);
  const out = moduleGrads(enc, () => tf.sum(tf.mul(maskedMeanPool(enc.forward(ids, mask), mask), w)));
  return { pooled: maskedMeanPool(enc.forward(ids, mask), mask), ...out };
});
await parity('MultiHeadAttention cross (kdim 24, vdim 40) with key padding: output + grads', () => {
  const mha = new MultiHeadAttention(32, 4, { kdim: 24, vdim: 40, seed: 4 });
  const q = T([2, 5, 32], 22);
  const k = T([2, 7, 24], 23);
  const v = T([2, 7, 40], 24);
  const mask = tf.tensor2d([
    [1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0, 0, 0],
  ]);
  return moduleGrads(mha, () => tf.sum(tf.square(mha.forward(q, k, v, { keyPaddingMask: mask }))));
});
await parity('ConvResBlock 8→16, scale_shift conditioning, Conv2d stride 2, GroupNorm: outputs + grads', () => {
  const block = new ConvResBlock(8, 16, { groups: 4, condDim: 12, condMode: 'scale_shift', seed: 5 });
  const conv = new Conv2d(16, 8, 3, { stride: 2, padding: 1, seed: 6 });
  const gn = new GroupNorm(4, 8);
  const x = T([2, 8, 8, 8], 25);
  const cond = T([2, 12], 26);
  const all = { getWeights: () => ({ ...prefix('block', block), ...prefix('conv', conv), ...prefix('gn', gn) }) };
  return moduleGrads(all, () => tf.sum(tf.square(gn.forward(conv.forward(block.forward(x, cond))))));
});
// Simplex volumes (GeolipSimplexVolumeSquared) and the pentachoron CV: the WGSL program against the composed ops on
// cpu (relative V² error per simplex) and the CV against @geolip/geometry's float64 path on the same simplices.
// Bounds (packages/nn/README.md): V² relative error < 1e-5 on S^127, CV relative error < 1e-4.
{
  const n = 20000;
  const dim = 128;
  const v2 = {};
  const cv = {};
  const fused = {};
  for (const backend of [GPU, 'cpu']) {
    await tf.setBackend(backend);
    // initBackend registered the kernels for the backend it chose; where it chose another (a software adapter),
    // register them for webgpu here so the WGSL program is what runs.
    if (backend === 'webgpu' && info.name !== 'webgpu') await registerKernels('webgpu');
    fused[backend] = hasKernel(KERNELS.simplexVolumeSquared);
    const x = sampleSphere(n, dim, { seed: 1 });
    for (const v of [5, 3, 10]) {
      const s = tf.tensor2d(sampleSimplexIndices(n, 2000, v, createRng(v)), [2000, v], 'int32');
      const t = simplexVolumes(x, s, { squared: true });
      v2[`${backend}:${v}`] = await t.data();
      tf.dispose([s, t]);
    }
    const options = { samples: 1000, pool: Infinity, seed: 2 };
    cv[backend] = { ours: await pentachoronCVOnDevice(x, options), f64: await pentachoronCVAsync(x, options) };
    x.dispose();
  }
  let worstV2 = 0;
  for (const v of [5, 3, 10]) {
    const a = v2[`${GPU}:${v}`];
    const b = v2[`cpu:${v}`];
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i] - b[i]) / Math.abs(b[i]);
      worstV2 = Number.isNaN(d) ? Infinity : Math.max(worstV2, d);
    }
  }
  const relCv = Math.abs(cv[GPU].ours.cv - cv[GPU].f64.cv) / cv[GPU].f64.cv;
  const ok =
    fused[GPU] === (GPU === 'webgpu' && process.env.GEOLIP_WEBGPU_FUSED !== '0') &&
    worstV2 < 1e-5 &&
    relCv < 1e-4 &&
    cv[GPU].ours.valid === cv[GPU].f64.valid;
  report.checks.push({
    kind: 'simplex-volumes',
    name: 'simplexVolumes k+1 = 5, 3, 10 (2000 simplices of [20000, 128] on S^127) and pentachoronCVOnDevice',
    fusedKernel: fused[GPU],
    maxRelV2Diff: worstV2,
    cv: cv[GPU].ours.cv,
    cvFloat64: cv[GPU].f64.cv,
    relCvDiff: relCv,
    tol: { v2: 1e-5, cv: 1e-4 },
    ok,
  });
  console.error(
    `${ok ? 'ok  ' : 'FAIL'} simplexVolumes ${GPU} vs cpu: max rel V² diff ${worstV2.toExponential(2)} (kernel ${fused[GPU]}); ` +
      `pentachoronCVOnDevice ${cv[GPU].ours.cv} vs float64 ${cv[GPU].f64.cv} (rel ${relCv.toExponential(2)})`,
  );
  if (!ok) report.ok = false;
}
// Constellation.nearest on the GPU backend against cpu: the training recipes call it every step (anchor assignment),
// so it must run there without a synchronous read (webgpu in Node has none; a NaN check that read one broke every
// webgpu training run once) and give the cpu's ids.
{
  const ids = {};
  for (const backend of [GPU, 'cpu']) {
    await tf.setBackend(backend);
    const a = sampleSphere(64, 32, { seed: 3 });
    const c = Constellation.fromAnchors(a);
    const x = sampleSphere(512, 32, { seed: 4 });
    const t = c.nearest(x);
    ids[backend] = Array.from(await t.data());
    tf.dispose([a, x, t]);
    c.dispose();
  }
  const mismatches = ids.cpu.filter((v, i) => v !== ids[GPU][i]).length;
  const ok = ids.cpu.length === 512 && mismatches === 0;
  report.checks.push({ kind: 'nearest', name: 'Constellation.nearest, 512 × 32 against 64 anchors', mismatches, ok });
  console.error(`${ok ? 'ok  ' : 'FAIL'} Constellation.nearest ${GPU} vs cpu: ${mismatches} of 512 ids differ`);
  if (!ok) report.ok = false;
}
function prefix(p, m) {
  return Object.fromEntries(Object.entries(m.getWeights()).map(([k, v]) => [`${p}.${k}`, v]));
}

// ---------------------------------------------------------------------------------------------------------
// STS-B dev through webgpu and cpu with a seeded random nn encoder and a hashing tokenizer (a backend check,
// not a model: its Spearman is whatever random weights give).
function tokenize(text, maxLen = 64) {
  const words = text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .slice(0, maxLen);
  return words.map((w) => {
    let h = 2166136261;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619) >>> 0;
    return 1 + (h % 30521);
  });
}
function checkEncoder() {
  const enc = new TransformerEncoder({
    vocabSize: 30522,
    maxPositions: 128,
    dModel: 128,
    heads: 4,
    ffDim: 512,
    layers: 2,
    seed: 42,
  });
  return {
    name: 'nn-check-encoder',
    dim: 128,
    params: enc.paramCount(),
    async embed(texts) {
      const toks = texts.map((t) => tokenize(t));
      const len = Math.max(1, ...toks.map((t) => t.length));
      const ids = new Int32Array(texts.length * len);
      const mask = new Float32Array(texts.length * len);
      toks.forEach((t, i) =>
        t.forEach((id, j) => {
          ids[i * len + j] = id;
          mask[i * len + j] = 1;
        }),
      );
      return tf.tidy(() => {
        const idT = tf.tensor2d(ids, [texts.length, len], 'int32');
        const maskT = tf.tensor2d(mask, [texts.length, len]);
        const pooled = maskedMeanPool(enc.forward(idT, maskT), maskT);
        return tf.div(pooled, tf.maximum(tf.norm(pooled, 'euclidean', -1, true), 1e-12));
      });
    },
    dispose: () => enc.dispose(),
  };
}
builtinModels['nn-check-encoder'] = {
  description: 'seeded random @geolip/nn encoder (backend check only)',
  load: async () => checkEncoder(),
};

const dev = await loadStsb(join(dataDir, 'stsb'), 'dev');
const results = {};
for (const backend of [GPU, 'cpu']) {
  await tf.setBackend(backend);
  const embedder = checkEncoder();
  const t0 = performance.now();
  results[backend] = await evaluatePairTask(embedder, dev, { batchSize: 128 });
  results[backend].wallMs = performance.now() - t0;
  embedder.dispose();
}
let maxCos = 0;
for (let i = 0; i < results.cpu.predicted.length; i++)
  maxCos = Math.max(maxCos, Math.abs(results.cpu.predicted[i] - results[GPU].predicted[i]));
const dS = Math.abs(results.cpu.spearman - results[GPU].spearman);
const stsbOk = maxCos <= 1e-4 && dS <= 1e-4;
report.checks.push({
  kind: 'stsb-dev',
  pairs: results.cpu.n,
  spearman: { webgpu: results[GPU].spearman, cpu: results.cpu.spearman, absDiff: dS },
  pearson: { webgpu: results[GPU].pearson, cpu: results.cpu.pearson },
  maxCosineAbsDiff: maxCos,
  sentencesPerSec: { webgpu: results[GPU].itemsPerSecond, cpu: results.cpu.itemsPerSecond },
  tol: 1e-4,
  ok: stsbOk,
});
console.error(
  `${stsbOk ? 'ok  ' : 'FAIL'} STS-B dev (${results.cpu.n} pairs): Spearman webgpu ${results[GPU].spearman.toFixed(6)} cpu ${results.cpu.spearman.toFixed(6)}; max |Δcos| ${maxCos.toExponential(2)}`,
);
if (!stsbOk) report.ok = false;

// The CLI itself with --backend webgpu.
await tf.setBackend(GPU);
const cliOut = [];
const code = await benchMain(
  [
    'run',
    '--model',
    'nn-check-encoder',
    '--tasks',
    'stsb',
    '--backend',
    GPU,
    '--data',
    dataDir,
    '--out',
    join(outDir, 'stsb-webgpu.json'),
  ],
  {
    stdout: { write: (s) => (cliOut.push(String(s)), true) },
    stderr: { write: (s) => (process.stderr.write(s), true) },
  },
);
report.checks.push({
  kind: 'cli',
  command: 'geolip-bench run --model nn-check-encoder --tasks stsb --backend webgpu',
  exitCode: code,
  stdout: cliOut.join(''),
  ok: code === 0,
});
if (code !== 0) fail(`geolip-bench run exited ${code}`);
console.log(cliOut.join(''));

// ---------------------------------------------------------------------------------------------------------
// geolip-train: consensus of three synthetic experts, then `run mlp-student --backend <gpu>` and `--backend cpu`
// from the same config; the per-step losses must agree (the same data, seeds and update rule on both).
{
  const dir = mkdtempSync(join(tmpdir(), 'geolip-suite-train-'));
  const rng = createRng(11);
  const N = 256;
  const base = Array.from({ length: N * 8 }, () => rng.normal());
  const npy = (rows, cols, data) => {
    let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
    while ((10 + header.length + 1) % 64 !== 0) header += ' ';
    header += '\n';
    const buf = new Uint8Array(10 + header.length + rows * cols * 8);
    buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(buf.buffer).setUint16(8, header.length, true);
    for (let i = 0; i < header.length; i++) buf[10 + i] = header.charCodeAt(i);
    buf.set(new Uint8Array(Float64Array.from(data).buffer), 10 + header.length);
    return buf;
  };
  for (const [name, d] of [
    ['a', 8],
    ['b', 12],
    ['c', 16],
  ]) {
    const w = Array.from({ length: 8 * d }, () => rng.normal());
    const x = new Float64Array(N * d);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < d; j++) {
        let acc = 0.05 * rng.normal();
        for (let k = 0; k < 8; k++) acc += base[i * 8 + k] * w[k * d + j];
        x[i * d + j] = acc;
      }
    writeFileSync(join(dir, `${name}.npy`), npy(N, d, x));
  }
  const quiet = { stdout: { write: () => true }, stderr: { write: (s) => (process.stderr.write(s), true) } };
  const cons = await trainMain(
    [
      'consensus',
      '--expert',
      `a=${join(dir, 'a.npy')}`,
      '--expert',
      `b=${join(dir, 'b.npy')}`,
      '--expert',
      `c=${join(dir, 'c.npy')}`,
      '--out',
      join(dir, 'cons'),
    ],
    quiet,
  );
  const config = {
    consensus: 'cons/consensus.safetensors',
    input: { expert: 'c', features: 'c.npy' },
    hidden: 32,
    steps: 60,
    batchSize: 32,
    lr: 3e-3,
    warmupSteps: 5,
    weightDecay: 0.01,
    temperature: 0.1,
    mseWeight: 1,
    seed: 0,
    checkpointEvery: 20,
  };
  writeFileSync(join(dir, 'student.json'), JSON.stringify(config));
  const losses = {};
  const codes = {};
  for (const backend of [GPU, 'cpu']) {
    const out = join(dir, `run-${backend}`);
    codes[backend] = await trainMain(
      ['run', 'mlp-student', '--config', join(dir, 'student.json'), '--out', out, '--backend', backend],
      quiet,
    );
    losses[backend] = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'step')
      .map((r) => r.loss);
  }
  let worst = 0;
  for (let i = 0; i < losses.cpu.length; i++)
    worst = Math.max(worst, Math.abs(losses[GPU][i] - losses.cpu[i]) / Math.max(1, Math.abs(losses.cpu[i])));
  const ok =
    cons === 0 &&
    codes[GPU] === 0 &&
    codes.cpu === 0 &&
    losses.cpu.length === config.steps &&
    losses[GPU].length === config.steps &&
    worst <= 1e-3;
  report.checks.push({
    kind: 'train-cli',
    command: `geolip-train run mlp-student --backend ${GPU} (and cpu)`,
    steps: losses.cpu.length,
    firstLoss: { [GPU]: losses[GPU][0], cpu: losses.cpu[0] },
    lastLoss: { [GPU]: losses[GPU].at(-1), cpu: losses.cpu.at(-1) },
    maxRelLossDiff: worst,
    tol: 1e-3,
    ok,
  });
  console.error(
    `${ok ? 'ok  ' : 'FAIL'} geolip-train run mlp-student --backend ${GPU} vs cpu: ${losses.cpu.length} steps, last loss ${losses[GPU].at(-1)} vs ${losses.cpu.at(-1)}, max rel diff ${worst.toExponential(2)}`,
  );
  if (!ok) report.ok = false;
}

writeReport();
console.error(report.ok ? 'gpu-suite: all checks passed' : 'gpu-suite: FAILURES (see gpu-suite.json)');
process.exitCode = report.ok ? 0 : 1;
