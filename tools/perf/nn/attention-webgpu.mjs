#!/usr/bin/env node
// The fused attention kernels' WGSL (packages/nn/src/kernels/webgpu/programs.ts, AttentionProgram) against the
// composed ops on cpu, forward and the gradients of q, k and v, plus the tfjs kernel count of one
// MultiHeadAttention forward + backward with the composed ops and with the fused kernels. Runs wherever Dawn finds
// an adapter, including Mesa's lavapipe on a machine without a GPU (correctness only: its timings mean nothing):
//
//   npx turbo run build --filter=@geolip/nn
//   XDG_RUNTIME_DIR=/tmp VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json node tools/perf/nn/attention-webgpu.mjs
//
// Exits 1 if a case differs from cpu by more than 1e-4 (scaled by the largest cpu value, as in gpu-suite.mjs).
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await import('@tensorflow/tfjs-backend-webgpu');
const { KERNELS, MultiHeadAttention, scaledDotProductAttention } = await import('@geolip/nn');
const { ensureGradients, registerKernels } = await import('@geolip/nn/backend');

await ensureGradients();
if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu adapter');
await registerKernels('webgpu');

let seed = 1;
const T = (shape, scale = 1) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed++), scale);
const ATTENTION = [
  KERNELS.attention,
  KERNELS.attentionStats,
  KERNELS.attentionGradQ,
  KERNELS.attentionGradK,
  KERNELS.attentionGradV,
];
const saved = ATTENTION.map((name) => tf.getKernel(name, 'webgpu'));
/** Turns the fused attention kernels off (the composed ops run) or back on. */
function fused(on) {
  for (const [i, name] of ATTENTION.entries()) {
    const has = tf.getKernel(name, 'webgpu') !== undefined;
    if (on && !has) tf.registerKernel(saved[i]);
    if (!on && has) tf.unregisterKernel(name, 'webgpu');
  }
}

/** Output and q, k, v gradients, as plain arrays, on the active backend. */
async function attend(q, k, v, opts) {
  const y = scaledDotProductAttention(q, k, v, opts);
  const w = tf.randomNormal(y.shape, 0, 1, 'float32', 999);
  const g = tf.grads((a, b, c) => tf.sum(tf.mul(scaledDotProductAttention(a, b, c, opts), w)))([q, k, v]);
  const out = {};
  for (const [key, t] of Object.entries({ y, dq: g[0], dk: g[1], dv: g[2] })) out[key] = await t.data();
  tf.dispose([y, w, ...g]);
  return out;
}

let ok = true;
async function check(name, make) {
  await tf.setBackend('cpu');
  const inputs = make();
  const host = await Promise.all(inputs.slice(0, 3).map(async (t) => ({ shape: t.shape, data: await t.data() })));
  const masks = inputs[3];
  const hostMasks = {};
  for (const [k, t] of Object.entries(masks))
    if (k !== 'heads') hostMasks[k] = { shape: t.shape, data: await t.data(), dtype: t.dtype };
  const cpu = await attend(inputs[0], inputs[1], inputs[2], masks);
  await tf.setBackend('webgpu');
  const onGpu = (h) => tf.tensor(h.data, h.shape, h.dtype ?? 'float32');
  const gm = { heads: masks.heads };
  for (const [k, h] of Object.entries(hostMasks)) gm[k] = onGpu(h);
  const [q, k, v] = host.map(onGpu);
  const gpu = await attend(q, k, v, gm);
  let worst = 0;
  let worstKey = '';
  for (const key of Object.keys(cpu)) {
    let scale = 1;
    for (const x of cpu[key]) scale = Math.max(scale, Math.abs(x));
    for (let i = 0; i < cpu[key].length; i++) {
      const d = Math.abs(gpu[key][i] - cpu[key][i]) / scale;
      if (!(d <= worst)) [worst, worstKey] = [Number.isNaN(d) ? Infinity : d, key];
    }
  }
  const pass = worst <= 1e-4;
  ok &&= pass;
  console.log(`${pass ? 'ok  ' : 'FAIL'} ${name}: max scaled |webgpu − cpu| = ${worst.toExponential(2)} (${worstKey})`);
}

const kpmOf = (rows) => tf.tensor2d(rows);
await check('self B4 H6 L32 d384, no mask', () => [T([4, 32, 384]), T([4, 32, 384]), T([4, 32, 384]), { heads: 6 }]);
await check('self B4 H6 L32 d384, key padding (one row all padded)', () => {
  const m = [32, 20, 1, 0].map((n) => Array.from({ length: 32 }, (_, j) => (j < n ? 1 : 0)));
  return [T([4, 32, 384]), T([4, 32, 384]), T([4, 32, 384]), { heads: 6, keyPaddingMask: kpmOf(m) }];
});
await check('cross B2 H4 Lq 70 Lk 130 d 32 dv 48, no mask', () => [
  T([2, 70, 32]),
  T([2, 130, 32]),
  T([2, 130, 48]),
  { heads: 4 },
]);
await check('cross B2 H4 Lq 70 Lk 130 d 32 dv 48, padding', () => {
  const m = [130, 77].map((n) => Array.from({ length: 130 }, (_, j) => (j < n ? 1 : 0)));
  return [T([2, 70, 32]), T([2, 130, 32]), T([2, 130, 48]), { heads: 4, keyPaddingMask: kpmOf(m) }];
});
await check('cross B2 H4 Lq 70 Lk 130 d 32 dv 48, attnMask finite', () => {
  return [T([2, 70, 32]), T([2, 130, 32]), T([2, 130, 48]), { heads: 4, attnMask: T([70, 130]) }];
});
await check('cross B2 H4 Lq 70 Lk 130 d 32 dv 48, padding + attnMask [Lq, Lk]', () => {
  const m = [130, 77].map((n) => Array.from({ length: 130 }, (_, j) => (j < n ? 1 : 0)));
  const am = tf.where(tf.greater(T([70, 130]), 1.5), tf.fill([70, 130], -Infinity), T([70, 130], 0.5));
  return [T([2, 70, 32]), T([2, 130, 32]), T([2, 130, 48]), { heads: 4, keyPaddingMask: kpmOf(m), attnMask: am }];
});
await check('cross B3 H2 Lq 5 Lk 9 d 260 dv 136, attnMask [B, Lq, Lk]', () => [
  T([3, 5, 260]),
  T([3, 9, 260]),
  T([3, 9, 136]),
  { heads: 2, attnMask: T([3, 5, 9], 2) },
]);

// Kernel count of one MultiHeadAttention (d 384, 6 heads, B 4, L 32, padding mask) forward + backward.
async function kernelCount(on) {
  fused(on);
  const mha = new MultiHeadAttention(384, 6, { seed: 1 });
  const x = T([4, 32, 384]);
  const mask = kpmOf([32, 20, 32, 8].map((n) => Array.from({ length: 32 }, (_, j) => (j < n ? 1 : 0))));
  const step = () => tf.variableGrads(() => tf.sum(tf.square(mha.forward(x, { keyPaddingMask: mask }))));
  tf.dispose(Object.values(step().grads)); // warm-up
  const info = await tf.profile(() => {
    const { value, grads } = step();
    return [value, ...Object.values(grads)];
  });
  mha.dispose();
  fused(true);
  return info.kernels.length;
}
const composed = await kernelCount(false);
const withFused = await kernelCount(true);
console.log(`MultiHeadAttention d384 h6 forward + backward: ${composed} tfjs kernels composed, ${withFused} fused`);
process.exit(ok ? 0 : 1);
