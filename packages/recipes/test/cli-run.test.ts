import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors } from '@geolip/io';
import { warmupCosine } from '@geolip/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main, RECIPES } from '../src/cli.js';
import { MlpStudent } from '@geolip/nn';

import { expectLoadsByMetadata, expertView, gaussian, gaussianSource, npyF8 } from './helpers.js';

function capture() {
  const o = { stdout: '', stderr: '' };
  return {
    o,
    io: { stdout: { write: (s: string) => (o.stdout += s) }, stderr: { write: (s: string) => (o.stderr += s) } },
  };
}

const N = 64;
let dir: string;
const baseConfig = {
  consensus: 'cons/consensus.safetensors',
  input: { expert: 'c', features: 'c.npy' },
  hidden: 32,
  steps: 60,
  batchSize: 32,
  lr: 3e-3,
  warmupSteps: 5,
  weightDecay: 0.01,
  temperature: 0.1,
  mseWeight: 1,
  seed: 0,
  checkpointEvery: 20,
};

async function writeConfig(name: string, config: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(config));
  return path;
}

async function run(args: string[]) {
  const c = capture();
  const code = await main(args, c.io);
  return { code, ...c.o };
}

async function weightsOf(out: string): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
  const { tensors } = readSafetensors(await readFile(join(out, 'student.safetensors')), { copy: true });
  return Object.fromEntries(
    Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-train-run-'));
  const r = gaussianSource(11);
  const base = gaussian(r, N, 8);
  for (const [name, d] of [
    ['a', 8],
    ['b', 12],
    ['c', 16],
  ] as const)
    await writeFile(join(dir, `${name}.npy`), npyF8(expertView(r, base, d, 0.05)));
  const res = await run([
    'consensus',
    '--expert',
    `a=${join(dir, 'a.npy')}`,
    '--expert',
    `b=${join(dir, 'b.npy')}`,
    '--expert',
    `c=${join(dir, 'c.npy')}`,
    '--out',
    join(dir, 'cons'),
  ]);
  expect(res.code, res.stderr).toBe(0);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('geolip-train run mlp-student', () => {
  it('registers mlp-student', () => {
    expect(Object.keys(RECIPES)).toContain('mlp-student');
  });

  it('trains, logs metrics, improves the cosine and writes the student weights', async () => {
    const cfg = await writeConfig('straight.json', baseConfig);
    const out = join(dir, 'straight');
    const res = await run(['run', 'mlp-student', '--config', cfg, '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    const records = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; loss?: number; step: number });
    const steps = records.filter((rec) => rec.type === 'step');
    expect(steps).toHaveLength(60);
    expect(steps.at(-1)!.loss!).toBeLessThan(steps[0]!.loss!);
    expect(records.some((rec) => rec.type === 'checkpoint')).toBe(true);
    const m = /mean cosine\(student, target\): (-?[\d.]+) \(before: (-?[\d.]+)\)/.exec(res.stdout);
    expect(m, res.stdout).not.toBeNull();
    const [after, before] = [Number(m![1]), Number(m![2])];
    expect(after).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(0.8);
    const w = await weightsOf(out);
    expect(Object.keys(w).sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    expect(w['fc1.weight']!.shape).toEqual([32, 16]);
    expect(w['fc1.bias']!.shape).toEqual([32]);
    expect(w['fc2.weight']!.shape).toEqual([8, 32]);
    expect(w['fc2.bias']!.shape).toEqual([8]);
    // The student loads by its metadata alone (nn/mlp-student), bit-identical to the file.
    expect(await expectLoadsByMetadata(join(out, 'student.safetensors'), 'nn/mlp-student', MlpStudent)).toBe(
      32 * 16 + 32 + 8 * 32 + 8,
    );

    // A fresh run into a directory with checkpoints is refused.
    const again = await run(['run', 'mlp-student', '--config', cfg, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a checkpoint/);
  });

  it('--steps 30 then --resume to 60 equals a straight 60-step run', async () => {
    const cfg = await writeConfig('resume.json', baseConfig);
    const out = join(dir, 'resumed');
    const first = await run(['run', 'mlp-student', '--config', cfg, '--out', out, '--steps', '30']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/steps 0 -> 30 \(of 60\)/);
    const second = await run(['run', 'mlp-student', '--config', cfg, '--out', out, '--resume']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/steps 30 -> 60 \(of 60\)/);
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; step: number });
    expect(lines.filter((l) => l.type === 'step').map((l) => l.step)).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    if (tf.getBackend() !== 'cpu') return;
    const straight = join(dir, 'straight-ref');
    const ref = await run(['run', 'mlp-student', '--config', cfg, '--out', straight]);
    expect(ref.code, ref.stderr).toBe(0);
    const a = await weightsOf(out);
    const b = await weightsOf(straight);
    for (const name of Object.keys(b))
      expect(Buffer.from(a[name]!.data.buffer).equals(Buffer.from(b[name]!.data.buffer)), name).toBe(true);
  });

  it('full checkpoints -> compact-checkpoint -> --resume in a fresh directory re-warms; --compact-checkpoints', async () => {
    const cfg = await writeConfig('compact.json', baseConfig);
    const out = join(dir, 'compact-src');
    const first = await run(['run', 'mlp-student', '--config', cfg, '--out', out, '--steps', '30']);
    expect(first.code, first.stderr).toBe(0);

    // The trip back: only the compact copy of the latest full checkpoint.
    const carried = join(dir, 'carried');
    const conv = await run(['compact-checkpoint', join(out, 'checkpoints'), '--out', carried]);
    expect(conv.code, conv.stderr).toBe(0);
    expect(conv.stdout).toMatch(
      /^step 30: .*step-000000030 -> .*carried.step-000000030 \([\d.]+ MB of F16 weights in 1 file\(s\)/,
    );
    const stepDir = join(carried, 'step-000000030');
    expect((await readdir(stepDir)).sort()).toEqual(['state.json', 'weights.safetensors']);
    const stored = readSafetensors(await readFile(join(stepDir, 'weights.safetensors')), { copy: true });
    expect(Object.values(stored.tensors).map((t) => t.dtype)).toEqual(['F16', 'F16', 'F16', 'F16']);

    // The next session: the compact root becomes <out>/checkpoints of a fresh directory, and --resume continues.
    const next = join(dir, 'compact-next');
    await cp(carried, join(next, 'checkpoints'), { recursive: true });
    const second = await run(['run', 'mlp-student', '--config', cfg, '--out', next, '--resume', '--rewarm-steps', '5']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/steps 30 -> 60 \(of 60\)/);
    const records = (await readFile(join(next, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; step: number; lr?: number; compact?: boolean; rewarm?: unknown });
    expect(records[0]).toMatchObject({ type: 'resume', step: 30, compact: true, rewarm: { from: 30, steps: 5 } });
    const schedule = warmupCosine({ warmupSteps: 5, totalSteps: 60, peakLr: 3e-3 });
    const steps = records.filter((r) => r.type === 'step');
    expect(steps.map((r) => r.step)).toEqual(Array.from({ length: 30 }, (_, i) => 31 + i));
    for (const r of steps.slice(0, 7)) {
      const k = r.step - 30;
      expect(r.lr).toBeCloseTo(schedule(r.step - 1) * Math.min(1, k / 5), 12);
    }
    // Checkpoints after the resume are full again (exact resumes while the machine is held).
    expect((await readdir(join(next, 'checkpoints', 'step-000000060'))).sort()).toContain('state.safetensors');

    // --compact-checkpoints: the run's own checkpoints are compact.
    const small = join(dir, 'compact-run');
    const third = await run([
      'run',
      'mlp-student',
      '--config',
      cfg,
      '--out',
      small,
      '--steps',
      '20',
      '--compact-checkpoints',
    ]);
    expect(third.code, third.stderr).toBe(0);
    const state = JSON.parse(await readFile(join(small, 'checkpoints', 'step-000000020', 'state.json'), 'utf8'));
    expect(state).toMatchObject({ compact: true, step: 20 });

    // A multi-stage run's checkpoints (<out>/checkpoints/<stage>): each stage is copied to <dir>/<stage>.
    const tree = join(dir, 'stages');
    await cp(join(out, 'checkpoints'), join(tree, 'a'), { recursive: true });
    await cp(join(small, 'checkpoints'), join(tree, 'b'), { recursive: true });
    const staged = await run(['compact-checkpoint', tree, '--out', join(dir, 'stages-compact')]);
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stdout.trim().split('\n')).toHaveLength(2);
    expect(await readdir(join(dir, 'stages-compact', 'a'))).toContain('step-000000030');
    expect(await readdir(join(dir, 'stages-compact', 'b'))).toContain('step-000000020');

    const expectUsage = async (args: string[], pattern: RegExp) => {
      const res = await run(args);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(pattern);
    };
    await expectUsage(
      ['run', 'mlp-student', '--config', cfg, '--rewarm-steps', '-1'],
      /--rewarm-steps must be a non-negative integer, got '-1'/,
    );
    await expectUsage(['compact-checkpoint', join(out, 'checkpoints')], /compact-checkpoint needs --out <dir>/);
    await expectUsage(['compact-checkpoint', join(dir, 'nowhere'), '--out', join(dir, 'x')], /holds no checkpoint/);
    await expectUsage(
      ['compact-checkpoint', join(out, 'checkpoints'), '--out', join(out, 'checkpoints')],
      /'to' is the checkpoint root being read/,
    );
  });

  it('errors: unknown recipe, missing field, missing consensus, bad values, resume without checkpoint', async () => {
    const expectError = async (args: string[], pattern: RegExp, code = 1) => {
      const res = await run(args);
      expect(res.code).toBe(code);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(pattern);
    };
    const good = await writeConfig('good.json', baseConfig);
    await expectError(['run', 'nope', '--config', good], /unknown recipe 'nope'; valid recipes: mlp-student/);
    await expectError(['run'], /valid recipes: mlp-student/);
    const { consensus: _c, ...noConsensus } = baseConfig;
    await expectError(
      ['run', 'mlp-student', '--config', await writeConfig('missing.json', noConsensus)],
      /missing field 'consensus'/,
    );
    await expectError(
      ['run', 'mlp-student', '--config', await writeConfig('missing2.json', { ...baseConfig, input: { expert: 'c' } })],
      /missing field 'input.features'/,
    );
    await expectError(
      [
        'run',
        'mlp-student',
        '--config',
        await writeConfig('nocons.json', { ...baseConfig, consensus: 'nowhere.safetensors' }),
      ],
      /consensus file .*nowhere\.safetensors does not exist/,
    );
    await expectError(
      ['run', 'mlp-student', '--config', await writeConfig('badhidden.json', { ...baseConfig, hidden: 1.5 })],
      /'hidden' must be a positive integer, got 1.5/,
    );
    await expectError(
      ['run', 'mlp-student', '--config', await writeConfig('typo.json', { ...baseConfig, stepz: 3 })],
      /unknown field 'stepz'/,
    );
    await expectError(
      [
        'run',
        'mlp-student',
        '--config',
        await writeConfig('badexpert.json', { ...baseConfig, input: { expert: 'zz', features: 'c.npy' } }),
      ],
      /'input.expert' 'zz' is not in the consensus \(experts: a, b, c\)/,
    );
    await expectError(
      ['run', 'mlp-student', '--config', good, '--out', join(dir, 'empty'), '--resume'],
      /--resume but .* holds no checkpoint/,
    );
    // the one backend-name check (parseBackendName); the CLIs worded it two ways before ('--backend must be one of')
    await expectError(
      ['run', 'mlp-student', '--config', good, '--backend', 'gpu9'],
      /'--backend' names an unknown backend 'gpu9' \(known: tensorflow/,
    );
    await expectError(['run', 'mlp-student', '--config', good, '--resume', '--resume'], /--resume given 2 times/);
    await expectError(['run', 'mlp-student', '--config', join(dir, 'absent.json')], /cannot read config/);
  });
});
