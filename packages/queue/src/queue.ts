// Shard jobs on BullMQ: one job per shard of a `--shard i/N` command line. A job is the command's arguments plus its
// shard; the worker runs it through the program's own `main` (in process), so the work and the files it writes are
// exactly those of `<program> ... --shard i/N`. Delivery is at-least-once: a job whose worker dies returns to the
// queue when its lock expires (stalled-job recovery) and runs again; outputs are idempotent (a shard file is written
// atomically under a name fixed by its shard, and a finished shard is skipped), so a second run changes nothing.
import { createHash } from 'node:crypto';

import { InvalidArgumentError } from '@geolip/geometry';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/** What a shard job carries. */
export interface ShardJobData {
  /** The program's arguments without `--shard` (e.g. `['run', '--model', 'm', '--out', 'r.json']`). */
  argv: string[];
  /** This job's shard. */
  shard: { index: number; count: number };
  /** The arguments of the merge that combines the group's shards (run by `status --merge`). */
  mergeArgv?: string[];
  /** Jobs with the same group are the N shards of one command line. */
  group: string;
}

/** A queue's counts and its failed list. */
export interface QueueStatus {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  /** Every failed job (retries exhausted, or stalled beyond the limit) with its last error. */
  failedJobs: { id: string; group: string; shard: string; attemptsMade: number; error: string }[];
  /** The groups (command lines) in the queue, with their merge arguments. */
  groups: { group: string; shards: number; mergeArgv?: string[] }[];
}

/** Options of {@link ShardWorker}. */
export interface ShardWorkerOptions {
  /** Jobs one worker runs at once (default 1). */
  concurrency?: number;
  /** Lock time-to-live in ms: a job whose worker stops renewing it for this long is stalled (default 30000). */
  lockDuration?: number;
  /** How often the worker looks for stalled jobs, in ms (default 30000). */
  stalledInterval?: number;
  /** Times a job may stall (its worker died) before it fails (default 1000: a dead worker is not the job's fault). */
  maxStalledCount?: number;
}

/** The default attempts of a job that throws (then it goes to the failed list with its error). */
export const DEFAULT_ATTEMPTS = 3;

/**
 * A Redis URL as ioredis options (`redis://[user:password@]host[:port][/db]`, `rediss://` for TLS).
 * @throws {InvalidArgumentError} naming `op` and `argument` for anything else.
 */
export function redisConnection(op: string, argument: string, url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(op, argument, `must be a redis:// or rediss:// URL, got '${url}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new InvalidArgumentError(op, argument, `must be a redis:// or rediss:// URL, got '${url}'`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new InvalidArgumentError(op, argument, `has a bad database in '${url}'`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's workers block on Redis: ioredis must retry for ever rather than fail a command after 20 tries.
    maxRetriesPerRequest: null,
  };
}

/** The group of a command line: a short hash of its arguments. */
export function groupOf(argv: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(argv)).digest('hex').slice(0, 16);
}

/** The id of one shard job: the same command line and shard always give the same id, so a resubmit adds nothing. */
export function shardJobId(group: string, shard: { index: number; count: number }): string {
  return `${group}-${shard.index}-of-${shard.count}`;
}

/** An ioredis client for BullMQ (an ES module must hand BullMQ a client, not options). */
function connect(op: string, url: string): Redis {
  return new Redis(redisConnection(op, 'url', url));
}

/** A BullMQ queue of shard jobs. */
export class ShardQueue {
  readonly queue: Queue<ShardJobData>;
  private readonly connection: Redis;

  constructor(url: string, name: string) {
    this.connection = connect('ShardQueue', url);
    this.queue = new Queue<ShardJobData>(name, { connection: this.connection });
  }

  /**
   * Enqueues the `count` shards of `argv` (ids from {@link shardJobId}: resubmitting adds nothing). A job that throws
   * is retried `attempts` times in all, then kept in the failed list with its error.
   * @returns the job ids.
   */
  async submit(
    argv: readonly string[],
    count: number,
    options: { attempts?: number; mergeArgv?: readonly string[] } = {},
  ): Promise<string[]> {
    if (!Number.isInteger(count) || count < 1)
      throw new InvalidArgumentError('ShardQueue.submit', 'count', `must be a positive integer, got ${count}`);
    const group = groupOf(argv);
    const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const shard = { index, count };
      const jobId = shardJobId(group, shard);
      const data: ShardJobData = {
        argv: [...argv],
        shard,
        group,
        ...(options.mergeArgv ? { mergeArgv: [...options.mergeArgv] } : {}),
      };
      await this.queue.add(`shard ${index}/${count}`, data, {
        jobId,
        attempts,
        backoff: { type: 'fixed', delay: 100 },
        removeOnComplete: false,
        removeOnFail: false,
      });
      ids.push(jobId);
    }
    return ids;
  }

  /** Counts, the failed list (with each job's last error) and the groups. */
  async status(): Promise<QueueStatus> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    const failed = await this.queue.getFailed(0, -1);
    const all = await this.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
    const groups = new Map<string, { group: string; shards: number; mergeArgv?: string[] }>();
    for (const j of all) {
      const d = j?.data as ShardJobData | undefined;
      if (d === undefined || groups.has(d.group)) continue;
      groups.set(d.group, {
        group: d.group,
        shards: d.shard.count,
        ...(d.mergeArgv ? { mergeArgv: d.mergeArgv } : {}),
      });
    }
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
      failedJobs: failed
        .filter((j): j is NonNullable<typeof j> => j !== undefined && j !== null)
        .map((j) => {
          const d = j.data as ShardJobData;
          return {
            id: String(j.id),
            group: d.group,
            shard: `${d.shard.index}/${d.shard.count}`,
            attemptsMade: j.attemptsMade,
            error: j.failedReason,
          };
        }),
      groups: [...groups.values()],
    };
  }

  /**
   * Resolves once no job is waiting, delayed or active (every job completed or failed), polling every `pollMs`.
   * `timeoutMs` is a hang guard: it rejects after that long.
   */
  async waitUntilDone(options: { pollMs?: number; timeoutMs?: number; onPoll?: (s: QueueStatus) => void } = {}) {
    const { pollMs = 500, timeoutMs = Number.POSITIVE_INFINITY, onPoll } = options;
    const t0 = Date.now();
    for (;;) {
      const s = await this.status();
      onPoll?.(s);
      if (s.waiting + s.active + s.delayed === 0) return s;
      if (Date.now() - t0 > timeoutMs)
        throw new InvalidArgumentError(
          'ShardQueue.waitUntilDone',
          'timeoutMs',
          `ran out (${timeoutMs} ms) with ${s.waiting} waiting, ${s.active} active, ${s.delayed} delayed`,
        );
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.connection.disconnect();
  }
}

/** Runs one job: the program's arguments with `--shard i/N`; throws (so BullMQ retries) when it does not succeed. */
export type ShardJobHandler = (argv: string[], job: Job<ShardJobData>) => Promise<void>;

/**
 * A BullMQ worker that takes shard jobs and runs them with `handler`.
 * @returns the worker; `close()` waits for the running job, `close(true)` does not.
 */
export function startShardWorker(
  url: string,
  name: string,
  handler: ShardJobHandler,
  options: ShardWorkerOptions = {},
): Worker<ShardJobData> {
  const connection = connect('startShardWorker', url);
  const worker = new Worker<ShardJobData>(
    name,
    async (job) => {
      const { argv, shard } = job.data;
      await handler([...argv, '--shard', `${shard.index}/${shard.count}`], job);
    },
    {
      connection,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 1000,
    },
  );
  worker.on('closed', () => connection.disconnect());
  return worker;
}
