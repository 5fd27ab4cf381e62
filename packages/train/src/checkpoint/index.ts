export {
  assignWeights,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  COMPACT_SHARD_BYTES,
  compactCheckpoint,
  Float16OverflowError,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
export type {
  CheckpointData,
  CompactCheckpointOptions,
  CompactCheckpointResult,
  JsonValue,
  LoadCheckpointOptions,
  LoadedCheckpoint,
  LoadedCompactCheckpoint,
  LoadedFullCheckpoint,
  SaveCheckpointOptions,
} from './checkpoint.js';
