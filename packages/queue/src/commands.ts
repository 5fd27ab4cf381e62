// `<program> submit | worker | status`: the queue mode of a program whose commands take `--shard i/N`
// (geolip-bench run, geolip-train run text-consensus). Built on @geolip/cli; each program adds these three commands
// with its own `main` as the job runner.
import { EXIT, defineCommand, positiveInt, positiveNumber, type CliIo, type Command } from '@geolip/cli';

import { ShardQueue, startShardWorker, type QueueStatus } from './queue.js';

/** What a program gives the queue commands. */
export interface QueueProgram {
  /** `geolip-bench`. */
  name: string;
  /** Runs `argv` (a command line of the program, without the program name) and returns its exit status. */
  run(argv: string[], io: CliIo): Promise<number>;
  /** The merge command line of a sharded command line (`run … --out r.json` → `merge --out r.json`), if it has one. */
  mergeArgv(argv: readonly string[]): string[] | undefined;
}

const REDIS = {
  type: 'string',
  value: '<url>',
  description: 'the Redis server: redis://[user:password@]host[:port][/db] (default redis://127.0.0.1:6379).',
} as const;
const QUEUE = { type: 'string', value: '<name>', description: 'the queue name (default geolip).' } as const;

/** One line per failed job: id, shard, attempts and its last error. */
function writeStatus(io: CliIo, s: QueueStatus): void {
  io.stdout.write(
    `waiting ${s.waiting}, active ${s.active}, delayed ${s.delayed}, completed ${s.completed}, failed ${s.failed}\n`,
  );
  for (const f of s.failedJobs)
    io.stdout.write(`failed ${f.id} (shard ${f.shard}, ${f.attemptsMade} attempt(s)): ${f.error}\n`);
}

