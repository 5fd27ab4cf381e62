// The array checks live in @geolip/geometry/checks; the metrics use them under their local names.
import { InvalidArgumentError } from '@geolip/geometry';

export {
  argsortDesc,
  assertFiniteData as checkFinite,
  assertBinaryLabels as checkLabels,
  assertSameLength as checkSameLength,
} from '@geolip/geometry/checks';

/** Numeric vector input accepted by the metrics (read as float64). */
export type NumericArray = ArrayLike<number>;

/** Throws InvalidArgumentError if `x` has fewer than `min` entries. */
export function checkMinLength(op: string, name: string, x: NumericArray, min: number): void {
  if (x.length < min) throw new InvalidArgumentError(op, name, `must have at least ${min} entries, got ${x.length}`);
}
