#!/usr/bin/env node
// onnxruntime-node CPU peer for BENCHMARKS.md: the CaptionBERT-shaped encoder exported to ONNX
// (onnx/export-encoder.mjs) in sentences/s at batch 64/256 x length 32/128, plus a plain 1024³ MatMul
// ONNX graph in GFLOP/s (ARCHITECTURE.md quotes 133 GFLOP/s with 2 threads).
//
// Usage:
//   node tools/perf/peers/ort-bench.mjs [--threads 2] [--batches 64,256] [--lengths 32,128]
//        [--budget-s 20] [--min-runs 3] [--max-runs 20] [--quick] [--out results/perf/peers/ort-cpu.json]
//
// onnxruntime-node is not a dependency of any workspace package: it is installed on demand into
// tools/perf/peers/ort/node_modules (see ort/install.mjs). The model and its weights are exported to
// tools/perf/peers/.cache/ when missing (seed 0). Nothing touches the network except that one install.
//
// Method: one InferenceSession (intra-op threads = --threads, inter-op 1, sequential, all graph
// optimisations), inputs built once (ids seeded uniform in [1, 30522), every token real), one warm-up run
// per shape, then timed runs until min-runs are done and budget-s has passed (or max-runs); the median is
// reported. sentences/s = batch / median.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE, exportEncoder, writeAtomic } from './onnx/export-encoder.mjs';
import { DT, GraphBuilder, graphProto, modelProto, valueInfo } from './onnx/proto.mjs';
import { loadOrt } from './ort/install.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const a = {
    threads: 2,
    batches: [64, 256],
    lengths: [32, 128],
    budgetS: 20,
    minRuns: 3,
    maxRuns: 20,
    matmulN: 1024,
    matmulRuns: 20,
    out: join(HERE, '../../../results/perf/peers/ort-cpu.json'),
    quick: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => argv[++i];
    if (k === '--threads') a.threads = Number(next());
    else if (k === '--batches') a.batches = next().split(',').map(Number);
    else if (k === '--lengths') a.lengths = next().split(',').map(Number);
    else if (k === '--budget-s') a.budgetS = Number(next());
    else if (k === '--min-runs') a.minRuns = Number(next());
    else if (k === '--max-runs') a.maxRuns = Number(next());
    else if (k === '--matmul-n') a.matmulN = Number(next());
    else if (k === '--out') a.out = resolve(next());
    else if (k === '--quick') a.quick = true;
    else if (k === '--help' || k === '-h') {
      console.log(
        'node ort-bench.mjs [--threads 2] [--batches 64,256] [--lengths 32,128] [--budget-s 20] [--min-runs 3] [--max-runs 20] [--quick] [--out file.json]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  if (a.quick) Object.assign(a, { budgetS: 2, minRuns: 2, maxRuns: 3, matmulRuns: 5 });
  return a;
}

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Matmul FLOPs of one encoder forward (projections, FFN, attention scores and context, head). */
export function encoderFlops(B, L, d = 384, ffn = 1536, layers = 6) {
  const perTokenLayer = 2 * (d * 3 * d + d * d + 2 * d * ffn) + 2 * 2 * L * d;
  return B * L * layers * perTokenLayer + B * 2 * (d * d + d * 768);
}

function matmulModel(n, bAsInitializer, seed = 0) {
  const g = new GraphBuilder();
  const inputs = [valueInfo('A', DT.FLOAT, [n, n])];
  let b = 'B';
  if (bAsInitializer) {
    const rand = mulberry32(seed + 1);
    const data = new Float32Array(n * n);
    for (let i = 0; i < data.length; i++) data[i] = rand() - 0.5;
    b = g.init('B', DT.FLOAT, [n, n], data);
  } else inputs.push(valueInfo('B', DT.FLOAT, [n, n]));
  g.op('MatMul', ['A', b], [], { out: 'C' });
  return modelProto({
    graph: graphProto({
      name: 'matmul',
      nodes: g.nodes,
      initializers: g.inits,
      inputs,
      outputs: [valueInfo('C', DT.FLOAT, [n, n])],
    }),
  });
}

async function timeRuns(fn, { minRuns, maxRuns, budgetS }) {
  const times = [];
  const t0 = performance.now();
  while (times.length < maxRuns && (times.length < minRuns || performance.now() - t0 < budgetS * 1000)) {
    const s = performance.now();
    await fn();
    times.push(performance.now() - s);
  }
  return times;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const opts = {
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const modelPath = join(CACHE, 'encoder.onnx');
  if (!existsSync(modelPath)) {
    console.log('exporting the encoder (seed 0) to', modelPath);
    exportEncoder({ seed: 0, out: modelPath, weightsOut: join(CACHE, 'encoder.safetensors') });
  }
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    logical_cpus: cpus().length,
    mem_gib: +(totalmem() / 2 ** 30).toFixed(1),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    loadavg_1_5_15_at_start: loadavg().map((x) => +x.toFixed(2)),
  };
  console.log(
    `onnxruntime-node ${ort.env.versions?.node ?? '?'} on ${machine.cpu} x${machine.logical_cpus}, ${a.threads} intra-op threads`,
  );

  // ---- MatMul n³ ----
  const matmul = [];
  const n = a.matmulN;
  const rand = mulberry32(7);
  const A = new Float32Array(n * n).map(() => rand() - 0.5);
  const Bm = new Float32Array(n * n).map(() => rand() - 0.5);
  for (const bInit of [false, true]) {
    const s = await ort.InferenceSession.create(matmulModel(n, bInit), opts);
    const feeds = { A: new ort.Tensor('float32', A, [n, n]) };
    if (!bInit) feeds.B = new ort.Tensor('float32', Bm, [n, n]);
    for (let i = 0; i < 3; i++) await s.run(feeds);
    const times = await timeRuns(() => s.run(feeds), { minRuns: a.matmulRuns, maxRuns: a.matmulRuns, budgetS: 0 });
    const ms = median(times);
    const row = {
      case: `matmul ${n}³ (B ${bInit ? 'initializer, prepacked' : 'graph input'})`,
      n,
      b_initializer: bInit,
      runs: times.length,
      median_ms: ms,
      min_ms: Math.min(...times),
      gflops: (2 * n ** 3) / (ms / 1e3) / 1e9,
      gflops_best: (2 * n ** 3) / (Math.min(...times) / 1e3) / 1e9,
    };
    matmul.push(row);
    console.log(
      `${row.case}: ${row.median_ms.toFixed(2)} ms median of ${row.runs} -> ${row.gflops.toFixed(1)} GFLOP/s`,
    );
    await s.release?.();
  }

  // ---- encoder ----
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(modelPath, opts);
  const loadS = (performance.now() - t0) / 1e3;
  const encoder = [];
  for (const L of a.lengths) {
    for (const B of a.batches) {
      const r = mulberry32(1000 * B + L);
      const ids = new BigInt64Array(B * L);
      for (let i = 0; i < ids.length; i++) ids[i] = BigInt(1 + Math.floor(r() * 30521));
      const mask = new BigInt64Array(B * L).fill(1n);
      const feeds = {
        input_ids: new ort.Tensor('int64', ids, [B, L]),
        attention_mask: new ort.Tensor('int64', mask, [B, L]),
      };
      const w0 = performance.now();
      await session.run(feeds);
      const warmMs = performance.now() - w0;
      const times = await timeRuns(() => session.run(feeds), a);
      const ms = median(times);
      const flops = encoderFlops(B, L);
      const row = {
        batch: B,
        seq: L,
        runs: times.length,
        warmup_ms: warmMs,
        median_ms: ms,
        min_ms: Math.min(...times),
        max_ms: Math.max(...times),
        sentences_per_s: B / (ms / 1e3),
        sentences_per_s_best: B / (Math.min(...times) / 1e3),
        tokens_per_s: (B * L) / (ms / 1e3),
        matmul_gflop: flops / 1e9,
        gflops: flops / (ms / 1e3) / 1e9,
      };
      encoder.push(row);
      console.log(
        `encoder B=${B} L=${L}: ${ms.toFixed(1)} ms median of ${row.runs} -> ${row.sentences_per_s.toFixed(1)} sentences/s (${row.gflops.toFixed(1)} GFLOP/s)`,
      );
    }
  }
  await session.release?.();
  machine.loadavg_1_5_15_at_end = loadavg().map((x) => +x.toFixed(2));

  const report = {
    what: 'onnxruntime-node CPU: CaptionBERT-shaped encoder (ONNX export, opset 17) inference and a plain MatMul',
    date: new Date().toISOString(),
    onnxruntime_node: ort.env.versions?.node ?? null,
    machine,
    session_options: opts,
    method: {
      warmup_runs: 1,
      min_runs: a.minRuns,
      max_runs: a.maxRuns,
      budget_s_per_shape: a.budgetS,
      statistic: 'median',
      inputs: 'ids seeded uniform in [1,30522), attention_mask all ones (no padding)',
    },
    model: {
      path: relative(resolve(HERE, '..', '..', '..'), modelPath),
      bytes: statSync(modelPath).size,
      params: 25958016,
      session_create_s: loadS,
    },
    command: `node tools/perf/peers/ort-bench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    matmul,
    encoder,
  };
  mkdirSync(dirname(a.out), { recursive: true });
  writeAtomic(a.out, Buffer.from(JSON.stringify(report, null, 2) + '\n'));

  console.log(
    `\n### onnxruntime-node ${report.onnxruntime_node} CPU (${machine.cpu} x${machine.logical_cpus}, ${a.threads} threads), ${report.date.slice(0, 10)}; load average ${machine.loadavg_1_5_15_at_start.join('/')} at start, ${machine.loadavg_1_5_15_at_end.join('/')} at end\n`,
  );
  console.log(
    '| case | batch | length | runs | median ms | best ms | sentences/s (median) | sentences/s (best) | GFLOP/s (median) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of encoder)
    console.log(
      `| encoder inference | ${r.batch} | ${r.seq} | ${r.runs} | ${r.median_ms.toFixed(1)} | ${r.min_ms.toFixed(1)} | ${r.sentences_per_s.toFixed(1)} | ${(r.batch / (r.min_ms / 1e3)).toFixed(1)} | ${r.gflops.toFixed(1)} |`,
    );
  for (const r of matmul)
    console.log(
      `| ${r.case} | | | ${r.runs} | ${r.median_ms.toFixed(2)} | ${r.min_ms.toFixed(2)} | | | ${r.gflops.toFixed(1)} (best ${((2 * r.n ** 3) / (r.min_ms / 1e3) / 1e9).toFixed(1)}) |`,
    );
  console.log(`\nwrote ${a.out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
