import { InvalidArgumentError, NonFiniteError, ShapeError } from '../errors.js';

/** Anything with a `shape` (a tfjs tensor, a {@link Matrix}, a plain descriptor). */
export interface Shaped {
  readonly shape: readonly number[];
}

/**
 * Binds dimension letters across the arguments of one call and checks shapes against them.
 * Reads metadata only (never tensor data).
 *
 * Pattern entries: a letter (`'B'`, `'D'`) binds on first use and must agree afterwards; a
 * number is a literal size; `'...'` as the first entry matches any number of leading dims.
 *
 * @example
 * const shapes = bindShapes('geodesicDistance');
 * shapes.check('u', u, ['B', 'D']);
 * shapes.check('v', v, ['B', 'D']); // throws "geodesicDistance: 'v' must have shape [B=4, D=3], got [4, 2]"
 */
export function bindShapes(op: string) {
  const bound = new Map<string, number>();

  const describe = (pattern: readonly (string | number)[]): string =>
    `[${pattern
      .map((p) => (typeof p === 'number' ? String(p) : p === '...' ? '...' : bound.has(p) ? `${p}=${bound.get(p)}` : p))
      .join(', ')}]`;

  return {
    /** The size bound to a letter so far, if any. */
    get(letter: string): number | undefined {
      return bound.get(letter);
    },
    check(argument: string, value: Shaped, pattern: readonly (string | number)[]): readonly number[] {
      const shape = value?.shape;
      if (!Array.isArray(shape)) {
        throw new InvalidArgumentError(
          op,
          argument,
          `must be a tensor or matrix with a shape, got ${typeOfValue(value)}`,
        );
      }
      const variadic = pattern[0] === '...';
      const fixed = variadic ? pattern.slice(1) : pattern;
      const rankOk = variadic ? shape.length >= fixed.length : shape.length === fixed.length;
      const offset = shape.length - fixed.length;
      const mismatch = (): never => {
        throw new ShapeError(op, argument, describe(pattern), shape);
      };
      if (!rankOk) mismatch();
      // First pass: verify without binding, so a failing call leaves a clear message.
      const pending = new Map<string, number>();
      fixed.forEach((p, i) => {
        const actual = shape[offset + i]!;
        if (typeof p === 'number') {
          if (actual !== p) mismatch();
        } else {
          const have = bound.get(p) ?? pending.get(p);
          if (have !== undefined && have !== actual) mismatch();
          pending.set(p, actual);
        }
      });
      for (const [k, v] of pending) bound.set(k, v);
      return shape;
    },
  };
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Throws {@link InvalidArgumentError} unless `value` is an integer in [min, max]. */
export function assertInteger(op: string, argument: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new InvalidArgumentError(op, argument, `must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

/** Throws {@link InvalidArgumentError} unless `value` is a finite number in [min, max]. */
export function assertNumber(op: string, argument: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? (min === -Infinity ? 'finite' : `>= ${min}`) : `in [${min}, ${max}]`;
    throw new InvalidArgumentError(op, argument, `must be a finite number ${range}, got ${String(value)}`);
  }
  return value;
}

/** Throws {@link NonFiniteError} if any entry of `data` is NaN or ±Infinity. */
export function assertFiniteData(op: string, argument: string, data: ArrayLike<number>): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count > 0) throw new NonFiniteError(op, argument, count, first);
}

/**
 * Throws {@link NonFiniteError} naming `model` when a model's output `data` holds NaN or ±Infinity. The check is one
 * pass over the values (Σ x·0 is 0 unless some x is NaN or ±Infinity); the entries are only counted on failure.
 *
 * @param op - the public function that ran the model, e.g. `'SentenceEmbedder.embed'`.
 * @param model - the model's registry or file name (never a class's runtime name, which bundlers rename).
 * @param argument - the output, e.g. `'embedding'`.
 * @param offset - added to the flat index reported (the batch's first entry in the whole output).
 */
export function assertFiniteOutput(
  op: string,
  model: string,
  argument: string,
  data: ArrayLike<number>,
  offset = 0,
): void {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i]! * 0;
  if (s === 0) return;
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  throw new NonFiniteError(op, argument, count, offset + first, { model });
}
