// geolip-train: build consensus targets from expert features and run training recipes.
// `main` runs in-process (tests call it directly); bin/geolip-train.mjs calls it with process.argv.
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Matrix } from '@geolip/geometry';
import { BACKEND_NAMES, initBackend, type BackendName } from '@geolip/nn/backend';

import { buildConsensus, readExpertFeatures, runRecipe, saveConsensus, writeFileAtomic } from '@geolip/train';
import type { Recipe } from '@geolip/train';

import { RECIPES, getRecipe, recipeNames } from './registry.js';

export type { Recipe, RecipeIo, RecipeRunOptions } from '@geolip/train';
export { RECIPES };

export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

class UsageError extends Error {}

const COMMANDS = ['consensus', 'run', 'help'] as const;

/** A recipe's paragraph of the usage: the name in a 14-wide column (alone on its line when longer), help lines at 18. */
function recipeUsage(recipe: Recipe): string {
  const lines = recipe.help.split('\n');
  const head = recipe.name.length <= 12 ? `    ${recipe.name.padEnd(14)}${lines[0]!}` : `    ${recipe.name}\n${' '.repeat(18)}${lines[0]!}`;
  return [head, ...lines.slice(1).map((l) => `${' '.repeat(18)}${l}`)].join('\n');
}

/** The usage text, with the paragraphs of every registered recipe. */
const usage = (): string => `geolip-train: GeoLIP training tools

Usage:
  geolip-train consensus --expert <name=path> --expert <name=path> [--expert ...] --out <dir>
                         [--target-dim K] [--width W] [--iterations 5]
  geolip-train run <recipe> --config <file.json> [--out dir] [--resume] [--steps N] [--time-limit S]
                   [--backend name]
  geolip-train help | --version

consensus:
  Reads E >= 2 experts' features of the same N samples, builds the consensus (GPA -> PCA ->
  whitened Procrustes projectors -> normalized-centroid targets) and writes <dir>/consensus.safetensors
  and <dir>/diagnostics.json. A path is a .npy file (2-D <f4/<f8), a .safetensors file (tensor
  'embeddings' or its only tensor), or a directory or glob of geolip-bench embed shards
  (<out>.shard-i-of-N.safetensors, concatenated in shard order).
  --width       common GPA width W (default: the smallest expert width).
  --target-dim  consensus dimension K <= W (default: W).
  --iterations  GPA rounds (default 5).

run:
  Trains a recipe from a JSON config (paths in it are relative to the config file). Writes
  <out>/checkpoints, <out>/metrics.jsonl and the recipe's outputs. Recipes:
${recipeNames().map((name) => recipeUsage(RECIPES[name]!)).join('\n')}
  --out       output directory (default: <config without .json>.run next to the config).
  --resume    continue from <out>/checkpoints (the config must be unchanged).
  --steps     stop after N total steps (default: the config's steps; the LR schedule always spans
              the config's steps, so stopping early and resuming equals a straight run).
  --time-limit  stop training after S seconds (default: the config's "timeLimit", if any), save a
              checkpoint and exit with status 75; --resume continues. SIGINT/SIGTERM do the same (a
              second signal exits at once).
  --backend   tfjs backend (${BACKEND_NAMES.join(', ')}); default: initBackend's choice.

Exit status: 0 on success, 75 when --time-limit or a signal stopped a run after its checkpoint, 1 on any error (set GEOLIP_DEBUG=1 for a stack trace).
`;

interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