/** The `submit`, `worker` and `status` commands of `program`. */
export function queueCommands(program: QueueProgram): Command[] {
  const submit = defineCommand({
    name: 'submit',
    summary: 'enqueue the N shards of a command on a Redis queue (BullMQ) for workers to take',
    usage: '--shards <N> [--redis <url>] [--queue <name>] -- <command> [args]',
    description:
      `Enqueues one job per shard of '${program.name} <command> [args] --shard i/N'. Resubmitting the same command\n` +
      'adds nothing (job ids come from the arguments and the shard). A job that fails is retried, then kept in the\n' +
      `failed list with its error ('${program.name} status'). Paths in the command must be valid on every worker\n` +
      '(shared storage: a directory on a local disk or a network mount).',
    positionals: { min: 1, max: Number.POSITIVE_INFINITY, names: '-- <command> [args]' },
    options: {
      shards: { type: 'string', value: '<N>', description: 'the number of shards N (required).' },
      attempts: { type: 'string', value: '<n>', description: 'attempts of a failing job before it fails (default 3).' },
      redis: REDIS,
      queue: QUEUE,
    },
    async run({ values: v, positionals }, ctx) {
      const count = positiveInt(ctx, '--shards', v.shards);
      if (count === undefined) throw ctx.usage('submit needs --shards <N>', '--shards');
      if (positionals.includes('--shard')) throw ctx.usage('the command must not carry --shard: submit adds it');
      const q = new ShardQueue(v.redis ?? 'redis://127.0.0.1:6379', v.queue ?? 'geolip');
      try {
        const mergeArgv = program.mergeArgv(positionals);
        const ids = await q.submit(positionals, count, {
          attempts: positiveInt(ctx, '--attempts', v.attempts, 3),
          ...(mergeArgv ? { mergeArgv } : {}),
        });
        ctx.io.stdout.write(`submitted ${ids.length} shard job(s): ${ids[0]} ... ${ids[ids.length - 1]}\n`);
      } finally {
        await q.close();
      }
      return EXIT.ok;
    },
  });

  const worker = defineCommand({
    name: 'worker',
    summary: 'take shard jobs from a Redis queue and run them (any number of processes and machines)',
    usage: '[--redis <url>] [--queue <name>] [--concurrency <n>] [--until-empty]',
    description:
      'Runs each job in this process and writes its shard file (atomically; a finished shard is skipped). A job\n' +
      'whose worker dies returns to the queue once its lock expires (--lock-ms) and another worker takes it.\n' +
      'Stops on SIGINT/SIGTERM after the running job, or with --until-empty once no job is waiting or active.',
    options: {
      redis: REDIS,
      queue: QUEUE,
      concurrency: { type: 'string', value: '<n>', description: 'jobs at once in this process (default 1).' },
      'lock-ms': {
        type: 'string',
        value: '<ms>',
        description: "a job's lock time-to-live: a dead worker's job is retaken after this (default 30000).",
      },
      'stalled-ms': {
        type: 'string',
        value: '<ms>',
        description: 'how often this worker looks for stalled jobs (default 30000).',
      },
      'until-empty': { type: 'boolean', description: 'exit once no job is waiting, delayed or active.' },
    },
    async run({ values: v }, ctx) {
      const { io } = ctx;
      const url = v.redis ?? 'redis://127.0.0.1:6379';
      const name = v.queue ?? 'geolip';
      const lockDuration = positiveNumber(ctx, '--lock-ms', v['lock-ms'], 'number of milliseconds') ?? 30_000;
      const stalledInterval = positiveNumber(ctx, '--stalled-ms', v['stalled-ms'], 'number of milliseconds') ?? 30_000;
      const w = startShardWorker(
        url,
        name,
        async (argv, job) => {
          let err = '';
          const jobIo: CliIo = {
            stdout: io.stdout,
            stderr: { write: (s: string) => ((err += s), io.stderr.write(s)) },
          };
          io.stderr.write(
            `${program.name} worker: job ${job.id} (attempt ${job.attemptsMade + 1}): ${argv.join(' ')}\n`,
          );
          const code = await program.run(argv, jobIo);
          if (code !== EXIT.ok) {
            const last = err.trim().split('\n').slice(-3).join(' | ');
            throw new Error(`${program.name} ${argv[0] ?? ''} exited ${code}: ${last}`);
          }
          io.stderr.write(`${program.name} worker: job ${job.id} done\n`);
        },
        { concurrency: positiveInt(ctx, '--concurrency', v.concurrency, 1), lockDuration, stalledInterval },
      );
      w.on('error', (e) => io.stderr.write(`${program.name} worker: ${e.message}\n`));
      const q = new ShardQueue(url, name);
      let stop: () => void = () => {};
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      const onSignal = () => stop();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        if (v['until-empty'] === true) {
          await Promise.race([q.waitUntilDone({ pollMs: 250 }), stopped]);
        } else await stopped;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await w.close();
        await q.close();
      }
      return EXIT.ok;
    },
  });

  const status = defineCommand({
    name: 'status',
    summary: "the queue's counts and failed jobs; --wait for completion, --merge then merges each command's shards",
    usage: '[--redis <url>] [--queue <name>] [--wait] [--merge] [--timeout <S>]',
    description:
      'Prints the waiting, active, delayed, completed and failed counts and every failed job with its error\n' +
      '(exit 1 when any job failed). --wait polls until no job is waiting, delayed or active; --merge then runs\n' +
      `each submitted command's merge ('${program.name} merge ...'), which checks the shard set.`,
    options: {
      redis: REDIS,
      queue: QUEUE,
      wait: { type: 'boolean', description: 'wait until every job completed or failed.' },
      merge: { type: 'boolean', description: "after --wait, merge each submitted command's shards." },
      timeout: { type: 'string', value: '<S>', description: 'give up waiting after S seconds (a hang guard).' },
    },
    async run({ values: v }, ctx) {
      const { io } = ctx;
      if (v.merge === true && v.wait !== true) throw ctx.usage('--merge needs --wait', '--merge');
      const timeout = positiveNumber(ctx, '--timeout', v.timeout, 'number of seconds');
      const q = new ShardQueue(v.redis ?? 'redis://127.0.0.1:6379', v.queue ?? 'geolip');
      try {
        const s =
          v.wait === true
            ? await q.waitUntilDone({ pollMs: 250, ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}) })
            : await q.status();
        writeStatus(io, s);
        if (s.failed > 0) return EXIT.error;
        if (v.merge === true) {
          for (const g of s.groups) {
            if (g.mergeArgv === undefined) continue;
            io.stderr.write(`${program.name} ${g.mergeArgv.join(' ')}\n`);
            const code = await program.run(g.mergeArgv, io);
            if (code !== EXIT.ok) return code;
          }
        }
        return EXIT.ok;
      } finally {
        await q.close();
      }
    },
  });
  return [submit, worker, status] as unknown as Command[];
}
