#!/usr/bin/env node
// Installs onnxruntime-node (exact version pinned in ./package.json) into tools/perf/peers/ort/node_modules,
// outside the workspace install: `npm install` at the root never installs it (this folder is not a workspace
// package and nothing depends on it). The install runs with ONNXRUNTIME_NODE_INSTALL=skip and --ignore-scripts:
// the package's postinstall only downloads optional GPU execution providers; the CPU binaries
// (bin/napi-v6/<os>/<arch>/) ship inside the npm tarball. Needs the npm registry once; nothing at run time.
//
// Usage: node tools/perf/peers/ort/install.mjs [--force]
// Library: import { loadOrt } from './ort/install.mjs'  -> the onnxruntime-node module (installs when missing).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ORT_DIR = dirname(fileURLToPath(import.meta.url));
const wanted = () => JSON.parse(readFileSync(join(ORT_DIR, 'package.json'), 'utf8')).dependencies['onnxruntime-node'];

export function installedVersion() {
  const pj = join(ORT_DIR, 'node_modules', 'onnxruntime-node', 'package.json');
  return existsSync(pj) ? JSON.parse(readFileSync(pj, 'utf8')).version : null;
}

export function ensureOrt({ force = false, quiet = false } = {}) {
  const want = wanted();
  if (!force && installedVersion() === want) return want;
  const log = quiet ? () => {} : (m) => console.error(m);
  log(`[ort] installing onnxruntime-node@${want} into ${ORT_DIR} (ONNXRUNTIME_NODE_INSTALL=skip, --ignore-scripts)`);
  const lock = existsSync(join(ORT_DIR, 'package-lock.json'));
  const args = [lock ? 'ci' : 'install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-workspaces'];
  const r = spawnSync('npm', args, {
    cwd: ORT_DIR,
    stdio: quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' },
  });
  if (r.status !== 0)
    throw new Error(
      `[ort] npm ${args.join(' ')} failed in ${ORT_DIR} (status ${r.status}); is the npm registry reachable?`,
    );
  if (installedVersion() !== want)
    throw new Error(`[ort] installed ${installedVersion()} but package.json pins ${want}`);
  return want;
}

/** Returns the onnxruntime-node module, installing it first when it is missing. */
export function loadOrt(opts) {
  ensureOrt(opts);
  return createRequire(join(ORT_DIR, 'package.json'))('onnxruntime-node');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const v = ensureOrt({ force: process.argv.includes('--force') });
  const ort = loadOrt();
  console.log(
    `onnxruntime-node ${v} ready in ${join(ORT_DIR, 'node_modules')} (backends: ${ort
      .listSupportedBackends()
      .map((b) => b.name)
      .join(', ')})`,
  );
}
