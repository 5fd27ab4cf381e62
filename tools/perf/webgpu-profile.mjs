// Where does tfjs-webgpu training time go? A self-contained probe (plain tfjs ops, no @geolip/nn) of the
// small transformer of ARCHITECTURE.md (2 pre-norm layers, d=384, 6 heads, FFN 1536, vocab 30,522,
// batch 128, length 32, Adam), plus micro-probes: per-dispatch overhead, read-back latency, matmul at the
// model's shapes, and tf.profile's per-kernel table of one training step.
//
//   node tools/device/pack.mjs tools/perf/webgpu-profile.mjs --out .device/profile
//   (GPU machine)  bash .device/profile/run.sh --out $OUT/webgpu-profile.json
//   (here, any backend)  node tools/perf/webgpu-profile.mjs --backend cpu --quick
import { renameSync, writeFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@geolip/nn/backend';

const args = process.argv.slice(2);
const option = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const backend = option('backend', 'webgpu');
const out = option('out', undefined);

const info = await initBackend({ prefer: [backend], log: (m) => console.error(m) });
console.error(`backend ${info.name} ${info.adapter ?? ''}`);
const report = {
  backend: info.name,
  adapter: info.adapter ?? null,
  date: new Date().toISOString(),
  node: process.version,
  probes: {},
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
async function timeIt(fn, iters, warm = 2) {
  for (let i = 0; i < warm; i++) await fn();
  const ts = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return { medianMs: median(ts), minMs: Math.min(...ts), iters };
}

// --- micro probes --------------------------------------------------------------------------------
{
  const x = tf.randomNormal([128, 32, 384]);
  for (const n of [1, 10, 100, 500]) {
    report.probes[`chain_${n}_adds`] = await timeIt(
      async () => {
        const y = tf.tidy(() => {
          let t = x;
          for (let i = 0; i < n; i++) t = tf.add(t, 1);
          return t;
        });
        await y.data();
        y.dispose();
      },
      quick ? 3 : 10,
    );
  }
  report.probes.readback_scalar = await timeIt(
    async () => {
      const s = tf.sum(x);
      await s.data();
      s.dispose();
    },
    quick ? 3 : 20,
  );
  x.dispose();
  for (const [m, k, n, ta, tb] of [
    [4096, 384, 1536, false, false],
    [4096, 1536, 384, false, false],
    [4096, 384, 1536, false, true],
    [384, 4096, 1536, true, false],
    [1024, 1024, 1024, false, false],
  ]) {
    const a = tf.randomNormal(ta ? [k, m] : [m, k]);
    const b = tf.randomNormal(tb ? [n, k] : [k, n]);
    const r = await timeIt(
      async () => {
        const y = tf.tidy(() => {
          let t;
          for (let i = 0; i < 10; i++) t = tf.matMul(a, b, ta, tb);
          return t;
        });
        await y.data();
        y.dispose();
      },
      quick ? 2 : 5,
    );
    report.probes[`matmul_${m}x${k}x${n}${ta ? '_tA' : ''}${tb ? '_tB' : ''}_x10`] = {
      ...r,
      gflops: (10 * 2 * m * k * n) / (r.medianMs * 1e6),
    };
    a.dispose();
    b.dispose();
  }
}

// --- the small transformer ------------------------------------------------------------------------
const V = 30522,
  D = 384,
  H = 6,
  F = 1536,
  L = 32,
  B = quick ? 16 : 128,
  LAYERS = 2;
const seeded = (shape, std, seed) => tf.variable(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), std));
const params = {
  tok: seeded([V, D], 0.02, 1),
  pos: seeded([512, D], 0.02, 2),
  lnf_g: tf.variable(tf.ones([D])),
  lnf_b: tf.variable(tf.zeros([D])),
};
for (let l = 0; l < LAYERS; l++) {
  Object.assign(params, {
    [`l${l}_ln1_g`]: tf.variable(tf.ones([D])),
    [`l${l}_ln1_b`]: tf.variable(tf.zeros([D])),
    [`l${l}_qkv`]: seeded([D, 3 * D], 0.05, 10 + l),
    [`l${l}_qkv_b`]: tf.variable(tf.zeros([3 * D])),
    [`l${l}_o`]: seeded([D, D], 0.05, 20 + l),
    [`l${l}_o_b`]: tf.variable(tf.zeros([D])),
    [`l${l}_ln2_g`]: tf.variable(tf.ones([D])),
    [`l${l}_ln2_b`]: tf.variable(tf.zeros([D])),
    [`l${l}_f1`]: seeded([D, F], 0.05, 30 + l),
    [`l${l}_f1_b`]: tf.variable(tf.zeros([F])),
    [`l${l}_f2`]: seeded([F, D], 0.05, 40 + l),
    [`l${l}_f2_b`]: tf.variable(tf.zeros([D])),
  });
}
const ln = (x, g, b) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
};
const gelu = (x) => tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
const lin = (x2, w, b) => tf.add(tf.matMul(x2, w), b);
function forward(ids, maskBias) {
  const bl = ids.shape[0] * ids.shape[1];
  // one-hot-free embedding: gather forward (gradient: UnsortedSegmentSum on webgpu exists)
  let x = tf.add(
    tf.reshape(tf.gather(params.tok, tf.reshape(ids, [-1])), [ids.shape[0], L, D]),
    tf.slice(params.pos, [0, 0], [L, D]),
  );
  for (let l = 0; l < LAYERS; l++) {
    const h = tf.reshape(ln(x, params[`l${l}_ln1_g`], params[`l${l}_ln1_b`]), [bl, D]);
    const qkv = tf.reshape(lin(h, params[`l${l}_qkv`], params[`l${l}_qkv_b`]), [ids.shape[0], L, 3, H, D / H]);
    const q = tf.transpose(tf.squeeze(tf.slice(qkv, [0, 0, 0, 0, 0], [-1, -1, 1, -1, -1]), [2]), [0, 2, 1, 3]);
    const k = tf.transpose(tf.squeeze(tf.slice(qkv, [0, 0, 1, 0, 0], [-1, -1, 1, -1, -1]), [2]), [0, 2, 1, 3]);
    const v = tf.transpose(tf.squeeze(tf.slice(qkv, [0, 0, 2, 0, 0], [-1, -1, 1, -1, -1]), [2]), [0, 2, 1, 3]);
    const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D / H)), maskBias));
    const ctx = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [bl, D]);
    x = tf.add(x, tf.reshape(lin(ctx, params[`l${l}_o`], params[`l${l}_o_b`]), [ids.shape[0], L, D]));
    const h2 = tf.reshape(ln(x, params[`l${l}_ln2_g`], params[`l${l}_ln2_b`]), [bl, D]);
    const f = lin(gelu(lin(h2, params[`l${l}_f1`], params[`l${l}_f1_b`])), params[`l${l}_f2`], params[`l${l}_f2_b`]);
    x = tf.add(x, tf.reshape(f, [ids.shape[0], L, D]));
  }
  x = ln(x, params.lnf_g, params.lnf_b);
  return tf.mean(x, 1);
}
const ids = tf.randomUniformInt([B, L], 1, V, 7);
const maskBias = tf.zeros([B, 1, 1, L]);
const target = tf.randomNormal([B, D], 0, 1, 'float32', 9);
const opt = tf.train.adam(1e-4);
const lossFn = () => tf.mean(tf.square(tf.sub(forward(ids, maskBias), target)));

