/** A `require` anchored at this package, usable from both the ESM and the CJS build. */
import { createRequire } from 'node:module';

/**
 * Resolves and loads optional peer dependencies from the location of `@geolip/text`.
 *
 * `import.meta.url` comes first: in the ESM build it is always set, while a global `__filename` can exist
 * there too (`node -e`, the REPL) and is not this file. The CJS build has an empty `import.meta` and uses
 * its module-scoped `__filename`.
 */
export const packageRequire: NodeJS.Require = createRequire((import.meta as { url?: string }).url ?? __filename);
