export { assignWeights, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export type {
  CheckpointData,
  JsonValue,
  LoadCheckpointOptions,
  LoadedCheckpoint,
  SaveCheckpointOptions,
} from './checkpoint.js';
