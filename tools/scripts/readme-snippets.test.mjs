// Every JavaScript / TypeScript block of the root and package READMEs runs as written (issue 25): runs
// tools/scripts/readme-snippets.mjs on the built packages (the root `npm test` builds first; about 20 s of CPU), and
// checks its parsing. A block that cannot run says why in a `<!-- snippet: skip (reason) -->` comment; the list of
// skipped blocks is pinned here, so skipping one more is a visible change.
//   node --test tools/scripts/readme-snippets.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { collect, extractSnippets } from './readme-snippets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

test('extractSnippets reads js/ts fences, skip reasons and continuations', () => {
  const md = [
    '# x',
    '```js',
    'const a = 1;',
    '```',
    '<!-- snippet: continues -->',
    '```ts',
    'const b: number = a;',
    '```',
    '<!-- snippet: skip (needs a GPU) -->',
    '```js',
    'gpu();',
    '```',
    '```sh',
    'npm test',
    '```',
    '<!-- snippet: args (greet --times 2) -->',
    '```js',
    'main();',
    '```',
  ].join('\n');
  assert.deepEqual(extractSnippets(md), [
    { line: 2, lang: 'js', code: 'const a = 1;', skip: null, continues: false },
    { line: 6, lang: 'ts', code: 'const b: number = a;', skip: null, continues: true },
    { line: 10, lang: 'js', code: 'gpu();', skip: 'needs a GPU', continues: false },
    { line: 17, lang: 'js', code: 'main();', skip: null, continues: false, args: ['greet', '--times', '2'] },
  ]);
});

test('only the pinned blocks are skipped, each with its reason', () => {
  const { modules, skipped } = collect();
  assert.ok(modules.length >= 30, `expected the READMEs' snippets, found ${modules.length}`);
  assert.deepEqual(skipped.map((s) => s.where.replace(/:\d+$/, '')).sort(), [
    'packages/recipes/README.md',
    'packages/vision/README.md',
  ]);
});

test('every README snippet runs', { timeout: 300_000 }, () => {
  const r = spawnSync(process.execPath, ['tools/scripts/readme-snippets.mjs'], { cwd: root, encoding: 'utf8' });
  const failed = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
  assert.deepEqual(failed, []);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
});
