// One way to run every recipe: config validation, the run directory (checkpoints, metrics, --resume), result.json,
// and the interrupted exit (75) after --time-limit or a signal.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import type { TrainOptions, TrainSummary } from '../loop/train.js';
import { RecipeConfigError, isObject, show } from './config.js';
import { EXIT_INTERRUPTED, type Recipe, type RecipeIo, type RecipeRunOptions } from './types.js';
import { writeFileAtomic } from '@geolip/io/node';

/** What a recipe declares: its name, help, config parser and the run on a validated config. */
export interface RecipeDefinition<C> {
  /** The name after `geolip-train run`. */
  name: string;
  /** One line for help and the unknown-recipe error. */
  description: string;
  /** The recipe's paragraph of `geolip-train help` (see {@link Recipe.help}). */
  help: string;
  /** The stage that `--shard i/N` and `geolip-train merge` apply to (see {@link Recipe.shardStage}). */
  shardStage?: string;
  /** Validates the parsed config JSON (relative paths against `configDir`); throws `RecipeConfigError`. */
  parse(raw: unknown, configDir: string): C;
  /** Trains on the validated config; returns the exit code (0, or {@link EXIT_INTERRUPTED} via `run.interrupted`). */
  run(config: C, run: RecipeRun): Promise<number>;
}

/** A recipe made by {@link defineRecipe}: a {@link Recipe} that also exposes its config parser. */
export interface DefinedRecipe<C> extends Recipe {
  parse(raw: unknown, configDir: string): C;
}

/** Makes a {@link Recipe} from its definition: `run` parses the config, then runs it with a {@link RecipeRun}. */
export function defineRecipe<C>(definition: RecipeDefinition<C>): DefinedRecipe<C> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new RecipeConfigError(
      'defineRecipe',
      `'name' must be lower-case letters, digits and dashes, got ${show(definition.name)}`,
    );
  }
  return {
    name: definition.name,
    description: definition.description,
    help: definition.help,
    ...(definition.shardStage !== undefined ? { shardStage: definition.shardStage } : {}),
    parse: definition.parse,
    async run(config: unknown, io: RecipeIo, options: RecipeRunOptions): Promise<number> {
      if ((options.shard !== undefined || options.merge === true) && definition.shardStage === undefined)
        throw new RecipeConfigError(definition.name, 'has no sharded stage: --shard and merge do not apply');
      const cfg = definition.parse(config, dirname(options.configPath));
      return definition.run(cfg, new RecipeRun(definition.name, io, options));
    },
  };
}

/** One stage's run directory: where `train()` checkpoints and logs. */
export interface StageFiles {
  /** Checkpoint directory (`<out>/checkpoints`, or `<out>/checkpoints/<stage>`). */
  ckDir: string;
  /** Metrics JSON lines (`<out>/metrics.jsonl`, or `<out>/<stage>-metrics.jsonl`). */
  metricsFile: string;
}

/**
 * The run of one recipe: its output directory, the checkpoint/metrics files and resume rules shared by every recipe,
 * the `train()` options that follow from them, result.json, and the interrupted exit.
 */
export class RecipeRun {
  /** `<out>/checkpoints` (the checkpoint root; stages use sub-directories). */
  readonly ckDir: string;
  /** `<out>/metrics.jsonl`. */
  readonly metricsFile: string;

  constructor(
    readonly name: string,
    readonly io: RecipeIo,
    readonly options: RecipeRunOptions,
  ) {
    this.ckDir = join(options.out, 'checkpoints');
    this.metricsFile = join(options.out, 'metrics.jsonl');
  }

  /** The absolute output directory. */
  get out(): string {
    return this.options.out;
  }

  /** Writes one line (a newline is added) to stdout. */
  say(line: string): void {
    this.io.stdout.write(`${line}\n`);
  }

  /** A {@link RecipeConfigError} `<recipe>: <message>` about an input or the run directory. */
  error(message: string, path?: string): RecipeConfigError {
    return new RecipeConfigError(this.name, message, path === undefined ? {} : { path });
  }

  /**
   * The files of a training stage (no name: the recipe's single stage). Without --resume, refuses an output
   * directory that already holds a checkpoint of it and empties its metrics file; with --resume, refuses a directory
   * without one unless `requireCheckpoint` is false (a multi-stage recipe whose stage may not have started yet).
   */
  async stage(stage?: string, { requireCheckpoint = true } = {}): Promise<StageFiles> {
    const files: StageFiles =
      stage === undefined
        ? { ckDir: this.ckDir, metricsFile: this.metricsFile }
        : { ckDir: join(this.ckDir, stage), metricsFile: join(this.out, `${stage}-metrics.jsonl`) };
    const has = this.hasCheckpoint(files.ckDir);
    if (this.options.resume && requireCheckpoint && !has)
      throw this.error(`--resume but ${files.ckDir} holds no checkpoint`);
    if (!this.options.resume && has)
      throw this.error(`${files.ckDir} already holds a checkpoint; pass --resume or another --out`);
    if (!this.options.resume) await rm(files.metricsFile, { force: true });
    return files;
  }

