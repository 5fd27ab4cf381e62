// The CPU-machine half of BENCHMARKS.md, in one run (`npm run bench:cpu`): tfjs cpu, tfjs wasm with 1 thread,
// tfjs wasm with threads (auto), then onnxruntime-node (installed on demand into packages/bench/perf/ort/, never
// by the root install), each writing tools/perf/results/cpu/*.json; then BENCHMARKS.md is rewritten.
// Takes ~15–25 minutes on 2 cores. Pass --quick for a smoke run (~2 minutes) that writes to a temp folder instead.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quick = process.argv.includes('--quick');
const dir = quick ? mkdtempSync(join(tmpdir(), 'geolip-bench-cpu-')) : join(root, 'tools/perf/results/cpu');
mkdirSync(dir, { recursive: true });
const run = (args, env = {}) => execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
const q = quick ? ['--quick', '--cases', 'matmul_1024,small_infer'] : [];
const WASM_CASES = 'encoder_infer,encoder_train,small_train,small_infer,vit_train,pentachoron_cv,gpa_768,matmul_1024';

console.error('bench-cpu: tfjs cpu');
run(['tools/perf/model-bench.mjs', '--backend', 'cpu', '--iters', '3', ...q, '--out', join(dir, 'tfjs-cpu.json')]);
for (const [threads, file] of [['1', 'tfjs-wasm-1.json'], ['auto', 'tfjs-wasm-auto.json']]) {
  console.error(`bench-cpu: tfjs wasm, threads ${threads}`);
  run(['tools/perf/model-bench.mjs', '--backend', 'wasm', '--iters', '3', '--grid', 'cpu', ...(quick ? q : ['--cases', WASM_CASES]), '--out', join(dir, file)], { GEOLIP_WASM_THREADS: threads });
}
console.error('bench-cpu: onnxruntime-node');
run(['packages/bench/perf/ort-bench.mjs', ...(quick ? ['--quick'] : []), '--out', join(dir, 'ort-cpu.json')]);
if (!quick) run(['tools/perf/write-benchmarks.mjs']);
console.error(`bench-cpu: results in ${dir}`);
