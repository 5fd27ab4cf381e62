// geolip-train: build consensus targets from expert features and run training recipes.
// `main` runs in-process (tests call it directly); bin/geolip-train.mjs calls it with process.argv.
import { readFileSync } from 'node:fs';
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
import { initBackend, type BackendName } from '@geolip/nn/backend';

import { buildConsensus } from './consensus/build.js';
import { saveConsensus } from './consensus/io.js';
import { readExpertFeatures } from './io/expert-features.js';
import { writeFileAtomic } from './io/write-atomic.js';
import { mlpStudent } from './recipes/mlp-student.js';
import { textConsensus } from './recipes/text-consensus.js';
import { fmnistVit } from './recipes/fmnist-vit.js';
import { fmnistDavid } from './recipes/fmnist-david.js';
import { cocoSoup } from './recipes/coco-soup.js';
import { glfm } from './recipes/glfm.js';
import { EXIT_INTERRUPTED, type Recipe } from './recipes/types.js';

export type { Recipe, RecipeIo, RecipeRunOptions } from './recipes/types.js';

export type { CliIo } from '@geolip/cli';

/** Recipes of `geolip-train run <recipe>`; model packages may add their own entries. */
export const RECIPES: Record<string, Recipe> = {
  'mlp-student': mlpStudent,
  'text-consensus': textConsensus,
  'fmnist-vit': fmnistVit,
  'fmnist-david': fmnistDavid,
  'coco-soup': cocoSoup,
  glfm,
};

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

const consensusCommand = defineCommand({
  name: 'consensus',
  summary: 'build consensus targets from two or more experts\' features of the same samples',
  usage: '--expert <name=path> --expert <name=path> [--expert ...] --out <dir> [options]',
  description: `Reads E >= 2 experts' features of the same N samples, builds the consensus (GPA -> PCA ->
whitened Procrustes projectors -> normalized-centroid targets) and writes <dir>/consensus.safetensors
and <dir>/diagnostics.json. A path is a .npy file (2-D <f4/<f8), a .safetensors file (tensor
'embeddings' or its only tensor), or a directory or glob of geolip-bench embed shards
(<out>.shard-i-of-N.safetensors, concatenated in shard order).`,
  options: {
    expert: { type: 'string', multiple: true, value: '<name=path>', description: "an expert's name and features file (at least two; repeat the flag)." },
    out: { type: 'string', value: '<dir>', description: 'output directory (required).' },
    width: { type: 'string', value: '<W>', description: 'common GPA width W (default: the smallest expert width).' },
    'target-dim': { type: 'string', value: '<K>', description: 'consensus dimension K <= W (default: W).' },
    iterations: { type: 'string', value: '<n>', description: 'GPA rounds (default 5).' },
  },
  async run({ values }, ctx) {
    const specs = values.expert ?? [];
    if (specs.length < 2) throw ctx.usage(`consensus needs at least 2 --expert name=path, got ${specs.length}`, '--expert');
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
  args: { specs: readonly string[]; out: string; width?: number | undefined; targetDim?: number | undefined; iterations?: number | undefined },
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
      throw usage(`expert '${e.name}' has N=${m.rows} samples, expert '${experts[0]!.name}' has N=${features[0]!.rows}; row i of every expert must be sample i`);
    }
    features.push(m);
  }

  const minDim = Math.min(...features.map((f) => f.cols));
  if (width !== undefined && width > minDim) throw usage(`--width ${width} exceeds the smallest expert width ${minDim}`, '--width');
  const w = width ?? minDim;
  if (targetDim !== undefined && targetDim > w) throw usage(`--target-dim ${targetDim} exceeds the width ${w}`, '--target-dim');

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
  return EXIT.ok;
}

/** The recipes' descriptions in `geolip-train run --help`. */
const RECIPE_HELP = `    mlp-student   config {"consensus", "input": {"expert", "features"}, "hidden", "activation",
                  "steps", "batchSize", "lr", "warmupSteps", "weightDecay", "temperature",
                  "mseWeight", "seed", "checkpointEvery"}; writes <out>/student.safetensors.
    text-consensus
                  corpus (COCO captions, STS-B/SICK/MRPC train sentences, WordNet, fortunes) -> expert
                  features (use-lite, glove-avg) -> consensus -> CaptionEncoder student (InfoNCE + MSE +
                  CV); config {"corpus", "experts", "features", "consensus", "student", "steps",
                  "batchSize", "lr", ..., "stopAfter"} (see @geolip/train's README); writes
                  <out>/corpus.txt, consensus.safetensors, student.safetensors, student-fp16.safetensors.
    fmnist-vit    Dual-Stream ViT (or "model": "vit") on Fashion-MNIST with the card loss stack; config
                  {"model", "data", "epochs", "batchSize", "lr", "loss": {...}, "modelConfig", ...};
                  writes <out>/result.json (test accuracy, geo accuracy, scan).
    fmnist-david  GeoFractalDavid with the basin loss on Fashion-MNIST pixels or features files; config
                  {"features": "pixels" | {"train", "test"}, "data", "epochs", "batchSize", "lr",
                  "model": {"k", "scales", ...}, "loss": {...}, "trainLimit", "testLimit", "seed", ...};
                  writes <out>/result.json (test accuracy, per-scale accuracy), david.safetensors.
    coco-soup     expert features -> consensus -> Base Tier Soup (BCE, 80 COCO labels) -> ViT student;
                  config {"experts": [{"name", "features"}], "images": {"root", "train", "eval"},
                  "consensus", "soup", "student", "probe", "seed"}; writes <out>/result.json (split
                  sizes, soup / student / probe mAP), soup.safetensors, student.safetensors.
    glfm          class-conditional flow matching through a constellation bottleneck on S^15
                  (@geolip/diffusion) on Fashion-MNIST; config {"variant": "v1" | "v2" | "v3" | "v4", "data",
                  "epochs", "batchSize", "lr", "modelConfig", "sampler": "euler" | "heun", "sampleSteps",
                  "trainLimit", "testLimit", "seed", "classifier", ...}; logs the validation FM loss, gate,
                  anchor drift and reconstruction cosine per epoch; writes <out>/result.json (conditional
                  accuracy of samples), samples-<variant>.png, model.safetensors.`;

