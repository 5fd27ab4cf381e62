// Every package ships the Apache-2.0 licence it declares (issue 25): the full text at the repository root
// (copied from Debian's /usr/share/common-licenses/Apache-2.0), a byte-identical LICENSE in every package folder, and
// `npm pack --dry-run` listing it in every tarball.
//   node --test tools/scripts/license.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const packages = readdirSync(join(root, 'packages')).filter((d) => {
  try {
    readFileSync(join(root, 'packages', d, 'package.json'));
    return true;
  } catch {
    return false;
  }
});

test('the root LICENSE is the full Apache License 2.0', () => {
  const text = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.match(text, /^\s*Apache License\s+Version 2\.0, January 2004/);
  assert.match(text, /TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION/);
  assert.match(text, /END OF TERMS AND CONDITIONS/);
  assert.match(text, /APPENDIX: How to apply the Apache License to your work\./);
});

test('every package declares Apache-2.0, holds the same LICENSE and lists it in files', () => {
  const licence = readFileSync(join(root, 'LICENSE'));
  for (const dir of packages) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
    assert.equal(pkg.license, 'Apache-2.0', `${pkg.name}: license field`);
    assert.ok(pkg.files?.includes('LICENSE'), `${pkg.name}: LICENSE in files`);
    assert.ok(readFileSync(join(root, 'packages', dir, 'LICENSE')).equals(licence), `${pkg.name}: LICENSE differs`);
  }
});

test('npm pack --dry-run puts LICENSE in every package tarball', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--workspaces'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const tarballs = JSON.parse(out).filter((t) => t.name.startsWith('@geolip/') && t.name !== '@geolip/demo');
  assert.equal(tarballs.length, packages.length);
  for (const t of tarballs)
    assert.ok(
      t.files.some((f) => f.path === 'LICENSE'),
      `${t.name}: no LICENSE in tarball`,
    );
});
