import { GeolipError } from '../errors.js';
import { importUnbundled } from './import-unbundled.js';

/** Where the calling module lives: its `import.meta.url` (ESM) and/or its `__dirname` (CJS). */
export interface ModuleLocation {
  url?: string | undefined;
  dirname?: string | undefined;
}

/**
 * Absolute path of a file a package ships in a top-level folder (`vocab/`, `weights/`), looked up one and two levels
 * above the calling module's folder, so it works from `src/*`, `src/<sub>/*`, `dist/*`, ESM and CJS. Node only.
 * @param from - the caller's location: pass
 *   `{ url: import.meta.url, dirname: typeof __dirname === 'string' ? __dirname : undefined }`.
 * @throws {GeolipError} naming `op` and the paths tried, when the file is not there.
 */
export async function bundledAssetPath(
  op: string,
  folder: string,
  file: string,
  from: ModuleLocation,
): Promise<string> {
  const { existsSync } = await importUnbundled<typeof import('node:fs')>('node:fs');
  const { join } = await importUnbundled<typeof import('node:path')>('node:path');
  const { fileURLToPath } = await importUnbundled<typeof import('node:url')>('node:url');
  const dirs: string[] = [];
  if (typeof from.url === 'string' && from.url.startsWith('file:')) dirs.push(fileURLToPath(new URL('.', from.url)));
  if (typeof from.dirname === 'string') dirs.push(from.dirname);
  const candidates = dirs.flatMap((d) => [join(d, '..', folder, file), join(d, '..', '..', folder, file)]);
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined)
    throw new GeolipError(
      op,
      `bundled ${folder}/${file} not found; looked at ${candidates.join(', ') || '(no module location)'}`,
    );
  return found;
}
