// The geolip-bench CLI bundled from src/ with esbuild, for tests that run it as separate processes (a package's tests
// run before its own build). The bundle lives in the repo's node_modules/.cache so its external imports resolve.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
export const repo = join(here, '..', '..', '..', '..');

/** Bundles the CLI; returns its path and a function that removes it. */
export async function bundleCli(): Promise<{ bundle: string; remove: () => void }> {
  mkdirSync(join(repo, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(repo, 'node_modules', '.cache', 'geolip-bench-cli-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { main } from ${JSON.stringify(join(here, '..', '..', 'src', 'cli.ts'))};\n` +
      'process.exitCode = await main(process.argv.slice(2));\n',
  );
  const bundle = join(dir, 'geolip-bench.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: bundle,
    logLevel: 'silent',
  });
  return { bundle, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
