// The recipe kit: config readers (one error type with the field's path), the shared blocks, RecipeRun's run-directory
// rules (checkpoint without --resume, --resume without checkpoint, metrics emptied, result.json), the interrupted
// exit, and runRecipe's config `timeLimit`.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GeolipError, createRng } from '@geolip/geometry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  EXIT_INTERRUPTED,
  RecipeConfigError,
  RecipeRun,
  configReader,
  defineRecipe,
  optimizerKeys,
  optimizerOptions,
  readCheckpointBlock,
  streamSteps,
  readDataBlock,
  readOptimizerBlock,
  resultJson,
  runRecipe,
} from '../../src/index.js';
import type { TrainSummary } from '../../src/index.js';

const R = configReader('demo');
const io = () => {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } },
  };
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-kit-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('config readers', () => {
  it('throw one RecipeConfigError (a GeolipError) naming the recipe and the field path', () => {
    let error: unknown;
    try {
      R.num({ loss: 1 }, 'bce', '>=0', -1, 'loss');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RecipeConfigError);
    expect(GeolipError.isInstance(error)).toBe(true);
    expect((error as RecipeConfigError).path).toBe('loss.bce');
    expect((error as Error).message).toBe("demo config: 'loss.bce' must be a non-negative number, got -1");
    expect(() => R.keys({ lr: 1, lrr: 2 }, ['lr'])).toThrow("demo config: unknown field 'lrr' (valid: lr)");
    expect(() => R.bool({ flag: 1 }, 'flag', true)).toThrow("demo config: 'flag' must be true or false");
    expect(R.bool({}, 'flag', true)).toBe(true);
  });

  it('read the optimizer, data and checkpoint blocks with their defaults and checks', () => {
    const defaults = { lr: 1e-3, warmupSteps: 10, weightDecay: 0.01, clipNorm: 1 };
    expect(readOptimizerBlock(R, {}, defaults)).toEqual(defaults);
    expect(readOptimizerBlock(R, { lr: 2e-3 }, { lr: 1e-3, warmupSteps: 0, weightDecay: 0 })).toEqual({
      lr: 2e-3,
      warmupSteps: 0,
      weightDecay: 0,
    });
    expect(optimizerKeys(defaults)).toEqual(['lr', 'warmupSteps', 'weightDecay', 'clipNorm']);
    expect(optimizerKeys({ lr: 1 })).toEqual(['lr', 'warmupSteps', 'weightDecay']);
    expect(() => readOptimizerBlock(R, { student: { lr: 0 } }.student, defaults, 'student')).toThrow(
      /'student.lr' must be a positive number, got 0/,
    );
    expect(() => readOptimizerBlock(R, { warmupSteps: 1.5 }, defaults)).toThrow(
      /'warmupSteps' must be a non-negative integer/,
    );
    expect(readDataBlock(R, { data: 'd', trainLimit: 5 }, '/default', '/cfg')).toEqual({
      data: '/cfg/d',
      trainLimit: 5,
      testLimit: 0,
    });
    expect(readDataBlock(R, {}, '/default', '/cfg').data).toBe('/default');
    expect(readCheckpointBlock(R, {}, 50)).toEqual({ checkpointEvery: 50 });
    expect(() => readCheckpointBlock(R, { checkpointEvery: 0 }, 50)).toThrow(
      /'checkpointEvery' must be a positive integer/,
    );
    const o = optimizerOptions(defaults, 5, { lrScale: () => 1 });
    expect(o.clipNorm).toBe(1);
    expect(o.optimizer).toMatchObject({ lr: 1e-3, weightDecay: 0.01 });
    expect(o.schedule(0)).toBeCloseTo(1e-3 / 5, 12); // warmup cut to the 5 total steps
    expect(optimizerOptions({ lr: 1, warmupSteps: 0, weightDecay: 0 }, 5)).not.toHaveProperty('clipNorm');
  });
});

