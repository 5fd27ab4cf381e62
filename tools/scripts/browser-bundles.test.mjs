// The library packages' browser entry points bundle for a browser (issue 10): esbuild, platform "browser", every
// import resolved, no Node built-in pulled in. Runs on the built dist/ (the root `npm test` builds first).
//   node --test tools/scripts/browser-bundles.test.mjs
// Node-only by design: @geolip/cli, @geolip/train, @geolip/recipes and @geolip/bench (CLIs, checkpoints and reports on
// disk), and the Node-only subpaths (@geolip/io/node; @geolip/text/data, /experts, /corpus; @geolip/vision/io, /experts).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

export const BROWSER_ENTRIES = [
  ['@geolip/geometry', 'packages/geometry/dist/index.js'],
  ['@geolip/geometry/backend', 'packages/geometry/dist/backend.js'],
  ['@geolip/geometry/checks', 'packages/geometry/dist/checks.js'],
  ['@geolip/io', 'packages/io/dist/index.js'],
  ['@geolip/metrics', 'packages/metrics/dist/index.js'],
  ['@geolip/nn', 'packages/nn/dist/index.js'],
  ['@geolip/nn/backend', 'packages/nn/dist/backend.js'],
  ['@geolip/anchors', 'packages/anchors/dist/index.js'],
  ['@geolip/text', 'packages/text/dist/index.js'],
  ['@geolip/vision', 'packages/vision/dist/index.js'],
  ['@geolip/diffusion', 'packages/diffusion/dist/index.js'],
];

for (const [name, file] of BROWSER_ENTRIES) {
  test(
    `${name} bundles for a browser without Node built-ins`,
    { skip: !existsSync(join(root, file)) && `${file} is not built` },
    async () => {
      const result = await build({
        entryPoints: [join(root, file)],
        bundle: true,
        platform: 'browser',
        format: 'esm',
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      assert.deepEqual(result.errors, []);
      const inputs = Object.keys(result.metafile.inputs);
      const node = inputs.filter((p) => p.startsWith('node:') || /(^|\/)(fs|path|url|zlib|os|module)(\.js)?$/.test(p));
      assert.deepEqual(node, [], `${name} pulls in Node modules: ${node.join(', ')}`);
    },
  );
}

test('a Node built-in imported literally fails the check (the check can fail)', async () => {
  await assert.rejects(
    build({
      stdin: { contents: "import { readFileSync } from 'node:fs'; console.log(readFileSync);", resolveDir: root },
      bundle: true,
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    }),
    /Could not resolve "node:fs"/,
  );
});
