// Every task of `geolip-bench run --tasks`, in the order of the help text. A new task: a file implementing `Task`
// (see types.ts) and one entry here.
import { coco } from './coco.js';
import { mrpc } from './mrpc.js';
import { sick } from './sick.js';
import { stsb } from './stsb.js';
import type { Task } from './types.js';

export type { Task, TaskEnv, TaskOptions, TaskOutcome } from './types.js';
export { MRPC_DEV_FRACTION, MRPC_DEV_SEED } from './mrpc.js';

/** The tasks by `--tasks` name. */
export const TASKS: readonly Task[] = [stsb, sick, mrpc, coco];
