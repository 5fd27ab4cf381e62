/** Where a recipe writes its human-readable output (the CLI's stdout/stderr). */
export interface RecipeIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

/** Options `geolip-train run` passes to a recipe besides its config JSON. */
export interface RecipeRunOptions {
  /** Absolute path of the config file; relative paths in the config resolve against its directory. */
  configPath: string;
  /** Absolute output directory. */
  out: string;
  /** Continue from `out/checkpoints` (--resume). */
  resume: boolean;
  /** Stop after this many total steps (--steps); the recipe's default is its config's own steps. */
  steps?: number;
  /**
   * Write compact checkpoints (--compact-checkpoints): F16 weights, no optimizer state; resuming one re-warms the
   * learning rate instead of continuing exactly. Default false (full checkpoints).
   */
  compactCheckpoints?: boolean;
  /** Re-warm-up steps after resuming a compact checkpoint (--rewarm-steps; `train()`'s `rewarmSteps`, default 100). */
  rewarmSteps?: number;
  /**
   * Aborted by `--time-limit` or SIGINT/SIGTERM: the recipe passes it to `train()`, which saves a checkpoint
   * and stops; the recipe then returns {@link EXIT_INTERRUPTED} without its final outputs.
   */
  signal?: AbortSignal;
  /**
   * Run only shard `index` of `count` of the recipe's sharded stage ({@link Recipe.shardStage}, --shard i/N) and stop:
   * the shard's outputs are written atomically with their content hashes, and a finished shard is skipped.
   */
  shard?: { index: number; count: number };
  /**
   * Combine the shards of the sharded stage (`geolip-train merge`): they must be one complete set (a missing,
   * duplicate or foreign shard is an error), and the run stops after the stage that consumes them.
   */
  merge?: boolean;
}

/** Exit status of a run stopped by `--time-limit` or a signal after saving its checkpoint (continue with --resume). */
export const EXIT_INTERRUPTED = 75;

/** A training recipe runnable as `geolip-train run <name> --config file.json` (made by `defineRecipe`). */
export interface Recipe {
  /** The name after `geolip-train run`, e.g. `fmnist-vit`. */
  readonly name: string;
  /** One line for `geolip-train help` and the unknown-recipe error. */
  readonly description: string;
  /** The recipe's paragraph of `geolip-train help` (indented lines: config fields and outputs). */
  readonly help: string;
  /** The stage `--shard i/N` and `geolip-train merge` apply to (e.g. `'features'`); absent: the recipe has none. */
  readonly shardStage?: string;
  /** Validates `config` (parsed JSON), trains, writes under `options.out`; returns the exit code. */
  run(config: unknown, io: RecipeIo, options: RecipeRunOptions): Promise<number>;
}
