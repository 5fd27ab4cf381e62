// Queue mode end to end on a private redis-server (loopback, temp dir, appendonly yes): `geolip-bench submit` enqueues
// the shards, worker processes take them, `status --wait --merge` merges; the merged report equals the
// single-process one every time, also when workers are killed with SIGKILL mid-shard at seeded random moments, when
// Redis is killed and restarted from its append-only file, and when a shard is completed twice. A command that fails
// three times lands on the failed list with its error. Timeouts here are hang guards, never speed checks.
//
// GEOLIP_QUEUE_KILLS sets the number of worker kills (default 4; 20 or more for the long run, see docs/scale.md),
// GEOLIP_QUEUE_SEED the seed of the kill moments (default 24).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from '@geolip/queue/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bundleCli } from './helpers/bundle.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const model = join(here, 'fixtures', 'queue', 'slow-model.mjs');
const KILLS = Number(process.env.GEOLIP_QUEUE_KILLS ?? 4);
const SEED = Number(process.env.GEOLIP_QUEUE_SEED ?? 24);
const available = redisServerAvailable();
if (!available) console.warn('geolip-bench queue tests skipped: redis-server is not installed (tools/setup/redis.sh)');
// Processes and a Redis server, not tensors: the cpu project runs it, the wasm project would only repeat it.
const skip = !available || process.env.GEOLIP_BACKEND === 'wasm';

