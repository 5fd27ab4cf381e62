/**
 * `@geolip/geometry/internal`: argument checks shared by the `@geolip/*` packages so every package
 * words its errors the same way. **Unstable**: not part of the public API, may change in any release.
 */
export { assertFiniteData, assertInteger, assertNumber, bindShapes } from './assert-shape.js';
export { argsortDesc, assertBinaryLabels, assertSameLength } from './arrays.js';
export type { Shaped } from './assert-shape.js';
export { readTensorSync } from './read-tensor.js';
export { assertFloatTensor, assertSameShape } from './tensor-checks.js';
export { constantMask, nonZero, safeSqrt, sinc } from './grad-utils.js';
export { importUnbundled } from './import-unbundled.js';
export { bundledAssetPath } from './bundled-asset.js';
export type { ModuleLocation } from './bundled-asset.js';
export { isNode } from './is-node.js';
export { assertChoice, describeValue } from './choice.js';
