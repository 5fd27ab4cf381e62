/** `@geolip/io/node`: the weights layer's file-system helpers (Node only). */
export { writeFileAtomic } from './write-atomic.js';
export {
  ShardSetError,
  canonicalJson,
  contentHash,
  parseShardSpec,
  readShardFile,
  readShardSet,
  shardPath,
  shardRange,
  writeShardFile,
} from './shards.js';
export type { ShardFile, ShardSetProblem, ShardSpec } from './shards.js';
