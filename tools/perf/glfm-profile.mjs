// Times GLFM training steps (the `glfm` recipe's own step through `recipeStep` of @geolip/recipes: its batch stream,
// flowMatchingLoss, AdamW with its schedule and clip 1, through `train()`) per variant and model size on one backend,
// to choose a model size and step count that fit the GPU machine's budget (issue 9). Synthetic data (seeded random
// byte images, labels 0…9): the step's cost does not depend on the pixels. Every recipe's step, GLFM's included:
// tools/perf/recipe-steps.mjs.
//
//   node tools/device/pack.mjs packages/recipes/bin/geolip-train.mjs tools/perf/glfm-profile.mjs --out .device/tc
//   (GPU machine)  bash .device/tc/run.sh glfm-profile --out $OUT [--backend webgpu] [--steps 8] [--only name,name]
//   (here, to test the script)  node tools/perf/glfm-profile.mjs --backend cpu --steps 2 --only v1-tiny
//
// Writes <out>/glfm-profile.json: per case the median and spread of ms per step, the kernels one step runs
// (tf.profile), and the ms of one sampler step (a forward pass) on a batch.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import { initBackend } from '@geolip/nn/backend';
import { recipeStep } from '@geolip/recipes';
import { train } from '@geolip/train';

const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const outDir = arg('out', '.');
const steps = Number(arg('steps', '8'));
const warmup = Number(arg('warmup', '3'));
const only = arg('only', '')?.split(',').filter(Boolean) ?? [];

const CASES = [
  // name, variant, batch, modelConfig overrides
  ['v1', 'v1', 128, {}],
  ['v2', 'v2', 128, {}],
  ['v3', 'v3', 128, {}],
  ['v4', 'v4', 128, {}],
  ['v1-b256', 'v1', 256, {}],
  ['v1-small', 'v1', 128, { levelChannels: [32, 64], groups: 16 }],
  ['v4-small', 'v4', 128, { levelChannels: [32, 64], groups: 16 }],
  ['v1-small-b256', 'v1', 256, { levelChannels: [32, 64], groups: 16 }],
  ['v1-tiny', 'v1', 16, { levelChannels: [8, 16], bottleneckChannels: 32, groups: 8, condDim: 32, timeDim: 16 }],
];

const info = await initBackend({ prefer: [arg('backend', 'webgpu')], log: (m) => console.error(m) });
console.error(`backend ${info.name}${info.adapter ? ` (${JSON.stringify(info.adapter)})` : ''}`);
mkdirSync(outDir, { recursive: true });
const report = {
  date: new Date().toISOString(),
  backend: info.name,
  adapter: info.adapter ?? null,
  steps,
  warmup,
  cases: [],
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const [name, variant, batch, overrides] of CASES) {
  if (only.length > 0 && !only.includes(name)) continue;
  const step = recipeStep(
    'glfm',
    { variant, batchSize: batch, lr: 1e-3, warmupSteps: 200, modelConfig: overrides },
    { maxSteps: warmup + steps },
  );
  const model = step.network;
  const rng = createRng(1);
  const images = new Float32Array(batch * 784).map(() => rng.normal());
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
  const stamps = [];
  const t0 = performance.now();
  try {
    await train({
      ...step.options,
      steps: warmup + steps,
      afterStep: () => {
        stamps.push(performance.now());
      },
    });
    const per = stamps.slice(warmup).map((t, i) => t - stamps[warmup + i - 1]);
    // Kernels of one forward + backward (no optimizer step).
    const trainer = step.options.model;
    const batch0 = step.options.data(0, createRng(2), 0);
    const prof = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(
        () => trainer.loss(batch0, { step: 0, micro: 0, training: true, rng: createRng(2) }),
        Object.values(model.getWeights()),
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    const kernelMs = prof.kernels.reduce((s, k) => s + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), 0);
    const byName = {};
    for (const k of prof.kernels) {
      const e = (byName[k.name] ??= { count: 0, ms: 0 });
      e.count += 1;
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    }
    const top = Object.entries(byName)
      .sort((a, b) => b[1].ms - a[1].ms || b[1].count - a[1].count)
      .slice(0, 12);
    // One sampler step: a forward pass on the batch.
    const x = tf.tensor4d(images, [batch, 28, 28, 1]);
    const t = tf.fill([batch], 0.5);
    const lab = tf.tensor1d(labels, 'int32');
    const fwd = [];
    for (let i = 0; i < 4; i++) {
      const s = performance.now();
      const v = model.forward(x, t, lab);
      await v.data();
      v.dispose();
      fwd.push(performance.now() - s);
    }
    tf.dispose([x, t, lab]);
    const row = {
      name,
      variant,
      batch,
      overrides,
      params: step.params,
      msPerStep: median(per),
      msMin: Math.min(...per),
      msMax: Math.max(...per),
      warmupMs: stamps[warmup - 1] - t0,
      kernels: prof.kernels.length,
      kernelMs,
      topKernels: top,
      forwardMs: median(fwd.slice(1)),
    };
    report.cases.push(row);
    console.error(
      `${name}: ${row.params} params, ${row.msPerStep.toFixed(1)} ms/step of ${batch} (min ${row.msMin.toFixed(1)}, max ${row.msMax.toFixed(1)}), ` +
        `${row.kernels} kernels/step (${kernelMs.toFixed(1)} kernel ms), forward ${row.forwardMs.toFixed(1)} ms`,
    );
  } catch (error) {
    report.cases.push({ name, error: String(error?.stack ?? error) });
    console.error(`${name}: ${error}`);
  } finally {
    step.dispose();
  }
  const tmp = join(outDir, 'glfm-profile.json.tmp');
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, join(outDir, 'glfm-profile.json'));
}
