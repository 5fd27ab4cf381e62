/** A `require` anchored at this package, usable from both the ESM and the CJS build. */
import { createRequire } from 'node:module';

/** Resolves and loads optional peer dependencies from the location of `@geolip/bench`. */
export const packageRequire: NodeJS.Require = createRequire(
  typeof __filename === 'string' ? __filename : import.meta.url,
);
