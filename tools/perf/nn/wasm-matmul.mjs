#!/usr/bin/env node
// wasm matmul throughput: tfjs-backend-wasm as shipped vs with @geolip/nn's wasm kernels, threads off/on,
// and the cpu backend on the small shape. Issue #6.
//
//   npm run bench:nn:wasm                 (needs `npx turbo run build --filter=@geolip/nn`)
//   node tools/perf/nn/wasm-matmul.mjs --runs 5 --quick
//
// Every configuration runs in its own child process (the wasm thread count is fixed once the backend
// initializes). Each cell is the median of --runs timed runs after one warm-up; GFLOP/s = 2·B·M·N·K / time.
// Prints a Markdown table; writes JSON to results/perf/nn/wasm-matmul.json (temp file, then rename).
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** [label, aShape, bShape] for transposeA = transposeB = false; the transposed variants transpose the stored operands. */
const SHAPES = [
  { name: '1024³', m: 1024, k: 1024, n: 1024 },
  { name: 'FFN up [4096,384]·[384,1536]', m: 4096, k: 384, n: 1536 },
  { name: 'FFN down [4096,1536]·[1536,384]', m: 4096, k: 1536, n: 384 },
  { name: 'attn proj [4096,384]·[384,384]', m: 4096, k: 384, n: 384 },
  { name: 'QKᵀ [768,32,64]·[768,64,32]', batch: 768, m: 32, k: 64, n: 32 },
  { name: 'QKᵀ [768,128,64]·[768,64,128]', batch: 768, m: 128, k: 64, n: 128 },
  { name: 'PV [768,128,128]·[768,128,64]', batch: 768, m: 128, k: 128, n: 64 },
];
const SMALL = { name: '512³', m: 512, k: 512, n: 512 };
const COMBOS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

