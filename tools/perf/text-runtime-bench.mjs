#!/usr/bin/env node
// The shipped text model (geolip-text) end to end, `embed()` with tokenization included, on tfjs and on
// onnxruntime-node, each runtime in its own process, one after the other on this machine. Writes
// results/perf/cpu/text-runtime.json (BENCHMARKS.md's "--runtime ort" table, through tools/perf/write-benchmarks.mjs).
//
//   node tools/perf/text-runtime-bench.mjs [--runtimes tfjs-wasm,ort-cpu] [--runs 5] [--sentences 512] [--batch 64]
//        [--threads 2] [--root .] [--out file]
//
// Runtimes: tfjs-wasm, tfjs-webgpu (`SentenceEmbedder.fromWeights` on that tfjs backend) and ort-cpu, ort-webgpu
// (`OrtSentenceEmbedder` on the graph of `captionEncoderOnnxFromFile`: what `loadGeolipText({ runtime: 'ort' })`
// does). The files are read from the repository at --root (default: the working directory): the shipped weights, the
// bundled vocabulary and the STS-B dev split, so the script also runs packed for the GPU machine
// (`node tools/device/pack.mjs tools/perf/text-runtime-bench.mjs --with-wasm --with-ort --out .device/tr`, then
// `bash .device/tr/run.sh --runtimes tfjs-webgpu,ort-webgpu,ort-cpu --out $OUT/text-runtime-h100.json`; see
// docs/gpu-machine.md).
//
// Method: the first `--sentences` sentences of the STS-B dev split embedded in @geolip/bench (sentence 1 and 2 of
// each pair, in file order), `--batch` sentences per forward pass; one warm-up call, then `--runs` timed calls of
// `embed(all)`: the median and the minimum are reported, sentences/s = sentences / median. Latency: one sentence
// (the first), one warm-up then 3 × runs calls, median. tfjs: the wasm backend with `--threads` threads (XNNPACK,
// SIMD); ort: onnxruntime-node's CPU provider with `--threads` intra-op threads (inter-op 1). Needs a build
// (`npx turbo run build --filter=@geolip/bench...`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@geolip/nn/backend';
import { BertTokenizer, SentenceEmbedder, captionEncoderOnnxFromFile } from '@geolip/text';
import { parseStsb } from '@geolip/text/data';
import { OrtSentenceEmbedder, onnxRuntimeVersion } from '@geolip/text/ort';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const root = resolve(opt('--root', process.cwd()));
const runtimes = opt('--runtimes', 'tfjs-wasm,ort-cpu').split(',');
const runs = Number(opt('--runs', '5'));
const count = Number(opt('--sentences', '512'));
const batch = Number(opt('--batch', '64'));
const threads = Number(opt('--threads', '2'));
const out = resolve(opt('--out', join(root, 'results/perf/cpu/text-runtime.json')));
const child = opt('--child', null);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** CPU model, flags (the SIMD ones that matter here, and all of them), clock, from /proc/cpuinfo. */
function machine() {
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux */
  }
  const field = (k) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
  const flags = (field('flags') ?? '').split(/\s+/).filter(Boolean);
  const simd = flags.filter((f) => /^(sse4_[12]|ssse3|avx|avx2|fma|f16c|avx512.*|amx.*|avx_vnni)$/.test(f));
  return {
    cpu: field('model name') ?? cpus()[0]?.model,
    logical_cpus: cpus().length,
    mhz: Number(field('cpu MHz')),
    simd_flags: simd,
    flags,
    mem_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
  };
}

function sentences() {
  const file = join(root, 'packages/bench/data/stsb/sts-dev.csv');
  const ds = parseStsb(readFileSync(file, 'utf8'), file);
  return ds.pairs.flatMap((p) => [p.a, p.b]).slice(0, count);
}

