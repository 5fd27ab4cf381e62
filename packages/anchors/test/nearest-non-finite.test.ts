/** Issue 26 ("Public API", garbage answers): `nearest` of a NaN row is refused instead of answering anchor 0. */
import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { Constellation } from '../src/index.js';

describe('issue 26: Constellation.nearest of non-finite rows', () => {
  it('throws NonFiniteError naming nearest and x for a NaN or infinite row', () => {
    const c = Constellation.fromAnchors([
      [1, 0],
      [0, 1],
    ]);
    try {
      for (const bad of [NaN, Infinity]) {
        const x = tf.tensor2d([
          [0.2, 0.9],
          [bad, 0],
        ]);
        try {
          expect(() => c.nearest(x)).toThrow(NonFiniteError);
          expect(() => c.nearest(x)).toThrow(
            /^Constellation\.nearest: 'x' has 1 non-finite value\(s\) \(first at flat index 2\)/,
          );
        } finally {
          x.dispose();
        }
      }
      const ok = tf.tensor2d([[0.2, 0.9]]);
      const before = tf.memory().numTensors;
      const ids = c.nearest(ok);
      expect(Array.from(ids.dataSync())).toEqual([1]);
      ids.dispose();
      expect(tf.memory().numTensors).toBe(before);
      ok.dispose();
    } finally {
      c.dispose();
    }
  });
});
