// Help text written from the command definitions: the program's (synopses + command list) and each command's
// (synopsis, description, one row per option).
import type { Command, OptionSpec, OptionSpecs } from './command.js';
import type { Program } from './program.js';

/** The option every command has. */
export const HELP_OPTION = { type: 'boolean', short: 'h', description: 'print this help and exit' } as const satisfies OptionSpec;

function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : ''}`;
  return spec.short !== undefined ? `-${spec.short}, ${long}` : `    ${long}`;
}

/** Two columns: labels padded to the widest, descriptions with their continuation lines under the first. */
function columns(rows: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows
    .map(([label, text]) => {
      const [first = '', ...rest] = text.split('\n');
      const pad = ' '.repeat(indent.length + width + 2);
      return [`${indent}${label.padEnd(width)}  ${first}`.trimEnd(), ...rest.map((line) => `${pad}${line}`.trimEnd())].join('\n');
    })
    .join('\n');
}

/**
 * The `--help` text of one command: `Usage: <program> <command> <synopsis>`, its description, and every option
 * (`--help` last) with its placeholder and description.
 *
 * @param program - the program's name (e.g. `'geolip-bench'`).
 * @param command - the command.
 * @returns the text, ending with a newline.
 */
export function commandHelp(program: string, command: Command<OptionSpecs>): string {
  const out = [`${program} ${command.name}: ${command.summary}`, '', `Usage: ${program} ${command.name} ${command.usage ?? '[options]'}`];
  if (command.description) out.push('', command.description.trimEnd());
  const rows = Object.entries({ ...command.options, help: HELP_OPTION }).map(([name, spec]) => [optionLabel(name, spec), spec.description] as const);
  out.push('', 'Options:', columns(rows));
  return `${out.join('\n')}\n`;
}

/**
 * The program's help text (`<program> --help`, `<program> help`): one synopsis line per command, the command list
 * with summaries, a pointer to each command's `--help`, and the program's epilogue.
 *
 * @param program - the program.
 * @returns the text, ending with a newline.
 */
export function programHelp(program: Program): string {
  const name = program.name;
  const out = [`${name}: ${program.summary}`, '', 'Usage:'];
  for (const c of program.commands) out.push(`  ${name} ${c.name} ${c.usage ?? '[options]'}`);
  out.push(`  ${name} help [command] | --help | --version`, '', 'Commands:');
  out.push(columns([...program.commands.map((c) => [c.name, c.summary] as const), ['help', 'print this help, or a command\'s']]));
  out.push('', `Run '${name} <command> --help' for the options of a command.`);
  if (program.epilogue) out.push('', program.epilogue.trimEnd());
  return `${out.join('\n')}\n`;
}
