// The CI-matrix recipe as separate processes: examples/ci-matrix/run.sh starts two `geolip-bench run --shard i/2`
// processes side by side and merges; the merged report equals the single-process report. The CLI is bundled from
// src/ with esbuild first (a package's tests run before its own build).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bundleCli, repo } from './helpers/bundle.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const model = join(here, 'fixtures', 'cli', 'model.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'geolip-ci-matrix-'));
let bundle = '';
let remove = () => {};
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  remove();
});

beforeAll(async () => {
  ({ bundle, remove } = await bundleCli());
  const data = join(tmp, 'data');
  for (const d of ['stsb', 'mrpc']) mkdirSync(join(data, d), { recursive: true });
  const w = ['red', 'blue', 'dog', 'cat', 'runs', 'sleeps', 'old', 'new', 'bird'];
  const sent = (i: number) => `a ${w[i % 9]} ${w[(i * 4 + 1) % 9]} ${w[(i * 5 + 2) % 9]} ${i % 3}`;
  const stsb = Array.from(
    { length: 25 },
    (_, i) => `g\tf\ty\t${i}\t${((i * 7) % 26) / 5}\t${sent(i)}\t${sent(2 * i + 1)}`,
  );
  writeFileSync(join(data, 'stsb', 'sts-dev.csv'), stsb.join('\n') + '\n');
  const mrpc = ['Quality\t#1 ID\t#2 ID\t#1 String\t#2 String'];
  for (let i = 0; i < 41; i++)
    mrpc.push(`${i % 3 ? 1 : 0}\t${i}\t${100 + i}\t${sent(i)}\t${i % 2 ? sent(i) : sent(i + 4)}`);
  writeFileSync(join(data, 'mrpc', 'msr_paraphrase_train.txt'), mrpc.join('\n') + '\n');
}, 60_000);

const strip = (path: string) => {
  const r = JSON.parse(readFileSync(path, 'utf8'));
  delete r.date;
  delete r.totals;
  delete r.settings.shards;
  for (const x of r.results) for (const k of ['seconds', 'embedSeconds', 'itemsPerSecond']) delete x[k];
  return r;
};

describe('examples/ci-matrix/run.sh', () => {
  it('two shard processes + merge equal the single-process report', () => {
    const args = ['--model', model, '--tasks', 'stsb,mrpc', '--data', join(tmp, 'data'), '--batch-size', '5'];
    const env = { ...process.env, GEOLIP_BENCH: `${process.execPath} ${bundle}`, SHARDS: '2' };
    const sharded = spawnSync('bash', [join(repo, 'examples', 'ci-matrix', 'run.sh'), ...args], {
      env: { ...env, OUT: join(tmp, 'matrix', 'report.json'), MERGE_ARGS: '--raw' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(sharded.status, sharded.stderr).toBe(0);
    expect(sharded.stderr).toMatch(/report of 2 shard\(s\) written/);
    const single = spawnSync(process.execPath, [bundle, 'run', ...args, '--raw', '--out', join(tmp, 'single.json')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(single.status, single.stderr).toBe(0);
    expect(strip(join(tmp, 'matrix', 'report.json'))).toEqual(strip(join(tmp, 'single.json')));
  });
});