function parseArgs(argv: readonly string[], known: ReadonlySet<string>, booleans: ReadonlySet<string> = new Set()): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (booleans.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, [...(flags.get(name) ?? []), 'true']);
      continue;
    }
    if (!known.has(name)) throw new UsageError(`unknown option --${name} (see 'geolip-train help')`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

function single(a: ParsedArgs, name: string): string | undefined {
  const v = a.flags.get(name);
  if (v === undefined) return undefined;
  if (v.length > 1) throw new UsageError(`--${name} given ${v.length} times`);
  return v[0];
}

function positiveInt(a: ParsedArgs, name: string): number | undefined {
  const v = single(a, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
  return Number(v);
}

/** JSON with non-finite numbers written as null. */
function jsonStringify(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

const fmt = (x: number, digits = 4): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

async function consensusCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, new Set(['expert', 'out', 'target-dim', 'width', 'iterations']));
  if (args.positional.length > 0) throw new UsageError(`consensus: unexpected argument '${args.positional[0]!}'`);
  const specs = args.flags.get('expert') ?? [];
  if (specs.length < 2) throw new UsageError(`consensus needs at least 2 --expert name=path, got ${specs.length}`);
  const out = single(args, 'out');
  if (out === undefined) throw new UsageError('consensus needs --out <dir>');
  const width = positiveInt(args, 'width');
  const targetDim = positiveInt(args, 'target-dim');
  const iterations = positiveInt(args, 'iterations');

  const experts: { name: string; path: string }[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? spec.slice(0, eq) : '';
    const path = eq > 0 ? spec.slice(eq + 1) : '';
    if (name === '' || path === '') throw new UsageError(`--expert must be name=path, got '${spec}'`);
    if (experts.some((e) => e.name === name)) throw new UsageError(`expert name '${name}' given twice`);
    experts.push({ name, path });
  }

  const features: Matrix[] = [];
  for (const e of experts) {
    const m = await readExpertFeatures(resolve(e.path));
    if (features.length > 0 && m.rows !== features[0]!.rows) {
      throw new UsageError(`expert '${e.name}' has N=${m.rows} samples, expert '${experts[0]!.name}' has N=${features[0]!.rows}; row i of every expert must be sample i`);
    }
    features.push(m);
  }

  const minDim = Math.min(...features.map((f) => f.cols));
  if (width !== undefined && width > minDim) throw new UsageError(`--width ${width} exceeds the smallest expert width ${minDim}`);
  const w = width ?? minDim;
  if (targetDim !== undefined && targetDim > w) throw new UsageError(`--target-dim ${targetDim} exceeds the width ${w}`);

  const started = Date.now();
  const result = buildConsensus(
    experts.map((e, i) => ({ name: e.name, features: features[i]! })),
    { ...(width !== undefined ? { width } : {}), ...(targetDim !== undefined ? { targetDim } : {}), ...(iterations !== undefined ? { iterations } : {}) },
  );
  const seconds = (Date.now() - started) / 1000;

  const outDir = resolve(out);
  const d = result.diagnostics;
  await writeFileAtomic(join(outDir, 'consensus.safetensors'), saveConsensus(result));
  await writeFileAtomic(
    join(outDir, 'diagnostics.json'),
    jsonStringify({
      tool: `geolip-train ${ownVersion()}`,
      createdAt: new Date().toISOString(),
      samples: result.targets.rows,
      experts: experts.map((e, i) => ({ name: e.name, path: resolve(e.path), dim: features[i]!.cols, cosineToConsensus: d.cosineToConsensus[i] })),
      config: result.config,
      diagnostics: d,
      seconds,
    }),
  );

  io.stdout.write(`consensus of ${experts.length} experts on N=${result.targets.rows} samples (W=${result.config.width}, K=${result.config.targetDim})\n\n`);
  io.stdout.write(table(['expert', 'D_e', 'cos to consensus'], experts.map((e, i) => [e.name, String(features[i]!.cols), fmt(d.cosineToConsensus[i]!)])));
  io.stdout.write(`\nequidistance   ${fmt(d.equidistance)}\nconsensus CV   ${fmt(d.consensusCV)}\n`);
  io.stdout.write(`wrote ${join(outDir, 'consensus.safetensors')} and ${join(outDir, 'diagnostics.json')}\n`);
  return 0;
}

async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, new Set(['config', 'out', 'steps', 'backend', 'time-limit']), new Set(['resume']));
  const valid = recipeNames().join(', ');
  if (args.positional.length === 0) throw new UsageError(`run needs a recipe; valid recipes: ${valid}`);
  if (args.positional.length > 1) throw new UsageError(`run: unexpected argument '${args.positional[1]!}'`);
  const name = args.positional[0]!;
  const recipe = getRecipe(name);
  if (recipe === undefined) throw new UsageError(`unknown recipe '${name}'; valid recipes: ${valid}`);
  const config = single(args, 'config');
  if (config === undefined) throw new UsageError('run needs --config <file.json>');
  const steps = positiveInt(args, 'steps');
  const timeLimitArg = single(args, 'time-limit');
  const timeLimit = timeLimitArg === undefined ? undefined : Number(timeLimitArg);
  if (timeLimit !== undefined && !(Number.isFinite(timeLimit) && timeLimit > 0)) throw new UsageError(`--time-limit must be a positive number of seconds, got '${timeLimitArg!}'`);
  const resume = args.flags.has('resume');
  if ((args.flags.get('resume')?.length ?? 0) > 1) throw new UsageError('--resume given twice');
  const backend = single(args, 'backend');
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got '${backend}'`);
  }

  const configPath = resolve(config);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config ${configPath} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config ${configPath} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const outArg = single(args, 'out');
  const out = outArg !== undefined ? resolve(outArg) : join(dirname(configPath), `${basename(configPath).replace(/\.json$/i, '')}.run`);

  await initBackend({
    ...(backend !== undefined ? { prefer: [backend as BackendName] } : {}),
    log: (m) => {
      if (process.env.GEOLIP_DEBUG === '1') io.stderr.write(`${m}\n`);
    },
  });
  return runRecipe(recipe, parsed, io, { configPath, out, resume, ...(steps !== undefined ? { steps } : {}), ...(timeLimit !== undefined ? { timeLimit } : {}) });
}

function ownVersion(): string {
  // Set by tsup from package.json (so a bundle of the CLI, e.g. tools/device/pack.mjs's, knows it too).
  if (typeof __GEOLIP_TRAIN_VERSION__ === 'string') return __GEOLIP_TRAIN_VERSION__;
  const candidates: string[] = [];
  try {
    const url = import.meta.url as string | undefined;
    if (typeof url === 'string') candidates.push(fileURLToPath(new URL('../package.json', url)));
  } catch {
    // CJS build: no import.meta
  }
  if (typeof __dirname === 'string') candidates.push(join(__dirname, '..', 'package.json'));
  for (const file of candidates) {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      // try the next
    }
  }
  return 'unknown';
}
declare const __dirname: string | undefined;
declare const __GEOLIP_TRAIN_VERSION__: string | undefined;

/** Runs the CLI with `argv` (without node and the script). Returns the exit code; never throws. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'consensus':
        return await consensusCommand(rest, io);
      case 'run':
        return await runCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(usage());
        return command === undefined ? 1 : 0;
      case '--version':
      case '-v':
        io.stdout.write(`${ownVersion()}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'; valid commands: ${COMMANDS.join(', ')}`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`geolip-train: error: ${message.split('\n')[0]}\n`);
    if (process.env.GEOLIP_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
