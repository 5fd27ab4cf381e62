// Issue 24: wall times of the queue mode with 1, 2 and 4 worker processes on this machine, and the check that each
// queued run equals the single-process one. Two workloads:
//   bench      geolip-bench run over 3 models x 3 tasks (STS-B dev, SICK trial, MRPC train:dev), 4 shards per model:
//              geolip-text (the shipped 11.1M student), the trigram fixture and the trigram fixture slowed by
//              GEOLIP_SLOW_MS per batch (an I/O-bound model). MRPC's train file is cut to its first MRPC_ROWS rows so
//              that the run stays short on 2 cores (the dev carve-out and the threshold fit come from those rows).
//   consensus  the text-consensus feature stage (+ consensus) on the first CORPUS_ROWS COCO val2017 captions, two
//              trigram experts (expertModules), 4 shards.
// Needs the build (npm run build), redis-server (tools/setup/redis.sh) and ../shared/data.
// Usage: node tools/perf/scale-bench.mjs [--out results/scale/scale-bench.json] [--workers 1,2,4]
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startPrivateRedis } from '@geolip/queue/testing';

import { machineInfo } from './machine.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(repo, 'results', 'scale', 'scale-bench.json') },
    workers: { type: 'string', default: '1,2,4' },
    data: { type: 'string', default: join(repo, '..', 'shared', 'data') },
  },
});
const WORKERS = values.workers.split(',').map(Number);
const SHARDS = 4;
const MRPC_ROWS = 600;
const CORPUS_ROWS = 20000;
const BENCH = join(repo, 'packages', 'bench', 'bin', 'geolip-bench.mjs');
const TRAIN = join(repo, 'packages', 'recipes', 'bin', 'geolip-train.mjs');
const env = { ...process.env, GEOLIP_SLOW_MS: '10', GEOLIP_BACKEND: process.env.GEOLIP_BACKEND ?? 'wasm' };

const tmp = mkdtempSync(join(tmpdir(), 'geolip-scale-bench-'));
const data = join(tmp, 'data');
mkdirSync(join(data, 'mrpc'), { recursive: true });
symlinkSync(join(values.data, 'stsb'), join(data, 'stsb'));
symlinkSync(join(values.data, 'sick'), join(data, 'sick'));
const mrpc = readFileSync(join(values.data, 'mrpc', 'original', 'msr_paraphrase_train.txt'), 'utf8').split('\n');
writeFileSync(join(data, 'mrpc', 'msr_paraphrase_train.txt'), mrpc.slice(0, MRPC_ROWS + 1).join('\n') + '\n');
const captions = JSON.parse(readFileSync(join(values.data, 'coco', 'captions_val2017.json'), 'utf8'));
const corpus = captions.annotations.slice(0, CORPUS_ROWS).map((a) => a.caption.replace(/\s+/g, ' ').trim());
writeFileSync(join(tmp, 'corpus.txt'), corpus.join('\n') + '\n');
const experts = join(repo, 'packages', 'recipes', 'test', 'fixtures', 'experts');
writeFileSync(
  join(tmp, 'consensus.json'),
  JSON.stringify({
    corpus: { file: 'corpus.txt' },
    experts: ['tri-a', 'tri-b'],
    expertModules: { 'tri-a': join(experts, 'trigram.mjs'), 'tri-b': join(experts, 'trigram-b.mjs') },
    consensus: { targetDim: 8 },
    stopAfter: 'consensus',
  }),
);

const fixtures = join(repo, 'packages', 'bench', 'test', 'fixtures');
const MODELS = ['geolip-text', join(fixtures, 'cli', 'model.mjs'), join(fixtures, 'queue', 'slow-model.mjs')];
const runArgs = (model, out) => ['run', '--model', model, '--tasks', 'stsb,sick,mrpc', '--data', data, '--out', out];
const consensusArgs = (out) => ['run', 'text-consensus', '--config', join(tmp, 'consensus.json'), '--out', out];

function sh(bin, args) {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return r;
}
const clock = () => performance.now() / 1000;

