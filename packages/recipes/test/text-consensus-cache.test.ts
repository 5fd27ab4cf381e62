// The expert cache of `geolip-train run text-consensus --shard i/N`: a process that runs several shards of one config
// (a queue worker runs each job in process) loads each expert once, keyed by the config (name and module); a failed
// embedding drops the expert so the next shard loads it afresh; the merged consensus still equals the single-process
// one.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { redisServerAvailable, startPrivateRedis } from '@geolip/queue/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../src/cli.js';
import { clearShardExpertCache, shardExpertLoads } from '../src/recipes/text-consensus.js';

const fixtures = fileURLToPath(new URL('./fixtures/experts/', import.meta.url));
const counter = () =>
  (globalThis as { __geolipCountingExpert?: { loads: number; disposes: number; failNext: boolean } })
    .__geolipCountingExpert ?? { loads: 0, disposes: 0, failNext: false };

async function run(args: string[]) {
  const o = { stdout: '', stderr: '' };
  const code = await main(args, {
    stdout: { write: (s: string) => (o.stdout += s) },
    stderr: { write: (s: string) => (o.stderr += s) },
  });
  return { code, ...o };
}

const WORDS = ['red', 'blue', 'green', 'dog', 'cat', 'horse', 'beach', 'street', 'runs', 'sleeps', 'old', 'small'];
const SENTENCES = Array.from({ length: 61 }, (_, i) => `a ${WORDS[i % 12]} ${WORDS[(i * 5 + 3) % 12]} no. ${i}.`);

let dir: string;
const config = (countingName: string) => ({
  corpus: { file: 'corpus.txt' },
  experts: ['tri-a', countingName],
  expertModules: { 'tri-a': join(fixtures, 'trigram.mjs'), [countingName]: join(fixtures, 'counting.mjs') },
  consensus: { targetDim: 6 },
  embedBatch: 8,
  stopAfter: 'consensus',
});

beforeAll(async () => {
  // isolate: false: shards of other test files may have left experts in this module's cache.
  clearShardExpertCache();
  dir = await mkdtemp(join(tmpdir(), 'geolip-consensus-cache-'));
  await writeFile(join(dir, 'corpus.txt'), SENTENCES.join('\n') + '\n');
  await writeFile(join(dir, 'a.json'), JSON.stringify(config('cnt')));
  await writeFile(join(dir, 'b.json'), JSON.stringify(config('cnt2')));
  await writeFile(join(dir, 'c.json'), JSON.stringify(config('cnt3')));
});
afterAll(async () => {
  clearShardExpertCache();
  delete (globalThis as { __geolipCountingExpert?: unknown }).__geolipCountingExpert;
  if (dir) await rm(dir, { recursive: true, force: true });
});

const shard = (cfg: string, out: string, i: number, n: number) =>
  run(['run', 'text-consensus', '--config', join(dir, cfg), '--out', join(dir, out), '--shard', `${i}/${n}`]);

describe('text-consensus --shard: experts kept across shards of one process', () => {
  it('loads each expert once for N shards of one config, again for another config', async () => {
    const c0 = { ...counter() };
    const l0 = shardExpertLoads.count;
    for (const i of [0, 1, 2]) {
      const r = await shard('a.json', 'a', i, 3);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`shard.shard-${i}-of-3.json: written (${i === 0 ? 2 : 0} expert load(s)`);
    }
    expect(shardExpertLoads.count - l0).toBe(2); // tri-a and cnt, once each
    expect(counter().loads - c0.loads).toBe(1);
    expect(counter().disposes - c0.disposes).toBe(0);
    // Another config (the counting module under another expert name): its own load; tri-a is shared.
    const r = await shard('b.json', 'b', 0, 2);
    expect(r.code, r.stderr).toBe(0);
    expect(shardExpertLoads.count - l0).toBe(3);
    expect(counter().loads - c0.loads).toBe(2);

    // The merged consensus equals the single-process one (which loads and disposes as it goes).
    let m = await run(['merge', 'text-consensus', '--config', join(dir, 'a.json'), '--out', join(dir, 'a')]);
    expect(m.code, m.stderr).toBe(0);
    m = await run(['run', 'text-consensus', '--config', join(dir, 'a.json'), '--out', join(dir, 'single')]);
    expect(m.code, m.stderr).toBe(0);
    expect(counter().loads - c0.loads).toBe(3);
    expect(counter().disposes - c0.disposes).toBe(1);
    expect(
      readFileSync(join(dir, 'a', 'consensus.safetensors')).equals(
        readFileSync(join(dir, 'single', 'consensus.safetensors')),
      ),
    ).toBe(true);
  });

  it('a failed embedding drops the expert: the retried shard loads it afresh', async () => {
    const c0 = { ...counter() };
    // cnt2 is in the cache since the first test's shard 0/2 of config b: make its next embedding throw.
    (globalThis as { __geolipCountingExpert?: { failNext: boolean } }).__geolipCountingExpert!.failNext = true;
    let r = await shard('b.json', 'b', 1, 2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('counting expert: a planned failure');
    expect(counter().disposes - c0.disposes).toBe(1);
    r = await shard('b.json', 'b', 1, 2);
    expect(r.code, r.stderr).toBe(0);
    expect(counter().loads - c0.loads).toBe(1);
    r = await run(['merge', 'text-consensus', '--config', join(dir, 'b.json'), '--out', join(dir, 'b')]);
    expect(r.code, r.stderr).toBe(0);
  });
});

// A private redis-server on a loopback port; processes and Redis, not tensors: the cpu project runs it.
const queueSkip = !redisServerAvailable() || process.env.GEOLIP_BACKEND === 'wasm';
describe.skipIf(queueSkip)('text-consensus shards through the queue (geolip-train submit / worker / status)', () => {
  it('one worker taking 3 jobs of a config loads its experts once; the merge equals one process', async () => {
    clearShardExpertCache();
    const redis = await startPrivateRedis();
    try {
      const c0 = { ...counter() };
      const common = ['--redis', redis.url, '--queue', 'cache'];
      const job = ['run', 'text-consensus', '--config', join(dir, 'c.json'), '--out', join(dir, 'q')];
      let r = await run(['submit', ...common, '--shards', '3', '--', ...job]);
      expect(r.code, r.stderr).toBe(0);
      r = await run(['worker', ...common, '--until-empty']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr.match(/worker: job \S+ done/g)).toHaveLength(3);
      expect(r.stdout.match(/written \(\d+ expert load/g)).toEqual([
        'written (2 expert load', // tri-a and cnt3
        'written (0 expert load',
        'written (0 expert load',
      ]);
      expect(counter().loads - c0.loads).toBe(1);
      r = await run(['status', ...common, '--wait', '--merge', '--timeout', '60']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('completed 3, failed 0');
      r = await run(['run', 'text-consensus', '--config', join(dir, 'c.json'), '--out', join(dir, 'c-single')]);
      expect(r.code, r.stderr).toBe(0);
      const merged = readFileSync(join(dir, 'q', 'consensus.safetensors'));
      expect(merged.equals(readFileSync(join(dir, 'c-single', 'consensus.safetensors')))).toBe(true);
    } finally {
      await redis.stop();
    }
  });
});
