// The tfjs rows of BENCHMARKS.md: the same cases as tools/perf/peers/torch_reference.py, built from
// @geolip/nn blocks and trained with @geolip/train's AdamW, on one tfjs backend per run.
//
//   node tools/perf/model-bench.mjs --backend wasm [--threads 1|2] [--cases a,b] [--iters N] [--quick] [--grid cpu]
//                                   [--profile <train case>] [--out f.json]
//   GPU machine: node tools/device/pack.mjs tools/perf/model-bench.mjs --out .device/bench, then
//                bash .device/bench/run.sh --backend webgpu --out $OUT/tfjs-webgpu.json
//
// Cases (median of --iters timed runs after warm-up; every step ends with a read-back of its result, the
// equivalent of the torch script's synchronize):
//   encoder_infer   CaptionBERT-shaped encoder (30,522 vocab, 8,192 positions, d=384, 6 heads, FFN 1536, 6 pre-norm
//                   layers, final LN, masked mean pool, head 384→384→GELU→LN→768, L2 normalize; 25,958,016 params)
//                   at batch 64/256 × length 32/128; sentences/s
//   encoder_train   one step at batch 128/256, length 32: MSE(normalized output, fixed unit target), backward,
//                   AdamW(lr 1e-4, wd 0.01); ms/step
//   small_train     the same encoder with 2 layers, batch 128, length 32, AdamW with wd 0 (= Adam); ms/step
//   small_infer     that model's inference at batch 128, length 32; sentences/s
//   vit_train       ViT on 32×32×3: patches 4×4 (Linear 48→384, the same as a stride-4 conv), learned positions,
//                   6 of the layers, final LN, mean pool, Linear(384, 10), softmax cross-entropy on random labels,
//                   AdamW; batch 128/256; ms/step
//   pentachoron_cv  1e5 points on S^127; timed: pentachoronCVAsync over 1000 5-point simplices (float64 CPU
//                   Cayley–Menger); ms
//   gpa_768         3 random [4096, 768] views; timed: gpa(views, 10 iterations, no row normalization) in float64 on
//                   the CPU (@geolip/geometry's linalg); ms
//   matmul_1024     tf.matMul 1024³, GFLOP/s
//   matmul_shapes   (webgpu) the transformer's matmul shapes, tfjs's programs vs @geolip/nn's tiled one; TFLOP/s
import { renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';

import * as tf from '@tensorflow/tfjs-core';
import { createRng, gpa, linalg, pentachoronCVAsync, sampleSphere } from '@geolip/geometry';
import {
  KERNELS,
  Linear,
  LayerNorm,
  TransformerEncoder,
  gelu,
  hasKernel,
  maskedMeanPool,
  pentachoronCVOnDevice,
} from '@geolip/nn';
import { initBackend } from '@geolip/nn/backend';
import { AdamW } from '@geolip/train';

import { machineInfo } from './machine.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt);
const quick = args.includes('--quick');
const backendName = opt('backend', 'wasm');
const out = opt('out', undefined);
const iters = Number(opt('iters', quick ? 2 : 10));
const threads = opt('threads', undefined);
if (threads !== undefined) process.env.GEOLIP_WASM_THREADS = threads;
// --grid cpu: the shapes a 2-core machine finishes in minutes and a wasm32 heap holds: b64/b256 at L32 for
// inference, b128 for the small model's step, b32 for the 6-layer encoder's and the ViT's steps (at b128 their
// activations exceed tfjs-wasm's heap: XNNPACK reports out-of-memory and the module aborts).
const cpuGrid = opt('grid', 'full') === 'cpu';
const profileCase = opt('profile', undefined);
// --submit-batch N: tfjs-webgpu's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (dispatches recorded per queue submit; tfjs: 15).
const submitBatch = opt('submit-batch', undefined);
// --prod: tf.enableProdMode() (skips tfjs-core's debug-only checks).
const prod = args.includes('--prod');

const info = await initBackend({ prefer: [backendName], log: (m) => console.error(m) });
if (info.name !== backendName) throw new Error(`model-bench: asked for ${backendName}, got ${info.name}`);
if (submitBatch !== undefined) tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', Number(submitBatch));
if (prod) tf.enableProdMode();
const DEFAULT_CASES = {
  cpu: ['small_infer', 'pentachoron_cv', 'gpa_768', 'matmul_1024'],
  wasm: [
    'encoder_infer',
    'encoder_train',
    'small_train',
    'small_infer',
    'vit_train',
    'pentachoron_cv',
    'gpa_768',
    'matmul_1024',
  ],
  webgpu: [
    'encoder_infer',
    'encoder_train',
    'small_train',
    'small_infer',
    'vit_train',
    'pentachoron_cv',
    'pentachoron_cv_gpu',
    'matmul_1024',
  ],
};
const cases = (opt('cases', undefined)?.split(',') ?? DEFAULT_CASES[info.name] ?? DEFAULT_CASES.wasm).filter(Boolean);
const report = {
  backend: info.name,
  adapter: info.adapter ?? null,
  wasm: info.wasm ?? null,
  kernels: (info.kernels ?? []).map((k) => k.name),
  fused: process.env.GEOLIP_WEBGPU_FUSED !== '0',
  uploadPatch: process.env.GEOLIP_WEBGPU_UPLOAD_PATCH !== '0',
  submitBatch: backendName === 'webgpu' ? tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') : null,
  prod,
  date: new Date().toISOString(),
  node: process.version,
  cpu: `${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`,
  machine: machineInfo({ tfVersion: tf.version_core, adapter: info.adapter ?? null }),
  iters,
  results: [],
};
console.error(`model-bench: ${info.name} ${info.adapter ?? ''} cases=${cases.join(',')} iters=${iters}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn, n = iters, warm = quick ? 1 : 2) {
  for (let i = 0; i < warm; i++) await fn();
  const ts = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return { median_ms: median(ts), min_ms: Math.min(...ts), iters: n };
}
function save() {
  if (!out) return;
  writeFileSync(`${out}.tmp`, JSON.stringify(report, null, 2));
  renameSync(`${out}.tmp`, out);
}
function record(r) {
  report.results.push(r);
  console.error(`  ${r.case} ${JSON.stringify(r)}`);
  save(); // after every case, so a later failure or timeout keeps what was measured
}

class SentenceEncoder {
  constructor(layers, seed = 0) {
    this.enc = new TransformerEncoder({
      vocabSize: 30522,
      maxPositions: 8192,
      dModel: 384,
      heads: 6,
      ffDim: 1536,
      layers,
      seed,
    });
    this.h0 = new Linear(384, 384, { seed: seed + 1 });
    this.ln = new LayerNorm(384);
    this.h3 = new Linear(384, 768, { seed: seed + 2 });
  }
  forward(ids, mask) {
    return tf.tidy(() => {
      const pooled = maskedMeanPool(this.enc.forward(ids, mask), mask);
      const y = this.h3.forward(this.ln.forward(gelu(this.h0.forward(pooled))));
      return tf.div(y, tf.maximum(tf.norm(y, 'euclidean', -1, true), 1e-12));
    });
  }
  getWeights() {
    const w = {};
    for (const [p, m] of [
      ['enc', this.enc],
      ['head.0', this.h0],
      ['head.2', this.ln],
      ['head.3', this.h3],
    ]) {
      for (const [k, v] of Object.entries(m.getWeights())) w[`${p}.${k}`] = v;
    }
    return w;
  }
  paramCount() {
    return this.enc.paramCount() + this.h0.paramCount() + this.ln.paramCount() + this.h3.paramCount();
  }
  dispose() {
    for (const m of [this.enc, this.h0, this.ln, this.h3]) m.dispose();
  }
}

const batchIds = (b, l, seed) => tf.randomUniformInt([b, l], 1, 30522, seed);

async function trainCase(name, model, makeBatch, lossOf, optimizerOptions, extra) {
  const weights = model.getWeights();
  const optimizer = new AdamW(weights, optimizerOptions);
  const batch = makeBatch();
  const step = async () => {
    const { value, grads } = tf.variableGrads(() => lossOf(batch));
    const named = {};
    for (const [k, v] of Object.entries(weights)) named[k] = grads[v.name];
    optimizer.step(named);
    await value.data();
    tf.dispose([value, grads]);
  };
  const r = await time(step);
  record({ case: name, ...extra, ms: r.median_ms, ...r });
  if (profileCase === name) {
    // Where the step's time goes: forward only, forward + backward, the optimizer alone, and tf.profile's kernel table.
    const fwd = await time(async () => {
      const l = tf.tidy(() => lossOf(batch));
      await l.data();
      l.dispose();
    });
    const bwd = await time(async () => {
      const { value, grads } = tf.variableGrads(() => lossOf(batch));
      await value.data();
      tf.dispose([value, grads]);
    });
    const { grads: g0 } = tf.variableGrads(() => lossOf(batch));
    const named0 = {};
    for (const [k, v] of Object.entries(weights)) named0[k] = g0[v.name];
    const opt = await time(async () => {
      optimizer.step(named0);
      const s = tf.sum(Object.values(weights)[0]);
      await s.data();
      s.dispose();
    });
    tf.dispose(g0);
    const prof = await tf.profile(step);
    const byName = {};
    for (const k of prof.kernels) {
      const e = (byName[k.name] ??= { count: 0, kernelMs: 0 });
      e.count += 1;
      e.kernelMs += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    }
    report.profile = {
      case: name,
      forwardMs: fwd.median_ms,
      forwardBackwardMs: bwd.median_ms,
      optimizerMs: opt.median_ms,
      kernelCount: prof.kernels.length,
      kernelMsTotal: Object.values(byName).reduce((a, e) => a + e.kernelMs, 0),
      byName: Object.entries(byName)
        .map(([k, e]) => ({ name: k, ...e }))
        .sort((a, b) => b.count - a.count),
    };
    console.error(`  profile ${JSON.stringify({ ...report.profile, byName: report.profile.byName.slice(0, 15) })}`);
  }
  optimizer.dispose?.();
  tf.dispose(Object.values(batch));
}

if (cases.includes('matmul_1024')) {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const r = await time(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  });
  record({ case: 'matmul_1024', gflops: (2 * 1024 ** 3) / (r.median_ms * 1e6), ...r });
  tf.dispose([a, b]);
}

// matmul_shapes (webgpu): the transformer's matmul shapes (b128 × L32 tokens, d 384, FFN 1536; forward and the two
// gradient orientations) and 8192³, each as 10 back-to-back matmuls ending with one read-back, with tfjs's programs
// (tile "off") and @geolip/nn's tiled program forced to 64×64 and 128×128 tiles, and the automatic choice.
if (cases.includes('matmul_shapes')) {
  const shapes = [
    [4096, 384, 1536, false, false],
    [4096, 1536, 384, false, false],
    [4096, 384, 1152, false, false],
    [4096, 1536, 384, false, true],
    [384, 4096, 1536, true, false],
    [1536, 4096, 384, true, false],
    [8192, 8192, 8192, false, false],
  ];
  for (const [m, k, n, tA, tB] of quick ? shapes.slice(0, 1) : shapes) {
    const a = tf.randomNormal(tA ? [k, m] : [m, k]);
    const b = tf.randomNormal(tB ? [n, k] : [k, n]);
    for (const tile of ['off', '64', '128', 'auto']) {
      if (tile === 'auto') delete process.env.GEOLIP_WEBGPU_MATMUL_TILE;
      else process.env.GEOLIP_WEBGPU_MATMUL_TILE = tile;
      const reps = m * n * k > 1e10 ? 3 : 10;
      const r = await time(
        async () => {
          const cs = [];
          for (let i = 0; i < reps; i++) cs.push(tf.matMul(a, b, tA, tB));
          await cs[reps - 1].data();
          tf.dispose(cs);
        },
        quick ? 2 : 5,
      );
      const tflops = (2 * m * n * k * reps) / (r.median_ms * 1e9);
      record({ case: 'matmul_shapes', m, k, n, transposeA: tA, transposeB: tB, tile, reps, tflops, ...r });
    }
    delete process.env.GEOLIP_WEBGPU_MATMUL_TILE;
    tf.dispose([a, b]);
  }
}

if (cases.includes('encoder_infer') || cases.includes('encoder_train')) {
  const model = new SentenceEncoder(6);
  report.encoderParams = model.paramCount();
  if (cases.includes('encoder_infer')) {
    for (const [b, l] of quick
      ? [[64, 32]]
      : cpuGrid
        ? [
            [64, 32],
            [256, 32],
          ]
        : [
            [64, 32],
            [256, 32],
            [64, 128],
            [256, 128],
          ]) {
      const ids = batchIds(b, l, 1);
      const mask = tf.ones([b, l]);
      const r = await time(
        async () => {
          const y = model.forward(ids, mask);
          await y.data();
          y.dispose();
        },
        info.name === 'webgpu' ? iters : Math.max(1, Math.min(iters, 3)),
        1,
      );
      record({ case: 'encoder_infer', batch: b, length: l, sentences_per_s: (b * 1000) / r.median_ms, ...r });
      tf.dispose([ids, mask]);
    }
  }
  if (cases.includes('encoder_train')) {
    for (const b of quick ? [128] : cpuGrid ? [32] : [128, 256]) {
      await trainCase(
        'encoder_train',
        model,
        () => ({
          ids: batchIds(b, 32, 2),
          mask: tf.ones([b, 32]),
          target: tf.tidy(() => {
            const t = tf.randomNormal([b, 768], 0, 1, 'float32', 3);
            return tf.div(t, tf.norm(t, 'euclidean', -1, true));
          }),
        }),
        ({ ids, mask, target }) => tf.mean(tf.square(tf.sub(model.forward(ids, mask), target))),
        { lr: 1e-4, weightDecay: 0.01 },
        { batch: b, length: 32 },
      );
    }
  }
  model.dispose();
}

if (cases.includes('small_train') || cases.includes('small_infer')) {
  const model = new SentenceEncoder(2, 7);
  if (cases.includes('small_infer')) {
    const ids = batchIds(128, 32, 4);
    const mask = tf.ones([128, 32]);
    const r = await time(async () => {
      const y = model.forward(ids, mask);
      await y.data();
      y.dispose();
    });
    record({ case: 'small_infer', batch: 128, length: 32, sentences_per_s: (128 * 1000) / r.median_ms, ...r });
    tf.dispose([ids, mask]);
  }
  if (cases.includes('small_train')) {
    await trainCase(
      'small_train',
      model,
      () => ({
        ids: batchIds(128, 32, 5),
        mask: tf.ones([128, 32]),
        target: tf.tidy(() => {
          const t = tf.randomNormal([128, 768], 0, 1, 'float32', 6);
          return tf.div(t, tf.norm(t, 'euclidean', -1, true));
        }),
      }),
      ({ ids, mask, target }) => tf.mean(tf.square(tf.sub(model.forward(ids, mask), target))),
      { lr: 1e-4, weightDecay: 0 },
      { batch: 128, length: 32 },
    );
  }
  model.dispose();
}

if (cases.includes('vit_train')) {
  const enc = new TransformerEncoder({ dModel: 384, heads: 6, ffDim: 1536, layers: 6, seed: 11 });
  const patch = new Linear(48, 384, { seed: 12 });
  const cls = new Linear(384, 10, { seed: 13 });
  const pos = tf.variable(tf.mul(tf.randomNormal([64, 384], 0, 1, 'float32', 14), 0.02), true);
  const model = {
    getWeights: () => ({
      ...Object.fromEntries(Object.entries(enc.getWeights()).map(([k, v]) => [`enc.${k}`, v])),
      'patch.weight': patch.getWeights().weight,
      'patch.bias': patch.getWeights().bias,
      'cls.weight': cls.getWeights().weight,
      'cls.bias': cls.getWeights().bias,
      pos,
    }),
  };
  for (const b of quick ? [128] : cpuGrid ? [32] : [128, 256]) {
    await trainCase(
      'vit_train',
      model,
      () => ({
        images: tf.randomNormal([b, 32, 32, 3], 0, 1, 'float32', 15),
        labels: tf.cast(tf.oneHot(tf.randomUniformInt([b], 0, 10, 16), 10), 'float32'),
      }),
      ({ images, labels }) => {
        const bsz = images.shape[0];
        // [B, 32, 32, 3] → [B, 8, 4, 8, 4, 3] → [B, 8, 8, 4, 4, 3] → [B, 64, 48]
        const patches = tf.reshape(tf.transpose(tf.reshape(images, [bsz, 8, 4, 8, 4, 3]), [0, 1, 3, 2, 4, 5]), [
          bsz,
          64,
          48,
        ]);
        const h = enc.encodeEmbeddings(tf.add(patch.forward(patches), pos));
        const logits = cls.forward(tf.mean(h, 1));
        return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1)));
      },
      { lr: 1e-4, weightDecay: 0.01 },
      { batch: b, image: 32, patch: 4 },
    );
  }
  enc.dispose();
  patch.dispose();
  cls.dispose();
  pos.dispose();
}

if (cases.includes('pentachoron_cv')) {
  const pts = sampleSphere(100_000, 128, { seed: 1 });
  let cv = NaN;
  const r = await time(async () => {
    cv = (await pentachoronCVAsync(pts, { samples: 1000, pool: Infinity, seed: 2 })).cv;
  });
  record({ case: 'pentachoron_cv', points: 100_000, dim: 128, simplices: 1000, cv, ms: r.median_ms, ...r });
  pts.dispose();
}

// pentachoron_cv_gpu: the same points (already on the device) and the same 1000 simplices (seed 2), volumes by
// @geolip/nn's pentachoronCVOnDevice (one GeolipSimplexVolumeSquared dispatch on webgpu); timed: index sampling,
// upload, the volumes, the read-back of the 1000 V² and the float64 statistic. cvFloat64 (untimed) is the CPU path's.
if (cases.includes('pentachoron_cv_gpu')) {
  const pts = sampleSphere(100_000, 128, { seed: 1 });
  const options = { samples: 1000, pool: Infinity, seed: 2 };
  let res = null;
  const r = await time(async () => {
    res = await pentachoronCVOnDevice(pts, options);
  });
  const cvFloat64 = (await pentachoronCVAsync(pts, options)).cv;
  record({
    case: 'pentachoron_cv_gpu',
    points: 100_000,
    dim: 128,
    simplices: 1000,
    fusedKernel: hasKernel(KERNELS.simplexVolumeSquared),
    cv: res.cv,
    valid: res.valid,
    cvFloat64,
    relCvDiff: Math.abs(res.cv - cvFloat64) / cvFloat64,
    ms: r.median_ms,
    ...r,
  });
  pts.dispose();
}

if (cases.includes('gpa_768')) {
  const rng = createRng(3);
  const views = [0, 1, 2].map(() => {
    const m = new Float64Array(4096 * 768);
    for (let i = 0; i < m.length; i++) m[i] = rng.normal();
    return new linalg.Matrix(4096, 768, m);
  });
  let residual = NaN;
  const r = await time(
    async () => {
      const res = gpa(views, { iterations: 10, rowNormalize: false });
      residual = res.diagnostics.lastChange;
    },
    1,
    0,
  );
  record({
    case: 'gpa_768',
    matrices: 3,
    rows: 4096,
    dim: 768,
    gpa_iters: 10,
    lastChange: residual,
    ms: r.median_ms,
    ...r,
  });
}

save();
console.log(JSON.stringify(report, null, 2));
