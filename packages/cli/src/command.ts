// Command and option definitions: the one description a command gives of itself, from which the parser checks the
// command line and the help text is written.
import type { UsageError } from '@geolip/geometry';

/** One `--flag` of a command. */
export interface OptionSpec {
  /** `'string'` takes a value (`--out x` or `--out=x`); `'boolean'` takes none (`--raw`). */
  type: 'string' | 'boolean';
  /** One or more lines for `--help` (a `\n` starts a new, indented line). */
  description: string;
  /** The value's placeholder in `--help`, e.g. `'<dir>'`. Default `'<value>'`. String options only. */
  value?: string;
  /** May be given several times (the values come as an array). Without it a repeated flag is a usage error. */
  multiple?: boolean;
  /** A one-letter alias (`-h`). */
  short?: string;
}

/** The options of a command, by long name (without `--`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed value of one option: a string or `true`, an array of them for `multiple`; absent when not given. */
export type OptionValue<S extends OptionSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string;

/** Parsed option values, typed from the specs; an option that was not given is `undefined`. */
export type OptionValues<O extends OptionSpecs> = { -readonly [K in keyof O]?: OptionValue<O[K]> };

/** Where a command writes: `stdout` for results, `stderr` for progress, notes and errors. */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
}

/** What a command's `run` receives besides its parsed arguments. */
export interface CommandContext {
  io: CliIo;
  /** `'<program> <command>'`, the `op` of the usage errors this command throws (e.g. `'geolip-bench run'`). */
  op: string;
  /** A {@link UsageError} of this command (`throw ctx.usage('…', '--flag')`). */
  usage(message: string, argument?: string): UsageError;
}

/** The parsed command line of one command. */
export interface ParsedCommand<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
}

/** A subcommand: its options, positionals and help text, and what it runs. */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  /** The word after the program name (`run`). */
  name: string;
  /** One line for the program's command list. */
  summary: string;
  /** The synopsis after `<program> <name>`, e.g. `'<recipe> --config <file.json> [options]'`. Default `'[options]'`. */
  usage?: string;
  /**
   * Paragraphs printed by `<program> <name> --help` between the synopsis and the options; a function is called each
   * time the help is printed (for lists that grow at run time, like registered recipes).
   */
  description?: string | (() => string);
  options: O;
  /** Positional arguments: how many are allowed (default none) and their names for the help text. */
  positionals?: { min?: number; max?: number; names?: string };
  /** Runs the command; returns the exit status ({@link EXIT}). */
  run(args: ParsedCommand<O>, ctx: CommandContext): Promise<number>;
}

/**
 * Defines a command, keeping the option specs' literal types so `run` sees typed values
 * (`args.values.out` is `string | undefined`, `args.values.raw` is `boolean | undefined`).
 *
 * @example
 * ```ts
 * const hello = defineCommand({
 *   name: 'hello',
 *   summary: 'greet someone',
 *   options: { name: { type: 'string', value: '<who>', description: 'whom to greet' } },
 *   async run({ values }, { io }) {
 *     io.stdout.write(`hello ${values.name ?? 'world'}\n`);
 *     return EXIT.ok;
 *   },
 * });
 * ```
 */
export function defineCommand<const O extends OptionSpecs>(command: Command<O>): Command<O> {
  return command;
}

/** Exit statuses of every GeoLIP CLI. */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** An error while running (a missing file, a bad model, a failed computation). */
  error: 1,
  /** A wrong command line ({@link UsageError}): unknown flag or command, missing or malformed value. 1, as both CLIs
   * have always exited on one (the message, not the status, tells it from other errors). */
  usage: 1,
  /** Stopped by `--time-limit` or a signal after saving a checkpoint; rerun with `--resume` (BSD's EX_TEMPFAIL). */
  interrupted: 75,
} as const;
