// `geolip-bench run --shard i/N` + `geolip-bench merge`: the merged report equals the single-process one (every
// metric to the last digit), and a set of shards that is not exactly one complete run is refused by name.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../src/cli.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const model = join(here, 'fixtures', 'cli', 'model.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'geolip-bench-shard-'));
const data = join(tmp, 'data');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
  });
  return { code, stdout, stderr };
}

/** STS-B dev (31 pairs), SICK trial (17) and MRPC train (45): odd sizes, so the shards are uneven. */
function writeData(): void {
  for (const d of ['stsb', 'sick', 'mrpc']) mkdirSync(join(data, d), { recursive: true });
  const words = ['red', 'blue', 'green', 'small', 'large', 'dog', 'cat', 'bird', 'runs', 'sleeps', 'old', 'new'];
  const sent = (i: number) => `the ${words[i % 12]} ${words[(i * 5 + 1) % 12]} ${words[(i * 7 + 2) % 12]} ${i % 4}`;
  const stsb: string[] = [];
  for (let i = 0; i < 31; i++)
    stsb.push(`main-captions\tMSRvid\t2012test\t${i}\t${((i * 37) % 51) / 10}\t${sent(i)}\t${sent(i * 3 + 1)}`);
  writeFileSync(join(data, 'stsb', 'sts-dev.csv'), stsb.join('\n') + '\n');
  const sick = ['pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment'];
  for (let i = 0; i < 17; i++)
    sick.push(`${i + 1}\t${sent(i)}\t${sent(i + (i % 3))}\t${1 + ((i * 13) % 40) / 10}\tNEUTRAL`);
  writeFileSync(join(data, 'sick', 'SICK_trial.txt'), sick.join('\n') + '\n');
  const mrpc = ['\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String'];
  for (let i = 0; i < 45; i++)
    mrpc.push(
      `${(i * 7) % 3 === 0 ? 0 : 1}\t${1000 + i}\t${2000 + i}\t${sent(i)}\t${i % 2 ? sent(i) + '.' : sent(i + 5)}`,
    );
  writeFileSync(join(data, 'mrpc', 'msr_paraphrase_train.txt'), mrpc.join('\n') + '\n');
}

const common = ['--model', model, '--tasks', 'stsb,sick,mrpc', '--data', data, '--batch-size', '4'];

/** A report without what differs from run to run (timings, date, the shard list). */
function comparable(path: string): unknown {
  const r = JSON.parse(readFileSync(path, 'utf8'));
  delete r.date;
  delete r.totals.seconds;
  delete r.totals.embedSeconds;
  delete r.totals.itemsPerSecond;
  delete r.settings.shards;
  for (const x of r.results) {
    delete x.seconds;
    delete x.embedSeconds;
    delete x.itemsPerSecond;
  }
  return r;
}

describe('geolip-bench run --shard i/N + merge', () => {
  let single: unknown;
  beforeAll(async () => {
    writeData();
    const r = await cli(['run', ...common, '--raw', '--out', join(tmp, 'single.json')]);
    expect(r.stderr).not.toContain('error');
    single = comparable(join(tmp, 'single.json'));
  });

  it.each([1, 2, 3, 7])('%i shard(s) merge to the single-process report, every digit', async (n) => {
    const out = join(tmp, `n${n}`, 'report.json');
    for (let i = n - 1; i >= 0; i--) {
      const r = await cli(['run', ...common, '--shard', `${i}/${n}`, '--out', out]);
      expect(r.stderr).not.toContain('error');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`report\\.shard-${i}-of-${n}\\.json: shard ${i}/${n}, content hash [0-9a-f]{64}`),
      );
    }
    const m = await cli(['merge', '--out', out, '--raw']);
    expect(m.stderr).not.toContain('error');
    expect(m.code).toBe(0);
    expect(comparable(out)).toEqual(single);
    expect(JSON.parse(readFileSync(out, 'utf8')).settings.shards).toHaveLength(n);
  });

  it("is exact for a model whose rows depend on their batch (shards embed in the whole run's batches)", async () => {
    const batchModel = join(here, 'fixtures', 'cli', 'batch-model.mjs');
    const args = ['--model', batchModel, ...common.slice(2)];
    const ref = join(tmp, 'batch-single.json');
    expect((await cli(['run', ...args, '--raw', '--out', ref])).code).toBe(0);
    const out = join(tmp, 'batch', 'report.json');
    for (let i = 0; i < 3; i++) expect((await cli(['run', ...args, '--shard', `${i}/3`, '--out', out])).code).toBe(0);
    expect((await cli(['merge', '--out', out, '--raw'])).code).toBe(0);
    expect(comparable(out)).toEqual(comparable(ref));
  });

  it('a finished shard is skipped on a rerun', async () => {
    const out = join(tmp, 'rerun', 'report.json');
    await cli(['run', ...common, '--shard', '0/2', '--out', out]);
    const r = await cli(['run', ...common, '--shard', '0/2', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/shard 0\/2 already done, skipping/);
  });

  it('refuses a missing shard, a duplicate and a shard of another configuration, naming the file', async () => {
    const out = join(tmp, 'bad', 'report.json');
    const shard = (i: number, n: number) => join(tmp, 'bad', `report.shard-${i}-of-${n}.json`);
    await cli(['run', ...common, '--shard', '0/3', '--out', out]);
    await cli(['run', ...common, '--shard', '2/3', '--out', out]);
    let r = await cli(['merge', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/geolip-bench merge: 'shards' lack shard\(s\) 1 of 3 \(have 0, 2\)/);
    r = await cli(['merge', '--out', out, shard(0, 3), shard(0, 3), shard(2, 3)]);
    expect(r.stderr).toMatch(/geolip-bench merge: '.*report\.shard-0-of-3\.json' is shard 0\/3, as is/);
    const other = join(tmp, 'other', 'report.json');
    await cli(['run', ...common.slice(0, -1), '8', '--shard', '1/3', '--out', other]);
    r = await cli(['merge', '--out', out, shard(0, 3), join(tmp, 'other', 'report.shard-1-of-3.json'), shard(2, 3)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /'.*other\/report\.shard-1-of-3\.json' comes from another configuration .*'batchSize' differ/,
    );
    await cli(['run', ...common, '--shard', '1/2', '--out', out]);
    r = await cli(['merge', '--out', out]);
    expect(r.stderr).toMatch(/is shard \d\/\d, .* is of \d/);
  });

  it('usage errors: a bad spec, no --out, coco, --plots', async () => {
    for (const spec of ['2/2', 'x', '1/0']) {
      const r = await cli(['run', ...common, '--shard', spec, '--out', join(tmp, 'u.json')]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`--shard must be i/N with 0 <= i < N, got '${spec}'`);
    }
    expect((await cli(['run', ...common, '--shard', '0/2'])).stderr).toContain('--shard needs --out');
    const coco = await cli([
      'run',
      '--model',
      model,
      '--tasks',
      'coco',
      '--shard',
      '0/2',
      '--out',
      join(tmp, 'c.json'),
    ]);
    expect(coco.stderr).toContain('--shard covers the pair tasks only');
  });
});
