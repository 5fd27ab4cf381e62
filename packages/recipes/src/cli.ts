// geolip-train: build consensus targets from expert features and run training recipes. Built on @geolip/cli (the kit
// geolip-bench uses too). `main` runs in-process (tests call it directly); bin/geolip-train.mjs calls it with
// process.argv.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import {
  BACKEND_OPTION,
  EXIT,
  PROCESS_IO,
  backendOption,
  defineCommand,
  positiveInt,
  positiveNumber,
  runProgram,
  startBackend,
  versionOf,
  type CliIo,
  type CommandContext,
  type Program,
} from '@geolip/cli';
import type { Matrix } from '@geolip/geometry';
import { initBackend } from '@geolip/nn/backend';
import { queueCommands } from '@geolip/queue';

import {
  COMPACT_SHARD_BYTES,
  buildConsensus,
  compactCheckpoint,
  readExpertFeatures,
  runRecipe,
  saveConsensus,
} from '@geolip/train';
import { parseShardSpec, writeFileAtomic, type ShardSpec } from '@geolip/io/node';
import type { Recipe } from '@geolip/train';

import { RECIPES, getRecipe, recipeNames } from './registry.js';

export type { Recipe, RecipeIo, RecipeRunOptions } from '@geolip/train';
export { RECIPES };
export type { CliIo } from '@geolip/cli';

/**
 * A recipe's paragraph of the usage: the name in a 14-wide column (alone on its line when longer), help lines
 * at 18.
 */
function recipeUsage(recipe: Recipe): string {
  const lines = recipe.help.split('\n');
  const head =
    recipe.name.length <= 12
      ? `    ${recipe.name.padEnd(14)}${lines[0]!}`
      : `    ${recipe.name}\n${' '.repeat(18)}${lines[0]!}`;
  return [head, ...lines.slice(1).map((l) => `${' '.repeat(18)}${l}`)].join('\n');
}

/** The paragraphs of every registered recipe (computed when the help is printed: model families register more). */
const recipeHelp = (): string =>
  recipeNames()
    .map((name) => recipeUsage(RECIPES[name]!))
    .join('\n');

