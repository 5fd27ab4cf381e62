// Self-test of check-deps.mjs on synthetic repos (node --test tools/scripts/check-deps.test.mjs).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { LAYERS, checkRepo, satisfies } from './check-deps.mjs';

function repo(packages) {
  const root = mkdtempSync(join(tmpdir(), 'check-deps-'));
  for (const [dir, { pj, files = {} }] of Object.entries(packages)) {
    mkdirSync(join(root, 'packages', dir), { recursive: true });
    writeFileSync(join(root, 'packages', dir, 'package.json'), JSON.stringify(pj));
    for (const [f, src] of Object.entries(files)) {
      mkdirSync(join(root, 'packages', dir, f, '..'), { recursive: true });
      writeFileSync(join(root, 'packages', dir, f), src);
    }
  }
  return root;
}

test('a clean graph passes', () => {
  const root = repo({
    geometry: {
      pj: { name: '@geolip/geometry', peerDependencies: { '@tensorflow/tfjs-core': '4.22.0' } },
      files: {
        'src/a.ts':
          "import * as tf from '@tensorflow/tfjs-core';\nimport { x } from './b.js';\nimport fs from 'node:fs';",
      },
    },
    anchors: {
      pj: { name: '@geolip/anchors', dependencies: { '@geolip/geometry': '^0.1.0' } },
      files: {
        'src/a.ts':
          "export { normalize } from '@geolip/geometry';\n// import x from 'not-a-dep'\n/** @example import y from 'nope' */",
      },
    },
  });
  assert.deepEqual(checkRepo(root), []);
});

test('an edge to the right is rejected', () => {
  const root = repo({
    geometry: { pj: { name: '@geolip/geometry', dependencies: { '@geolip/anchors': '0.0.0' } } },
    anchors: { pj: { name: '@geolip/anchors' } },
  });
  assert.match(
    checkRepo(root).join('\n'),
    /@geolip\/geometry \(layer 0\) must not depend on @geolip\/anchors \(layer \d+\)/,
  );
});

test('anchors sits above nn: anchors → nn passes, nn → anchors is rejected', () => {
  const ok = repo({
    nn: { pj: { name: '@geolip/nn', version: '0.1.0' } },
    anchors: {
      pj: { name: '@geolip/anchors', dependencies: { '@geolip/nn': '^0.1.0' } },
      files: { 'src/a.ts': "import { Module } from '@geolip/nn';" },
    },
  });
  assert.deepEqual(checkRepo(ok), []);
  const bad = repo({
    nn: { pj: { name: '@geolip/nn', dependencies: { '@geolip/anchors': '0.0.0' } } },
    anchors: { pj: { name: '@geolip/anchors' } },
  });
  assert.match(
    checkRepo(bad).join('\n'),
    /@geolip\/nn \(layer \d+\) must not depend on @geolip\/anchors \(layer \d+\)/,
  );
});

test('the layer table orders geometry < nn < anchors < {text, vision, diffusion} < train < bench', () => {
  const L = (name) => LAYERS[`@geolip/${name}`];
  assert.ok(L('geometry') < L('nn') && L('nn') < L('anchors'));
  for (const model of ['text', 'vision', 'diffusion']) {
    assert.ok(L('anchors') < L(model) && L(model) < L('train'));
    assert.equal(L(model), L('text'));
  }
  assert.ok(L('train') < L('bench'));
});

test('siblings of one layer may not depend on each other', () => {
  const root = repo({
    text: { pj: { name: '@geolip/text', dependencies: { '@geolip/vision': '0.0.0' } } },
    vision: { pj: { name: '@geolip/vision' } },
  });
  assert.match(checkRepo(root).join('\n'), /@geolip\/text \(layer \d+\) must not depend on @geolip\/vision/);
});

test('an undeclared import is rejected, a devDependency only counts in tests', () => {
  const root = repo({
    anchors: {
      pj: { name: '@geolip/anchors', devDependencies: { 'fast-check': '4' } },
      files: {
        'src/a.ts': "import { normalize } from '@geolip/geometry';\nconst m = await import('fast-check');",
        'test/a.test.ts': "import fc from 'fast-check';",
      },
    },
  });
  const problems = checkRepo(root).join('\n');
  assert.match(problems, /src\/a\.ts imports @geolip\/geometry, which @geolip\/anchors does not declare/);
  assert.match(problems, /src\/a\.ts imports fast-check/);
  assert.doesNotMatch(problems, /test\/a\.test\.ts/);
});

test('an internal range the workspace version does not satisfy is rejected', () => {
  const root = repo({
    nn: { pj: { name: '@geolip/nn', version: '0.1.0' } },
    text: { pj: { name: '@geolip/text', version: '0.0.0', dependencies: { '@geolip/nn': '0.0.0' } } },
    vision: { pj: { name: '@geolip/vision', version: '0.0.0', dependencies: { '@geolip/nn': '^0.1.0' } } },
  });
  const problems = checkRepo(root).join('\n');
  assert.match(problems, /@geolip\/text asks for @geolip\/nn@0\.0\.0 but the workspace has 0\.1\.0/);
  assert.doesNotMatch(problems, /@geolip\/vision asks/);
});

test('satisfies follows npm caret and tilde ranges', () => {
  assert.equal(satisfies('0.1.0', '^0.1.0'), true);
  assert.equal(satisfies('0.1.5', '^0.1.0'), true);
  assert.equal(satisfies('0.2.0', '^0.1.0'), false);
  assert.equal(satisfies('0.0.0', '^0.1.0'), false);
  assert.equal(satisfies('1.4.0', '^1.2.3'), true);
  assert.equal(satisfies('2.0.0', '^1.2.3'), false);
  assert.equal(satisfies('0.0.3', '^0.0.3'), true);
  assert.equal(satisfies('0.0.4', '^0.0.3'), false);
  assert.equal(satisfies('1.2.9', '~1.2.3'), true);
  assert.equal(satisfies('1.3.0', '~1.2.3'), false);
  assert.equal(satisfies('0.1.0', '0.1.0'), true);
  assert.equal(satisfies('0.1.0', '0.0.0'), false);
  assert.equal(satisfies('0.1.0', '*'), true);
});
