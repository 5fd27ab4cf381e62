import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { Matrix, linalg, readSafetensors } from '@geolip/geometry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main, RECIPES } from '../src/cli.js';

function gaussianSource(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-300)) * Math.cos(2 * Math.PI * uniform());
}

function gaussian(r: () => number, n: number, d: number): Matrix {
  const m = new Matrix(n, d);
  for (let i = 0; i < m.data.length; i++) m.data[i] = r();
  return m;
}

/** Expert view of `base` [N, 8]: pad to width d, rotate by a random orthogonal matrix, add noise. */
function expertView(r: () => number, base: Matrix, d: number): Matrix {
  const padded = new Matrix(base.rows, d);
  for (let i = 0; i < base.rows; i++) {
    for (let j = 0; j < d; j++) padded.data[i * d + j] = (j < base.cols ? base.data[i * base.cols + j]! : 0) + 0.05 * r();
  }
  const { u, v } = linalg.svd(gaussian(r, d, d));
  return linalg.matmul(padded, linalg.matmulTransposeB(u, v));
}

function npyF8(m: Matrix): Uint8Array {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + m.data.length * 8);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(Float64Array.from(m.data).buffer), 10 + header.length);
  return out;
}

function capture() {
  const o = { stdout: '', stderr: '' };
  return { o, io: { stdout: { write: (s: string) => (o.stdout += s) }, stderr: { write: (s: string) => (o.stderr += s) } } };
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
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-train-run-'));
  const r = gaussianSource(11);
  const base = gaussian(r, N, 8);
  for (const [name, d] of [['a', 8], ['b', 12], ['c', 16]] as const) await writeFile(join(dir, `${name}.npy`), npyF8(expertView(r, base, d)));
  const res = await run(['consensus', '--expert', `a=${join(dir, 'a.npy')}`, '--expert', `b=${join(dir, 'b.npy')}`, '--expert', `c=${join(dir, 'c.npy')}`, '--out', join(dir, 'cons')]);
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
    const records = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss?: number; step: number });
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
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number });
    expect(lines.filter((l) => l.type === 'step').map((l) => l.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    if (tf.getBackend() !== 'cpu') return;
    const straight = join(dir, 'straight-ref');
    const ref = await run(['run', 'mlp-student', '--config', cfg, '--out', straight]);
    expect(ref.code, ref.stderr).toBe(0);
    const a = await weightsOf(out);
    const b = await weightsOf(straight);
    for (const name of Object.keys(b)) expect(Buffer.from(a[name]!.data.buffer).equals(Buffer.from(b[name]!.data.buffer)), name).toBe(true);
  });

  it('errors: unknown recipe, missing field, missing consensus, bad values, resume without checkpoint', async () => {
    const expectError = async (args: string[], pattern: RegExp) => {
      const res = await run(args);
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(pattern);
    };
    const good = await writeConfig('good.json', baseConfig);
    await expectError(['run', 'nope', '--config', good], /unknown recipe 'nope'; valid recipes: mlp-student/);
    await expectError(['run'], /valid recipes: mlp-student/);
    const { consensus: _c, ...noConsensus } = baseConfig;
    await expectError(['run', 'mlp-student', '--config', await writeConfig('missing.json', noConsensus)], /missing field 'consensus'/);
    await expectError(['run', 'mlp-student', '--config', await writeConfig('missing2.json', { ...baseConfig, input: { expert: 'c' } })], /missing field 'input.features'/);
    await expectError(['run', 'mlp-student', '--config', await writeConfig('nocons.json', { ...baseConfig, consensus: 'nowhere.safetensors' })], /consensus file .*nowhere\.safetensors does not exist/);
    await expectError(['run', 'mlp-student', '--config', await writeConfig('badhidden.json', { ...baseConfig, hidden: 1.5 })], /'hidden' must be a positive integer, got 1.5/);
    await expectError(['run', 'mlp-student', '--config', await writeConfig('typo.json', { ...baseConfig, stepz: 3 })], /unknown field 'stepz'/);
    await expectError(['run', 'mlp-student', '--config', await writeConfig('badexpert.json', { ...baseConfig, input: { expert: 'zz', features: 'c.npy' } })], /'input.expert' 'zz' is not in the consensus \(experts: a, b, c\)/);
    await expectError(['run', 'mlp-student', '--config', good, '--out', join(dir, 'empty'), '--resume'], /--resume but .* holds no checkpoint/);
    await expectError(['run', 'mlp-student', '--config', good, '--backend', 'gpu9'], /--backend must be one of/);
    await expectError(['run', 'mlp-student', '--config', join(dir, 'absent.json')], /cannot read config/);
  });
});