describe('RecipeRun', () => {
  it('refuses a checkpoint without --resume and --resume without one; empties metrics on a fresh run', async () => {
    const out = join(dir, 'run-a');
    await mkdir(join(out, 'checkpoints'), { recursive: true });
    await writeFile(join(out, 'metrics.jsonl'), 'old\n');
    const fresh = new RecipeRun('demo', io().io, { configPath: join(dir, 'a.json'), out, resume: false });
    const files = await fresh.stage();
    expect(files).toEqual({ ckDir: join(out, 'checkpoints'), metricsFile: join(out, 'metrics.jsonl') });
    expect(existsSync(join(out, 'metrics.jsonl'))).toBe(false);
    expect(fresh.trainOptions(files, 10, 1)).toEqual({
      checkpoint: { dir: files.ckDir, every: 10, keep: 1 },
      metricsFile: files.metricsFile,
    });
    const resumed = new RecipeRun('demo', io().io, { configPath: join(dir, 'a.json'), out, resume: true });
    await expect(resumed.stage()).rejects.toThrow(/^demo: --resume but .* holds no checkpoint$/);
    await expect(resumed.stage('student', { requireCheckpoint: false })).resolves.toEqual({
      ckDir: join(out, 'checkpoints', 'student'),
      metricsFile: join(out, 'student-metrics.jsonl'),
    });
    await writeFile(join(out, 'checkpoints', 'latest.json'), '{}');
    await expect(fresh.stage()).rejects.toThrow(/already holds a checkpoint; pass --resume or another --out/);
    expect(resumed.trainOptions(await resumed.stage(), 10).resumeFrom).toBe(join(out, 'checkpoints'));
  });

  it('says where an interrupted run stopped, returns 75, and writes result.json with non-finite numbers as null', async () => {
    const { out, io: sink } = io();
    const job = new RecipeRun('demo', sink, {
      configPath: join(dir, 'b.json'),
      out: join(dir, 'run-b'),
      resume: false,
    });
    const summary = {
      step: 3,
      stepsRun: 3,
      lastLoss: 1,
      stoppedEarly: false,
      aborted: true,
      lastCheckpoint: 'ck/step-3',
      elapsedMs: 1,
    } as TrainSummary;
    expect(job.interrupted(summary, 10, { stage: 'soup' })).toBe(EXIT_INTERRUPTED);
    expect(out.stdout).toBe('demo: stopped in the soup stage at step 3 of 10; checkpoint ck/step-3\n');
    const file = await job.writeResult({ a: NaN, b: 1 });
    expect(await readFile(file, 'utf8')).toBe(resultJson({ a: null, b: 1 }));
    expect(await readFile(file, 'utf8')).toBe('{\n  "a": null,\n  "b": 1\n}\n');
  });
});

describe('defineRecipe and runRecipe', () => {
  const seen: unknown[] = [];
  const recipe = defineRecipe({
    name: 'demo',
    description: 'a demo',
    help: 'config {"steps"}',
    parse: (raw: unknown) => {
      R.keys(raw as Record<string, unknown>, ['steps']);
      return { steps: R.num(raw as Record<string, unknown>, 'steps', 'int>0', 1) };
    },
    run: async (cfg, job) => {
      seen.push(cfg, job.options.signal?.aborted);
      return 0;
    },
  });

  it('parse the config, strip `timeLimit`, and hand the run a signal', async () => {
    const { io: sink } = io();
    await expect(
      runRecipe(recipe, { steps: 2, timeLimit: 30 }, sink, {
        configPath: join(dir, 'c.json'),
        out: join(dir, 'run-c'),
        resume: false,
        signals: false,
      }),
    ).resolves.toBe(0);
    expect(seen).toEqual([{ steps: 2 }, false]);
    await expect(
      runRecipe(recipe, { steps: 2, timeLimit: -1 }, sink, {
        configPath: join(dir, 'c.json'),
        out: join(dir, 'run-c'),
        resume: false,
        signals: false,
      }),
    ).rejects.toThrow("demo config: 'timeLimit' must be a positive number of seconds, got -1");
    await expect(
      runRecipe(recipe, { step: 2 }, sink, {
        configPath: join(dir, 'c.json'),
        out: join(dir, 'run-c'),
        resume: false,
        signals: false,
      }),
    ).rejects.toThrow(/unknown field 'step'/);
  });

  it('refuses a name the CLI cannot take', () => {
    expect(() =>
      defineRecipe({ name: 'Bad Name', description: '', help: '', parse: () => 0, run: async () => 0 }),
    ).toThrow(RecipeConfigError);
  });
});

describe('streamSteps', () => {
  const rng = createRng(0);
  /** Ten numbered batches; counts how many it produced, and how many `from` calls started where. */
  function source(seekable: boolean) {
    const seen = { produced: 0, fromCalls: [] as number[] };
    function* gen(start: number) {
      for (let i = start; i < 10; i++) {
        seen.produced++;
        yield i;
      }
    }
    const stream = seekable
      ? {
          [Symbol.iterator]: () => gen(0),
          from: (step: number) => {
            seen.fromCalls.push(step);
            return gen(step);
          },
        }
      : { [Symbol.iterator]: () => gen(0) };
    return { stream, seen };
  }

  it('serves steps in order from one iterator, and a resumed step exactly (replaying a plain iterable)', () => {
    const { stream, seen } = source(false);
    const at = streamSteps(stream);
    expect([0, 1, 2].map((s) => at(s, rng))).toEqual([0, 1, 2]);
    expect(seen.produced).toBe(3);
    const resumed = streamSteps(stream);
    expect([6, 7].map((s) => resumed(s, rng))).toEqual([6, 7]);
    expect(seen.produced).toBe(3 + 8); // 0…5 replayed and dropped, then 6 and 7
  });

  it('starts a seekable stream at the step through its from(), producing nothing before it', () => {
    const { stream, seen } = source(true);
    const at = streamSteps(stream);
    expect([6, 7, 8].map((s) => at(s, rng))).toEqual([6, 7, 8]);
    expect(seen.fromCalls).toEqual([6]);
    expect(seen.produced).toBe(3);
    expect(at(2, rng)).toBe(2); // out of order again: a new start
    expect(seen.fromCalls).toEqual([6, 2]);
  });
});
