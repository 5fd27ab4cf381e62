// The Task interface of `geolip-bench run`: one file per evaluation task (stsb.ts, sick.ts, mrpc.ts, coco.ts),
// listed in tasks/index.ts. A new task is one more file and one more entry there.
import type { CliIo, Progress, UsageError } from '@geolip/cli';

import type { Embedder } from '../embedder.js';
import type { PairTaskResult } from '../evaluate.js';

/** The `run` options a task sees (already checked by the command). */
export interface TaskOptions {
  /** `dev` or `test`. */
  split: 'dev' | 'test';
  /** The data directory: `--data`, or the data embedded in the package. */
  dataDir: string;
  /** Whether `--data` was given (only the STS-B dev split is embedded). */
  dataGiven: boolean;
  /** `--drop-malformed`. */
  dropMalformed: boolean;
  /** `--batch-size`. */
  batchSize: number;
  /** `--coco` (absolute), if given. */
  coco?: string;
  /** `--image-model` (default `pixels`). */
  imageModel: string;
  /** `--retrieval`. */
  retrieval: boolean;
  /** A usage error of the `run` command. */
  usage(message: string): UsageError;
}

/** What a task's `evaluate` gets besides its data. */
export interface TaskEnv {
  /** The `--model` text embedder, when {@link Task.usesTextModel} said so. */
  textModel?: Embedder;
  io: CliIo;
  /** Starts a progress report on stderr (the CLI's one reporter). */
  progress(label: string, unit: string): Progress;
}

/** What a task reports. */
export interface TaskOutcome {
  /** A sentence-pair result: one row of the pair table, one scatter plot, one entry of the JSON report's `results`. */
  pair?: PairTaskResult;
  /** Markdown printed after the pair table (e.g. COCO's tables). */
  markdown?: string;
  /** Entries merged into the JSON report's `settings`. */
  settings?: Record<string, unknown>;
}

/**
 * One evaluation task of `geolip-bench run --tasks <name>`.
 *
 * `run` calls `load` for every task first (so a missing file or a wrong option stops the run before any model is
 * loaded), then loads the `--model` embedder once if any task {@link Task.usesTextModel}, then `evaluate`s the tasks
 * in the order given.
 */
export interface Task<Data = unknown> {
  /** The `--tasks` name (`stsb`). */
  name: string;
  /** One line for `geolip-bench run --help`. */
  description: string;
  /** Whether `evaluate` needs the `--model` text embedder. */
  usesTextModel(options: TaskOptions): boolean;
  /** Checks the options that concern this task and reads its data. @throws {UsageError} for a wrong option. */
  load(options: TaskOptions): Promise<Data>;
  /** Evaluates and reports. */
  evaluate(data: Data, options: TaskOptions, env: TaskEnv): Promise<TaskOutcome>;
}
