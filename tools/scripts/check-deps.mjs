#!/usr/bin/env node
// Checks the package graph of the monorepo:
//  1. layering: a @geolip package may depend on (and import) only packages of a lower layer;
//  2. declared imports: every bare import in a package's src/ is declared in its dependencies or
//     peerDependencies (npm hoists everything, so an undeclared import works here and breaks for users);
//     files under test/ and bench/ may also use devDependencies;
//  3. one copy of @tensorflow/tfjs-core in node_modules.
// Usage: node tools/scripts/check-deps.mjs [repoRoot]   (exit 1 and a list of problems on failure)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Layer of each package: an edge must go from a higher layer to a strictly lower one.
 * anchors sits above nn because Constellation, Patchwork and AnchorBank are nn Modules (one object model).
 */
export const LAYERS = {
  '@geolip/geometry': 0,
  '@geolip/io': 1,
  '@geolip/metrics': 1,
  '@geolip/cli': 1,
  '@geolip/nn': 2,
  '@geolip/queue': 2,
  '@geolip/anchors': 3,
  '@geolip/text': 4,
  '@geolip/vision': 4,
  '@geolip/diffusion': 4,
  '@geolip/train': 5,
  // export writes the model packages' ONNX graphs as transformers.js folders (issue 25); nothing imports it
  '@geolip/export': 5,
  '@geolip/recipes': 6,
  '@geolip/bench': 6,
};

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/gm;

function packageName(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || BUILTINS.has(specifier)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(m|c)?[jt]sx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Strips comments so that examples in JSDoc are not taken for imports. */
function stripComments(src) {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function importsOf(file) {
  const src = stripComments(readFileSync(file, 'utf8'));
  const found = new Set();
  for (const m of src.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    const name = spec && packageName(spec);
    if (name) found.add(name);
  }
  return found;
}

/**
 * Whether `version` (x.y.z) satisfies `range`: an exact version, `^x.y.z` (npm's caret: same major, or same minor
 * when major is 0) or `~x.y.z`. Other forms (e.g. `*`, `>=`) count as satisfied: this only catches the common slip.
 */
export function satisfies(version, range) {
  const parse = (v) => v.split('.').map(Number);
  const m = /^([\^~]?)(\d+\.\d+\.\d+)$/.exec(range.trim());
  if (!m) return true;
  const [a, b, c] = parse(version);
  const [x, y, z] = parse(m[2]);
  const ge = a > x || (a === x && (b > y || (b === y && c >= z)));
  if (m[1] === '') return a === x && b === y && c === z;
  if (m[1] === '~') return ge && a === x && b === y;
  return ge && (x > 0 ? a === x : y > 0 ? a === 0 && b === y : a === 0 && b === 0 && c === z);
}

export function checkRepo(root) {
  const problems = [];
  const pkgDir = join(root, 'packages');
  const versions = {};
  for (const dir of readdirSync(pkgDir)) {
    const pjPath = join(pkgDir, dir, 'package.json');
    if (existsSync(pjPath)) {
      const pj = JSON.parse(readFileSync(pjPath, 'utf8'));
      if (pj.name && pj.version) versions[pj.name] = pj.version;
    }
  }
  for (const dir of readdirSync(pkgDir)) {
    const pjPath = join(pkgDir, dir, 'package.json');
    if (!existsSync(pjPath)) continue;
    const pj = JSON.parse(readFileSync(pjPath, 'utf8'));
    const name = pj.name;
    if (!(name in LAYERS)) {
      problems.push(`${name} (packages/${dir}) has no layer in tools/scripts/check-deps.mjs`);
      continue;
    }
    const runtime = new Set([...Object.keys(pj.dependencies ?? {}), ...Object.keys(pj.peerDependencies ?? {})]);
    const dev = new Set([...runtime, ...Object.keys(pj.devDependencies ?? {})]);
    for (const dep of new Set([...dev])) {
      if (!dep.startsWith('@geolip/')) continue;
      if (!(dep in LAYERS)) problems.push(`${name} depends on unknown package ${dep}`);
      else if (LAYERS[dep] >= LAYERS[name])
        problems.push(
          `${name} (layer ${LAYERS[name]}) must not depend on ${dep} (layer ${LAYERS[dep]}): edges go only to the left`,
        );
      const range = pj.dependencies?.[dep] ?? pj.peerDependencies?.[dep] ?? pj.devDependencies?.[dep];
      if (versions[dep] && typeof range === 'string' && !satisfies(versions[dep], range)) {
        problems.push(
          `${name} asks for ${dep}@${range} but the workspace has ${versions[dep]} (npm would look for it on the registry)`,
        );
      }
    }
    for (const [sub, allowed] of [
      ['src', runtime],
      ['test', dev],
      ['bench', dev],
    ]) {
      for (const file of walk(join(pkgDir, dir, sub))) {
        for (const imported of importsOf(file)) {
          if (imported === name) continue;
          if (!allowed.has(imported)) {
            problems.push(
              `${relative(root, file)} imports ${imported}, which ${name} does not declare in ${sub === 'src' ? 'dependencies or peerDependencies' : 'its package.json'}`,
            );
          }
        }
      }
    }
  }
  const cores = findAll(join(root, 'node_modules'), '@tensorflow/tfjs-core');
  if (cores.length > 1)
    problems.push(
      `more than one @tensorflow/tfjs-core installed (keep one, via npm overrides):\n    ${cores.map((c) => relative(root, c)).join('\n    ')}`,
    );
  return problems;
}

function findAll(nodeModules, pkg, out = [], depth = 0) {
  if (!existsSync(nodeModules) || depth > 6) return out;
  const direct = join(nodeModules, pkg, 'package.json');
  if (existsSync(direct)) out.push(join(nodeModules, pkg));
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const scoped = entry.startsWith('@') ? readdirSync(join(nodeModules, entry)).map((e) => join(entry, e)) : [entry];
    for (const e of scoped) {
      const nested = join(nodeModules, e, 'node_modules');
      if (existsSync(nested)) findAll(nested, pkg, out, depth + 1);
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
  const problems = checkRepo(root);
  if (problems.length) {
    console.error(`check-deps: ${problems.length} problem(s)\n  - ${problems.join('\n  - ')}`);
    process.exit(1);
  }
  console.log('check-deps: package layering, declared imports and a single tfjs-core: ok');
}