const runCommand = defineCommand({
  name: 'run',
  summary: 'train a recipe from a JSON config',
  usage: '<recipe> --config <file.json> [--out <dir>] [--resume] [options]',
  positionals: { max: 1, names: '<recipe>' },
  description: `Trains a recipe from a JSON config (paths in it are relative to the config file). Writes
<out>/checkpoints, <out>/metrics.jsonl and the recipe's outputs. Recipes:
${RECIPE_HELP}`,
  options: {
    config: { type: 'string', value: '<file.json>', description: "the recipe's config (required)." },
    out: { type: 'string', value: '<dir>', description: 'output directory (default: <config without .json>.run next to the config).' },
    resume: { type: 'boolean', description: 'continue from <out>/checkpoints (the config must be unchanged).' },
    steps: {
      type: 'string',
      value: '<N>',
      description: "stop after N total steps (default: the config's steps; the LR schedule always spans the config's steps, so stopping early and resuming equals a straight run).",
    },
    'time-limit': {
      type: 'string',
      value: '<S>',
      description: `stop training after S seconds, save a checkpoint and exit with status ${EXIT.interrupted}; --resume continues. SIGINT/SIGTERM do the same (a second signal exits at once).`,
    },
    backend: BACKEND_OPTION,
  },
  async run({ values, positionals }, ctx) {
    const valid = Object.keys(RECIPES).join(', ');
    if (positionals.length === 0) throw ctx.usage(`run needs a recipe; valid recipes: ${valid}`);
    const name = positionals[0]!;
    const recipe = Object.hasOwn(RECIPES, name) ? RECIPES[name] : undefined;
    if (recipe === undefined) throw ctx.usage(`unknown recipe '${name}'; valid recipes: ${valid}`);
    const config = values.config;
    if (config === undefined) throw ctx.usage('run needs --config <file.json>', '--config');
    const steps = positiveInt(ctx, '--steps', values.steps);
    const timeLimit = positiveNumber(ctx, '--time-limit', values['time-limit'], 'number of seconds');
    const backend = backendOption(ctx, values.backend);
    return runRecipe(recipe, ctx, { config, out: values.out, resume: values.resume === true, steps, timeLimit, backend });
  },
});

/** The work of `geolip-train run <recipe>` once its options are checked: read the config, run with signals. */
async function runRecipe(
  recipe: Recipe,
  ctx: CommandContext,
  args: { config: string; out: string | undefined; resume: boolean; steps: number | undefined; timeLimit: number | undefined; backend: BackendName | undefined },
): Promise<number> {
  const { io, usage } = ctx;
  const { config, resume, steps, timeLimit, backend } = args;
  const configPath = resolve(config);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    throw usage(`cannot read config ${configPath} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usage(`config ${configPath} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const outArg = args.out;
  const out = outArg !== undefined ? resolve(outArg) : join(dirname(configPath), `${basename(configPath).replace(/\.json$/i, '')}.run`);

  await startBackend(initBackend, backend, io);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    io.stderr.write(`\n${name}: stopping after this step and saving a checkpoint (again to exit at once)\n`);
    controller.abort(name);
  };
  const timer = timeLimit === undefined ? undefined : setTimeout(() => controller.abort('time-limit'), timeLimit * 1000);
  timer?.unref();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await recipe.run(parsed, io, { configPath, out, resume, signal: controller.signal, ...(steps !== undefined ? { steps } : {}) });
    if (controller.signal.aborted && code === EXIT_INTERRUPTED) {
      io.stderr.write(`stopped (${String(controller.signal.reason)}); continue with the same command plus --resume\n`);
    }
    return code;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

declare const __GEOLIP_TRAIN_VERSION__: string | undefined;

function moduleUrl(): string | undefined {
  try {
    return import.meta.url as string | undefined;
  } catch {
    return undefined; // CJS build: no import.meta (the version is defined at build time there)
  }
}

/** The version, set by tsup from package.json at build time (so a bundle of the CLI, e.g. tools/device/pack.mjs's, knows it too). */
function ownVersion(): string {
  return versionOf(typeof __GEOLIP_TRAIN_VERSION__ === 'string' ? __GEOLIP_TRAIN_VERSION__ : undefined, moduleUrl());
}

/** The `geolip-train` program: its commands, help epilogue and build-time version. */
export const program: Program = {
  name: 'geolip-train',
  summary: 'GeoLIP training tools',
  version: ownVersion(),
  commands: [consensusCommand, runCommand],
  epilogue: `Recipes of 'geolip-train run <recipe>' (their options: 'geolip-train run --help'):
${RECIPE_HELP}

Exit status: ${EXIT.ok} on success, ${EXIT.interrupted} when --time-limit or a signal stopped a run after its checkpoint, ${EXIT.usage} on a usage error,
${EXIT.error} on any other error (set GEOLIP_DEBUG=1 for a stack trace).`,
};

/** Runs the CLI with `argv` (without node and the script). Returns the exit status (@geolip/cli's EXIT); never throws. */
export async function main(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runProgram(program, argv, io);
}