/** JSON with non-finite numbers written as null. */
function jsonStringify(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

const fmt = (x: number, digits = 4): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

const consensusCommand = defineCommand({
  name: 'consensus',
  summary: "build consensus targets from two or more experts' features of the same samples",
  usage: '--expert <name=path> --expert <name=path> [--expert ...] --out <dir> [options]',
  description: `Reads E >= 2 experts' features of the same N samples, builds the consensus (GPA -> PCA ->
whitened Procrustes projectors -> normalized-centroid targets) and writes <dir>/consensus.safetensors
and <dir>/diagnostics.json. A path is a .npy file (2-D <f4/<f8), a .safetensors file (tensor
'embeddings' or its only tensor), or a directory or glob of geolip-bench embed shards
(<out>.shard-i-of-N.safetensors, concatenated in shard order).`,
  options: {
    expert: {
      type: 'string',
      multiple: true,
      value: '<name=path>',
      description: "an expert's name and features file (at least two; repeat the flag).",
    },
    out: { type: 'string', value: '<dir>', description: 'output directory (required).' },
    width: { type: 'string', value: '<W>', description: 'common GPA width W (default: the smallest expert width).' },
    'target-dim': { type: 'string', value: '<K>', description: 'consensus dimension K <= W (default: W).' },
    iterations: { type: 'string', value: '<n>', description: 'GPA rounds (default 5).' },
  },
  async run({ values }, ctx) {
    const specs = values.expert ?? [];
    if (specs.length < 2)
      throw ctx.usage(`consensus needs at least 2 --expert name=path, got ${specs.length}`, '--expert');
    const out = values.out;
    if (out === undefined) throw ctx.usage('consensus needs --out <dir>', '--out');
    const width = positiveInt(ctx, '--width', values.width);
    const targetDim = positiveInt(ctx, '--target-dim', values['target-dim']);
    const iterations = positiveInt(ctx, '--iterations', values.iterations);
    return consensus(ctx, { specs, out, width, targetDim, iterations });
  },
});

/** The work of `geolip-train consensus` once its options are checked. */
async function consensus(
  ctx: CommandContext,
  args: {
    specs: readonly string[];
    out: string;
    width?: number | undefined;
    targetDim?: number | undefined;
    iterations?: number | undefined;
  },
): Promise<number> {
  const { io, usage } = ctx;
  const { specs, out, width, targetDim, iterations } = args;
  const experts: { name: string; path: string }[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? spec.slice(0, eq) : '';
    const path = eq > 0 ? spec.slice(eq + 1) : '';
    if (name === '' || path === '') throw usage(`--expert must be name=path, got '${spec}'`, '--expert');
    if (experts.some((e) => e.name === name)) throw usage(`expert name '${name}' given twice`, '--expert');
    experts.push({ name, path });
  }

  const features: Matrix[] = [];
  for (const e of experts) {
    const m = await readExpertFeatures(resolve(e.path));
    if (features.length > 0 && m.rows !== features[0]!.rows) {
      throw usage(
        `expert '${e.name}' has N=${m.rows} samples, expert '${experts[0]!.name}' has N=${features[0]!.rows}; ` +
          'row i of every expert must be sample i',
      );
    }
    features.push(m);
  }

  const minDim = Math.min(...features.map((f) => f.cols));
  if (width !== undefined && width > minDim)
    throw usage(`--width ${width} exceeds the smallest expert width ${minDim}`, '--width');
  const w = width ?? minDim;
  if (targetDim !== undefined && targetDim > w)
    throw usage(`--target-dim ${targetDim} exceeds the width ${w}`, '--target-dim');

  const started = Date.now();
  const result = buildConsensus(
    experts.map((e, i) => ({ name: e.name, features: features[i]! })),
    {
      ...(width !== undefined ? { width } : {}),
      ...(targetDim !== undefined ? { targetDim } : {}),
      ...(iterations !== undefined ? { iterations } : {}),
    },
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
      experts: experts.map((e, i) => ({
        name: e.name,
        path: resolve(e.path),
        dim: features[i]!.cols,
        cosineToConsensus: d.cosineToConsensus[i],
      })),
      config: result.config,
      diagnostics: d,
      seconds,
    }),
  );

  io.stdout.write(
    `consensus of ${experts.length} experts on N=${result.targets.rows} samples ` +
      `(W=${result.config.width}, K=${result.config.targetDim})\n\n`,
  );
  io.stdout.write(
    table(
      ['expert', 'D_e', 'cos to consensus'],
      experts.map((e, i) => [e.name, String(features[i]!.cols), fmt(d.cosineToConsensus[i]!)]),
    ),
  );
  io.stdout.write(`\nequidistance   ${fmt(d.equidistance)}\nconsensus CV   ${fmt(d.consensusCV)}\n`);
  io.stdout.write(`wrote ${join(outDir, 'consensus.safetensors')} and ${join(outDir, 'diagnostics.json')}\n`);
  return EXIT.ok;
}

