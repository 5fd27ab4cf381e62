// What the three sentence-pair tasks (stsb, sick, mrpc) share: evaluation through `evaluatePairTask` and the
// report row.
import type { PairDataset } from '@geolip/text/data';
import { evaluatePairTask, type PairTask } from '../evaluate.js';
import type { Task, TaskEnv, TaskOptions, TaskOutcome } from './types.js';

/** A pair task's data: the evaluated split and, for MRPC, the split its threshold is fitted on. */
export interface PairTaskData {
  evalSet: PairDataset;
  fit?: PairDataset;
}

/** The message of a pair task that needs `--data`. */
export function needsData(name: string): string {
  return `task ${name} needs --data <dir>; only the STS-B dev split is embedded (run 'geolip-bench data')`;
}

async function evaluatePair(
  task: PairTask,
  data: PairTaskData,
  options: TaskOptions,
  env: TaskEnv,
): Promise<TaskOutcome> {
  const { evalSet, fit } = data;
  if (evalSet.dropped > 0) env.io.stderr.write(`${evalSet.file}: dropped ${evalSet.dropped} malformed row(s)\n`);
  const bar = env.progress(`${task} ${evalSet.split}`, 'sentences');
  const pair = await evaluatePairTask(env.textModel!, evalSet, {
    ...(fit ? { fit } : {}),
    batchSize: options.batchSize,
    onProgress: bar.update,
  });
  bar.end();
  const split = {
    evaluated: evalSet.split,
    file: evalSet.file,
    ...(fit ? { thresholdFit: fit.split, thresholdFitFile: fit.file } : {}),
  };
  return { pair, settings: { splits: { [task]: split } } };
}

/** A sentence-pair task from its name, description and loader. */
export function pairTask(
  name: PairTask,
  description: string,
  load: (options: TaskOptions) => Promise<PairTaskData>,
): Task<PairTaskData> {
  return {
    name,
    description,
    usesTextModel: () => true,
    load,
    evaluate: (data, options, env) => evaluatePair(name, data, options, env),
  };
}
