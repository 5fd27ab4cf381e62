// `node -e "import('@geolip/train')"` loads no model package (issue 18): the engine's built entry is imported in a
// child Node with a module resolve hook that logs every URL it resolves; none may be a file of @geolip/text,
// @geolip/vision, @geolip/diffusion or @geolip/recipes. Runs on the built dist/ (the root `npm test` builds first);
// packages/train/test/engine/imports.test.ts checks the same graph from the sources.
//   node --test tools/scripts/engine-imports.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL_PACKAGES =
  /\/packages\/(text|vision|diffusion|recipes)\/|\/node_modules\/@geolip\/(text|vision|diffusion|recipes)\//;

/** The file URLs Node resolves while running `code` (an ES module) from the repository root. */
function resolvedUrls(code) {
  const dir = mkdtempSync(join(tmpdir(), 'geolip-imports-'));
  try {
    const log = join(dir, 'resolved.txt');
    writeFileSync(log, '');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';\n` +
        `export async function resolve(specifier, context, next) {\n` +
        `  const r = await next(specifier, context);\n` +
        `  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');\n` +
        `  return r;\n}\n`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
    );
    execFileSync(
      process.execPath,
      ['--import', pathToFileURL(join(dir, 'register.mjs')).href, '--input-type=module', '-e', code],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('file:'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const built = existsSync(join(root, 'packages/train/dist/index.js'));

test("import('@geolip/train') loads no model package", { skip: !built && 'packages/train/dist is not built' }, () => {
  const urls = resolvedUrls("await import('@geolip/train');");
  assert.ok(
    urls.some((u) => u.includes('/packages/train/dist/')),
    'the hook saw the engine load',
  );
  assert.deepEqual(
    urls.filter((u) => MODEL_PACKAGES.test(u)),
    [],
  );
});

test(
  "import('@geolip/recipes') does load them (the hook sees model packages)",
  { skip: !existsSync(join(root, 'packages/recipes/dist/index.js')) && 'packages/recipes/dist is not built' },
  () => {
    const urls = resolvedUrls("await import('@geolip/recipes');");
    assert.ok(urls.some((u) => /\/packages\/vision\//.test(u)));
  },
);
