// The config blocks every recipe shares, read once here: optimizer + schedule, data, checkpoints. Recipes keep their
// own fields (loss weights, model overrides) and list these blocks' keys among their valid ones.
import { resolve } from 'node:path';

import type { AdamWOptions } from '../loop/adamw.js';
import { warmupCosine, type LrSchedule } from '../loop/schedule.js';
import type { ConfigReader } from './config.js';

/**
 * AdamW and its warmup-cosine schedule: `lr`, `weightDecay`, `warmupSteps`, `clipNorm` (absent when a recipe has
 * none).
 */
export interface OptimizerBlock {
  lr: number;
  weightDecay: number;
  warmupSteps: number;
  clipNorm?: number;
}

/** Keys of {@link OptimizerBlock} (`clipNorm` only when the recipe has a default for it). */
export function optimizerKeys(defaults: Partial<OptimizerBlock>): string[] {
  return ['lr', 'warmupSteps', 'weightDecay', ...(defaults.clipNorm !== undefined ? ['clipNorm'] : [])];
}

/**
 * Reads the optimizer block from `obj` (under `prefix`, e.g. `student`): `lr` > 0, `weightDecay` >= 0, `warmupSteps`
 * a non-negative integer, `clipNorm` > 0 when `defaults.clipNorm` is set. Throws `RecipeConfigError` naming the field.
 */
export function readOptimizerBlock(
  r: ConfigReader,
  obj: Record<string, unknown>,
  defaults: OptimizerBlock,
  prefix = '',
): OptimizerBlock {
  return {
    lr: r.num(obj, 'lr', '>0', defaults.lr, prefix),
    warmupSteps: r.num(obj, 'warmupSteps', 'int>=0', defaults.warmupSteps, prefix),
    weightDecay: r.num(obj, 'weightDecay', '>=0', defaults.weightDecay, prefix),
    ...(defaults.clipNorm !== undefined ? { clipNorm: r.num(obj, 'clipNorm', '>0', defaults.clipNorm, prefix) } : {}),
  };
}

/**
 * The `train()` options of an optimizer block over `totalSteps` (the schedule always spans the config's total, so a
 * run stopped early and resumed equals a straight one; warmup is cut to the total). `extra` adds AdamW options
 * (e.g. `lrScale`).
 */
export function optimizerOptions(
  block: OptimizerBlock,
  totalSteps: number,
  extra: Partial<AdamWOptions> = {},
): { optimizer: AdamWOptions; schedule: LrSchedule; clipNorm?: number } {
  return {
    optimizer: { lr: block.lr, weightDecay: block.weightDecay, ...extra },
    schedule: warmupCosine({ warmupSteps: Math.min(block.warmupSteps, totalSteps), totalSteps, peakLr: block.lr }),
    ...(block.clipNorm !== undefined ? { clipNorm: block.clipNorm } : {}),
  };
}

/** A dataset directory and how much of it a run uses. */
export interface DataBlock {
  /** Absolute dataset directory (`data`, relative to the config file). */
  data: string;
  /** Use only the first N training / test items (tests and smoke runs); 0 = all. */
  trainLimit: number;
  testLimit: number;
}

/** Keys of {@link DataBlock}. */
export const DATA_KEYS = ['data', 'trainLimit', 'testLimit'] as const;

/**
 * Reads `data` (default `defaultDir`, resolved against `configDir`), `trainLimit`, `testLimit` (integers >= 0,
 * default 0).
 */
export function readDataBlock(
  r: ConfigReader,
  obj: Record<string, unknown>,
  defaultDir: string,
  configDir: string,
): DataBlock {
  return {
    data: resolve(configDir, r.optStr(obj, 'data') ?? defaultDir),
    trainLimit: r.num(obj, 'trainLimit', 'int>=0', 0),
    testLimit: r.num(obj, 'testLimit', 'int>=0', 0),
  };
}

/** How often a run checkpoints: `checkpointEvery` steps (a positive integer). */
export interface CheckpointBlock {
  checkpointEvery: number;
}

/** Reads `checkpointEvery` (a positive integer, default `every`). */
export function readCheckpointBlock(r: ConfigReader, obj: Record<string, unknown>, every: number): CheckpointBlock {
  return { checkpointEvery: r.num(obj, 'checkpointEvery', 'int>0', every) };
}
