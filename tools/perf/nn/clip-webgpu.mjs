#!/usr/bin/env node
// Gradient clipping on webgpu (issue 19): the `GeolipSumSquares` WGSL program (sumOfSquares, the gradient norm) and
// the in-place AdamW with `gradScale` (clipping folded into the update) against cpu, then the cost of one clipped
// training step of a ~120-parameter transformer, counted two ways: tfjs kernels (tf.profile) and the compute
// dispatches Dawn records (every `dispatchWorkgroups`, the in-place AdamW's own included), the old way (per-tensor
// square + sum + addN for the norm, `tf.mul(g, scale)` per gradient, AdamW on the clipped copies) against the new
// one (sumOfSquares, the scale passed to AdamW.step). Runs wherever Dawn finds an adapter, including Mesa's lavapipe
// on a machine without a GPU (correctness and counts only: its timings mean nothing):
//
//   npx turbo run build --filter=@geolip/train...
//   XDG_RUNTIME_DIR=/tmp VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json node tools/perf/nn/clip-webgpu.mjs \
//     [--out results/perf/nn/clip-kernels-lavapipe.json]
//
// Exits 1 if a case differs from cpu by more than its tolerance.
import { renameSync, writeFileSync } from 'node:fs';

import { create, globals } from 'webgpu';

const outArg = process.argv.indexOf('--out');
const outPath = outArg > 0 ? process.argv[outArg + 1] : undefined;

Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });

// Count Dawn's compute dispatches (tfjs's programs and the raw in-place AdamW alike).
let dispatches = 0;
const dispatch = globals.GPUComputePassEncoder.prototype.dispatchWorkgroups;
globals.GPUComputePassEncoder.prototype.dispatchWorkgroups = function (...args) {
  dispatches += 1;
  return dispatch.apply(this, args);
};

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await import('@tensorflow/tfjs-backend-webgpu');
const { KERNELS, TransformerEncoder, adamwUpdate, maskedMeanPool, sumOfSquares } = await import('@geolip/nn');
const { ensureGradients, registerKernels } = await import('@geolip/nn/backend');
const { AdamW, globalNorm } = await import('@geolip/train');

await ensureGradients();
if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu adapter');
await registerKernels('webgpu');
const sumSquaresKernel = tf.getKernel(KERNELS.sumSquares, 'webgpu');
if (!sumSquaresKernel) throw new Error('GeolipSumSquares is not registered (GEOLIP_WEBGPU_SUM_SQUARES=0?)');

let seed = 1;
const host = (shape, scale = 1) => {
  const t = tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed++), scale));
  const out = { shape, data: t.dataSync() };
  t.dispose();
  return out;
};
const onBackend = (h) => tf.tensor(h.data, h.shape, 'float32');

let ok = true;
const results = [];
function report(name, worst, tol) {
  const pass = worst <= tol;
  ok &&= pass;
  results.push({ name, maxScaledDiff: worst, tol, ok: pass });
  console.log(`${pass ? 'ok  ' : 'FAIL'} ${name}: max scaled |webgpu − cpu| = ${worst.toExponential(2)}`);
}

// 1. sumOfSquares: the WGSL passes against the float64 sum of the float32 squares.
await tf.setBackend('cpu');
const cases = {
  'one tensor [5, 5, 5]': [[5, 5, 5]],
  'one tensor [30522, 384] (1431 partial sums, two passes)': [[30522, 384]],
  'exactly 7 tensors': [[3], [100, 7], [1], [8192], [8193], [2, 3, 4], [255]],
  '8 tensors (two groups)': [[3], [100, 7], [1], [8192], [8193], [2, 3, 4], [255], [9]],
  '50 tensors, odd sizes, one empty (three passes)': Array.from({ length: 50 }, (_, i) =>
    i === 17 ? [0, 4] : [1 + ((i * 37) % 101), 1 + ((i * 13) % 7)],
  ),
  '120 tensors of a transformer-like mix': Array.from(
    { length: 120 },
    (_, i) => [[384, 1152], [1152], [384, 384], [384], [384], [384], [384, 1536], [1536], [1536, 384], [384]][i % 10],
  ),
};
for (const [name, shapes] of Object.entries(cases)) {
  await tf.setBackend('cpu');
  const xs = shapes.map((s) => host(s, 0.1));
  let ref = 0;
  for (const x of xs) for (const v of x.data) ref += Math.fround(v * v);
  await tf.setBackend('webgpu');
  const ts = xs.map(onBackend);
  const r = sumOfSquares(ts);
  const got = (await r.data())[0];
  tf.dispose([r, ...ts]);
  report(`sumOfSquares ${name} (= ${ref.toPrecision(6)})`, Math.abs(got - ref) / Math.max(1, Math.abs(ref)), 1e-5);
}
{
  const r = sumOfSquares([]);
  const got = (await r.data())[0];
  r.dispose();
  report('sumOfSquares [] = 0', Math.abs(got), 0);
}

