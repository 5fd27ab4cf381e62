// Self-test of line-width.mjs on temporary git trees (node --test tools/scripts/line-width.test.mjs).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { checkLineWidth, fallbackWidth, formatProblems, lineWidth, readPrintWidth } from './line-width.mjs';

const SCRIPT = fileURLToPath(new URL('./line-width.mjs', import.meta.url));
const roots = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A git repository with `.prettierrc.json` (printWidth 120 unless given) and `files`, all tracked. */
function repo(files, prettierrc = { printWidth: 120 }) {
  const root = mkdtempSync(join(tmpdir(), 'line-width-'));
  roots.push(root);
  writeFileSync(join(root, '.prettierrc.json'), JSON.stringify(prettierrc));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  execFileSync('git', ['init', '-q'], { cwd: root });
  execFileSync('git', ['add', '-A'], { cwd: root });
  return root;
}

const line = (n) => `// ${'x'.repeat(n - 3)}`;

test('a line of exactly the width passes', () => {
  assert.equal(line(120).length, 120);
  const root = repo({ 'packages/a/src/a.ts': `${line(120)}\nexport const a = 1;\n` });
  assert.deepEqual(checkLineWidth(root), { limit: 120, files: 1, problems: [] });
});

test('a longer line fails, reported by path, line and width', () => {
  const root = repo({
    'packages/a/src/deep/b.ts': `export const b = 1;\n${line(121)}\n`,
    'apps/demo/src/main.tsx': `${line(130)}\r\n${line(100)}\r\n`,
    'packages/a/src/ok.mjs': `${line(120)}\n`,
  });
  const result = checkLineWidth(root);
  assert.equal(result.files, 3);
  assert.deepEqual(formatProblems(result), [
    'apps/demo/src/main.tsx:1: 130 characters (limit 120)',
    'packages/a/src/deep/b.ts:2: 121 characters (limit 120)',
  ]);
});

test('files outside src, other endings and untracked files are ignored', () => {
  const long = `${line(200)}\n`;
  const root = repo({
    'packages/a/test/a.test.ts': long,
    'packages/a/bench/b.ts': long,
    'packages/a/README.md': long,
    'packages/a/src/data.json': long,
    'packages/a/src/style.css': long,
    'tools/scripts/x.mjs': long,
    'src/top.ts': long,
    'packages/a/src/ok.js': 'export {};\n',
  });
  writeFileSync(join(root, 'packages/a/src/untracked.ts'), long);
  assert.deepEqual(checkLineWidth(root), { limit: 120, files: 1, problems: [] });
});

test('the limit is the printWidth of .prettierrc.json; characters are counted, not bytes', () => {
  const root = repo({ 'packages/a/src/a.ts': `${line(81)}\n// ${'α·→'.repeat(25)}\n` }, { printWidth: 80 });
  assert.equal(readPrintWidth(root), 80);
  assert.equal(lineWidth(`// ${'α·→'.repeat(25)}`), 78);
  assert.deepEqual(
    checkLineWidth(root).problems.map((p) => [p.line, p.width]),
    [[1, 81]],
  );
  assert.equal(checkLineWidth(root, { limit: 81 }).problems.length, 0);
  assert.throws(() => checkLineWidth(root, { limit: 0 }), /checkLineWidth: 'options\.limit'/);
});

test('the CLI exits 1 with the report, 0 on a clean tree', () => {
  const bad = repo({ 'packages/a/src/a.ts': `${line(125)}\n` });
  const failed = spawnSync(process.execPath, [SCRIPT, bad], { encoding: 'utf8' });
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /^packages\/a\/src\/a\.ts:1: 125 characters \(limit 120\)$/m);
  const good = repo({ 'packages/a/src/a.ts': `${line(120)}\n` });
  const passed = spawnSync(process.execPath, [SCRIPT, good], { encoding: 'utf8' });
  assert.equal(passed.status, 0, passed.stderr);
});

test('without Prettier the width rule gives the same counts', () => {
  for (const text of ['plain ascii', '⟨x̂_np, a_pa(τ_k)⟩ → ‖x‖ · ≥', 'caption ↔ image', '漢字 ｘ', '🙂👍🏽 ok', '\ttab']) {
    assert.equal(fallbackWidth(text), lineWidth(text), text);
  }
});
