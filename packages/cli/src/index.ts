/**
 * @geolip/cli — the kit the GeoLIP command-line tools (`geolip-bench`, `geolip-train`) are built on.
 *
 * - commands: {@link defineCommand} with typed options and descriptions; `--help` for the program and for each
 *   command is written from them
 * - parsing: node:util `parseArgs`, strict (unknown flags, missing values, repeated single-valued flags and stray
 *   positionals are {@link UsageError}s, from `@geolip/geometry`'s error hierarchy)
 * - {@link runProgram}: dispatch, `--version` (set at build time: {@link versionOf}), one error line, exit statuses
 *   {@link EXIT} (0 ok, 1 error or usage error, 75 interrupted)
 * - option values: {@link positiveInt}, {@link integer}, {@link positiveNumber}, {@link oneOf}, {@link backendOption}
 * - {@link createProgress}: the one progress reporter (bar on a terminal, a line per 10% in logs)
 */
export { UsageError } from '@geolip/geometry';
export { defineCommand, EXIT } from './command.js';
export type {
  CliIo,
  Command,
  CommandContext,
  OptionSpec,
  OptionSpecs,
  OptionValue,
  OptionValues,
  ParsedCommand,
} from './command.js';
export { parseCommandLine } from './parse.js';
export { commandHelp, programHelp, HELP_OPTION, HELP_WIDTH } from './help.js';
export { runProgram, reportError, asUsage, PROCESS_IO } from './program.js';
export type { Program } from './program.js';
export { positiveInt, integer, positiveNumber, oneOf, backendOption, BACKEND_OPTION } from './values.js';
export { versionOf } from './version.js';
export { startBackend } from './backend.js';
export { createProgress, formatBar, formatDuration } from './progress.js';
export type { Progress, ProgressOptions, ProgressStream } from './progress.js';
