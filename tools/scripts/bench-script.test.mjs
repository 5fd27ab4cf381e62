// `npm run bench` (the root README's main job) says what it does and how long each step takes, and builds without a
// wall of output: turbo shows only the logs of a failing task (issue 25). Checks the plan (`--dry-run`), not a run.
//   node --test tools/scripts/bench-script.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

test('npm run bench announces each step with its duration, and builds with errors-only logs', () => {
  assert.equal(
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.bench,
    'node tools/scripts/bench.mjs',
  );
  const r = spawnSync(process.execPath, ['tools/scripts/bench.mjs', '--dry-run', '--tasks', 'stsb'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const [build, run] = r.stdout.trim().split('\n');
  assert.match(build, /turbo run build --filter=@geolip\/bench\.\.\. --output-logs=errors-only/);
  assert.match(run, /geolip-bench\.mjs run --tasks stsb$/);
  const said = r.stderr.trim().split('\n');
  assert.equal(said.length, 2);
  for (const line of said) assert.match(line, /^\[npm run bench\] [12]\/2 .*\b(min|s)\b/);
});
