// A consumer project, as a user would make one (issue 25): `npm pack` the packages @geolip/text needs, install the
// tarballs into a fresh folder (with tfjs-core, tfjs-backend-wasm and TypeScript from the npm cache or registry:
// `--prefer-offline`), type-check a small TypeScript file with `skipLibCheck: false`, then run it: it embeds two
// sentences without calling initBackend(), so the model must choose wasm itself and say so in one stderr line.
// TypeScript 5.9 is the consumer's compiler: under TypeScript 6, @tensorflow/tfjs-core 4.22's own declarations fail
// with skipLibCheck: false (its @webgpu/types clash with TS 6's lib.dom); this repo's declarations pass under both
// (tools/scripts/declarations.test.mjs checks them with TS 6).
// About a minute on 2 cores, so not in the default `npm test`: `.ci/run` sets GEOLIP_CONSUMER_TEST=1. Needs the
// built dist/ of every packed package (`npm run build`).
//   GEOLIP_CONSUMER_TEST=1 node --test tools/scripts/consumer.test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PACKAGES = ['geometry', 'io', 'metrics', 'nn', 'anchors', 'text'];

const CONSUMER_TS = `import { loadGeolipText, type Embeddings } from '@geolip/text';

// No initBackend(): the model chooses the backend itself.
const model = await loadGeolipText();
const embeddings: Embeddings = await model.encode(['A man is playing the cello.', 'A man seated is playing the cello.']);
const cos: number = model.similarity(embeddings)[0]![1]!;
const flat: Float32Array = await model.embed(['A plane is taking off.']);
console.log(JSON.stringify({ shape: embeddings.shape, cos, dim: model.dim, flat: flat.length }));
model.dispose();
`;

function sizeOf(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0);
}

test(
  'a project installing the packed tarballs type-checks (skipLibCheck: false) and embeds on wasm without initBackend',
  { skip: process.env.GEOLIP_CONSUMER_TEST !== '1' && 'set GEOLIP_CONSUMER_TEST=1 (.ci/run does)', timeout: 600_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'geolip-consumer-'));
    try {
      const tarballs = join(dir, 'tarballs');
      mkdirSync(tarballs);
      const packed = JSON.parse(
        execFileSync(
          'npm',
          [
            'pack',
            '--json',
            '--ignore-scripts',
            '--pack-destination',
            tarballs,
            ...PACKAGES.map((p) => `./packages/${p}`),
          ],
          { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
        ),
      );
      const app = join(dir, 'app');
      mkdirSync(app);
      const dependencies = Object.fromEntries(packed.map((t) => [t.name, `file:../tarballs/${t.filename}`]));
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({
          name: 'geolip-consumer',
          private: true,
          type: 'module',
          dependencies: {
            ...dependencies,
            '@tensorflow/tfjs-core': '4.22.0',
            '@tensorflow/tfjs-backend-wasm': '4.22.0',
          },
          devDependencies: { typescript: '5.9.3', '@types/node': '^20.19.0' },
        }),
      );
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            skipLibCheck: false,
            outDir: 'dist',
          },
          files: ['index.ts'],
        }),
      );
      writeFileSync(join(app, 'index.ts'), CONSUMER_TS);
      const install = spawnSync(
        'npm',
        ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=warn'],
        { cwd: app, encoding: 'utf8' },
      );
      assert.equal(install.status, 0, `npm install failed:\n${install.stderr}`);
      assert.doesNotMatch(install.stderr, /EBADENGINE/, 'npm warned about an engine');
      const tsc = spawnSync(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', app], {
        encoding: 'utf8',
      });
      assert.equal(tsc.status, 0, `tsc (skipLibCheck: false) failed:\n${tsc.stdout}${tsc.stderr}`);
      const env = { ...process.env, GEOLIP_WASM_THREADS: '1' };
      delete env.GEOLIP_BACKEND;
      delete env.GEOLIP_LOG;
      const run = spawnSync(process.execPath, ['dist/index.js'], { cwd: app, encoding: 'utf8', env });
      assert.equal(run.status, 0, `the consumer program failed:\n${run.stderr}`);
      const out = JSON.parse(run.stdout.trim());
      assert.deepEqual(out.shape, [2, 100]);
      assert.equal(out.flat, 100);
      assert.ok(out.cos > 0.5 && out.cos <= 1 + 1e-6, `cosine of two paraphrases: ${out.cos}`);
      const ours = run.stderr.split('\n').filter((l) => l.startsWith('[geolip]'));
      assert.equal(ours.length, 1, run.stderr);
      assert.match(ours[0], /^\[geolip\] loadGeolipText: no backend chosen, using wasm/);
      const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
      console.error(
        `consumer: tarballs ${mb(sizeOf(tarballs))}, node_modules ${mb(sizeOf(join(app, 'node_modules')))}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
