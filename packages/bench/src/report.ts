// Reports: a model-card style Markdown table and a JSON report with every number and setting.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '@geolip/io/node';

import type { PairTaskResult } from './evaluate.js';

/** Display names of the pair tasks (the Markdown and HTML reports). @internal */
export const TASK_LABEL: Record<string, string> = { stsb: 'STS-B', sick: 'SICK-R', mrpc: 'MRPC' };

/** A fraction ×100 with 2 decimals; '–' when missing or not finite. @internal */
export const pct = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? '–' : (100 * x).toFixed(2);

/** 1234 → "1.2K", 6_000_000 → "6.0M"; undefined → "–". */
export function formatParams(params: number | undefined): string {
  if (params === undefined || !Number.isFinite(params)) return '–';
  if (params >= 1e9) return `${(params / 1e9).toFixed(1)}B`;
  if (params >= 1e6) return `${(params / 1e6).toFixed(1)}M`;
  if (params >= 1e3) return `${(params / 1e3).toFixed(1)}K`;
  return String(params);
}

const escapeCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/**
 * A Markdown table in the style of a model card. Correlations, F1, accuracy and AUC are ×100.
 * Regression tasks fill Spearman/Pearson, MRPC fills F1/accuracy/AUC/threshold (threshold on the
 * cosine, fitted on the split in `thresholdFittedOn`); every MRPC row is followed by the
 * predict-all-paraphrase baseline row for the same split.
 */
export function markdownTable(results: readonly PairTaskResult[]): string {
  const header = ['model', 'params', 'task', 'split', 'n', 'Spearman', 'Pearson', 'F1', 'accuracy', 'AUC', 'threshold'];
  const rows: string[][] = [];
  for (const r of results) {
    const common = [
      escapeCell(r.model),
      formatParams(r.params),
      TASK_LABEL[r.task] ?? r.task,
      escapeCell(r.split),
      String(r.n),
    ];
    if (r.kind === 'regression') {
      rows.push([...common, pct(r.spearman), pct(r.pearson), '–', '–', '–', '–']);
    } else {
      rows.push([...common, '–', '–', pct(r.f1), pct(r.accuracy), pct(r.auc), r.threshold.toFixed(4)]);
      rows.push([
        'all-paraphrase baseline',
        '–',
        TASK_LABEL[r.task] ?? r.task,
        escapeCell(r.split),
        String(r.n),
        '–',
        '–',
        pct(r.trivialF1),
        pct(r.trivialAccuracy),
        pct(0.5),
        '–',
      ]);
    }
  }
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i < 4 ? '---' : '---:'));
  return [line(header), line(align), ...rows.map(line)].join('\n') + '\n';
}

export interface ReportSettings {
  /** Free-form run settings (model argument, tasks, split, data dir, batch size, …). */
  [key: string]: unknown;
}

export interface JsonReport {
  schema: 'geolip-bench/report@1';
  date: string;
  environment: {
    backend: string;
    node: string;
    platform: string;
    arch: string;
    packages: Record<string, string>;
  };
  settings: ReportSettings;
  totals: { seconds: number; embedSeconds: number; sentences: number; itemsPerSecond: number };
  results: (Omit<PairTaskResult, 'gold' | 'predicted'> & { gold?: number[]; predicted?: number[] })[];
}

const REPORTED_PACKAGES = [
  '@geolip/bench',
  '@geolip/geometry',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-layers',
];

function moduleUrl(): string | undefined {
  try {
    // In the CJS build esbuild replaces `import.meta` with `{}`, so this is undefined there.
    const url = import.meta.url as string | undefined;
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Versions of the packages that matter for reproducing a number; "unknown" when not found. */
export function packageVersions(names: readonly string[] = REPORTED_PACKAGES): Record<string, string> {
  const out: Record<string, string> = {};
  const base = moduleUrl() ?? join(process.cwd(), 'noop.js');
  const req = createRequire(base);
  for (const name of names) {
    out[name] = 'unknown';
    try {
      out[name] = (req(`${name}/package.json`) as { version: string }).version;
      continue;
    } catch {
      // exports map may hide package.json: walk up from the resolved entry.
    }
    try {
      let dir = dirname(req.resolve(name));
      for (let i = 0; i < 6; i++) {
        try {
          const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
            name?: string;
            version?: string;
          };
          if (pkg.name === name && pkg.version) {
            out[name] = pkg.version;
            break;
          }
        } catch {
          // keep walking
        }
        dir = dirname(dir);
      }
    } catch {
      // unknown
    }
  }
  if (out['@tensorflow/tfjs-core'] === 'unknown') out['@tensorflow/tfjs-core'] = tf.version_core;
  return out;
}

/**
 * Builds the JSON report: every metric of every result, the run settings, backend
 * (`tf.getBackend()`), Node version, package versions, date, durations and throughput.
 * `includeRaw` keeps the per-pair gold/predicted arrays (default false: they can be large).
 */
export function jsonReport(
  results: readonly PairTaskResult[],
  settings: ReportSettings = {},
  options: { includeRaw?: boolean; date?: Date; backend?: string } = {},
): JsonReport {
  const seconds = results.reduce((s, r) => s + r.seconds, 0);
  const embedSeconds = results.reduce((s, r) => s + r.embedSeconds, 0);
  const sentences = results.reduce((s, r) => s + r.uniqueSentences, 0);
  return {
    schema: 'geolip-bench/report@1',
    date: (options.date ?? new Date()).toISOString(),
    environment: {
      backend: options.backend ?? tf.getBackend(),
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      packages: packageVersions(),
    },
    settings,
    totals: { seconds, embedSeconds, sentences, itemsPerSecond: embedSeconds > 0 ? sentences / embedSeconds : 0 },
    results: results.map((r) => {
      if (options.includeRaw) return { ...r };
      const { gold: _gold, predicted: _predicted, ...rest } = r;
      return rest;
    }),
  };
}

/** JSON.stringify that writes non-finite numbers as strings ("Infinity", "NaN") instead of null. */
export function stringifyReport(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n'
  );
}

// Written atomically (temp file + rename) by @geolip/io's helper, shared with the training CLI.
export { writeFileAtomic };

/** `jsonReport` written atomically to `path`. Returns the report. */
export async function writeJsonReport(
  path: string,
  results: readonly PairTaskResult[],
  settings: ReportSettings = {},
  options: { includeRaw?: boolean; date?: Date } = {},
): Promise<JsonReport> {
  const report = jsonReport(results, settings, options);
  await writeFileAtomic(path, stringifyReport(report));
  return report;
}