const runCommand = defineCommand({
  name: 'run',
  summary: 'train a recipe from a JSON config',
  usage: '<recipe> --config <file.json> [--out <dir>] [--resume] [options]',
  positionals: { max: 1, names: '<recipe>' },
  description: () => `Trains a recipe from a JSON config (paths in it are relative to the config file). Writes
<out>/checkpoints, <out>/metrics.jsonl and the recipe's outputs. Recipes:
${recipeHelp()}`,
  options: {
    config: { type: 'string', value: '<file.json>', description: "the recipe's config (required)." },
    out: {
      type: 'string',
      value: '<dir>',
      description: 'output directory (default: <config without .json>.run next to the config).',
    },
    resume: { type: 'boolean', description: 'continue from <out>/checkpoints (the config must be unchanged).' },
    steps: {
      type: 'string',
      value: '<N>',
      description:
        "stop after N total steps (default: the config's steps; the LR schedule always spans the config's steps, " +
        'so stopping early and resuming equals a straight run).',
    },
    'time-limit': {
      type: 'string',
      value: '<S>',
      description:
        `stop training after S seconds (default: the config's "timeLimit", if any), save a checkpoint and exit ` +
        `with status ${EXIT.interrupted}; --resume continues. SIGINT/SIGTERM do the same ` +
        '(a second signal exits at once).',
    },
    'compact-checkpoints': {
      type: 'boolean',
      description:
        'write compact checkpoints: F16 weights, no optimizer state (about 2 bytes per parameter instead of 12); ' +
        'resuming one re-warms instead of continuing exactly. Default: full checkpoints (convert one later with ' +
        "'geolip-train compact-checkpoint').",
    },
    'rewarm-steps': {
      type: 'string',
      value: '<R>',
      description:
        'after --resume from a compact checkpoint: AdamW starts fresh and the learning rate is multiplied by ' +
        '1/R, 2/R, ... 1 over the first R steps (default 100; 0 for none). A full checkpoint resumes exactly.',
    },
    shard: {
      type: 'string',
      value: '<i/N>',
      description:
        "run only the i-th of N slices of the recipe's sharded stage (text-consensus: the expert features) and " +
        "stop; a finished shard is skipped. Combine the N shards with 'geolip-train merge'.",
    },
    backend: BACKEND_OPTION,
  },
  async run({ values, positionals }, ctx) {
    const shard = values.shard === undefined ? undefined : parseShard(ctx, values.shard);
    return runFromCli(ctx, positionals, values, shard === undefined ? {} : { shard });
  },
});

const mergeCommand = defineCommand({
  name: 'merge',
  summary: "combine the shards of 'geolip-train run <recipe> --shard i/N' (text-consensus: features -> consensus)",
  usage: '<recipe> --config <file.json> [--out <dir>]',
  positionals: { max: 1, names: '<recipe>' },
  description: `Reads the shards of the recipe's sharded stage under <out> as one complete set (the same corpus,
experts and settings, each i of N once: a missing, duplicate or foreign shard is an error, never a
silent drop), concatenates them in order and runs the stage that consumes them, then stops.
text-consensus: the expert features of <out>/features/shard.shard-i-of-N.json -> <out>/consensus.safetensors,
equal to the one a single process builds from the whole corpus.`,
  options: {
    config: { type: 'string', value: '<file.json>', description: "the recipe's config (required)." },
    out: {
      type: 'string',
      value: '<dir>',
      description: 'output directory of the shards (default: <config without .json>.run next to the config).',
    },
    backend: BACKEND_OPTION,
  },
  async run({ values, positionals }, ctx) {
    return runFromCli(ctx, positionals, values, { merge: true });
  },
});

function parseShard(ctx: CommandContext, spec: string): ShardSpec {
  try {
    return parseShardSpec('geolip-train run', '--shard', spec);
  } catch {
    throw ctx.usage(`--shard must be i/N with 0 <= i < N, got '${spec}'`, '--shard');
  }
}

