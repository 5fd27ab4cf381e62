// Strict command-line parsing on node:util's parseArgs: unknown flags, missing values, values given to a boolean
// flag, repeated flags that are not `multiple` and unexpected positionals are all usage errors.
import { parseArgs } from 'node:util';

import { UsageError } from '@geolip/geometry';

import type { Command, OptionSpecs, OptionValues, ParsedCommand } from './command.js';

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/**
 * Parses `argv` (the words after the command name) against a command's options.
 *
 * parseArgs tokenizes (`--flag value`, `--flag=value`, `-h`, `--` ends the options); every token is then checked here
 * so the messages name the flag the way the user typed it. A value that starts with `--` is taken for a forgotten
 * value (`--out --raw`); a value starting with a single dash (`--seed -1`) is accepted.
 *
 * @param op - the usage errors' `op`, e.g. `'geolip-bench run'`.
 * @param command - the command whose `options` and `positionals` are allowed.
 * @param argv - the arguments after the command name.
 * @returns the typed values and the positionals.
 * @throws {UsageError} `unknown option --x`, `--x needs a value`, `--x takes no value`, `--x given 2 times`,
 *   `unexpected argument 'y'`, or too few positionals.
 * @example
 * ```ts
 * parseCommandLine('tool run', run, ['--out', 'r.json', 'extra']); // UsageError: unexpected argument 'extra'
 * ```
 */
export function parseCommandLine<O extends OptionSpecs>(
  op: string,
  command: Command<O>,
  argv: readonly string[],
): ParsedCommand<O> {
  const specs: ParseArgsOptions = {};
  for (const [name, spec] of Object.entries(command.options)) {
    specs[name] = {
      type: spec.type,
      ...(spec.short !== undefined ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  const { tokens } = parseArgs({
    args: [...argv],
    options: specs,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const help = `see '${op} --help'`;
  const values: Record<string, unknown> = {};
  const counts = new Map<string, number>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue; // the `--` terminator
    const spec = Object.hasOwn(command.options, token.name) ? command.options[token.name] : undefined;
    const flag = token.rawName;
    if (spec === undefined) throw new UsageError(op, `unknown option ${flag} (${help})`, { argument: flag });
    const count = (counts.get(token.name) ?? 0) + 1;
    counts.set(token.name, count);
    if (count > 1 && !spec.multiple)
      throw new UsageError(op, `${flag} given ${count} times (it takes one value)`, { argument: flag });
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(op, `${flag} takes no value`, { argument: flag });
      value = true;
    } else {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
        throw new UsageError(op, `${flag} needs a value${spec.value ? ` ${spec.value}` : ''}`, { argument: flag });
      }
      value = token.value;
    }
    if (spec.multiple) values[token.name] = [...((values[token.name] as unknown[] | undefined) ?? []), value];
    else values[token.name] = value;
  }
  const min = command.positionals?.min ?? 0;
  const max = command.positionals?.max ?? 0;
  if (positionals.length > max) throw new UsageError(op, `unexpected argument '${positionals[max]!}'`);
  if (positionals.length < min) {
    throw new UsageError(op, `needs ${command.positionals?.names ?? `${min} argument(s)`} (${help})`);
  }
  return { values: values as OptionValues<O>, positionals };
}
