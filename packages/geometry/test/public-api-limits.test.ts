/**
 * Issue 26 ("Public API"): huge sizes, unbounded work and garbage answers are refused with a typed error naming the
 * function and the argument, before anything is allocated or computed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import {
  InvalidArgumentError,
  Matrix,
  ShapeError,
  pentachoronCV,
  procrustes,
  sampleSphere,
  slerp,
} from '../src/index.js';

describe('issue 26: public API limits', () => {
  it('new Matrix(1e6, 1e6) throws InvalidArgumentError before allocating', () => {
    const call = () => new Matrix(1e6, 1e6);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(/^Matrix: 'rows\/cols' .*exceeds/);
    expect(new Matrix(3, 4).data.length).toBe(12);
  });

  it('sampleSphere(1e10, 16) throws InvalidArgumentError before allocating', () => {
    const call = () => sampleSphere(1e10, 16);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(/^sampleSphere: 'n' .*exceeds/);
    const x = sampleSphere(4, 3);
    expect(x.shape).toEqual([4, 3]);
    x.dispose();
  });

  it('pentachoronCV refuses samples above 10^6 (no unbounded work)', () => {
    const x = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [-1, 0, 0],
      [0, -1, 0],
    ];
    expect(() => pentachoronCV(x, { samples: 1e9 })).toThrow(InvalidArgumentError);
    expect(() => pentachoronCV(x, { samples: 1e9 })).toThrow(
      /^pentachoronCV: 'samples' must be an integer in \[2, 1000000\]/,
    );
  });

  it('procrustes([], []) throws ShapeError instead of residual 0', () => {
    expect(() => procrustes([], [])).toThrow(ShapeError);
    expect(() => procrustes([], [])).toThrow(/^procrustes: 'source'/);
    expect(() => procrustes([[], []], [[], []])).toThrow(ShapeError);
  });

  it('slerp with t = NaN throws InvalidArgumentError', () => {
    const u = tf.tensor2d([[1, 0]]);
    const v = tf.tensor2d([[0, 1]]);
    try {
      for (const t of [NaN, Infinity]) {
        expect(() => slerp(u, v, t)).toThrow(InvalidArgumentError);
        expect(() => slerp(u, v, t)).toThrow(/^slerp: 't'/);
      }
      const mid = slerp(u, v, 0.5);
      expect(mid.shape).toEqual([1, 2]);
      mid.dispose();
    } finally {
      u.dispose();
      v.dispose();
    }
  });
});
