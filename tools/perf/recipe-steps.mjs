// Times the training step of the project's real recipes (issue 19's target: "the recipes' steps … each at least 3×
// faster than today"), each through `recipeStep` of @geolip/recipes: the recipe's own network, loss, batch pipeline
// and train() options (AdamW, warmup + cosine, clipping, afterStep), on seeded synthetic data of the run's shapes
// (the step's cost does not depend on the values). A step is one `train()` step: data, forward, backward, clip,
// AdamW, and the loss and gradient norm read back to the CPU (the loop's one sync per step).
//
//   node tools/perf/recipe-steps.mjs --backend wasm --quick   (a smoke run, ~1 min: every case at batch 8, 3 steps each;
//                                                              glfm-v2 is skipped on wasm; --backend cpu runs it: ~20 min)
//   node tools/perf/recipe-steps.mjs --backend wasm --only text-student --steps 3 --batch 32
//   GPU machine: node tools/device/pack.mjs tools/perf/recipe-steps.mjs --out .device/steps, then
//                bash .device/steps/run.sh --backend webgpu --out $OUT/recipe-steps.json
//
// Options: --backend webgpu|wasm|cpu (default webgpu), --only a,b, --steps N (timed, default 10), --warmup N
// (default 2), --batch N (every case at batch N instead of the recipe's), --out file.json, --quick (--steps 1
// --warmup 0 --batch 8 unless given). Per case, first two profiled steps (tf.profile; they also compile the
// shaders): the kernels the second one runs, all and without Reshape / Identity / custom-gradient scopes (no
// dispatch of their own on webgpu); then one unprofiled train() call of warm-up + timed steps: median / min / max ms per step (with
// --warmup 0 the first timed step includes train()'s set-up: AdamW's moments); the parameter count, and the live
// tensors left after disposing (a leak check). The JSON is rewritten (temp file + rename) after every case, so a
// timeout keeps what was measured; a Markdown table ends the run.
// The baselines of these steps before issue 19's work: results/perf/recipe-steps-before.json.
import { renameSync, writeFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@geolip/nn/backend';
import { recipeStep } from '@geolip/recipes';
import { train } from '@geolip/train';

import { machineInfo } from './machine.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const quick = args.includes('--quick');
const backendName = opt('backend', 'webgpu');
const steps = Number(opt('steps', quick ? 1 : 10));
const warmup = Number(opt('warmup', quick ? 0 : 2));
const batchOverride = opt('batch', quick ? '8' : undefined);
const only = opt('only', '').split(',').filter(Boolean);
const out = opt('out', undefined);

// The configs of the shipped runs (what each recipe's run read; data paths and run lengths left out).
const FMNIST = { batchSize: 256, lr: 1e-3, warmupSteps: 300, valSize: 5000 };
const glfm = (variant, modelConfig = {}) => ({ variant, batchSize: 128, lr: 1e-3, warmupSteps: 200, modelConfig });
const CASES = [
  {
    // The Dual-Stream ViT of the shipped 88.38% (packages/vision/README.md; results/vision/fmnist-long/nomastery):
    // the card's loss stack without the mastery queue, 14 epochs at batch 256.
    name: 'dual-stream-fmnist-b256',
    recipe: 'fmnist-vit',
    config: { model: 'dual-stream', ...FMNIST, loss: { mastery: 0 } },
  },
  {
    // The plain ViT trained beside it (89.32%), the same way.
    name: 'vit-fmnist-b256',
    recipe: 'fmnist-vit',
    config: { model: 'vit', ...FMNIST, loss: { mastery: 0 } },
  },
  // The four presets of results/diffusion/glfm-2ep/config-v*.json (batch 128, lr 1e-3, 200 warmup steps).
  { name: 'glfm-v1-b128', recipe: 'glfm', config: glfm('v1') },
  {
    name: 'glfm-v2-b128',
    recipe: 'glfm',
    config: glfm('v2'),
    // 159.8M parameters (the 12,544² skip): XNNPACK runs out of the wasm heap and the step never returns.
    skip: { wasm: 'does not fit the wasm heap (XNNPACK out of memory at 159.8M parameters); use cpu or webgpu' },
  },
  { name: 'glfm-v3-b128', recipe: 'glfm', config: glfm('v3') },
  { name: 'glfm-v4-b128', recipe: 'glfm', config: glfm('v4') },
  // v4 as the glfm-2ep runs trained it, before the preset gained U-Net skips (its 222.6 ms baseline).
  { name: 'glfm-v4-noskips-b128', recipe: 'glfm', config: glfm('v4', { decoderSkips: false }) },
  {
    // The shipped geolip-text student (packages/text/README.md, "How the shipped student was trained").
    name: 'text-student',
    recipe: 'text-consensus',
    config: {
      student: { dModel: 256, heads: 4, ffDim: 1024, layers: 4, maxLength: 64 },
      steps: 6179,
      batchSize: 256,
      lr: 1e-3,
      warmupSteps: 400,
    },
  },
];
const unknown = only.filter((n) => !CASES.some((c) => c.name === n));
if (unknown.length > 0) {
  console.error(`recipe-steps: unknown case(s) ${unknown.join(', ')}; cases: ${CASES.map((c) => c.name).join(', ')}`);
  process.exit(2);
}

const info = await initBackend({ prefer: [backendName], log: (m) => console.error(m) });
if (info.name !== backendName) throw new Error(`recipe-steps: asked for ${backendName}, got ${info.name}`);
const report = {
  tool: 'tools/perf/recipe-steps.mjs',
  date: new Date().toISOString(),
  backend: info.name,
  adapter: info.adapter ?? null,
  machine: machineInfo({ tfVersion: tf.version_core, adapter: info.adapter ?? null }),
  env: Object.fromEntries(
    ['GEOLIP_WEBGPU_FUSED', 'GEOLIP_WEBGPU_IN_PLACE', 'GEOLIP_WEBGPU_UPLOAD_PATCH', 'GEOLIP_WEBGPU_GRAD_PATCH'].map(
      (k) => [k, process.env[k] ?? null],
    ),
  ),
  kernels: (info.kernels ?? []).map((k) => k.name ?? k),
  steps,
  warmup,
  batch: batchOverride === undefined ? 'recipe' : Number(batchOverride),
  cases: [],
};
console.error(
  `recipe-steps: ${info.name} ${info.adapter ?? ''}; ${warmup} warm-up + ${steps} timed steps` +
    (batchOverride === undefined ? '' : `; batch ${batchOverride}`),
);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// No dispatch of their own on webgpu: Reshape and Identity share the input's buffer; an 'unnamed scope' entry is a
// custom gradient's forward, whose ops are recorded one by one.
const NO_DATA_MOVED = new Set(['Reshape', 'Identity', 'unnamed scope']);

function save() {
  if (!out) return;
  writeFileSync(`${out}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
}

/** Runs `n` steps of `step` in one train() call; `onStep` runs after the recipe's own afterStep. */
function runSteps(step, n, onStep) {
  const own = step.options.afterStep;
  return train({
    ...step.options,
    steps: n,
    afterStep: async (s) => {
      await own?.(s);
      onStep(s);
    },
  });
}

/** The kernels of one step: tf.profile of two steps, split where the first ends (the second is the steady state). */
async function stepKernels(step) {
  const marks = [];
  const prof = await tf.profile(() =>
    runSteps(step, 2, () => marks.push(tf.engine().state.activeProfile.kernels.length)).then(() => []),
  );
  const kernels = prof.kernels.slice(marks[0], marks[1]);
  const byName = {};
  for (const k of kernels) {
    const e = (byName[k.name] ??= { count: 0, ms: 0 });
    e.count += 1;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  }
  const top = Object.entries(byName)
    .sort((a, b) => b[1].count - a[1].count || b[1].ms - a[1].ms)
    .slice(0, 12)
    .map(([name, e]) => ({ name, count: e.count, ms: Number(e.ms.toFixed(3)) }));
  return {
    dispatches: kernels.length,
    dispatchesMovingData: kernels.filter((k) => !NO_DATA_MOVED.has(k.name)).length,
    kernelMs: Number(kernels.reduce((s, k) => s + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), 0)),
    topKernels: top,
  };
}

for (const c of CASES) {
  if (only.length > 0 && !only.includes(c.name)) continue;
  if (c.skip?.[info.name] && !only.includes(c.name)) {
    report.cases.push({ name: c.name, recipe: c.recipe, skipped: c.skip[info.name] });
    console.error(`${c.name}: skipped on ${info.name}: ${c.skip[info.name]}`);
    save();
    continue;
  }
  const config = batchOverride === undefined ? c.config : { ...c.config, batchSize: Number(batchOverride) };
  const tensorsBefore = tf.memory().numTensors;
  let step;
  const t0 = performance.now();
  try {
    step = recipeStep(c.recipe, config, { maxSteps: warmup + steps + 2 });
    // First the profile (two steps: they also compile the shaders), then the timed run, unprofiled.
    const k = await stepKernels(step);
    const profiledMs = performance.now() - t0;
    const stamps = [performance.now()];
    await runSteps(step, warmup + steps, () => stamps.push(performance.now()));
    const per = stamps.slice(warmup + 1).map((t, i) => t - stamps[warmup + i]);
    const row = {
      name: c.name,
      recipe: c.recipe,
      config,
      data: step.data,
      batch: step.batchSize,
      params: step.params,
      msPerStep: median(per),
      msMin: Math.min(...per),
      msMax: Math.max(...per),
      msSteps: per.map((v) => Number(v.toFixed(2))),
      profiledMs,
      ...k,
    };
    report.cases.push(row);
    console.error(
      `${c.name}: ${row.params.toLocaleString('en-US')} params, ${row.msPerStep.toFixed(1)} ms/step of ${row.batch} ` +
        `(min ${row.msMin.toFixed(1)}, max ${row.msMax.toFixed(1)}), ${row.dispatches} kernels/step ` +
        `(${row.dispatchesMovingData} without Reshape/Identity/scopes)`,
    );
  } catch (error) {
    report.cases.push({ name: c.name, recipe: c.recipe, config, error: String(error?.stack ?? error) });
    console.error(`${c.name}: ${error?.stack ?? error}`);
  } finally {
    step?.dispose();
    const row = report.cases[report.cases.length - 1];
    if (row?.name === c.name) row.tensorsLeft = tf.memory().numTensors - tensorsBefore;
  }
  save();
}

const fmt = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '–');
const lines = [
  `Recipe steps on ${report.backend}${report.adapter ? ` (${report.adapter})` : ''}, ${warmup} warm-up + ${steps} ` +
    `timed steps, ${report.date}`,
  '',
  '| case | batch | params | ms/step (median) | min | kernels/step | without Reshape/Identity/scopes |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...report.cases.map((r) =>
    r.error || r.skipped
      ? `| ${r.name} | | | ${r.skipped ? 'skipped' : `error: ${r.error.split('\n')[0].slice(0, 80)}`} | | | |`
      : `| ${r.name} | ${r.batch} | ${r.params.toLocaleString('en-US')} | ${fmt(r.msPerStep)} | ${fmt(r.msMin)} | ` +
        `${r.dispatches} | ${r.dispatchesMovingData} |`,
  ),
];
console.log(lines.join('\n'));
if (out) console.error(`wrote ${out}`);
process.exitCode = report.cases.some((r) => r.error) ? 1 : 0;
