/** A `require` anchored at this package, usable from both the ESM and the CJS build. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const packageRequire: NodeJS.Require = createRequire((import.meta as { url?: string }).url ?? __filename);

/** The path of a file bundled with `@geolip/text` (e.g. `weights/geolip-text.safetensors`). */
export function textPackageFile(rel: string): string {
  return join(dirname(packageRequire.resolve('@geolip/text/package.json')), rel);
}