/** mulberry32: the seeded kill moments. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(skip)('geolip-bench submit / worker / status on a private Redis', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'geolip-bench-queue-'));
  const data = join(tmp, 'data');
  let bundle = '';
  let remove = () => {};
  let redis: PrivateRedis;
  const children = new Set<ChildProcess>();
  const env = { ...process.env, GEOLIP_SLOW_MS: '25' };

  const bench = (args: string[]) =>
    spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', env, timeout: 120_000 });

  /** A worker process; `jobs` records each job it started and whether it finished. */
  function worker(queue: string, extra: string[] = []) {
    const child = spawn(
      process.execPath,
      [bundle, 'worker', '--redis', redis.url, '--queue', queue, '--lock-ms', '800', '--stalled-ms', '300', ...extra],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.add(child);
    const state = { started: 0, done: 0, log: '' };
    child.stderr!.on('data', (b: Buffer) => {
      const s = b.toString();
      state.log += s;
      state.started += (s.match(/worker: job \S+ \(attempt/g) ?? []).length;
      state.done += (s.match(/worker: job \S+ done/g) ?? []).length;
    });
    // 'close', not 'exit': 'exit' can come before the last stderr chunks are read, leaving the log short.
    const exited = new Promise<void>((resolve) => child.once('close', () => (children.delete(child), resolve())));
    return { child, state, exited };
  }

  const args = (out: string) => [
    'run',
    '--model',
    model,
    '--tasks',
    'stsb,sick,mrpc',
    '--data',
    data,
    '--batch-size',
    '4',
    '--raw',
    '--out',
    out,
  ];

  const strip = (path: string) => {
    const r = JSON.parse(readFileSync(path, 'utf8'));
    delete r.date;
    delete r.totals;
    delete r.settings.shards;
    for (const x of r.results) for (const k of ['seconds', 'embedSeconds', 'itemsPerSecond']) delete x[k];
    return r;
  };
  let single: unknown;

  beforeAll(async () => {
    ({ bundle, remove } = await bundleCli());
    redis = await startPrivateRedis();
    for (const d of ['stsb', 'sick', 'mrpc']) mkdirSync(join(data, d), { recursive: true });
    const w = ['red', 'blue', 'green', 'dog', 'cat', 'bird', 'runs', 'sleeps', 'old', 'new', 'big'];
    const sent = (i: number) => `the ${w[i % 11]} ${w[(i * 4 + 1) % 11]} ${w[(i * 6 + 2) % 11]} ${i % 5}`;
    const stsb = Array.from(
      { length: 40 },
      (_, i) => `g\tf\ty\t${i}\t${((i * 7) % 26) / 5}\t${sent(i)}\t${sent(i + 3)}`,
    );
    writeFileSync(join(data, 'stsb', 'sts-dev.csv'), stsb.join('\n') + '\n');
    const sick = ['pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment'];
    for (let i = 0; i < 30; i++)
      sick.push(`${i + 1}\t${sent(i)}\t${sent(2 * i)}\t${1 + ((i * 13) % 40) / 10}\tNEUTRAL`);
    writeFileSync(join(data, 'sick', 'SICK_trial.txt'), sick.join('\n') + '\n');
    const mrpc = ['Quality\t#1 ID\t#2 ID\t#1 String\t#2 String'];
    for (let i = 0; i < 50; i++) mrpc.push(`${i % 3 ? 1 : 0}\t${i}\t${100 + i}\t${sent(i)}\t${sent(i + (i % 2))}`);
    writeFileSync(join(data, 'mrpc', 'msr_paraphrase_train.txt'), mrpc.join('\n') + '\n');
    const r = bench([...args(join(tmp, 'single.json'))]);
    expect(r.status, r.stderr).toBe(0);
    single = strip(join(tmp, 'single.json'));
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await redis?.stop();
    remove();
    rmSync(tmp, { recursive: true, force: true });
  });

  const submit = (queue: string, out: string, shards: number) => {
    const r = bench(['submit', '--redis', redis.url, '--queue', queue, '--shards', String(shards), '--', ...args(out)]);
    expect(r.status, r.stderr).toBe(0);
  };
  const statusMerge = (queue: string) =>
    bench(['status', '--redis', redis.url, '--queue', queue, '--wait', '--merge', '--timeout', '100']);

  it('two workers, status --wait --merge: the single-process report', async () => {
    const out = join(tmp, 'plain', 'report.json');
    submit('plain', out, 4);
    submit('plain', out, 4); // resubmitting adds nothing
    const ws = [worker('plain', ['--until-empty']), worker('plain', ['--until-empty'])];
    const s = statusMerge('plain');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toContain('completed 4, failed 0');
    await Promise.all(ws.map((w) => w.exited));
    expect(strip(out)).toEqual(single);
  });

  it(
    `kill -9 of workers mid-shard (${KILLS} kills, seed ${SEED}): stalled jobs are retaken, same report`,
    async () => {
      const random = rng(SEED);
      let kills = 0;
      let round = 0;
      while (kills < KILLS) {
        const queue = `kill-${round}`;
        const out = join(tmp, queue, 'report.json');
        submit(queue, out, 6);
        // Victims first (each killed at a seeded moment after it started a job, before that job finished), then a
        // steady worker whose stalled check puts the victims' jobs back.
        for (let v = 0; v < 4 && kills < KILLS; v++) {
          const w = worker(queue);
          const t0 = Date.now();
          while (w.state.started === 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 10));
          await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * 150)));
          const midShard = w.state.started > w.state.done;
          w.child.kill('SIGKILL');
          await w.exited;
          if (midShard) kills++;
        }
        const steady = worker(queue, ['--until-empty']);
        const s = statusMerge(queue);
        expect(s.status, s.stderr + steady.state.log).toBe(0);
        expect(s.stdout).toContain('completed 6, failed 0');
        await steady.exited;
        expect(strip(out)).toEqual(single);
        round++;
      }
      expect(kills).toBeGreaterThanOrEqual(KILLS);
    },
    60_000 + 20_000 * KILLS,
  ); // a hang guard that grows with the kills (each waits for a lock to expire)

  it('Redis killed mid-run and restarted from its AOF: nothing lost, same report', async () => {
    const out = join(tmp, 'aof', 'report.json');
    submit('aof', out, 6);
    const w = worker('aof', ['--until-empty']);
    const t0 = Date.now();
    while (w.state.done < 2 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 10));
    await redis.kill();
    await new Promise((r) => setTimeout(r, 300));
    await redis.restart();
    const s = statusMerge('aof');
    expect(s.status, s.stderr + w.state.log).toBe(0);
    expect(s.stdout).toContain('completed 6, failed 0');
    await w.exited;
    expect(strip(out)).toEqual(single);
  });

  it('a shard completed twice counts once: same report', async () => {
    const out = join(tmp, 'dup', 'report.json');
    // Two processes run shard 1/3 at once (a job retaken while its first worker still runs): one file, same bytes.
    const one = [...args(out), '--shard', '1/3'];
    const [a, b] = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<number>((resolve) =>
            spawn(process.execPath, [bundle, ...one], { env, stdio: 'ignore' }).on('exit', (c) => resolve(c ?? 1)),
          ),
      ),
    );
    expect([a, b]).toEqual([0, 0]);
    submit('dup', out, 3);
    const w = worker('dup', ['--until-empty']);
    const s = statusMerge('dup');
    expect(s.status, s.stderr).toBe(0);
    await w.exited;
    expect(strip(out)).toEqual(single);
    expect(JSON.parse(readFileSync(out, 'utf8')).settings.shards).toHaveLength(3);
  });

  it('a command that fails three times lands on the failed list with its error', async () => {
    const out = join(tmp, 'fail', 'report.json');
    const r = bench([
      'submit',
      '--redis',
      redis.url,
      '--queue',
      'fail',
      '--shards',
      '2',
      '--',
      'run',
      '--model',
      model,
      '--data',
      join(tmp, 'no-such-dir'),
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const w = worker('fail', ['--until-empty']);
    const s = statusMerge('fail');
    await w.exited;
    expect(s.status).toBe(1);
    expect(s.stdout).toContain('completed 0, failed 2');
    expect(s.stdout).toMatch(/failed \S+-0-of-2 \(shard 0\/2, 3 attempt\(s\)\): .*data directory not found/);
    // 3 attempts of each of the 2 jobs, at least: on a loaded machine a job may also stall (its worker's event loop
    // held past the short test lock while the job loads its model) and run once more without counting as an attempt.
    expect((w.state.log.match(/\(attempt/g) ?? []).length).toBeGreaterThanOrEqual(6);
  });
});
