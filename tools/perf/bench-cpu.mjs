// The CPU-machine half of BENCHMARKS.md, in one run (`npm run bench:cpu`): tfjs cpu, tfjs wasm with 1 thread,
// tfjs wasm with threads (auto), then onnxruntime-node (installed on demand into tools/perf/peers/ort/, never
// by the root install), written to results/perf/cpu/*.json; then BENCHMARKS.md is rewritten.
// Each case runs in its own process with a time limit, so one slow case cannot stop the rest (a case that
// runs out of time is recorded as such). Takes ~20–40 minutes on 2 cores.
//   node tools/perf/bench-cpu.mjs [--quick]   (--quick: two small cases per backend into a temp folder, ~2 minutes)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quick = process.argv.includes('--quick');
const dir = quick ? mkdtempSync(join(tmpdir(), 'geolip-bench-cpu-')) : join(root, 'results/perf/cpu');
mkdirSync(dir, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'geolip-bench-case-'));

const CASES = {
  cpu: quick ? ['matmul_1024'] : ['matmul_1024', 'pentachoron_cv', 'gpa_768', 'small_infer'],
  wasm: quick
    ? ['matmul_1024', 'small_infer']
    : ['matmul_1024', 'pentachoron_cv', 'small_infer', 'encoder_infer', 'small_train', 'encoder_train', 'vit_train'],
};
const LIMIT_S = quick ? 120 : 480;

function runBackend(backend, threads, file) {
  let report;
  for (const c of CASES[backend]) {
    const caseOut = join(scratch, `${backend}-${threads}-${c}.json`);
    const args = [
      'tools/perf/model-bench.mjs',
      '--backend',
      backend,
      '--iters',
      '3',
      '--grid',
      'cpu',
      '--cases',
      c,
      '--out',
      caseOut,
      ...(quick ? ['--quick'] : []),
    ];
    console.error(`bench-cpu: ${backend}${threads ? ` (threads ${threads})` : ''} ${c}`);
    const r = spawnSync(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: LIMIT_S * 1000,
      env: { ...process.env, ...(threads ? { GEOLIP_WASM_THREADS: threads } : {}) },
    });
    const stderr = String(r.stderr ?? '');
    process.stderr.write(
      stderr
        .split('\n')
        .filter((l) => l.startsWith('  ') && !l.startsWith('    '))
        .join('\n') + '\n',
    );
    let error;
    if (r.signal === 'SIGTERM') error = `not finished within ${LIMIT_S} s`;
    else if (r.status !== 0) {
      const line = stderr.split('\n').find((l) => /XNN status|Aborted|Error|error/.test(l)) ?? `exit ${r.status}`;
      error = `failed: ${line.trim().slice(0, 120)}${/XNN status.*status 6|Aborted/.test(stderr) ? ' (wasm heap exhausted)' : ''}`;
    }
    const part = existsSync(caseOut) ? JSON.parse(readFileSync(caseOut, 'utf8')) : null;
    if (!report && part) report = { ...part, results: [] };
    if (part) report.results.push(...part.results);
    if (error) {
      console.error(`bench-cpu: ${c}: ${error}`);
      report?.results.push({ case: c, error });
    }
  }
  if (report) {
    report.command = `node tools/perf/bench-cpu.mjs (${backend}${threads ? `, GEOLIP_WASM_THREADS=${threads}` : ''}; each case: ${CASES[backend].join(', ')})`;
    writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
    renameSync(`${file}.tmp`, file);
  }
}

runBackend('cpu', undefined, join(dir, 'tfjs-cpu.json'));
runBackend('wasm', '1', join(dir, 'tfjs-wasm-1.json'));
runBackend('wasm', 'auto', join(dir, 'tfjs-wasm-auto.json'));
console.error('bench-cpu: onnxruntime-node');
execFileSync(
  process.execPath,
  ['tools/perf/peers/ort-bench.mjs', ...(quick ? ['--quick'] : []), '--out', join(dir, 'ort-cpu.json')],
  { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
);
rmSync(scratch, { recursive: true, force: true });
if (!quick) execFileSync(process.execPath, ['tools/perf/write-benchmarks.mjs'], { cwd: root, stdio: 'inherit' });
console.error(`bench-cpu: results in ${dir}`);
