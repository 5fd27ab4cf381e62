/**
 * `import()` of a Node built-in (`node:fs`, `node:path`, …) that bundlers targeting browsers leave alone: the
 * specifier is not a literal, so esbuild, Rollup/Vite and webpack do not try to resolve it. Only the Node-only code
 * paths call it (reading a path, finding the bundled files); in a browser those paths throw their own errors first
 * or are never taken (pass bytes, or a tokenizer built from fetched text).
 * @internal
 */
export function importNode<T>(specifier: `node:${string}`): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}