  /** True when `dir` holds a checkpoint (`latest.json`). */
  hasCheckpoint(dir = this.ckDir): boolean {
    return existsSync(join(dir, 'latest.json'));
  }

  /**
   * The `train()` options every recipe sets the same way: checkpoints in `files.ckDir` every `every` steps (keeping
   * `keep`; compact with --compact-checkpoints), resume from it on --resume (when it holds one; a compact one re-warms
   * over --rewarm-steps), metrics to `files.metricsFile`, the abort signal.
   */
  trainOptions(
    files: StageFiles,
    every: number,
    keep?: number,
  ): Pick<TrainOptions<unknown>, 'checkpoint' | 'resumeFrom' | 'rewarmSteps' | 'metricsFile' | 'signal'> {
    const { compactCheckpoints, rewarmSteps } = this.options;
    return {
      checkpoint: {
        dir: files.ckDir,
        every,
        ...(keep !== undefined ? { keep } : {}),
        ...(compactCheckpoints ? { compact: true } : {}),
      },
      ...(this.options.resume && this.hasCheckpoint(files.ckDir) ? { resumeFrom: files.ckDir } : {}),
      ...(rewarmSteps !== undefined ? { rewarmSteps } : {}),
      metricsFile: files.metricsFile,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    };
  }

  /**
   * After a `train()` that was aborted: says where it stopped (`<recipe>: stopped [in the <stage> stage] at step s of
   * total; checkpoint …`) and returns {@link EXIT_INTERRUPTED}.
   */
  interrupted(
    summary: TrainSummary,
    total: number,
    { stage, newline = false }: { stage?: string; newline?: boolean } = {},
  ): number {
    const where = stage === undefined ? '' : ` in the ${stage} stage`;
    this.io.stdout.write(
      `${newline ? '\n' : ''}${this.name}: stopped${where} at step ${summary.step} of ${total}; ` +
        `checkpoint ${summary.lastCheckpoint ?? '(none)'}\n`,
    );
    return EXIT_INTERRUPTED;
  }

  /** Writes `<out>/result.json` (indented, non-finite numbers as null) atomically; returns its path. */
  async writeResult(result: unknown): Promise<string> {
    const file = join(this.out, 'result.json');
    await writeFileAtomic(file, resultJson(result));
    return file;
  }
}

/** JSON of a run's result: indented by 2, non-finite numbers written as null, a final newline. */
export function resultJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** Options of {@link runRecipe}: those of {@link RecipeRunOptions} without the signal, plus the time limit. */
export interface RunRecipeOptions extends Omit<RecipeRunOptions, 'signal'> {
  /** Stop after this many seconds (checkpoint, exit 75); overrides the config's `timeLimit`. */
  timeLimit?: number;
  /** Listen for SIGINT/SIGTERM (default true): the first stops after the step with a checkpoint, a second exits 130. */
  signals?: boolean;
}

/**
 * Runs `recipe` on a parsed config the same way for every recipe: reads and removes the config's own `timeLimit`
 * (seconds; the `timeLimit` option wins), arms the time limit and SIGINT/SIGTERM on one abort signal, runs, and after
 * an interrupted run says how to continue. Returns the recipe's exit code ({@link EXIT_INTERRUPTED} when stopped).
 * Throws `RecipeConfigError` for an invalid `timeLimit`.
 */
export async function runRecipe(
  recipe: Recipe,
  rawConfig: unknown,
  io: RecipeIo,
  options: RunRecipeOptions,
): Promise<number> {
  let config = rawConfig;
  let timeLimit = options.timeLimit;
  if (isObject(rawConfig) && rawConfig.timeLimit !== undefined) {
    const { timeLimit: fromConfig, ...rest } = rawConfig;
    if (typeof fromConfig !== 'number' || !(Number.isFinite(fromConfig) && fromConfig > 0)) {
      throw new RecipeConfigError(
        `${recipe.name} config`,
        `'timeLimit' must be a positive number of seconds, got ${show(fromConfig)}`,
        { path: 'timeLimit' },
      );
    }
    config = rest;
    timeLimit ??= fromConfig;
  }
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    io.stderr.write(`\n${name}: stopping after this step and saving a checkpoint (again to exit at once)\n`);
    controller.abort(name);
  };
  const timer =
    timeLimit === undefined ? undefined : setTimeout(() => controller.abort('time-limit'), timeLimit * 1000);
  timer?.unref();
  const listen = options.signals ?? true;
  if (listen) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const { timeLimit: _t, signals: _s, ...runOptions } = options;
    const code = await recipe.run(config, io, { ...runOptions, signal: controller.signal });
    if (controller.signal.aborted && code === EXIT_INTERRUPTED) {
      io.stderr.write(`stopped (${String(controller.signal.reason)}); continue with the same command plus --resume\n`);
    }
    return code;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (listen) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
