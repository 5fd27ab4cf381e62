/**
 * `@geolip/geometry/checks`: the argument checks every GeoLIP function uses, for writing functions in the same
 * style (see the package README). Each check takes the public function's name (`op`) and the argument's name,
 * returns the checked value (where there is one), and throws the typed errors of `@geolip/geometry`
 * (`InvalidArgumentError`, `ShapeError`, `NonFiniteError`, `BackendError`) naming both.
 */
export { assertFiniteData, assertFiniteOutput, assertInteger, assertNumber, bindShapes } from './assert-shape.js';
export type { Shaped } from './assert-shape.js';
export { argsortDesc, assertBinaryLabels, assertSameLength } from './arrays.js';
export { readTensorSync } from './read-tensor.js';
export { assertFloatTensor, assertSameShape } from './tensor-checks.js';
export { assertChoice, describeValue } from './choice.js';