function parseArgs(argv) {
  const o = {
    runs: 5,
    quick: false,
    child: undefined,
    out: path.join(here, '../../../results/perf/nn/wasm-matmul.json'),
    maxSeconds: 20,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--quick') o.quick = true;
    else if (a === '--child') o.child = argv[++i];
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else if (a === '--max-seconds') o.maxSeconds = Number(argv[++i]);
    else throw new Error(`wasm-matmul: unknown argument '${a}'`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1)
    throw new Error(`wasm-matmul: '--runs' must be a positive integer, got ${o.runs}`);
  return o;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

// ---------------------------------------------------------------- child: one configuration
async function child(config, opts) {
  const { backend, threads, kernels } = JSON.parse(config);
  process.env.GEOLIP_BACKEND = backend;
  process.env.GEOLIP_WASM_THREADS = String(threads);
  const tf = await import('@tensorflow/tfjs-core');
  const nnBackend = await import('@geolip/nn/backend');
  const geomBackend = await import('@geolip/geometry/backend');
  const info = kernels
    ? await nnBackend.initBackend({ log: () => {} })
    : await geomBackend.initBackend({ log: () => {} });
  const shapes =
    backend === 'cpu' ? [SMALL] : opts.quick ? [SMALL, SHAPES[0], SHAPES[1], SHAPES[4]] : [SMALL, ...SHAPES];
  const rows = [];
  for (const s of shapes) {
    const batch = s.batch ? [s.batch] : [];
    for (const [ta, tb] of COMBOS) {
      const a = tf.randomNormal([...batch, ...(ta ? [s.k, s.m] : [s.m, s.k])]);
      const b = tf.randomNormal([...batch, ...(tb ? [s.n, s.k] : [s.k, s.n])]);
      const flop = 2 * (s.batch ?? 1) * s.m * s.n * s.k;
      const once = () => {
        const t0 = performance.now();
        const c = tf.matMul(a, b, ta, tb);
        c.dataSync();
        const dt = performance.now() - t0;
        c.dispose();
        return dt;
      };
      const warm = once();
      // Cap the time spent on one cell (the naive tfjs paths take seconds per call).
      const runs = Math.max(1, Math.min(opts.runs, Math.floor((opts.maxSeconds * 1000) / Math.max(warm, 1e-3))));
      const times = [];
      for (let r = 0; r < runs; r++) times.push(once());
      const ms = median(times);
      rows.push({ shape: s.name, transposeA: ta, transposeB: tb, ms, gflops: flop / ms / 1e6, runs, warmupMs: warm });
      a.dispose();
      b.dispose();
    }
  }
  const result = {
    backend: info.name,
    threads: info.wasm?.threads ?? 1,
    simd: info.wasm?.simd ?? false,
    kernels: (info.kernels ?? []).map((k) => k.name),
    rows,
  };
  process.stdout.write(`\n@@RESULT@@${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------- parent: every configuration
function runConfig(cfg, opts) {
  const args = [
    fileURLToPath(import.meta.url),
    '--child',
    JSON.stringify(cfg),
    '--runs',
    String(opts.runs),
    '--max-seconds',
    String(opts.maxSeconds),
  ];
  if (opts.quick) args.push('--quick');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 30 * 60_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@RESULT@@'));
  if (r.status !== 0 || !line) {
    throw new Error(
      `wasm-matmul: configuration ${JSON.stringify(cfg)} failed (exit ${r.status}, signal ${r.signal}): ${(r.stderr ?? '').slice(-2000)}`,
    );
  }
  return { ...cfg, ...JSON.parse(line.slice('@@RESULT@@'.length)), wallSeconds: (Date.now() - t0) / 1000 };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) return child(opts.child, opts);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const configs = [
    { label: 'wasm, 1 thread, tfjs kernels (today)', backend: 'wasm', threads: 1, kernels: false },
    { label: `wasm, ${cores} threads, tfjs kernels`, backend: 'wasm', threads: cores, kernels: false },
    { label: 'wasm, 1 thread, + @geolip/nn kernels', backend: 'wasm', threads: 1, kernels: true },
    { label: `wasm, ${cores} threads, + @geolip/nn kernels`, backend: 'wasm', threads: cores, kernels: true },
    { label: 'cpu (pure JS)', backend: 'cpu', threads: 1, kernels: false },
  ];
  const loadBefore = os.loadavg();
  const results = [];
  for (const cfg of configs) {
    process.stderr.write(`wasm-matmul: ${cfg.label} …\n`);
    results.push(runConfig(cfg, opts));
  }
  const loadAfter = os.loadavg();

  // Markdown: one row per (shape, transpose), one column per configuration.
  const keys = [];
  for (const r of results)
    for (const row of r.rows) {
      const k = `${row.shape}|${row.transposeA}|${row.transposeB}`;
      if (!keys.includes(k)) keys.push(k);
    }
  const head = `| shape | tA | tB | ${results.map((r) => `${r.label} (threads ${r.threads})`).join(' | ')} |`;
  const sep = `|---|---|---|${results.map(() => '---:').join('|')}|`;
  const lines = [head, sep];
  for (const k of keys) {
    const [shape, ta, tb] = k.split('|');
    const cells = results.map((r) => {
      const row = r.rows.find((x) => `${x.shape}|${x.transposeA}|${x.transposeB}` === k);
      return row ? row.gflops.toFixed(row.gflops < 10 ? 2 : 1) : '–';
    });
    lines.push(`| ${shape} | ${ta === 'true' ? 'T' : ''} | ${tb === 'true' ? 'T' : ''} | ${cells.join(' | ')} |`);
  }
  const table = lines.join('\n');
  process.stdout.write(`\nmatmul GFLOP/s (median of up to ${opts.runs} runs; higher is better)\n\n${table}\n\n`);
  process.stdout.write(
    `load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')} (${cores} cores; other processes share them)\n`,
  );

  const json = {
    date: new Date().toISOString(),
    command: `node tools/perf/nn/wasm-matmul.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpus: os.cpus()[0]?.model ?? 'unknown',
      cores,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadBefore,
      loadAfter,
    },
    runs: opts.runs,
    results,
    markdown: table,
  };
  mkdirSync(path.dirname(opts.out), { recursive: true });
  const tmp = `${opts.out}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(json, null, 2)}\n`);
  renameSync(tmp, opts.out);
  process.stdout.write(`wrote ${path.relative(process.cwd(), opts.out)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
