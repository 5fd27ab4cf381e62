/**
 * `import()` that bundlers leave alone: the specifier is not a literal, so esbuild, Rollup/Vite and webpack do not
 * try to resolve it. For optional peers (tfjs backends, Dawn) and Node built-ins (`node:fs`, …) that only some code
 * paths need: a browser bundle of the calling package stays free of them.
 */
export function importUnbundled<T = unknown>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}
