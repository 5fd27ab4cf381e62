// Issue 24: wall times of the queue mode with 1, 2 and 4 worker processes on this machine, and the check that each
// queued run equals the single-process one.
//
// --workload fixtures (default; result: results/scale/scale-bench.json). Two workloads:
//   bench      geolip-bench run over 3 models x 3 tasks (STS-B dev, SICK trial, MRPC train:dev), 4 shards per model:
//              geolip-text (the shipped 11.1M student), the trigram fixture and the trigram fixture slowed by
//              GEOLIP_SLOW_MS per batch (an I/O-bound model). MRPC's train file is cut to its first MRPC_ROWS rows so
//              that the run stays short on 2 cores (the dev carve-out and the threshold fit come from those rows).
//   consensus  the text-consensus feature stage (+ consensus) on the first CORPUS_ROWS COCO val2017 captions, two
//              trigram experts (expertModules), 4 shards.
//
// --workload consensus-real (result: results/scale/consensus-real.json, each invocation appended to its `series`):
//   the text-consensus recipe with the configuration of the shipped geolip-text run (@geolip/text's README: the
//   corpus of ../shared/data + WordNet + fortunes with caps wordnet-glosses 60000 / wordnet-examples 25000, 142,871
//   sentences; the real teachers use-lite and glove-avg; consensus defaults), stopAfter consensus. `--rows N` takes
//   the first N sentences of that corpus instead (as `corpus.file`). Single process first, then `geolip-train submit
//   --shards 4` + `--workers` worker processes + `status --wait --merge`; each queued run is checked against the
//   single-process run: consensus.safetensors byte for byte, and each expert's features (sha256 of the F32 rows in
//   corpus order). `--kills K` then runs a fault round: K workers killed with SIGKILL mid-shard at seeded moments,
//   a steady worker, the merge, the same check. Load averages before and after each timed run go in the result.
//   `--reuse-single` checks against the single-process run of an earlier series on the same corpus (in --out)
//   instead of running it again.
//
// Needs the build (npm run build), redis-server (tools/setup/redis.sh), ../shared/data and, for consensus-real,
// tools/setup/text-corpus.sh (WordNet, fortunes) and @geolip/text's optional peers (use-lite, glove-avg).
// Usage: node tools/perf/scale-bench.mjs [--workload fixtures|consensus-real] [--out file] [--workers 1,2,4]
//        [--rows N] [--shards 4] [--kills K] [--seed S] [--reuse-single]
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { readSafetensors } from '@geolip/io';
import { startPrivateRedis } from '@geolip/queue/testing';

import { machineInfo } from './machine.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    workload: { type: 'string', default: 'fixtures' },
    out: { type: 'string' },
    workers: { type: 'string', default: '1,2,4' },
    data: { type: 'string', default: join(repo, '..', 'shared', 'data') },
    rows: { type: 'string', default: '0' },
    shards: { type: 'string', default: '4' },
    kills: { type: 'string', default: '0' },
    seed: { type: 'string', default: '24' },
    'reuse-single': { type: 'boolean', default: false },
  },
});
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);
if (values.workload === 'consensus-real') {
  await consensusReal();
  process.exit(0);
}
if (values.workload !== 'fixtures') throw new Error(`--workload must be fixtures or consensus-real`);
values.out ??= join(repo, 'results', 'scale', 'scale-bench.json');
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