async function measure(runtime) {
  const texts = sentences();
  const weights = join(root, 'packages/text/weights/geolip-text.safetensors');
  const tokenizer = await BertTokenizer.fromFile(join(root, 'packages/text/vocab/bert-base-uncased-vocab.txt'));
  let model;
  let versions;
  const t0 = performance.now();
  if (runtime.startsWith('tfjs-')) {
    const backend = runtime.slice('tfjs-'.length);
    if (backend === 'wasm') process.env.GEOLIP_WASM_THREADS = String(threads);
    const info = await initBackend({ prefer: [backend], log: () => {} });
    if (info.name !== backend) throw new Error(`wanted the ${backend} backend, got ${info.name}`);
    model = await SentenceEmbedder.fromWeights(weights, { batchSize: batch, tokenizer, name: 'geolip-text' });
    versions = { tfjs: tf.version_core, backend: info };
  } else {
    const device = runtime.slice('ort-'.length);
    const m = await captionEncoderOnnxFromFile(weights);
    model = await OrtSentenceEmbedder.fromOnnx(m.onnx, tokenizer, {
      device,
      batchSize: batch,
      maxLength: m.maxLength,
      params: m.params,
      name: 'geolip-text',
      normalize: false,
      ...(device === 'cpu' ? { threads } : {}),
    });
    versions = { onnxruntime_node: onnxRuntimeVersion(), device };
  }
  const loadS = (performance.now() - t0) / 1000;
  await model.embed(texts);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await model.embed(texts);
    times.push((performance.now() - s) / 1000);
  }
  await model.embed([texts[0]]);
  const lat = [];
  for (let i = 0; i < 3 * runs; i++) {
    const s = performance.now();
    await model.embed([texts[0]]);
    lat.push(performance.now() - s);
  }
  model.dispose();
  return {
    runtime,
    ...versions,
    model: { name: model.name, dim: model.dim, params: model.params, max_length: model.maxLength },
    load_s: loadS,
    sentences: texts.length,
    batch,
    threads,
    runs,
    median_s: median(times),
    min_s: Math.min(...times),
    times_s: times,
    sentences_per_s: texts.length / median(times),
    latency_1_median_ms: median(lat),
  };
}

if (child) {
  process.stdout.write(JSON.stringify(await measure(child)));
} else {
  const startLoad = loadavg();
  const results = [];
  for (const rt of runtimes) {
    console.error(`text-runtime-bench: ${rt} (${runs} runs of ${count} sentences, batch ${batch}, ${threads} threads)`);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args, '--child', rt], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`${rt} failed with status ${r.status}`);
    const res = JSON.parse(r.stdout);
    console.error(
      `  ${res.sentences_per_s.toFixed(1)} sentences/s (median ${res.median_s.toFixed(3)} s), 1 sentence ${res.latency_1_median_ms.toFixed(1)} ms`,
    );
    results.push(res);
  }
  const tfjs = results.find((r) => r.runtime === 'tfjs-wasm') ?? results[0];
  const ort = results.find((r) => r.runtime === 'ort-cpu') ?? results[results.length - 1];
  const report = {
    what: "the shipped text model's embed() (tokenizer included) on tfjs and on onnxruntime-node",
    date: new Date().toISOString(),
    command: `node tools/perf/text-runtime-bench.mjs ${args.join(' ')}`.trim(),
    machine: { ...machine(), loadavg_1_5_15_at_start: startLoad, loadavg_1_5_15_at_end: loadavg() },
    method:
      `first ${count} sentences of the embedded STS-B dev split, batch ${batch}; 1 warm-up, median of ${runs} ` +
      `embed() calls; each runtime in its own process`,
    results,
    ort_speedup: ort.sentences_per_s / tfjs.sentences_per_s,
    ort_speedup_of: [ort.runtime, tfjs.runtime],
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  console.error(
    `text-runtime-bench: ${ort.runtime} / ${tfjs.runtime} = ${report.ort_speedup.toFixed(2)}×; wrote ${out}`,
  );
}
