import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors } from '@geolip/io';
import { afterAll, describe, expect, it } from 'vitest';

import { main } from '../src/cli.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixtures = join(here, 'fixtures', 'cli');
const model = join(fixtures, 'model.mjs');
const dataDir = join(fixtures, 'data');
const tmp = mkdtempSync(join(tmpdir(), 'geolip-bench-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: tty },
  });
  return { code, stdout, stderr };
}

describe('geolip-bench run', () => {
  it('runs the whole STS-B pipeline on the 20-row fixture: table, JSON report, SVG', async () => {
    const out = join(tmp, 'run1', 'report.json');
    const plots = join(tmp, 'run1', 'plots');
    const r = await cli([
      'run',
      '--model',
      model,
      '--tasks',
      'stsb',
      '--data',
      dataDir,
      '--out',
      out,
      '--plots',
      plots,
      '--batch-size',
      '8',
    ]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      '| model | params | task | split | n | Spearman | Pearson | F1 | accuracy | AUC | threshold |',
    );
    expect(lines[2]).toMatch(
      /^\| fixture-trigram \| 1\.2K \| STS-B \| dev \| 20 \| -?\d+\.\d\d \| -?\d+\.\d\d \| – \| – \| – \| – \|$/,
    );
    // non-TTY progress: periodic lines
    expect(r.stderr).toMatch(/stsb dev: \d+\/\d+ sentences \(100%\)/);

    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.schema).toBe('geolip-bench/report@1');
    expect(report.environment.backend).toBe(tf.getBackend());
    expect(report.environment.node).toBe(process.version);
    expect(report.environment.packages['@geolip/geometry']).toMatch(/^\d+\.\d+\.\d+/);
    expect(Date.parse(report.date)).not.toBeNaN();
    expect(report.settings).toMatchObject({
      command: 'run',
      split: 'dev',
      tasks: ['stsb'],
      batchSize: 8,
      modelName: 'fixture-trigram',
      dim: 64,
    });
    expect(report.totals.itemsPerSecond).toBeGreaterThan(0);
    expect(report.results).toHaveLength(1);
    const res = report.results[0];
    expect(res).toMatchObject({
      kind: 'regression',
      task: 'stsb',
      split: 'dev',
      n: 20,
      model: 'fixture-trigram',
      params: 1234,
    });
    expect(res.spearman).toBeGreaterThan(0); // character overlap tracks similarity a little
    expect(res.spearman).toBeLessThanOrEqual(1);
    expect(typeof res.pearson).toBe('number');
    expect(res.seconds).toBeGreaterThanOrEqual(0);
    expect(res.uniqueSentences).toBeLessThanOrEqual(40);
    expect(lines[2]).toContain(` ${(100 * res.spearman).toFixed(2)} `);
    expect(readdirSync(join(tmp, 'run1')).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const svg = readFileSync(join(plots, 'stsb-dev.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(20);
    expect(svg).toContain('fixture-trigram: stsb dev');
  });

  it('defaults to the embedded STS-B dev split (1500 pairs)', async () => {
    const out = join(tmp, 'embedded.json');
    const r = await cli(['run', '--model', model, '--out', out, '--raw'], true);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| fixture-trigram \| 1\.2K \| STS-B \| dev \| 1500 \|/);
    expect(r.stderr).toContain('\rstsb dev [');
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.settings.data).toBe('embedded');
    expect(report.results[0].gold).toHaveLength(1500);
    expect(report.results[0].predicted).toHaveLength(1500);
  });

  it('evaluates SICK (trial) and MRPC (dev carved from train, threshold fitted on the rest)', async () => {
    const dir = join(tmp, 'synthetic');
    mkdirSync(join(dir, 'sick'), { recursive: true });
    mkdirSync(join(dir, 'mrpc'), { recursive: true });
    const words = ['red', 'blue', 'green', 'small', 'large', 'dog', 'cat', 'bird', 'runs', 'sleeps'];
    const sent = (i: number) => `the ${words[i % 10]} ${words[(i * 3 + 1) % 10]} ${words[(i * 7 + 2) % 10]}`;
    const sick = ['pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment'];
    for (let i = 0; i < 12; i++)
      sick.push(`${i + 1}\t${sent(i)}\t${i % 2 ? sent(i) : sent(i + 5)}\t${i % 2 ? 4.8 : 1.5 + (i % 3) / 2}\tNEUTRAL`);
    writeFileSync(join(dir, 'sick', 'SICK_trial.txt'), sick.join('\n') + '\n');
    const mrpc = ['\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String'];
    for (let i = 0; i < 40; i++)
      mrpc.push(`${i % 2}\t${1000 + i}\t${2000 + i}\t${sent(i)}\t${i % 2 ? sent(i) + '.' : sent(i + 3)}`);
    writeFileSync(join(dir, 'mrpc', 'msr_paraphrase_train.txt'), mrpc.join('\n') + '\n');

    const out = join(tmp, 'synthetic.json');
    const r = await cli(['run', '--model', model, '--tasks', 'sick,mrpc', '--data', dir, '--out', out]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| fixture-trigram \| 1\.2K \| SICK-R \| trial \| 12 \|/);
    expect(r.stdout).toMatch(
      /\| fixture-trigram \| 1\.2K \| MRPC \| train:dev \| 4 \| – \| – \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [-\d.]+ \|/,
    );
    expect(r.stdout).toMatch(
      /\| all-paraphrase baseline \| – \| MRPC \| train:dev \| 4 \| – \| – \| 66\.67 \| 50\.00 \| 50\.00 \| – \|/,
    );
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const m = report.results.find((x: { task: string }) => x.task === 'mrpc');
    expect(m.thresholdFittedOn).toMatchObject({ split: 'train:train', n: 36 });
    expect(m).toHaveProperty('oracle.f1');
    expect(m.trivialF1).toBeCloseTo(2 / 3, 12);
    expect(report.settings.splits.mrpc).toMatchObject({ evaluated: 'train:dev', thresholdFit: 'train:train' });
  });

  it('unknown task: exit 1 and the valid tasks', async () => {
    const r = await cli(['run', '--tasks', 'stsb,foo', '--model', model]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("geolip-bench: error: unknown task 'foo'; valid tasks: stsb, sick, mrpc, coco\n");
    expect(r.stdout).toBe('');
  });

  it('unknown model: exit 1 and the valid models', async () => {
    const r = await cli(['run', '--model', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^geolip-bench: error: unknown model 'nope'; valid models: glove-avg, geolip-text, use-lite, a \.safetensors student/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('missing model module: exit 1 naming the path', async () => {
    const r = await cli(['run', '--model', './no/such/model.mjs']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(resolve('./no/such/model.mjs'));
  });

  it('missing data file: exit 1 naming the expected path, no stack', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    const r = await cli(['run', '--model', model, '--data', empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(empty, 'stsb', 'sts-dev.csv'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('tasks other than STS-B dev need --data', async () => {
    const r = await cli(['run', '--model', model, '--tasks', 'sick']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('needs --data');
    const t = await cli(['run', '--model', model, '--split', 'test']);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('--split test needs --data');
  });

  it('usage errors: unknown option, command, split, backend', async () => {
    expect((await cli(['run', '--bogus'])).stderr).toContain('unknown option --bogus');
    expect((await cli(['frobnicate'])).stderr).toContain("unknown command 'frobnicate'");
    expect((await cli(['run', '--split', 'val'])).stderr).toContain("unknown split 'val'");
    const b = await cli(['run', '--backend', 'tpu', '--model', model]);
    expect(b.code).toBe(1);
    // the one backend-name check (@geolip/geometry/backend parseBackendName); the CLIs worded it two ways before
    expect(b.stderr).toContain(
      "'--backend' names an unknown backend 'tpu' (known: tensorflow, webgpu, webgl, wasm, cpu)",
    );
    expect((await cli(['help'])).stdout).toContain('geolip-bench run');
  });
});

describe('geolip-bench help and strict options', () => {
  it("--help prints the program's commands; run --help prints run's options", async () => {
    const h = await cli(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['run', 'data', 'embed', 'scan'])
      expect(h.stdout).toMatch(new RegExp(`^  geolip-bench ${c} `, 'm'));
    const r = await cli(['run', '--help']);
    expect(r.code).toBe(0);
    for (const o of [
      '--model <name|path>',
      '--tasks <list>',
      '--split dev|test',
      '--data <dir>',
      '--backend <name>',
      '--out <file>',
      '--plots <dir>',
      '--batch-size <N>',
      '--drop-malformed',
      '--raw',
      '--image-model <name|path>',
      '--coco <dir>',
      '--retrieval',
      '--help',
    ]) {
      expect(r.stdout, o).toContain(o);
    }
    for (const t of ['stsb', 'sick', 'mrpc', 'coco']) expect(r.stdout).toMatch(new RegExp(`^  ${t} `, 'm'));
    expect((await cli(['help', 'embed'])).stdout).toContain('--shard <i/N>');
    expect((await cli(['scan', '-h'])).stdout).toContain('--sample <N>');
  });
  it('a repeated single-valued flag is a usage error (it used to win silently)', async () => {
    const r = await cli(['run', '--tasks', 'stsb', '--tasks', 'sick']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('geolip-bench: error: --tasks given 2 times (it takes one value)\n');
    const m = await cli(['run', '--model']);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain('--model needs a value');
  });
  it('--version prints the package version', async () => {
    const v = await cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+.*\n$/);
  });
});

describe('geolip-bench data', () => {
  it('explains each dataset and checks the directory', async () => {
    const r = await cli(['data', '--data', dataDir]);
    expect(r.code).toBe(0);
    for (const name of ['stsb:', 'sick:', 'mrpc:', 'coco:']) expect(r.stdout).toContain(name);
    expect(r.stdout).toMatch(/\[x\] stsb\/sts-dev\.csv\s+20 rows/);
    expect(r.stdout).toMatch(/\[ \] sick\/SICK_trial\.txt\s+missing/);
    expect(r.stdout).toContain('CC BY-NC-SA 3.0');
    expect(r.stdout).toContain('https://cocodataset.org');
  });

  it('defaults to the embedded directory', async () => {
    const r = await cli(['data']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[x\] stsb\/sts-dev\.csv\s+1500 rows/);
  });

  it('a missing directory is an error', async () => {
    const r = await cli(['data', '--data', join(tmp, 'nowhere')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('data directory not found');
  });
});

describe('geolip-bench embed', () => {
  it('writes one safetensors file per shard and skips finished shards', async () => {
    const input = join(tmp, 'texts.txt');
    writeFileSync(input, ['a red dog', 'a blue cat', 'green birds', 'small', 'large dog'].join('\n') + '\n');
    const out = join(tmp, 'emb', 'vectors.safetensors');
    const r0 = await cli(['embed', '--model', model, '--input', input, '--out', out, '--shard', '0/2']);
    expect(r0.code).toBe(0);
    const file = join(tmp, 'emb', 'vectors.shard-0-of-2.safetensors');
    expect(existsSync(file)).toBe(true);
    const st = readSafetensors(new Uint8Array(readFileSync(file)));
    expect(st.tensors.embeddings!.shape).toEqual([3, 64]);
    expect(st.metadata).toMatchObject({ model: 'fixture-trigram', shard: '0/2', rows: '3' });
    const again = await cli(['embed', '--model', model, '--input', input, '--out', out, '--shard', '0/2']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('skipping');
    const r1 = await cli(['embed', '--model', model, '--input', input, '--out', out, '--shard', '1/2']);
    expect(r1.code).toBe(0);
    expect(
      readSafetensors(new Uint8Array(readFileSync(join(tmp, 'emb', 'vectors.shard-1-of-2.safetensors')))).tensors
        .embeddings!.shape,
    ).toEqual([2, 64]);
    expect((await cli(['embed', '--model', model, '--input', input, '--out', out, '--shard', '2/2'])).code).toBe(1);
  });
});
