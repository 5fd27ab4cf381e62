// The queue on a private redis-server (loopback, temp dir, appendonly yes): submit is idempotent, workers run every
// shard, a job that throws three times lands on the failed list with its error, status waits for completion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ShardQueue, redisConnection, startShardWorker } from '../src/index.js';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from '../src/testing.js';

const available = redisServerAvailable();
if (!available) console.warn('queue tests skipped: redis-server is not installed (run tools/setup/redis.sh)');

describe.skipIf(!available)('ShardQueue on a private Redis', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('runs every shard once; resubmitting adds nothing', async () => {
    const q = new ShardQueue(redis.url, 'ok');
    const ids = await q.submit(['run', '--out', 'r.json'], 4);
    expect(await q.submit(['run', '--out', 'r.json'], 4)).toEqual(ids);
    const seen: string[] = [];
    const w = startShardWorker(redis.url, 'ok', async (argv) => {
      seen.push(argv.slice(-1)[0]!);
    });
    const s = await q.waitUntilDone({ pollMs: 50, timeoutMs: 60_000 });
    await w.close();
    await q.close();
    expect(s).toMatchObject({ completed: 4, failed: 0, waiting: 0, active: 0 });
    expect(seen.sort()).toEqual(['0/4', '1/4', '2/4', '3/4']);
  });

  it('a job that throws three times lands on the failed list with its error', async () => {
    const q = new ShardQueue(redis.url, 'fail');
    await q.submit(['run', '--out', 'bad.json'], 2);
    const tries = new Map<string, number>();
    const w = startShardWorker(redis.url, 'fail', async (argv) => {
      const shard = argv.slice(-1)[0]!;
      tries.set(shard, (tries.get(shard) ?? 0) + 1);
      if (shard === '1/2') throw new Error(`shard ${shard} is broken`);
    });
    const s = await q.waitUntilDone({ pollMs: 50, timeoutMs: 60_000 });
    await w.close();
    await q.close();
    expect(s.completed).toBe(1);
    expect(s.failed).toBe(1);
    expect(tries.get('1/2')).toBe(3);
    expect(s.failedJobs).toEqual([
      expect.objectContaining({ shard: '1/2', attemptsMade: 3, error: 'shard 1/2 is broken' }),
    ]);
  });

  it('refuses a URL that is not redis://, naming the function and argument', () => {
    expect(() => redisConnection('f', '--redis', 'http://x')).toThrow(/^f: '--redis' must be a redis:\/\//);
    expect(redisConnection('f', 'url', 'redis://:pw@10.0.0.1:7000/2')).toMatchObject({
      host: '10.0.0.1',
      port: 7000,
      db: 2,
      password: 'pw',
    });
  });
});
