// MTEB's per-task result files for the pair tasks MTEB also has: STS-B → `STSBenchmark.json`, SICK-R → `SICK-R.json`,
// in the schema of MTEB ≥ 1.12 (the files of the embeddings-benchmark/results repository):
//   { dataset_revision, evaluation_time, kg_co2_emissions, mteb_version,
//     scores: { <split>: [{ cosine_pearson, cosine_spearman, hf_subset, languages, main_score }] }, task_name }
// main_score is cosine_spearman (MTEB's main score for both), as a fraction, not a percentage. Written fields are those
// computed from the cosines: the euclidean_* / manhattan_* fields MTEB adds need the embeddings and are left out.
// The data is this bench's copy of each dataset, not MTEB's Hub revision: dataset_revision says so
// ("geolip:" + a hash of the evaluated pairs), and mteb_version names the schema followed, not a run of MTEB.
import { createHash } from 'node:crypto';

import type { PairTaskResult, RegressionResult } from './evaluate.js';

/** The MTEB version whose result schema these files follow. */
export const MTEB_SCHEMA_VERSION = '1.12.75';

/** MTEB's task name of a bench task that MTEB has. */
export const MTEB_TASK_NAMES: Readonly<Record<string, string>> = Object.freeze({
  stsb: 'STSBenchmark',
  sick: 'SICK-R',
});

/** One MTEB result file: its name and content. */
export interface MtebFile {
  file: string;
  json: Record<string, unknown>;
}

/** The split key MTEB uses: its Hub split names (`test`, `validation`). */
function mtebSplit(split: string): string {
  return /^test/i.test(split) ? 'test' : 'validation';
}

/**
 * MTEB result files of the regression results of tasks MTEB has (others are skipped).
 * @param results - `geolip-bench run`'s results (with `gold` and `predicted`, or without: the hash then covers the
 *   task, split and n only).
 */
export function mtebResultFiles(results: readonly PairTaskResult[]): MtebFile[] {
  const out: MtebFile[] = [];
  for (const r of results) {
    const name = MTEB_TASK_NAMES[r.task];
    if (name === undefined || r.kind !== 'regression') continue;
    const reg = r as RegressionResult;
    const hash = createHash('sha256')
      .update(JSON.stringify([r.task, r.split, r.n, Array.from(reg.gold ?? [])]))
      .digest('hex')
      .slice(0, 16);
    out.push({
      file: `${name}.json`,
      json: {
        dataset_revision: `geolip:${hash}`,
        evaluation_time: r.seconds,
        kg_co2_emissions: null,
        mteb_version: MTEB_SCHEMA_VERSION,
        scores: {
          [mtebSplit(r.split)]: [
            {
              cosine_pearson: reg.pearson,
              cosine_spearman: reg.spearman,
              hf_subset: 'default',
              languages: ['eng-Latn'],
              main_score: reg.spearman,
            },
          ],
        },
        task_name: name,
        evaluated_by: { program: 'geolip-bench', model: r.model, split: r.split, n: r.n },
      },
    });
  }
  return out;
}
