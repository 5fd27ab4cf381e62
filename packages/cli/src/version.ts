import { readFileSync } from 'node:fs';

/**
 * A CLI's version: the string its bundler defined at build time (tsup `define`, e.g. `__GEOLIP_BENCH_VERSION__`,
 * so a bundled copy knows it too), or else the `version` of the `package.json` one folder above `moduleUrl`
 * (running from `src/` under a test runner), or `'unknown'`.
 *
 * @param defined - the build-time constant (`typeof X === 'string' ? X : undefined`).
 * @param moduleUrl - `import.meta.url` of a module directly under `src/` or `dist/`.
 * @returns the version.
 */
export function versionOf(defined: string | undefined, moduleUrl: string | undefined): string {
  if (typeof defined === 'string' && defined !== '') return defined;
  if (typeof moduleUrl === 'string' && moduleUrl !== '') {
    try {
      return (JSON.parse(readFileSync(new URL('../package.json', moduleUrl), 'utf8')) as { version: string }).version;
    } catch {
      // fall through
    }
  }
  return 'unknown';
}
