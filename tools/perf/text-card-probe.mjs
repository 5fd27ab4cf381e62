// CaptionBERT at the card's size on the CPU (issue 22): a handful of real training steps of the card config
// (results/text/caption-card/config.json: 25,958,016 parameters, batch 128) and, for the ratio, of the shipped student
// (d 256, 4 layers, batch 256, 64 tokens), each through `recipeStep` of @geolip/recipes: the recipe's own network,
// loss (InfoNCE + MSE + CV, the targets lifted to the output), AdamW, schedule and clipping, on token rows with the
// real corpus's lengths (so a batch pads to its longest sentence, as in the run) and random unit targets (the step's
// cost does not depend on their values). Reports ms/step (median of the timed steps; the first is warm-up), the
// padded batch lengths and the process's peak RSS (the card case runs last, so the peak after it is its own).
//
//   node tools/perf/text-card-probe.mjs --corpus .tmp/tcard-run/corpus.txt [--backend wasm] [--steps 4] [--warmup 1]
//     [--batch 128] [--cases shipped,card] [--out results/text/caption-card/cpu-probe.json]
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@geolip/nn/backend';
import { recipeStep } from '@geolip/recipes';
import { loadBertUncasedTokenizer } from '@geolip/text';
import { train } from '@geolip/train';

import { machineInfo } from './machine.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const corpusFile = opt('corpus', '.tmp/tcard-run/corpus.txt');
const backendName = opt('backend', 'wasm');
const steps = Number(opt('steps', 4));
const warmup = Number(opt('warmup', 1));
const batchOverride = opt('batch', undefined);
const cases = opt('cases', 'shipped,card').split(',');
const out = opt('out', undefined);
const configFile = opt('config', 'results/text/caption-card/config.json');

const CASES = {
  card: () => JSON.parse(readFileSync(configFile, 'utf8')),
  // The shipped geolip-text student (packages/text/README.md, "How the distilled student was trained").
  shipped: () => ({
    student: { dModel: 256, heads: 4, ffDim: 1024, layers: 4, maxLength: 64 },
    steps: 6179,
    batchSize: 256,
    lr: 1e-3,
    warmupSteps: 400,
  }),
};

const info = await initBackend({ prefer: [backendName], log: (m) => console.error(m) });
if (info.name !== backendName) throw new Error(`text-card-probe: asked for ${backendName}, got ${info.name}`);
const sentences = readFileSync(corpusFile, 'utf8').split('\n').filter(Boolean);
const tokenizer = await loadBertUncasedTokenizer();
const t0 = performance.now();
const lengths512 = sentences.map((s) => tokenizer.encode(s, { maxLength: 512 }).inputIds.length);
console.error(
  `text-card-probe: tokenized ${sentences.length} sentences in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const report = {
  tool: 'tools/perf/text-card-probe.mjs',
  command: `node ${process.argv
    .slice(1)
    .join(' ')
    .replace(process.cwd() + '/', '')}`,
  date: new Date().toISOString(),
  backend: info.name,
  threads: info.threads ?? null,
  machine: machineInfo({ tfVersion: tf.version_core }),
  corpus: {
    file: corpusFile,
    sentences: sentences.length,
    meanTokens: mean(lengths512),
    maxTokens: lengths512.reduce((a, b) => Math.max(a, b), 0),
    over64: lengths512.filter((l) => l > 64).length,
  },
  steps,
  warmup,
  cases: [],
};
const save = () => {
  if (!out) return;
  writeFileSync(`${out}.tmp`, JSON.stringify(report, null, 2) + '\n');
  renameSync(`${out}.tmp`, out);
};

for (const name of cases) {
  if (!CASES[name]) throw new Error(`text-card-probe: unknown case ${name} (card, shipped)`);
  const config = CASES[name]();
  if (batchOverride !== undefined) config.batchSize = Number(batchOverride);
  // No data files: recipeStep builds the step from the sizes alone.
  delete config.corpus;
  const maxLength = config.student.maxLength;
  const step = recipeStep('text-consensus', config, { maxSteps: warmup + steps, tokenLengths: lengths512 });
  // The padded length of each batch (longest row, rounded up to 8, at most maxLength), as the recipe pads.
  const padded = [];
  const data = step.options.data;
  const options = {
    ...step.options,
    data: (s, rng, micro) => {
      const rows = data(s, rng, micro);
      let longest = 1;
      for (const r of rows) longest = Math.max(longest, Math.min(maxLength, lengths512[r]));
      padded.push(Math.min(maxLength, Math.ceil(longest / 8) * 8));
      return rows;
    },
  };
  const times = [];
  let last = performance.now();
  const started = performance.now();
  const rss0 = process.resourceUsage().maxRSS;
  await train({
    ...options,
    steps: warmup + steps,
    log: (r) => {
      if (r.type !== 'step') return;
      const now = performance.now();
      times.push(now - last);
      last = now;
      console.error(
        `${name}: step ${r.step} ${(times[times.length - 1] / 1000).toFixed(2)} s, loss ${r.loss.toFixed(4)}`,
      );
    },
  });
  const timed = times.slice(warmup);
  report.cases.push({
    name,
    params: step.params,
    batchSize: step.batchSize,
    student: config.student,
    data: step.data,
    paddedLengths: padded,
    msPerStep: median(timed),
    msPerStepAll: times,
    wallSeconds: (performance.now() - started) / 1000,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    peakRssMiBBefore: Math.round(rss0 / 1024),
  });
  step.dispose();
  save();
  console.error(
    `${name}: ${median(timed).toFixed(0)} ms/step (median of ${timed.length}), peak RSS ${report.cases.at(-1).peakRssMiB} MiB`,
  );
}
save();
console.log(
  JSON.stringify(
    report.cases.map(({ name, params, batchSize, msPerStep, peakRssMiB }) => ({
      name,
      params,
      batchSize,
      msPerStep,
      peakRssMiB,
    })),
  ),
);