/** What `run` and `merge` share: the recipe, its config, the output directory, the backend, then `runRecipe`. */
async function runFromCli(
  ctx: CommandContext,
  positionals: readonly string[],
  values: {
    config?: string | undefined;
    out?: string | undefined;
    resume?: boolean | undefined;
    steps?: string | undefined;
    'time-limit'?: string | undefined;
    'compact-checkpoints'?: boolean | undefined;
    'rewarm-steps'?: string | undefined;
    backend?: string | undefined;
  },
  extra: { shard?: ShardSpec; merge?: boolean },
): Promise<number> {
  {
    const command = extra.merge ? 'merge' : 'run';
    const valid = recipeNames().join(', ');
    if (positionals.length === 0) throw ctx.usage(`${command} needs a recipe; valid recipes: ${valid}`);
    const name = positionals[0]!;
    const recipe = getRecipe(name);
    if (recipe === undefined) throw ctx.usage(`unknown recipe '${name}'; valid recipes: ${valid}`);
    if ((extra.shard !== undefined || extra.merge) && recipe.shardStage === undefined) {
      const sharded = recipeNames().filter((n) => getRecipe(n)?.shardStage !== undefined);
      throw ctx.usage(
        `recipe '${name}' has no sharded stage (recipes with one: ${sharded.join(', ')})`,
        extra.merge ? undefined : '--shard',
      );
    }
    const config = values.config;
    if (config === undefined) throw ctx.usage(`${command} needs --config <file.json>`, '--config');
    const steps = positiveInt(ctx, '--steps', values.steps);
    const timeLimit = positiveNumber(ctx, '--time-limit', values['time-limit'], 'number of seconds');
    const rewarmSteps = nonNegativeInt(ctx, '--rewarm-steps', values['rewarm-steps']);
    const backend = backendOption(ctx, values.backend);

    const configPath = resolve(config);
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (error) {
      throw ctx.usage(
        `cannot read config ${configPath} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        '--config',
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw ctx.usage(
        `config ${configPath} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
        '--config',
      );
    }
    const out =
      values.out !== undefined
        ? resolve(values.out)
        : join(dirname(configPath), `${basename(configPath).replace(/\.json$/i, '')}.run`);
    await startBackend(initBackend, backend, ctx.io);
    return runRecipe(recipe, parsed, ctx.io, {
      configPath,
      out,
      resume: values.resume === true,
      ...(steps !== undefined ? { steps } : {}),
      ...(timeLimit !== undefined ? { timeLimit } : {}),
      ...(values['compact-checkpoints'] === true ? { compactCheckpoints: true } : {}),
      ...(rewarmSteps !== undefined ? { rewarmSteps } : {}),
      ...extra,
    });
  }
}

/** A non-negative integer option (`--rewarm-steps 0`), or undefined when not given. */
function nonNegativeInt(ctx: CommandContext, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw ctx.usage(`${flag} must be a non-negative integer, got '${value}'`, flag);
  return Number(value);
}

const compactCommand = defineCommand({
  name: 'compact-checkpoint',
  summary: 'copy a checkpoint as a compact one (F16 weights, no optimizer state) to carry between sessions',
  usage: '<checkpoints> --out <dir> [--shard-bytes <N>]',
  positionals: { min: 1, max: 1, names: '<checkpoints>' },
  description: `Reads the latest checkpoint of <checkpoints> (a run's <out>/checkpoints, or one step directory) and
writes a compact copy to <dir>: weights as F16 (an error names a parameter whose values overflow
float16), no Adam moments, the same step, RNG, config and extra state. A run resumes from it
('geolip-train run ... --resume' with <dir> as its <out>/checkpoints) with a fresh AdamW and
--rewarm-steps of learning-rate re-warm-up. When <checkpoints> holds no checkpoint itself, each
sub-directory that does (the stages of a multi-stage recipe) is copied to <dir>/<stage>.
Weights files are at most --shard-bytes each (default 15 MiB, under the GPU machine's 16 MiB per
returned file): weights.safetensors, or weights-00001-of-0000N.safetensors, ... when they do not fit.`,
  options: {
    out: { type: 'string', value: '<dir>', description: 'where the compact checkpoint root is written (required).' },
    'shard-bytes': {
      type: 'string',
      value: '<N>',
      description: `largest weights file in bytes (default ${COMPACT_SHARD_BYTES}).`,
    },
  },
  async run({ values, positionals }, ctx) {
    const out = values.out;
    if (out === undefined) throw ctx.usage('compact-checkpoint needs --out <dir>', '--out');
    const shardBytes = positiveInt(ctx, '--shard-bytes', values['shard-bytes']);
    const from = resolve(positionals[0]!);
    const hasCheckpoint = (dir: string): boolean =>
      existsSync(join(dir, 'latest.json')) || existsSync(join(dir, 'state.json'));
    const jobs: { from: string; to: string }[] = [];
    if (hasCheckpoint(from)) jobs.push({ from, to: resolve(out) });
    else if (existsSync(from) && statSync(from).isDirectory()) {
      for (const stage of readdirSync(from).sort())
        if (hasCheckpoint(join(from, stage))) jobs.push({ from: join(from, stage), to: join(resolve(out), stage) });
    }
    if (jobs.length === 0)
      throw ctx.usage(`${from} holds no checkpoint (no latest.json or state.json, nor a stage directory with one)`);
    for (const job of jobs) {
      const written = compactCheckpoint(job.from, job.to, shardBytes !== undefined ? { shardBytes } : {});
      const sizes = Object.entries(written.files).filter(([f]) => f.endsWith('.safetensors'));
      const total = sizes.reduce((a, [, n]) => a + n, 0);
      const largest = Math.max(...sizes.map(([, n]) => n));
      ctx.io.stdout.write(
        `step ${written.step}: ${written.from} -> ${written.dir} ` +
          `(${mb(total)} MB of F16 weights in ${sizes.length} file(s), largest ${mb(largest)} MB)\n`,
      );
    }
    return EXIT.ok;
  },
});