/** mulberry32: the seeded kill moments. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** --workload consensus-real: the text-consensus recipe's real configuration (see the comment at the top). */
async function consensusReal() {
  const TRAIN = join(repo, 'packages', 'recipes', 'bin', 'geolip-train.mjs');
  const out = values.out ?? join(repo, 'results', 'scale', 'consensus-real.json');
  const workers = values.workers === '' ? [] : values.workers.split(',').map(Number);
  const rows = Number(values.rows);
  const shards = Number(values.shards);
  const kills = Number(values.kills);
  const seed = Number(values.seed);
  const env = { ...process.env, GEOLIP_BACKEND: process.env.GEOLIP_BACKEND ?? 'wasm' };
  const tmp = mkdtempSync(join(tmpdir(), 'geolip-scale-consensus-real-'));
  const clock = () => performance.now() / 1000;
  const sh = (args, log) => {
    const r = spawnSync(process.execPath, [TRAIN, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (log) writeFileSync(log, `${r.stdout}\n${r.stderr}`);
    if (r.status !== 0) throw new Error(`geolip-train ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
    return r;
  };
  // The shipped geolip-text run's corpus and teachers (@geolip/text README, "How the shipped student was trained").
  const corpusConfig = {
    data: values.data,
    caps: { 'wordnet-glosses': 60000, 'wordnet-examples': 25000 },
  };
  const config = { corpus: corpusConfig, experts: ['use-lite', 'glove-avg'], stopAfter: 'consensus' };
  let corpusRows;
  if (rows > 0) {
    // A prefix of the same corpus: build it once, keep the first `rows` sentences as corpus.file.
    sh([
      'run',
      'text-consensus',
      '--config',
      writeJson('corpus-build.json', { corpus: corpusConfig, stopAfter: 'corpus' }),
      '--out',
      join(tmp, 'corpus-build'),
    ]);
    const lines = readFileSync(join(tmp, 'corpus-build', 'corpus.txt'), 'utf8')
      .split('\n')
      .slice(0, rows);
    writeFileSync(join(tmp, 'prefix.txt'), lines.join('\n') + '\n');
    config.corpus = { file: join(tmp, 'prefix.txt') };
    corpusRows = lines.length;
  }
  const configPath = writeJson('consensus-real.json', config);
  function writeJson(name, obj) {
    writeFileSync(join(tmp, name), JSON.stringify(obj, null, 2));
    return join(tmp, name);
  }
  const runArgs = (dir) => ['run', 'text-consensus', '--config', configPath, '--out', dir];

  /** sha256 of each expert's F32 rows in corpus order (the single run's 8192-row files or the merged parts). */
  function featureHashes(dir) {
    const files = readdirSync(join(dir, 'features'));
    const hashes = {};
    for (const e of config.experts) {
      const re = new RegExp(`^${e}\\.(shard|part)-(\\d+)-of-(\\d+)\\.safetensors$`);
      const mine = files.map((f) => [f, f.match(re)]).filter(([, m]) => m !== null);
      mine.sort((a, b) => Number(a[1][2]) - Number(b[1][2]));
      const h = createHash('sha256');
      let n = 0;
      for (const [f] of mine) {
        const t = readSafetensors(readFileSync(join(dir, 'features', f))).tensors.embeddings;
        h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        n += t.shape[0];
      }
      hashes[e] = { rows: n, sha256: h.digest('hex') };
    }
    return hashes;
  }
  const fileHash = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

  /** A worker process; its stdout + stderr go to `log`; counts the jobs it started and finished. */
  function worker(queue, log, extra = []) {
    const child = spawn(process.execPath, [TRAIN, 'worker', '--redis', redis.url, '--queue', queue, ...extra], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const file = createWriteStream(log);
    const state = { started: 0, done: 0, loads: 0 };
    const onData = (b) => {
      const s = b.toString();
      file.write(s);
      state.started += (s.match(/worker: job \S+ \(attempt/g) ?? []).length;
      state.done += (s.match(/worker: job \S+ done/g) ?? []).length;
      for (const m of s.matchAll(/\((\d+) expert load\(s\)/g)) state.loads += Number(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise((ok) => child.once('close', (code, signal) => (file.end(), ok({ code, signal }))));
    return { child, state, exited };
  }

  const redis = await startPrivateRedis();
  const prior = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : undefined;
  const result = prior ?? {
    issue: 24,
    workload: 'text-consensus feature stage + consensus, real teachers (use-lite, glove-avg)',
    note:
      'Workers are processes on this one machine, talking to a private redis-server over loopback. On 2 cores the ' +
      'speed-up is bounded by 2: use-lite runs single-threaded wasm in each process, so two processes fill the ' +
      "cores and more only interleave; every job also pays the corpus read and glove-avg's word-table load (~4 s).",
    series: [],
  };
  const entry = {
    command: `node tools/perf/scale-bench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    machine: machineInfo(),
    backend: env.GEOLIP_BACKEND,
    corpus:
      rows > 0 ? `first ${corpusRows} sentences of the 142,871-sentence corpus` : 'the full corpus (recipe config)',
    config,
    shards,
    exactness:
      "identical = consensus.safetensors equal byte for byte and each expert's F32 feature rows equal bit for bit " +
      '(sha256) to the single-process run',
    runs: [],
  };
  result.series.push(entry);
  const save = () => {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  };
  try {
    // The single-process reference: run now, or (--reuse-single) the one of an earlier series on the same corpus.
    let singleRun;
    let before;
    let t;
    if (values['reuse-single']) {
      const earlier = result.series
        .slice(0, -1)
        .reverse()
        .find((x) => x.corpus === entry.corpus && x.runs[0]?.mode === 'single process');
      if (earlier === undefined) throw new Error(`--reuse-single: no earlier single-process run on ${entry.corpus}`);
      singleRun = earlier.runs[0];
      entry.reference = `the single-process run of the series of ${earlier.date}`;
    } else {
      const single = join(tmp, 'single');
      before = load();
      t = clock();
      const r = sh(runArgs(single), join(tmp, 'single.log'));
      singleRun = {
        mode: 'single process',
        seconds: clock() - t,
        loadBefore: before,
        loadAfter: load(),
        consensusSha256: fileHash(join(single, 'consensus.safetensors')),
        features: featureHashes(single),
        consensusLine: r.stdout.split('\n').find((l) => l.startsWith('consensus: K=')),
      };
      entry.runs.push(singleRun);
      save();
      console.log(`single process: ${singleRun.seconds.toFixed(1)} s`);
    }
    entry.rows = singleRun.features[config.experts[0]].rows;
    const check = (dir) => {
      const features = featureHashes(dir);
      const consensusSha256 = fileHash(join(dir, 'consensus.safetensors'));
      const identical =
        consensusSha256 === singleRun.consensusSha256 &&
        config.experts.every((e) => features[e].sha256 === singleRun.features[e].sha256);
      return { identicalToSingle: identical, consensusSha256, features };
    };

    for (const w of workers) {
      const queue = `real-${w}`;
      const dir = join(tmp, queue);
      const common = ['--redis', redis.url, '--queue', queue];
      before = load();
      t = clock();
      sh(['submit', ...common, '--shards', String(shards), '--', ...runArgs(dir)]);
      const ws = Array.from({ length: w }, (_, k) => worker(queue, join(tmp, `${queue}-w${k}.log`), ['--until-empty']));
      sh(['status', ...common, '--wait', '--merge'], join(tmp, `${queue}-status.log`));
      const exits = await Promise.all(ws.map((x) => x.exited));
      const seconds = clock() - t;
      const run = {
        mode: `queue, ${w} worker(s)`,
        workers: w,
        seconds,
        loadBefore: before,
        loadAfter: load(),
        jobsPerWorker: ws.map((x) => x.state.done),
        expertLoadsPerWorker: ws.map((x) => x.state.loads),
        workerExits: exits.map((e) => e.code),
        ...check(dir),
      };
      entry.runs.push(run);
      save();
      console.log(`queue, ${w} worker(s): ${seconds.toFixed(1)} s, identical ${run.identicalToSingle}`);
    }

    if (kills > 0) {
      // Victims killed with SIGKILL at seeded moments after they started a job (counted when mid-shard), then a
      // steady worker whose stalled check puts their jobs back; short locks so that a dead worker's job returns soon.
      const random = rng(seed);
      const queue = 'real-kill';
      const dir = join(tmp, queue);
      const common = ['--redis', redis.url, '--queue', queue];
      const lock = ['--lock-ms', '4000', '--stalled-ms', '1000'];
      before = load();
      t = clock();
      sh(['submit', ...common, '--shards', String(shards), '--', ...runArgs(dir)]);
      let done = 0;
      const moments = [];
      for (let v = 0; done < kills && v < 4 * kills; v++) {
        const x = worker(queue, join(tmp, `${queue}-victim${v}.log`), lock);
        const t0 = Date.now();
        while (x.state.started === 0 && Date.now() - t0 < 120_000) await new Promise((ok) => setTimeout(ok, 20));
        const ms = 500 + Math.floor(random() * 8000);
        await new Promise((ok) => setTimeout(ok, ms));
        const midShard = x.state.started > x.state.done;
        x.child.kill('SIGKILL');
        await x.exited;
        moments.push({ afterJobStartMs: ms, midShard, jobsFinishedBeforeKill: x.state.done });
        if (midShard) done++;
      }
      const steady = worker(queue, join(tmp, `${queue}-steady.log`), [...lock, '--until-empty']);
      sh(['status', ...common, '--wait', '--merge'], join(tmp, `${queue}-status.log`));
      await steady.exited;
      const run = {
        mode: `kill round: ${done} worker(s) killed mid-shard (seed ${seed}), then 1 steady worker`,
        seconds: clock() - t,
        loadBefore: before,
        loadAfter: load(),
        kills: done,
        moments,
        ...check(dir),
      };
      entry.runs.push(run);
      save();
      console.log(`kill round: ${done} kills, identical ${run.identicalToSingle}`);
    }
  } finally {
    await redis.stop();
    if (process.env.GEOLIP_SCALE_KEEP) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  save();
  console.log(`wrote ${out}`);
  for (const r of entry.runs)
    console.log(`${r.mode.padEnd(30)} ${r.seconds.toFixed(1)} s ${r.identicalToSingle ?? ''}`);
}