// 2. adamwUpdate with gradScale, in place on webgpu, against the tensor path with tf.mul(g, scale) on cpu.
async function adamwRun(backend) {
  await tf.setBackend(backend);
  const shapes = [[30522, 384], [384, 1536], [1536], [7, 5], []];
  const owned = (h) => tf.tidy(() => tf.variable(onBackend(h), false));
  const items = shapes.map((shape, i) => ({
    p: owned(paramInit[i]),
    m: owned({ shape, data: new Float32Array(paramInit[i].data.length) }),
    v: owned({ shape, data: new Float32Array(paramInit[i].data.length) }),
  }));
  let inPlace = 0;
  for (let t = 1; t <= 3; t++) {
    const scales = [tf.tensor(Float32Array.of(0.37 * t), []), tf.tensor(Float32Array.of(1 / (t + 0.3)), [1])];
    const grads = shapes.map((_, i) => onBackend(gradInit[t][i]));
    const scalars = (i) => ({
      beta1: 0.9,
      beta2: 0.999,
      stepSize: 1e-3 / (1 - 0.9 ** t),
      sqrtBc2: Math.sqrt(1 - 0.999 ** t),
      epsilon: 1e-8,
      decay: i === 2 ? 1 : 1 - 1e-3 * 0.01,
    });
    if (backend === 'cpu') {
      // The unfused computation: clipped copies, then the update.
      const clipped = grads.map((g, i) => (i === 3 ? g.clone() : tf.mul(g, tf.reshape(scales[i % 2], []))));
      adamwUpdate(items.map((it, i) => ({ ...it, g: clipped[i], scalars: scalars(i) })));
      tf.dispose(clipped);
    } else {
      // Item 3 has no gradScale (it binds the buffer of ones).
      inPlace += adamwUpdate(
        items.map((it, i) => ({
          ...it,
          g: grads[i],
          scalars: scalars(i),
          ...(i === 3 ? {} : { gradScale: scales[i % 2] }),
        })),
      );
    }
    tf.dispose([...grads, ...scales]);
  }
  const out = {};
  for (const [i, it] of items.entries()) for (const k of ['p', 'm', 'v']) out[`${k}${i}`] = await it[k].data();
  tf.dispose(items.flatMap((it) => [it.p, it.m, it.v]));
  return { out, inPlace };
}
await tf.setBackend('cpu');
const paramShapes = [[30522, 384], [384, 1536], [1536], [7, 5], []];
const paramInit = paramShapes.map((s) => host(s));
const gradInit = [null, 1, 2, 3].map((t) => (t ? paramShapes.map((s) => host(s)) : null));
const cpuAdam = await adamwRun('cpu');
const gpuAdam = await adamwRun('webgpu');
let worstAdam = 0;
for (const k of Object.keys(cpuAdam.out)) {
  const a = gpuAdam.out[k];
  const b = cpuAdam.out[k];
  let scale = 1;
  for (const x of b) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]) / scale;
    worstAdam = Number.isNaN(d) ? Infinity : Math.max(worstAdam, d);
  }
}
report(
  `adamwUpdate with gradScale ([] and [1]; one item without) in place (${gpuAdam.inPlace} of 15), 3 steps, ` +
    '5 parameters incl. [30522, 384] and a scalar, against tf.mul(g, scale) + the tensor path on cpu',
  gpuAdam.inPlace === 15 ? worstAdam : Infinity,
  1e-5,
);

