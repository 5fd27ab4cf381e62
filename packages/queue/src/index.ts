/**
 * @geolip/queue — the queue mode of GeoLIP's sharded commands, on BullMQ and Redis.
 *
 * - {@link ShardQueue}: submit the N shards of a command line (idempotent job ids), status with the failed list,
 *   wait for completion
 * - {@link startShardWorker}: a BullMQ worker running shard jobs (retries, stalled-job recovery)
 * - {@link queueCommands}: the `submit`, `worker` and `status` commands a program adds to its CLI
 */
export { DEFAULT_ATTEMPTS, ShardQueue, groupOf, redisConnection, shardJobId, startShardWorker } from './queue.js';
export type { QueueStatus, ShardJobData, ShardJobHandler, ShardWorkerOptions } from './queue.js';
export { queueCommands } from './commands.js';
export type { QueueProgram } from './commands.js';
