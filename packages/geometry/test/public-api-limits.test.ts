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
  targetCV,
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

  it('targetCV refuses samples above 10^6 like pentachoronCV, and huge trials or point clouds, before any work', () => {
    const cases: [() => number, RegExp][] = [
      [() => targetCV(16, 8, { samples: 1e9 }), /^targetCV: 'samples' must be an integer in \[2, 1000000\]/],
      [() => targetCV(16, 8, { samples: 1_000_001 }), /^targetCV: 'samples' must be an integer in \[2, 1000000\]/],
      [() => targetCV(16, 8, { trials: 1e9 }), /^targetCV: 'trials' must be an integer in \[1, 10000\]/],
      [() => targetCV(1e10, 16), /^targetCV: 'n' × d = 10000000000 × 16 = 160000000000 values .*exceeds/],
      [() => targetCV(1000, 16, { vertices: 600 }), /^targetCV: 'vertices' must be an integer in \[2, 512\]/],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(message);
    }
    // At the bound and below, it computes: a CV of random points on S^15 near 0.2.
    const cv = targetCV(64, 16, { samples: 200, trials: 2, seed: 3 });
    expect(cv).toBeGreaterThan(0.1);
    expect(cv).toBeLessThan(0.35);
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
