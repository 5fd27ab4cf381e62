// Subcommand dispatch: help, version, one command's run, and the one place errors become a message and an exit status.
import { GeolipError, InvalidArgumentError, UsageError } from '@geolip/geometry';

import { EXIT, type CliIo, type Command, type CommandContext, type OptionSpecs } from './command.js';
import { commandHelp, programHelp } from './help.js';
import { parseCommandLine } from './parse.js';

/** A CLI: its name, version, commands and the text closing its help. */
export interface Program {
  /** The executable's name (`geolip-bench`), the prefix of every message. */
  name: string;
  /** One line after the name in the help. */
  summary: string;
  /** Printed by `--version` (set at build time: see {@link versionOf}). */
  version: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- commands differ in their option types
  commands: readonly Command<any>[];
  /**
   * Closing paragraphs of the program's help (exit statuses, environment variables); a function is called each time.
   */
  epilogue?: string | (() => string);
}

/** The default streams: the process's stdout and stderr. */
export const PROCESS_IO: CliIo = { stdout: process.stdout, stderr: process.stderr };

/**
 * Runs a program with `argv` (without the node and script paths) and returns its exit status; never throws.
 *
 * - no command: the program's help on stdout, status {@link EXIT.usage};
 * - `help`, `--help`, `-h`: the program's help, 0; `help <command>` or `<command> --help`: the command's help, 0;
 * - `--version`, `-v`: the version, 0;
 * - otherwise the command's options are parsed strictly ({@link parseCommandLine}) and its `run` called.
 *
 * `--help` or `-h` anywhere among a command's options prints that command's help, whatever else is wrong.
 *
 * Errors print one line, `<program>: error: <message>` (the stack too when `GEOLIP_DEBUG=1`): a {@link UsageError}
 * exits {@link EXIT.usage} (option checks such as `parseBackendName` throw one through {@link asUsage}), anything
 * else 1.
 *
 * @param program - the program.
 * @param argv - the command line.
 * @param io - where to write (default: the process's streams).
 * @returns the exit status ({@link EXIT}).
 */
export async function runProgram(program: Program, argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  const [name, ...rest] = argv;
  try {
    switch (name) {
      case undefined:
        io.stdout.write(programHelp(program));
        return EXIT.usage;
      case 'help':
      case '--help':
      case '-h': {
        const topic = rest[0];
        if (name === 'help' && topic !== undefined) {
          io.stdout.write(commandHelp(program.name, findCommand(program, topic)));
        } else io.stdout.write(programHelp(program));
        return EXIT.ok;
      }
      case '--version':
      case '-v':
        io.stdout.write(`${program.version}\n`);
        return EXIT.ok;
      default: {
        const command = findCommand(program, name);
        const op = `${program.name} ${command.name}`;
        // --help anywhere before a `--` wins over any other problem of the command line.
        const end = rest.indexOf('--');
        if ((end < 0 ? rest : rest.slice(0, end)).some((a) => a === '--help' || a === '-h')) {
          io.stdout.write(commandHelp(program.name, command));
          return EXIT.ok;
        }
        const args = parseCommandLine(op, command, rest);
        const ctx: CommandContext = {
          io,
          op,
          usage: (message, argument) => new UsageError(op, message, argument !== undefined ? { argument } : {}),
        };
        return await command.run(args, ctx);
      }
    }
  } catch (error) {
    return reportError(program.name, error, io);
  }
}

function findCommand(program: Program, name: string): Command<OptionSpecs> {
  const command = program.commands.find((c) => c.name === name);
  if (command === undefined) {
    const valid = [...program.commands.map((c) => c.name), 'help'].join(', ');
    throw new UsageError(program.name, `unknown command '${name}'; valid commands: ${valid}`, { argument: name });
  }
  return command as Command<OptionSpecs>;
}

/**
 * Writes `<program>: error: <first line of the message>` (plus the stack when `GEOLIP_DEBUG=1`) and returns the
 * exit status: {@link EXIT.usage} for a {@link UsageError}, {@link EXIT.error} otherwise.
 *
 * @param program - the program's name.
 * @param error - what was thrown.
 * @param io - where to write.
 * @returns 2 or 1.
 */
export function reportError(program: string, error: unknown, io: CliIo): number {
  const usage = error instanceof UsageError || (GeolipError.isInstance(error) && error.name === 'UsageError');
  const message = usage ? (error as UsageError).detail : error instanceof Error ? error.message : String(error);
  io.stderr.write(`${program}: error: ${message.split('\n')[0]}\n`);
  if (process.env.GEOLIP_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return usage ? EXIT.usage : EXIT.error;
}

/**
 * Runs `check(value)` (e.g. `parseBackendName`) on an option's value, turning the `InvalidArgumentError` it throws
 * into a {@link UsageError} of `ctx.op` with the same text, so a bad value exits like any usage error.
 *
 * @param ctx - the command's context.
 * @param check - the check; its error's message after `op: ` becomes the usage message.
 * @returns what `check` returns.
 * @throws {UsageError} when `check` throws an InvalidArgumentError; other errors pass through.
 * @example
 * ```ts
 * const backend =
 *   values.backend === undefined
 *     ? undefined
 *     : asUsage(ctx, () => parseBackendName(ctx.op, '--backend', values.backend));
 * ```
 */
export function asUsage<T>(ctx: Pick<CommandContext, 'op'>, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      const prefix = `${error.op}: `;
      const detail = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
      throw new UsageError(ctx.op, detail, { argument: error.argument, cause: error });
    }
    throw error;
  }
}
