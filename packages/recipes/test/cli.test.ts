import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Matrix } from '@geolip/geometry';
import { writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../src/cli.js';
import { loadConsensus } from '@geolip/train';
import { expertView, gaussian, gaussianSource, npyF8 } from './helpers.js';

function capture() {
  let stdout = '';
  let stderr = '';
  return {
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

const N = 60;
let dir: string;
let paths: { a: string; b: string; c: string; short: string; nan: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-train-cli-'));
  const r = gaussianSource(7);
  const base = gaussian(r, N, 8);
  const a = expertView(r, base, 8, 0.02);
  const b = expertView(r, base, 12, 0.02);
  const c = expertView(r, base, 16, 0.02);
  paths = {
    a: join(dir, 'a.npy'),
    b: join(dir, 'b.safetensors'),
    c: join(dir, 'c-shards'),
    short: join(dir, 'short.npy'),
    nan: join(dir, 'nan.npy'),
  };
  await writeFile(paths.a, npyF8(a));
  await writeFile(
    paths.b,
    writeSafetensors({ embeddings: { dtype: 'F32', shape: [N, 12], data: Float32Array.from(b.data) } }),
  );
  await mkdir(paths.c);
  for (let s = 0; s < 3; s++) {
    const rows = c.data.subarray(s * 20 * 16, (s + 1) * 20 * 16);
    await writeFile(
      join(paths.c, `c.shard-${s}-of-3.safetensors`),
      writeSafetensors({ embeddings: { dtype: 'F64', shape: [20, 16], data: rows } }),
    );
  }
  const short = new Matrix(N - 1, 8);
  short.data.set(a.data.subarray(0, (N - 1) * 8));
  await writeFile(paths.short, npyF8(short));
  const nan = new Matrix(N, 8, Float64Array.from(a.data));
  nan.data[5] = Number.NaN;
  await writeFile(paths.nan, npyF8(nan));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('geolip-train consensus', () => {
  it('builds, writes and reports a consensus of three experts', async () => {
    const out = join(dir, 'out');
    const cap = capture();
    const code = await main(
      [
        'consensus',
        '--expert',
        `alpha=${paths.a}`,
        '--expert',
        `beta=${paths.b}`,
        `--expert=gamma=${paths.c}`,
        '--out',
        out,
        '--target-dim',
        '6',
      ],
      cap.io,
    );
    expect(cap.stderr).toBe('');
    expect(code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['consensus.safetensors', 'diagnostics.json']);

    const model = loadConsensus(await readFile(join(out, 'consensus.safetensors')));
    expect(model.experts).toEqual(['alpha', 'beta', 'gamma']);
    expect(model.config.inputDims).toEqual([8, 12, 16]);
    expect([model.targets.rows, model.targets.cols]).toEqual([N, 6]);
    expect(model.projectors.map((p) => [p.linear.rows, p.linear.cols])).toEqual([
      [8, 6],
      [12, 6],
      [16, 6],
    ]);

    const diag = JSON.parse(await readFile(join(out, 'diagnostics.json'), 'utf8')) as {
      samples: number;
      experts: { name: string; dim: number; cosineToConsensus: number }[];
    };
    expect(diag.samples).toBe(N);
    expect(diag.experts.map((e) => [e.name, e.dim])).toEqual([
      ['alpha', 8],
      ['beta', 12],
      ['gamma', 16],
    ]);

    for (const [name, dim] of [
      ['alpha', 8],
      ['beta', 12],
      ['gamma', 16],
    ] as const) {
      const line = cap.stdout.split('\n').find((l) => l.startsWith(`${name} `));
      expect(line, cap.stdout).toBeDefined();
      const cells = line!.trim().split(/\s+/);
      expect(cells[1]).toBe(String(dim));
      expect(Number(cells[2])).toBeGreaterThan(0.95);
    }
    expect(cap.stdout).toMatch(/equidistance\s+\d\.\d{4}/);
    expect(cap.stdout).toMatch(/consensus CV\s+(\d\.\d{4}|n\/a)/);
    expect(existsSync(join(out, 'consensus.safetensors.tmp'))).toBe(false);
  });

  it.each([
    [
      'fewer than 2 experts',
      1,
      () => ['consensus', '--expert', `a=${paths.a}`, '--out', join(dir, 'x')],
      /at least 2 --expert/,
    ],
    [
      'a bad name=path',
      1,
      () => ['consensus', '--expert', paths.a, '--expert', `b=${paths.b}`, '--out', join(dir, 'x')],
      /--expert must be name=path/,
    ],
    [
      'an empty name',
      1,
      () => ['consensus', '--expert', `=${paths.a}`, '--expert', `b=${paths.b}`, '--out', join(dir, 'x')],
      /--expert must be name=path/,
    ],
    [
      'a repeated name',
      1,
      () => ['consensus', '--expert', `a=${paths.a}`, '--expert', `a=${paths.b}`, '--out', join(dir, 'x')],
      /'a' given twice/,
    ],
    [
      'a missing file',
      1,
      () => [
        'consensus',
        '--expert',
        `a=${paths.a}`,
        '--expert',
        `b=${join(dir, 'missing.npy')}`,
        '--out',
        join(dir, 'x'),
      ],
      /missing\.npy' does not exist/,
    ],
    [
      'a different N',
      1,
      () => ['consensus', '--expert', `a=${paths.a}`, '--expert', `short=${paths.short}`, '--out', join(dir, 'x')],
      /expert 'short' has N=59/,
    ],
    [
      'NaN features',
      1,
      () => ['consensus', '--expert', `a=${paths.a}`, '--expert', `n=${paths.nan}`, '--out', join(dir, 'x')],
      /nan\.npy' has 1 non-finite/,
    ],
    ['no --out', 1, () => ['consensus', '--expert', `a=${paths.a}`, '--expert', `b=${paths.b}`], /needs --out/],
    [
      'a bad --target-dim',
      1,
      () => [
        'consensus',
        '--expert',
        `a=${paths.a}`,
        '--expert',
        `b=${paths.b}`,
        '--out',
        join(dir, 'x'),
        '--target-dim',
        '0',
      ],
      /positive integer/,
    ],
    [
      '--target-dim > width',
      1,
      () => [
        'consensus',
        '--expert',
        `a=${paths.a}`,
        '--expert',
        `b=${paths.b}`,
        '--out',
        join(dir, 'x'),
        '--target-dim',
        '9',
      ],
      /exceeds the width 8/,
    ],
    [
      '--width > min D_e',
      1,
      () => [
        'consensus',
        '--expert',
        `a=${paths.a}`,
        '--expert',
        `b=${paths.b}`,
        '--out',
        join(dir, 'x'),
        '--width',
        '12',
      ],
      /smallest expert width 8/,
    ],
    ['an unknown option', 1, () => ['consensus', '--bogus', '1'], /unknown option --bogus/],
    [
      '--out given twice',
      1,
      () => [
        'consensus',
        '--expert',
        `a=${paths.a}`,
        '--expert',
        `b=${paths.b}`,
        '--out',
        join(dir, 'x'),
        '--out',
        join(dir, 'x'),
      ],
      /--out given 2 times/,
    ],
  ])('exits with one line on %s', async (_label, code, argv, pattern) => {
    const cap = capture();
    expect(await main(argv(), cap.io)).toBe(code);
    expect(cap.stderr).toMatch(/^geolip-train: error: .*\n$/);
    expect(cap.stderr.split('\n')).toHaveLength(2);
    expect(cap.stderr).toMatch(pattern);
    expect(cap.stdout).toBe('');
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});

describe('geolip-train commands', () => {
  it('prints help and the version', async () => {
    const help = capture();
    expect(await main(['help'], help.io)).toBe(0);
    expect(help.stdout).toContain('geolip-train consensus --expert');
    expect(help.stdout).toContain('geolip-train run <recipe> --config');
    expect(help.stdout).toContain('geolip-train compact-checkpoint <checkpoints> --out <dir>');
    const version = capture();
    expect(await main(['--version'], version.io)).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+.*\n$/);
    const none = capture();
    expect(await main([], none.io)).toBe(1);
    expect(none.stdout).toContain('Usage:');
  });

  it("run --help and consensus --help print each command's options", async () => {
    const run = capture();
    expect(await main(['run', '--help'], run.io)).toBe(0);
    for (const o of [
      '--config <file.json>',
      '--out <dir>',
      '--resume',
      '--steps <N>',
      '--time-limit <S>',
      '--compact-checkpoints',
      '--rewarm-steps <R>',
      '--backend <name>',
      '-h, --help',
    ])
      expect(run.stdout, o).toContain(o);
    for (const r of ['mlp-student', 'text-consensus', 'fmnist-vit', 'fmnist-david', 'coco-soup', 'glfm'])
      expect(run.stdout).toContain(r);
    const cons = capture();
    expect(await main(['consensus', '--help'], cons.io)).toBe(0);
    for (const o of ['--expert <name=path>', '--out <dir>', '--width <W>', '--target-dim <K>', '--iterations <n>'])
      expect(cons.stdout, o).toContain(o);
    const compact = capture();
    expect(await main(['compact-checkpoint', '--help'], compact.io)).toBe(0);
    for (const o of ['--out <dir>', '--shard-bytes <N>', 'F16']) expect(compact.stdout, o).toContain(o);
  });

  it('rejects an unknown command, listing the valid ones', async () => {
    const cap = capture();
    expect(await main(['train'], cap.io)).toBe(1);
    expect(cap.stderr).toBe(
      "geolip-train: error: unknown command 'train'; valid commands: consensus, run, merge, compact-checkpoint, submit, worker, status, help\n",
    );
  });
});
