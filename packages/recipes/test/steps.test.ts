// recipeStep: a recipe's real training step on synthetic data (for tools/perf/recipe-steps.mjs), here with a tiny
// GLFM: it trains, reports its size, frees what it made, and refuses too few rows naming the option.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { train } from '@geolip/train';
import { describe, expect, it } from 'vitest';

import { recipeStep } from '../src/index.js';

const TINY = {
  levelChannels: [8, 16],
  bottleneckChannels: 16,
  groups: 4,
  condDim: 16,
  timeDim: 8,
  relayHidden: 8,
  anchorsPerPatch: 4,
  generatorDim: 32,
  generatorBlocks: 1,
};
const config = { variant: 'v1', data: '.', batchSize: 4, lr: 1e-3, warmupSteps: 1, modelConfig: TINY };

describe('recipeStep', () => {
  it('builds the glfm step on synthetic images: two train() steps with a finite loss, nothing leaked', async () => {
    const before = tf.memory().numTensors;
    const step = recipeStep('glfm', config, { maxSteps: 2, rows: 8, seed: 3 });
    expect(step.recipe).toBe('glfm');
    expect(step.batchSize).toBe(4);
    expect(step.params).toBeGreaterThan(1000);
    expect(step.data).toMatch(/^8 random 28×28×1 byte images, 4 a batch/);
    const result = await train({ ...step.options, steps: 2 });
    expect(result.stepsRun).toBe(2);
    expect(Number.isFinite(result.lastLoss)).toBe(true);
    step.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses fewer rows than one batch, naming recipeStep and options.rows', () => {
    const err = (() => {
      try {
        recipeStep('glfm', config, { rows: 3 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(String((err as Error).message)).toMatch(/recipeStep.*options\.rows.*3 rows are fewer than one batch of 4/);
  });

  it('builds the text-consensus step on token rows of given lengths (cut at maxLength), and checks them', async () => {
    const text = {
      student: { dModel: 16, heads: 2, ffDim: 32, layers: 1, maxLength: 16, maxPositions: 32, outDim: 12 },
      consensus: { targetDim: 8 },
      steps: 10,
      batchSize: 6,
      warmupSteps: 1,
    };
    const before = tf.memory().numTensors;
    const step = recipeStep('text-consensus', text, { tokenLengths: [5, 9, 40, 3, 7, 12, 6, 8] });
    expect(step.data).toMatch(/^8 random token rows of the given lengths \(a batch pads to its longest, at most 16\)/);
    const result = await train({ ...step.options, steps: 2 });
    expect(result.stepsRun).toBe(2);
    expect(Number.isFinite(result.lastLoss)).toBe(true);
    step.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => recipeStep('text-consensus', text, { tokenLengths: [5, 1, 7, 7, 7, 7] })).toThrow(
      /options\.tokenLengths\[1\].*must be an integer >= 2/,
    );
  });
});
