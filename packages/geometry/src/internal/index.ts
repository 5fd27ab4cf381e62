/**
 * `@geolip/geometry/internal`: runtime helpers shared inside the GeoLIP monorepo (custom-gradient masks,
 * Node detection, imports a bundler must not follow, paths of assets a package ships). A contract between the
 * `@geolip/*` packages, not a public API: it may change in any release. The argument checks are public, in
 * `@geolip/geometry/checks`.
 */
export { constantMask, nonZero, safeSqrt, sinc, stopGradient } from './grad-utils.js';
export { importUnbundled } from './import-unbundled.js';
export { bundledAssetPath } from './bundled-asset.js';
export type { ModuleLocation } from './bundled-asset.js';
export { isNode } from './is-node.js';
