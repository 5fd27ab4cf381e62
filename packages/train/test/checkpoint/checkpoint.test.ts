import { mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FormatError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { loadCheckpoint } from '../../src/checkpoint/index.js';
import { train, warmupCosine } from '../../src/loop/index.js';
import { isCpu, makeBatch, makeModel, snapshot } from '../loop/helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'geolip-ckpt-'));
const common = {
  data: (_s: number, rng: Parameters<typeof makeBatch>[0]) => makeBatch(rng),
  optimizer: { lr: 1e-2, weightDecay: 0.1 },
  schedule: warmupCosine({ warmupSteps: 3, totalSteps: 20, peakLr: 1e-2 }),
  clipNorm: 1,
  accumulate: 2,
  seed: 11,
  config: { hidden: 8, lr: 1e-2 },
};

describe('checkpoints', () => {
  it('10 steps + save + resume + 10 steps equals 20 straight steps', async () => {
    const straight = makeModel(21);
    await train({ ...common, model: straight, steps: 20 });
    const want = snapshot(straight.vars);
    straight.dispose();

    const dir = tmp();
    const a = makeModel(21);
    const s1 = await train({ ...common, model: a, steps: 10, checkpoint: { dir, every: 5 } });
    expect(s1.lastCheckpoint).toMatch(/step-000000010$/);
    a.dispose();
    const b = makeModel(99); // different init: everything must come from the checkpoint
    const s2 = await train({ ...common, model: b, steps: 20, resumeFrom: dir });
    expect(s2.stepsRun).toBe(10);
    const got = snapshot(b.vars);
    b.dispose();
    for (const n of Object.keys(want)) {
      if (isCpu()) expect(Array.from(got[n]!)).toEqual(Array.from(want[n]!));
      else for (let i = 0; i < want[n]!.length; i++) expect(got[n]![i]).toBeCloseTo(want[n]![i]!, 4);
    }
  });

  it('an aborted run saves a checkpoint at the step it stopped, and resuming equals a straight run', async () => {
    const straight = makeModel(23);
    await train({ ...common, model: straight, steps: 20 });
    const want = snapshot(straight.vars);
    straight.dispose();

    const dir = tmp();
    const a = makeModel(23);
    const controller = new AbortController();
    const seen: number[] = [];
    const s1 = await train({
      ...common,
      model: a,
      steps: 20,
      checkpoint: { dir, every: 5 },
      signal: controller.signal,
      afterStep: (step) => {
        seen.push(step);
        if (step === 7) controller.abort();
      },
    });
    a.dispose();
    expect(s1).toMatchObject({ aborted: true, step: 7, stepsRun: 7, stoppedEarly: false });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(s1.lastCheckpoint).toMatch(/step-000000007$/);
    const b = makeModel(98);
    const s2 = await train({ ...common, model: b, steps: 20, resumeFrom: dir, signal: new AbortController().signal });
    expect(s2).toMatchObject({ aborted: false, stepsRun: 13, step: 20 });
    const got = snapshot(b.vars);
    b.dispose();
    for (const n of Object.keys(want)) {
      if (isCpu()) expect(Array.from(got[n]!)).toEqual(Array.from(want[n]!));
      else for (let i = 0; i < want[n]!.length; i++) expect(got[n]![i]).toBeCloseTo(want[n]![i]!, 4);
    }
  });

  it('an abort before the first step runs nothing and writes no checkpoint', async () => {
    const m = makeModel(3);
    const controller = new AbortController();
    controller.abort();
    const s = await train({
      ...common,
      model: m,
      steps: 5,
      checkpoint: { dir: tmp(), every: 1 },
      signal: controller.signal,
    });
    m.dispose();
    expect(s).toMatchObject({ aborted: true, step: 0, stepsRun: 0, lastCheckpoint: undefined });
  });

  it('rejects a checkpoint from another config, naming what differs', async () => {
    const dir = tmp();
    const a = makeModel(1);
    await train({ ...common, model: a, steps: 2, checkpoint: { dir, every: 1 } });
    a.dispose();
    const wide = makeModel(1, 16);
    const err = await train({ ...common, model: wide, steps: 4, resumeFrom: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(ShapeError);
    expect(err.message).toMatch(/parameter 'l1.weight'.*\[4, 16\].*got \[4, 8\]/);
    wide.dispose();
    const same = makeModel(1);
    expect(() => loadCheckpoint(dir, { expectWeights: same.vars, expectConfig: { hidden: 8, lr: 3e-2 } })).toThrow(
      /config.lr: expected 0.03, checkpoint has 0.01/,
    );
    const { anchors: _a, ...noAnchors } = same.vars;
    expect(() => loadCheckpoint(dir, { expectWeights: noAnchors })).toThrow(
      /parameter 'anchors' that the model does not have/,
    );
    same.dispose();
  });

  it('rejects a truncated state file with FormatError', async () => {
    const dir = tmp();
    const a = makeModel(2);
    const s = await train({ ...common, model: a, steps: 2, checkpoint: { dir, every: 2 } });
    a.dispose();
    const file = join(s.lastCheckpoint!, 'state.safetensors');
    truncateSync(file, readFileSync(file).byteLength - 7);
    expect(() => loadCheckpoint(dir)).toThrow(FormatError);
    expect(() => loadCheckpoint(dir)).toThrow(/state.safetensors/);
    writeFileSync(join(s.lastCheckpoint!, 'state.json'), '{"format":"geolip-tr');
    expect(() => loadCheckpoint(dir)).toThrow(/state.json' is not valid JSON/);
  });

  it('a crash mid-write leaves the previous checkpoint loadable', async () => {
    const dir = tmp();
    const a = makeModel(3);
    await train({ ...common, model: a, steps: 4, checkpoint: { dir, every: 4 } });
    a.dispose();
    // Simulate a save of step 8 that died half way: a partial temp dir, latest.json untouched.
    const partial = join(dir, '.tmp-step-000000008-1-1');
    mkdirSync(partial);
    writeFileSync(join(partial, 'weights.safetensors'), new Uint8Array(10));
    const ck = loadCheckpoint(dir);
    expect(ck.step).toBe(4);
  });

  it("the next save removes a crashed save's leftovers, latest.json's temp file included", async () => {
    const dir = tmp();
    const a = makeModel(3);
    await train({ ...common, model: a, steps: 2, checkpoint: { dir, every: 2 } });
    mkdirSync(join(dir, '.tmp-step-000000008-1-1'));
    writeFileSync(join(dir, '.latest.json.tmp-99999'), '{"dir":"step-000000008"');
    await train({ ...common, model: a, steps: 4, checkpoint: { dir, every: 2 } });
    a.dispose();
    expect(readdirSync(dir).filter((e) => e.startsWith('.'))).toEqual([]);
  });
});
