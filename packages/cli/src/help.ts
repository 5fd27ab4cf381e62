// Help text written from the command definitions: the program's (synopses + command list) and each command's
// (synopsis, description, one row per option).
import type { Command, OptionSpec, OptionSpecs } from './command.js';
import type { Program } from './program.js';

/** The option every command has. */
export const HELP_OPTION = {
  type: 'boolean',
  short: 'h',
  description: 'print this help and exit',
} as const satisfies OptionSpec;

function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : ''}`;
  return spec.short !== undefined ? `-${spec.short}, ${long}` : `    ${long}`;
}

/** Help lines are wrapped to this many columns (descriptions; a `\n` in a description is a hard break). */
export const HELP_WIDTH = 100;

/** Greedy word wrap of one paragraph to `width` columns (a word longer than that gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/**
 * A command's description or a program's epilogue: runs of unindented lines are paragraphs, re-wrapped to
 * {@link HELP_WIDTH}; indented lines (lists, tables) and blank lines are kept as written.
 */
function prose(text: string): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length > 0) out.push(...wrap(paragraph.join(' '), HELP_WIDTH));
    paragraph = [];
  };
  for (const line of text.trimEnd().split('\n')) {
    if (line.trim() === '' || /^\s/.test(line)) {
      flush();
      out.push(line.trimEnd());
    } else paragraph.push(line.trim());
  }
  flush();
  return out.join('\n');
}

/** Two columns: labels padded to the widest, descriptions wrapped to {@link HELP_WIDTH} under their first line. */
function columns(rows: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  const pad = ' '.repeat(indent.length + width + 2);
  const textWidth = Math.max(40, HELP_WIDTH - pad.length);
  return rows
    .map(([label, text]) => {
      const [first = '', ...rest] = text.split('\n').flatMap((paragraph) => wrap(paragraph, textWidth));
      return [
        `${indent}${label.padEnd(width)}  ${first}`.trimEnd(),
        ...rest.map((line) => `${pad}${line}`.trimEnd()),
      ].join('\n');
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
  const out = [
    `${program} ${command.name}: ${command.summary}`,
    '',
    `Usage: ${program} ${command.name} ${command.usage ?? '[options]'}`,
  ];
  const description = typeof command.description === 'function' ? command.description() : command.description;
  if (description) out.push('', prose(description));
  const rows = Object.entries({ ...command.options, help: HELP_OPTION }).map(
    ([name, spec]) => [optionLabel(name, spec), spec.description] as const,
  );
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
  out.push(
    columns([
      ...program.commands.map((c) => [c.name, c.summary] as const),
      ['help', "print this help, or a command's"],
    ]),
  );
  out.push('', `Run '${name} <command> --help' for the options of a command.`);
  const epilogue = typeof program.epilogue === 'function' ? program.epilogue() : program.epilogue;
  if (epilogue) out.push('', prose(epilogue));
  return `${out.join('\n')}\n`;
}
