// No EBADENGINE on install (issue 25): every package the lockfile installs, dev dependencies included, accepts the
// oldest Node the project supports (the root `engines.node` minimum, 20.19.0). nsfwjs 4.4.0 declared Node 22.13.0
// exactly; the vision and bench packages pin nsfwjs 4.3.0, whose model files (the only part they read) are
// byte-identical and which declares no engine.
//   node --test tools/scripts/engines.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import semver from 'semver';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file) => JSON.parse(readFileSync(join(root, file), 'utf8'));

/** The lockfile entries whose `engines.node` the project's oldest supported Node does not satisfy. */
function engineConflicts(lock, node) {
  return Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && p.engines?.node && !semver.satisfies(node, p.engines.node))
    .map(([path, p]) => `${path} wants node ${p.engines.node}`);
}

test('every locked package accepts the oldest supported Node', () => {
  const oldest = semver.minVersion(read('package.json').engines.node).version;
  assert.equal(oldest, '20.19.0');
  assert.deepEqual(engineConflicts(read('package-lock.json'), oldest), []);
});

test('the check catches a package that wants a newer Node (nsfwjs 4.4.0)', () => {
  const lock = { packages: { '': {}, 'node_modules/nsfwjs': { version: '4.4.0', engines: { node: '22.13.0' } } } };
  assert.deepEqual(engineConflicts(lock, '20.19.0'), ['node_modules/nsfwjs wants node 22.13.0']);
});