/** The report less what differs between runs (timings, date, shard list). */
function strip(path) {
  const r = JSON.parse(readFileSync(path, 'utf8'));
  delete r.date;
  delete r.totals;
  delete r.settings.shards;
  for (const x of r.results) for (const k of ['seconds', 'embedSeconds', 'itemsPerSecond']) delete x[k];
  return JSON.stringify(r);
}

const redis = await startPrivateRedis();
const result = {
  issue: 24,
  command: `node tools/perf/scale-bench.mjs --workers ${values.workers}`,
  date: new Date().toISOString(),
  machine: machineInfo(),
  note:
    'Workers are processes on this one machine, talking to a private redis-server over loopback. On 2 cores the ' +
    'speed-up is bounded by 2 (less: every worker process loads its own model and tfjs, and the merge and Redis ' +
    'share the cores); more workers than cores only interleave.',
  shards: SHARDS,
  bench: { models: MODELS.map((m) => m.replace(repo + '/', '')), tasks: ['stsb', 'sick', 'mrpc'], mrpcRows: MRPC_ROWS },
  consensus: { corpusRows: CORPUS_ROWS, experts: ['tri-a (trigram 12-d)', 'tri-b (trigram 10-d)'] },
  runs: [],
};
try {
  // Single-process references.
  let t = clock();
  for (const [i, m] of MODELS.entries()) sh(BENCH, runArgs(m, join(tmp, 'single', `m${i}.json`)));
  result.runs.push({ workload: 'bench', mode: 'single process', seconds: clock() - t });
  t = clock();
  sh(TRAIN, consensusArgs(join(tmp, 'single', 'consensus')));
  result.runs.push({ workload: 'consensus', mode: 'single process', seconds: clock() - t });
  const singleConsensus = readFileSync(join(tmp, 'single', 'consensus', 'consensus.safetensors'));

  for (const [bin, workload] of [
    [BENCH, 'bench'],
    [TRAIN, 'consensus'],
  ]) {
    for (const w of WORKERS) {
      const queue = `${workload}-${w}`;
      const dir = join(tmp, queue);
      const common = ['--redis', redis.url, '--queue', queue];
      t = clock();
      if (workload === 'bench')
        for (const [i, m] of MODELS.entries())
          sh(bin, ['submit', ...common, '--shards', String(SHARDS), '--', ...runArgs(m, join(dir, `m${i}.json`))]);
      else sh(bin, ['submit', ...common, '--shards', String(SHARDS), '--', ...consensusArgs(join(dir, 'consensus'))]);
      const workers = Array.from(
        { length: w },
        () =>
          new Promise((ok, fail) =>
            spawn(process.execPath, [bin, 'worker', ...common, '--until-empty'], { env, stdio: 'ignore' }).on(
              'exit',
              (code) => (code === 0 ? ok() : fail(new Error(`worker exited ${code}`))),
            ),
          ),
      );
      sh(bin, ['status', ...common, '--wait', '--merge']);
      await Promise.all(workers);
      const seconds = clock() - t;
      const identical =
        workload === 'bench'
          ? MODELS.every((_, i) => strip(join(dir, `m${i}.json`)) === strip(join(tmp, 'single', `m${i}.json`)))
          : Buffer.compare(readFileSync(join(dir, 'consensus', 'consensus.safetensors')), singleConsensus) === 0;
      result.runs.push({ workload, mode: `queue, ${w} worker(s)`, workers: w, seconds, identicalToSingle: identical });
      console.log(`${workload} ${w} worker(s): ${seconds.toFixed(1)} s, identical ${identical}`);
    }
  }
  copyFileSync(join(tmp, 'single', 'm0.json'), join(tmp, 'geolip-text-report.json'));
  result.geolipText = JSON.parse(readFileSync(join(tmp, 'single', 'm0.json'), 'utf8')).results.map((r) => ({
    task: r.task,
    split: r.split,
    n: r.n,
    ...(r.kind === 'regression' ? { spearman: r.spearman } : { f1: r.f1, auc: r.auc }),
  }));
} finally {
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
}
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${values.out}`);
for (const r of result.runs) console.log(`${r.workload.padEnd(10)} ${r.mode.padEnd(22)} ${r.seconds.toFixed(1)} s`);
