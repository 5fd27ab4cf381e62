// The published declarations type-check in a consumer project with `skipLibCheck: false` (issue 25): a TypeScript
// file that imports every typed entry point of every package (ESM `.d.ts` and CJS `.d.cts`) is checked by the repo's
// tsc, and no diagnostic may point into a package's dist/. Runs on the built dist/ (the root `npm test` builds first).
// Diagnostics in third-party declarations are not ours to fix and are ignored here: under TypeScript 6,
// @tensorflow/tfjs-core 4.22's own files fail (its @webgpu/types 0.1.38 clashes with TS 6's lib.dom, and TS 6 no
// longer loads @types/long by default). The consumer test (tools/consumer/consumer.test.mjs, `GEOLIP_CONSUMER_TEST=1`)
// checks a whole project, third-party files included, with TypeScript 5.9, where tfjs-core passes.
//   node --test tools/scripts/declarations.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every `[specifier, hasRequireTypes]` with declarations, from each package's `exports` map. */
function typedEntries() {
  const out = [];
  for (const dir of readdirSync(join(root, 'packages'))) {
    const file = join(root, 'packages', dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      if (typeof target !== 'object' || target?.import?.types === undefined) continue;
      const specifier = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
      out.push([specifier, target.require?.types !== undefined]);
    }
  }
  return out;
}

/** Runs the repo's tsc on a project of `files` (name → text) and returns its diagnostics, one per line. */
export function typeCheck(files, compilerOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'geolip-dts-'));
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        ...compilerOptions,
      },
      files: Object.keys(files),
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The diagnostics that point into a GeoLIP package's declarations (or the consumer files themselves). */
function ours(diagnostics) {
  return diagnostics.filter((l) => /packages\/[^/]+\/dist\/|@geolip\/|(^|\/)[a-z]\.[cm]ts\(\d/.test(l));
}

test('every package entry point type-checks with skipLibCheck: false (ESM and CJS declarations)', () => {
  const entries = typedEntries();
  assert.ok(entries.length >= 20, `expected the typed entry points of every package, found ${entries.length}`);
  const esm = entries.map(([s], i) => `export * as m${i} from '${s}';`).join('\n');
  const cjs = entries
    .filter(([, req]) => req)
    .map(([s], i) => `import m${i} = require('${s}');\nexport { m${i} };`)
    .join('\n');
  const errors = ours(typeCheck({ 'a.mts': `${esm}\n`, 'b.cts': `${cjs}\n` }));
  assert.deepEqual(errors, []);
});

test('the check fails on a broken declaration (the MatrixLike regression of issue 25)', () => {
  // The shape rollup-plugin-dts produced for `export type { MatrixLike } from` inside the `linalg` namespace.
  const broken =
    'type MatrixLike = number[][];\n' +
    'declare const index_MatrixLike: typeof MatrixLike;\n' +
    'declare namespace index { export { index_MatrixLike as MatrixLike }; }\n' +
    'export { index as linalg };\n';
  const errors = ours(typeCheck({ 'c.mts': broken }));
  assert.equal(errors.length, 1);
  assert.match(errors[0], /'MatrixLike' only refers to a type, but is being used as a value here/);
});
