import { InvalidArgumentError } from '@geolip/geometry';

/**
 * Checks that `texts` is a dense array of strings, naming the first bad element: `op: 'texts[1]' must be a string,
 * got a hole (sparse array)`. Indexed loop, so holes are seen (`forEach` and `map` skip them).
 */
export function assertTextArray(op: string, argument: string, texts: unknown): asserts texts is readonly string[] {
  if (!Array.isArray(texts)) {
    throw new InvalidArgumentError(op, argument, `must be an array of strings, got ${describe(texts)}`);
  }
  for (let i = 0; i < texts.length; i++) {
    if (!(i in texts))
      throw new InvalidArgumentError(op, `${argument}[${i}]`, 'must be a string, got a hole (sparse array)');
    const t: unknown = texts[i];
    if (typeof t !== 'string')
      throw new InvalidArgumentError(op, `${argument}[${i}]`, `must be a string, got ${describe(t)}`);
  }
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value;
}