const mb = (bytes: number): string => (bytes / 1e6).toFixed(2);

declare const __GEOLIP_TRAIN_VERSION__: string | undefined;

function moduleUrl(): string | undefined {
  try {
    return import.meta.url as string | undefined;
  } catch {
    return undefined; // CJS build: no import.meta (the version is defined at build time there)
  }
}

/**
 * The version, set by tsup from package.json at build time (so a bundle of the CLI, e.g. tools/device/pack.mjs's,
 * knows it too).
 */
function ownVersion(): string {
  return versionOf(typeof __GEOLIP_TRAIN_VERSION__ === 'string' ? __GEOLIP_TRAIN_VERSION__ : undefined, moduleUrl());
}

/** The `geolip-train` program: its commands, help epilogue and build-time version. */
export const program: Program = {
  name: 'geolip-train',
  summary: 'GeoLIP training tools',
  version: ownVersion(),
  commands: [
    consensusCommand,
    runCommand,
    mergeCommand,
    compactCommand,
    // Queue mode: `submit -- run text-consensus --config c.json --out d`, `worker`, `status --wait --merge`.
    ...queueCommands({
      name: 'geolip-train',
      run: (argv, io) => main(argv, io),
      mergeArgv: (argv) => {
        if (argv[0] !== 'run' || argv[1] === undefined || argv[1].startsWith('-')) return undefined;
        const keep = ['--config', '--out', '--backend'].flatMap((flag) => {
          const i = argv.indexOf(flag);
          return i >= 0 && argv[i + 1] !== undefined ? [flag, argv[i + 1]!] : [];
        });
        return ['merge', argv[1], ...keep];
      },
    }),
  ],
  epilogue: () =>
    `Recipes of 'geolip-train run <recipe>' (their options: 'geolip-train run --help'):\n` +
    `${recipeHelp()}\n\n` +
    `Exit status: ${EXIT.ok} on success, ${EXIT.interrupted} when --time-limit or a signal stopped a run after ` +
    `its checkpoint, ${EXIT.usage} on a usage error,\n` +
    `${EXIT.error} on any other error (set GEOLIP_DEBUG=1 for a stack trace).`,
};

/**
 * Runs the CLI with `argv` (without node and the script). Returns the exit status (@geolip/cli's EXIT); never
 * throws.
 */
export async function main(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runProgram(program, argv, io);
}
