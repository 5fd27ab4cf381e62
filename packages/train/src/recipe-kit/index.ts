/**
 * The recipe kit: what every training recipe shares. A recipe is declared with {@link defineRecipe} (name, help,
 * config parser, run); the common config blocks (optimizer + schedule, data, checkpoints; `timeLimit`) are read by
 * the block readers with one error type, {@link RecipeConfigError}; {@link RecipeRun} owns the run directory
 * (checkpoints, metrics, --resume, result.json, exit 75) and {@link runRecipe} the time limit and signals.
 * The recipes themselves live in `@geolip/recipes`.
 */
export { RecipeConfigError, configPath, configReader, isObject, show } from './config.js';
export type { ConfigReader, NumberKind } from './config.js';
export {
  DATA_KEYS,
  optimizerKeys,
  optimizerOptions,
  readCheckpointBlock,
  readDataBlock,
  readOptimizerBlock,
} from './blocks.js';
export type { CheckpointBlock, DataBlock, OptimizerBlock } from './blocks.js';
export { RecipeRun, defineRecipe, resultJson, runRecipe } from './runner.js';
export type { DefinedRecipe, RecipeDefinition, RunRecipeOptions, StageFiles } from './runner.js';
export { streamSteps } from './stream-steps.js';
export type { SeekableStream } from './stream-steps.js';
export { EXIT_INTERRUPTED } from './types.js';
export type { Recipe, RecipeIo, RecipeRunOptions } from './types.js';
