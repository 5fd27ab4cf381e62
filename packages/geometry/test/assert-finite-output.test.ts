// assertFiniteOutput (issue 26, NaN/Inf policy): a model output holding NaN or ±Infinity throws a NonFiniteError that
// names the op, the output and the model, with the count and the first flat index (plus the batch's offset).
import { describe, expect, it } from 'vitest';

import { GeolipError, NonFiniteError } from '../src/index.js';
import { assertFiniteOutput } from '../src/checks/index.js';

describe('assertFiniteOutput', () => {
  it('passes finite data, large values included (no overflow of the check)', () => {
    expect(() => assertFiniteOutput('f', 'm', 'out', new Float32Array([0, -1, 3.4e38, -3.4e38, 3.4e38]))).not.toThrow();
    expect(() => assertFiniteOutput('f', 'm', 'out', [])).not.toThrow();
  });

  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`throws on ${bad}, naming the model, with count and first index`, () => {
      let err: unknown;
      try {
        assertFiniteOutput('Embedder.embed', 'tiny', 'embedding', new Float32Array([1, 2, bad, 4, bad]), 10);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NonFiniteError);
      expect(GeolipError.isInstance(err)).toBe(true);
      const e = err as NonFiniteError;
      expect([e.op, e.model, e.argument, e.count, e.firstIndex]).toEqual([
        'Embedder.embed',
        'tiny',
        'embedding',
        2,
        12,
      ]);
      expect(e.message).toBe(
        "Embedder.embed: model 'tiny' returned 2 non-finite value(s) in 'embedding' (first at flat index 12)",
      );
    });
  }

  it('NonFiniteError without a model keeps its message and has model undefined', () => {
    const e = new NonFiniteError('f', 'x', 1, 0);
    expect(e.model).toBeUndefined();
    expect(e.message).toBe("f: 'x' has 1 non-finite value(s) (first at flat index 0)");
  });
});