report.probes.infer_small = await timeIt(
  async () => {
    const y = tf.tidy(() => forward(ids, maskBias));
    await y.data();
    y.dispose();
  },
  quick ? 2 : 10,
);
report.probes.infer_small.sentencesPerSec = (B * 1000) / report.probes.infer_small.medianMs;
report.probes.grads_only = await timeIt(
  async () => {
    const { value, grads } = tf.variableGrads(lossFn);
    await value.data();
    tf.dispose([value, grads]);
  },
  quick ? 2 : 10,
);
report.probes.train_step_adam = await timeIt(
  async () => {
    const loss = opt.minimize(lossFn, true);
    await loss.data();
    loss.dispose();
  },
  quick ? 2 : 10,
);
report.probes.train_step_adam_noread = await timeIt(
  async () => {
    for (let i = 0; i < 5; i++) tf.dispose(opt.minimize(lossFn, true));
    const s = tf.sum(params.lnf_g);
    await s.data();
    s.dispose();
  },
  quick ? 1 : 3,
);
report.probes.train_step_adam_noread.perStepMs = report.probes.train_step_adam_noread.medianMs / 5;

// tf.profile of one step: per-kernel table.
const prof = await tf.profile(async () => {
  const loss = opt.minimize(lossFn, true);
  await loss.data();
  loss.dispose();
});
const byName = new Map();
for (const k of prof.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : k.kernelTimeMs?.error ? NaN : Number(k.kernelTimeMs);
  const e = byName.get(k.name) ?? { name: k.name, count: 0, kernelMs: 0, extraInfo: '' };
  e.count += 1;
  e.kernelMs += Number.isFinite(ms) ? ms : 0;
  byName.set(k.name, e);
}
report.profile = {
  kernelCount: prof.kernels.length,
  kernelMsTotal: [...byName.values()].reduce((s, e) => s + e.kernelMs, 0),
  newBytes: prof.newBytes,
  peakBytes: prof.peakBytes,
  byName: [...byName.values()].sort((a, b) => b.kernelMs - a.kernelMs),
};
report.engine = { numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes, flags: tf.env().getFlags() };

const text = JSON.stringify(report, null, 2);
if (out) {
  writeFileSync(`${out}.tmp`, text);
  renameSync(`${out}.tmp`, out);
}
console.log(
  JSON.stringify(
    {
      backend: report.backend,
      probes: report.probes,
      kernelCount: report.profile.kernelCount,
      kernelMsTotal: report.profile.kernelMsTotal,
      top: report.profile.byName.slice(0, 12),
    },
    null,
    1,
  ),
);