// 3. One clipped training step: the old computation against the new one, on webgpu.
await tf.setBackend('webgpu');
const enc = new TransformerEncoder({
  vocabSize: 100,
  maxPositions: 16,
  dModel: 32,
  heads: 4,
  ffDim: 64,
  layers: 10,
  seed: 3,
});
const weights = enc.getWeights();
const names = Object.keys(weights);
const ids = tf.tensor2d(
  Array.from({ length: 4 * 16 }, (_, i) => (i * 7) % 100),
  [4, 16],
  'int32',
);
const mask = tf.ones([4, 16]);
const clipNorm = 1e-3; // small, so clipping is active
const grads = () => {
  const { value, grads: byVar } = tf.variableGrads(() =>
    tf.mean(tf.square(maskedMeanPool(enc.forward(ids, mask), mask))),
  );
  return { value, grads: Object.fromEntries(names.map((n) => [n, byVar[weights[n].name]])) };
};
/** The loop's step after the gradients, as it was before issue 19's clip work, and as it is now. */
const steps = {
  before: (opt, value, g) =>
    tf.tidy(() => {
      const norm = tf.sqrt(sumOfSquares(Object.values(g))); // composed: the kernel is unregistered for this one
      const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
      const clipped = Object.fromEntries(Object.entries(g).map(([n, t]) => [n, tf.mul(t, scale)]));
      const read = tf.keep(tf.stack([value, norm]));
      opt.step(clipped, 1e-3);
      return read;
    }),
  after: (opt, value, g) =>
    tf.tidy(() => {
      const norm = globalNorm(g);
      const read = tf.keep(tf.stack([value, norm]));
      opt.step(g, 1e-3, { gradScale: tf.div(clipNorm, tf.maximum(norm, clipNorm)) });
      return read;
    }),
};
const counts = {};
for (const which of ['before', 'after']) {
  if (which === 'before') tf.unregisterKernel(KERNELS.sumSquares, 'webgpu');
  else tf.registerKernel(sumSquaresKernel);
  const opt = new AdamW(weights);
  const once = async () => {
    const { value, grads: g } = grads();
    const read = steps[which](opt, value, g);
    await read.data();
    tf.dispose([read, value, ...Object.values(g)]);
  };
  await once(); // warm-up (pipelines; a parameter sharing storage goes in place from the second step)
  // The update alone: the gradients are made first, outside the counts.
  const { value, grads: g } = grads();
  await value.data();
  const d0 = dispatches;
  const info = await tf.profile(() => steps[which](opt, value, g));
  const updateDispatches = dispatches - d0;
  // tf.profile returns the engine's one profile object, which the next call overwrites: read it now.
  const updateKernels = info.kernels.length;
  tf.dispose([info.result, value, ...Object.values(g)]);
  // The whole step: forward, backward, norm, clip and update.
  const d1 = dispatches;
  const whole = await tf.profile(async () => {
    const { value: v2, grads: g2 } = grads();
    const read = steps[which](opt, v2, g2);
    tf.dispose([v2, ...Object.values(g2)]);
    return read;
  });
  const stepDispatches = dispatches - d1;
  tf.dispose(whole.result);
  counts[which] = {
    update: { tfjsKernels: updateKernels, dispatches: updateDispatches },
    step: { tfjsKernels: whole.kernels.length, dispatches: stepDispatches },
  };
  opt.dispose();
}
console.log(
  `one clipped step of a ${names.length}-parameter TransformerEncoder (10 layers, d 32): norm + clip + AdamW ` +
    `${counts.before.update.tfjsKernels} tfjs kernels / ${counts.before.update.dispatches} dispatches before, ` +
    `${counts.after.update.tfjsKernels} / ${counts.after.update.dispatches} after; whole step ` +
    `${counts.before.step.tfjsKernels} / ${counts.before.step.dispatches} before, ` +
    `${counts.after.step.tfjsKernels} / ${counts.after.step.dispatches} after`,
);
enc.dispose();
if (outPath) {
  const { machineInfo } = await import('../machine.mjs');
  const adapter = await navigator.gpu.requestAdapter();
  const out = {
    what:
      'sumOfSquares and in-place AdamW with gradScale, webgpu against cpu; tfjs kernels (tf.profile) and Dawn ' +
      `compute dispatches of one clipped step of a ${names.length}-parameter TransformerEncoder (10 layers, d 32, ` +
      'B 4, L 16): "update" is norm + clip + AdamW after the gradients, "step" includes forward and backward',
    date: new Date().toISOString(),
    machine: machineInfo({ tfVersion: tf.version_core, adapter: adapter?.info?.description ?? null }),
    parameters: names.length,
    counts,
    checks: results,
    parityOk: ok,
  };
  writeFileSync(`${outPath}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(`${outPath}.tmp`, outPath);
}
process.exit(ok ? 0 : 1);
