// Runs every JavaScript (and TypeScript) code block of the root and package READMEs as written (issue 25), on the built packages.
// Each ```js block becomes an ES module under .tmp/readme-snippets/ (inside the repository, so `@geolip/*` resolve as
// they do for a user of the workspace) and is imported in turn by one Node process (one tfjs load for all of them).
// A block that cannot run on its own says so in an HTML comment on the line before its fence, with the reason:
//   <!-- snippet: skip (needs a GPU) -->
// a block that continues the previous one (same README) says `<!-- snippet: continues -->` (both are joined into one
// module), and a program's block may name its command line: `<!-- snippet: args (greet --times 2) -->`. Snippets run from the repository root, with GEOLIP_LOG=silent and wasm (1 thread) unless they choose
// one. Usage: node tools/scripts/readme-snippets.mjs [--list] [README ...]; exit status 1 if any snippet fails.
// tools/scripts/readme-snippets.test.mjs runs it in `npm test`.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { transform } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The READMEs whose snippets must run: the root one and every package's. */
export function readmes() {
  const out = [join(root, 'README.md')];
  for (const d of readdirSync(join(root, 'packages')).sort()) {
    const f = join(root, 'packages', d, 'README.md');
    if (existsSync(f)) out.push(f);
  }
  return out;
}

/**
 * The JavaScript blocks of a Markdown text: `{ line, code, skip, continues }` (line: 1-based line of the fence).
 * @param {string} text
 */
export function extractSnippets(text) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(js|javascript|mjs|ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const marker = /<!--\s*snippet:\s*(skip|continues|args)\b\s*(.*?)\s*-->/.exec(lines[i - 1] ?? '');
    const start = i;
    const body = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push({
      line: start + 1,
      lang: open[1],
      code: body.join('\n'),
      skip: marker?.[1] === 'skip' ? marker[2].replace(/^\(|\)$/g, '') || 'no reason given' : null,
      continues: marker?.[1] === 'continues',
      ...(marker?.[1] === 'args'
        ? {
            args: marker[2]
              .replace(/^\(|\)$/g, '')
              .split(/\s+/)
              .filter(Boolean),
          }
        : {}),
    });
  }
  return out;
}

/** The runnable modules of the READMEs: consecutive `continues` blocks joined; skipped blocks listed apart. */
export function collect(files = readmes()) {
  const modules = [];
  const skipped = [];
  for (const file of files) {
    const rel = relative(root, file);
    for (const s of extractSnippets(readFileSync(file, 'utf8'))) {
      if (s.skip) {
        skipped.push({ where: `${rel}:${s.line}`, reason: s.skip });
        continue;
      }
      const ts = s.lang.startsWith('t');
      const last = modules.at(-1);
      if (s.continues && last?.file === rel) {
        last.code += `\n// ${rel}:${s.line}\n${s.code}`;
        last.ts ||= ts;
      } else modules.push({ file: rel, where: `${rel}:${s.line}`, code: s.code, ts, args: s.args ?? [] });
    }
  }
  return { modules, skipped };
}

async function main() {
  const args = process.argv.slice(2);
  const list = args.includes('--list');
  const files = args.filter((a) => !a.startsWith('--')).map((f) => join(process.cwd(), f));
  const { modules, skipped } = collect(files.length ? files : undefined);
  if (list) {
    for (const m of modules) console.log(`run  ${m.where}`);
    for (const s of skipped) console.log(`skip ${s.where}: ${s.reason}`);
    return;
  }
  process.env.GEOLIP_LOG ??= 'silent';
  process.env.GEOLIP_BACKEND ??= 'wasm';
  process.env.GEOLIP_WASM_THREADS ??= '1';
  const dir = join(root, '.tmp', `readme-snippets-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const failures = [];
  // Snippets print what they show; keep the runner's own output readable.
  const log = console.log;
  try {
    for (const [i, m] of modules.entries()) {
      const file = join(dir, `${String(i).padStart(2, '0')}-${m.file.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
      // TypeScript blocks lose their types (esbuild) and run like the others.
      const code = m.ts ? (await transform(m.code, { loader: 'ts', format: 'esm' })).code : m.code;
      writeFileSync(file, `// ${m.where}\n${code}\n`);
      const t0 = performance.now();
      console.log = () => {};
      // A snippet is a program of its own: no arguments, and the exit status it sets is its result.
      const argv = process.argv;
      process.argv = [argv[0], file, ...m.args];
      process.exitCode = undefined;
      try {
        await import(pathToFileURL(file).href);
        console.log = log;
        const status = process.exitCode;
        process.exitCode = undefined;
        if (status) throw new Error(`it set process.exitCode = ${status}`);
        log(`ok   ${m.where} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (e) {
        console.log = log;
        process.exitCode = undefined;
        failures.push(m.where);
        log(`FAIL ${m.where}: ${e?.name ?? 'Error'}: ${e?.message ?? e}`);
      } finally {
        process.argv = argv;
      }
    }
  } finally {
    console.log = log;
    rmSync(dir, { recursive: true, force: true });
  }
  for (const s of skipped) log(`skip ${s.where}: ${s.reason}`);
  log(`${modules.length - failures.length} of ${modules.length} snippets ran, ${skipped.length} skipped`);
  if (failures.length) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
