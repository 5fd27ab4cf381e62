// geolip-bench merge: the report of a sharded `geolip-bench run` from its shard files.
import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { EXIT, defineCommand } from '@geolip/cli';

import { htmlReport } from '../html-report.js';
import { jsonReport, markdownTable, stringifyReport, writeFileAtomic } from '../report.js';
import { mergeRunShards } from '../shard-run.js';
import { scatterPlots } from './run.js';

/** The shard files `geolip-bench run --shard i/N --out <out>` writes next to `out`. */
function findRunShards(out: string): string[] {
  const dir = dirname(out);
  const base = basename(out).replace(/\.json$/i, '');
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.shard-\\d+-of-\\d+\\.json$`);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => re.test(n)).map((n) => join(dir, n));
}

export const mergeCommand = defineCommand({
  name: 'merge',
  summary: "combine the shard files of 'geolip-bench run --shard i/N' into one report",
  usage: '--out <report.json> [<shard.json>...] [--raw] [--plots <dir>]',
  description:
    'Checks that the shards are one complete set (same configuration, each i of N once; a missing, duplicate or\n' +
    'foreign shard is an error, never a silent drop), concatenates the per-pair scores and computes every metric\n' +
    "after the merge: the report equals the one a single 'geolip-bench run' writes. Without shard files it takes\n" +
    '<out>.shard-*-of-*.json next to --out.',
  positionals: { min: 0, max: Number.POSITIVE_INFINITY, names: '[<shard.json>...]' },
  options: {
    out: { type: 'string', value: '<report.json>', description: 'the merged report (.json, or .html) (required).' },
    raw: { type: 'boolean', description: 'keep the per-pair gold/predicted arrays in the JSON report.' },
    plots: { type: 'string', value: '<dir>', description: 'write one SVG scatter plot per pair task here.' },
  },
  async run({ values: v, positionals }, ctx) {
    const { io } = ctx;
    if (v.out === undefined) throw ctx.usage('merge needs --out <report.json>', '--out');
    const outPath = resolve(v.out);
    const paths = positionals.length > 0 ? positionals.map((p) => resolve(p)) : findRunShards(outPath);
    if (paths.length === 0) throw ctx.usage(`no shard files given and none found next to ${outPath}`, '--out');
    const merged = await mergeRunShards('geolip-bench merge', paths);
    io.stdout.write(markdownTable(merged.results));
    const html = /\.html?$/i.test(v.out);
    const { plots, plotFiles } = await scatterPlots(merged.results, v.plots, html);
    const c = merged.config;
    const m = merged.model;
    const report = jsonReport(
      merged.results,
      {
        command: 'run',
        model: c.model,
        modelName: m.model,
        dim: m.dim,
        ...(m.params !== undefined ? { params: m.params } : {}),
        tasks: c.tasks,
        split: c.split,
        splits: merged.splits,
        data: c.data === 'given' ? merged.settings.dataDir : 'embedded',
        dataDir: merged.settings.dataDir,
        backendRequested: merged.settings.backendRequested ?? null,
        backend: merged.backend,
        batchSize: c.batchSize,
        dropMalformed: c.dropMalformed,
        mrpcDev: c.mrpcDev,
        plots: plotFiles,
        shards: merged.shards,
      },
      { includeRaw: v.raw === true, backend: merged.backend },
    );
    await writeFileAtomic(outPath, html ? htmlReport(report, plots) : stringifyReport(report));
    io.stderr.write(`report of ${paths.length} shard(s) written to ${outPath}\n`);
    return EXIT.ok;
  },
});
