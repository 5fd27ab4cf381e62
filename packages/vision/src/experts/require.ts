/** A `require` anchored at this package, usable from both the ESM and the CJS build. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { BackendError } from '@geolip/geometry';

/**
 * Resolves optional peer dependencies from the location of `@geolip/vision`.
 *
 * `import.meta.url` comes first: in the ESM build it is always set, while a global `__filename` can exist
 * there too (`node -e`, the REPL) and is not this file. The CJS build has an empty `import.meta` and uses
 * its module-scoped `__filename`.
 */
const packageRequire: NodeJS.Require = createRequire((import.meta as { url?: string }).url ?? __filename);

/** An installed package: its root directory and version. */
export interface InstalledPackage {
  root: string;
  version: string;
}

/**
 * Finds the root directory of an optional peer dependency (the folder of its `package.json`).
 *
 * @param op - the public function asking, used in the error.
 * @param name - the npm package.
 * @param entry - a file of the package that `require.resolve` can reach (packages whose `exports` map hides
 *   `package.json` need their main entry here).
 * @throws {BackendError} naming `op` and the package to install when it is missing.
 */
export function findPackage(op: string, name: string, entry: string = `${name}/package.json`): InstalledPackage {
  let file: string;
  try {
    file = packageRequire.resolve(entry);
  } catch (cause) {
    throw new BackendError(
      op,
      `install ${name} (an optional peer dependency of @geolip/vision: npm install ${name}) to use ${op}`,
      [{ name, reason: String(cause) }],
    );
  }
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (json.name === name) return { root: dir, version: json.version ?? '0.0.0' };
    }
    if (dirname(dir) === dir) break;
  }
  throw new BackendError(op, `found ${name} at ${file} but not its package.json`);
}

/** `@tensorflow/tfjs-layers`, loaded on demand (an optional peer dependency). */
export async function importLayers(op: string): Promise<typeof import('@tensorflow/tfjs-layers')> {
  try {
    return await import('@tensorflow/tfjs-layers');
  } catch (cause) {
    throw new BackendError(
      op,
      `install @tensorflow/tfjs-layers@4.22.0 (an optional peer dependency of @geolip/vision) to use ${op}`,
      [{ name: '@tensorflow/tfjs-layers', reason: String(cause) }],
    );
  }
}

/** `@tensorflow/tfjs-converter`, loaded on demand (an optional peer dependency). */
export async function importConverter(op: string): Promise<typeof import('@tensorflow/tfjs-converter')> {
  try {
    return await import('@tensorflow/tfjs-converter');
  } catch (cause) {
    throw new BackendError(
      op,
      `install @tensorflow/tfjs-converter@4.22.0 (an optional peer dependency of @geolip/vision) to use ${op}`,
      [{ name: '@tensorflow/tfjs-converter', reason: String(cause) }],
    );
  }
}
