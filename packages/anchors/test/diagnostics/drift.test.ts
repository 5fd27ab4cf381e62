import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import {
  BINDING_CONSTANT,
  CV_BAND,
  SEPARATION_COMPLEMENT,
  anchorDrift,
  anchorDriftAsync,
  driftSummary,
  inCvBand,
} from '../../src/diagnostics/index.js';

/** Home = the first A basis vectors of R^D; current = home rotated by angles[a] toward e_{a+A}. */
function rotated(angles: readonly number[], d: number): { home: number[][]; current: number[][] } {
  const a = angles.length;
  const home = angles.map((_, i) => Array.from({ length: d }, (_, j) => (j === i ? 1 : 0)));
  const current = angles.map((theta, i) =>
    Array.from({ length: d }, (_, j) => (j === i ? Math.cos(theta) : j === i + a ? Math.sin(theta) : 0)),
  );
  return { home, current };
}

describe('constants', () => {
  it('are the values of spec §2.2 and §4.5', () => {
    expect(BINDING_CONSTANT).toBe(0.29154);
    expect(SEPARATION_COMPLEMENT).toBe(0.70846);
    expect(BINDING_CONSTANT + SEPARATION_COMPLEMENT).toBeCloseTo(1, 15);
    expect(CV_BAND).toEqual([0.2, 0.23]);
    expect(Object.isFrozen(CV_BAND)).toBe(true);
    expect([inCvBand(0.2), inCvBand(0.23), inCvBand(0.215), inCvBand(0.1999), inCvBand(0.2301), inCvBand(NaN)]).toEqual(
      [true, true, true, false, false, false],
    );
  });
});

describe('anchorDrift', () => {
  it('recovers known rotation angles (float64 after reading float32 anchors)', async () => {
    const angles = [0.05, 0.1, BINDING_CONSTANT, 1, Math.PI / 2, 2.5, 3];
    const { home, current } = rotated(angles, 16);
    const drift = anchorDrift(tf.tensor2d(home), tf.tensor2d(current));
    expect(drift).toBeInstanceOf(Float64Array);
    expect(drift.length).toBe(angles.length);
    // float32 storage of cos θ, sin θ limits the angle to ~1e-7 / sin θ.
    angles.forEach((theta, i) => expect(Math.abs(drift[i]! - theta)).toBeLessThan(2e-6));
    expect(Array.from(await anchorDriftAsync(tf.tensor2d(home), tf.tensor2d(current)))).toEqual(Array.from(drift));
  });

  it('clamps the cosine as the Python code: an unmoved anchor reads arccos(1 − 1e-7), an opposite one π minus that', () => {
    const home = tf.tensor2d([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const current = tf.tensor2d([
      [3, 0, 0], // same direction, other norm (normalized inside)
      [0, -0.5, 0],
    ]);
    const drift = anchorDrift(home, current);
    expect(drift[0]).toBe(Math.acos(1 - 1e-7));
    expect(drift[0]).toBeCloseTo(4.472e-4, 6);
    expect(drift[1]).toBe(Math.acos(-(1 - 1e-7)));
  });

  it('is invariant to the row norms and accepts normalizedAnchors() sources', () => {
    const { home, current } = rotated([0.2, 0.7, 1.3], 8);
    const plain = anchorDrift(tf.tensor2d(home), tf.tensor2d(current));
    const scaled = anchorDrift(
      tf.tensor2d(home.map((r) => r.map((x) => 7 * x))),
      tf.tensor2d(current.map((r) => r.map((x) => 0.01 * x))),
    );
    plain.forEach((x, i) => expect(scaled[i]).toBeCloseTo(x, 6));
    const before = tf.memory().numTensors;
    const source = { normalizedAnchors: () => tf.tensor2d(current) };
    const h = tf.tensor2d(home);
    expect(Array.from(anchorDrift(h, source))).toEqual(Array.from(plain));
    h.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('makes a NaN anchor NaN and leaves the others alone; a zero row reads π/2', () => {
    const { home, current } = rotated([0.3, 0.4, 0.5], 6);
    current[1]![0] = NaN;
    current[2] = [0, 0, 0, 0, 0, 0];
    const drift = anchorDrift(tf.tensor2d(home), tf.tensor2d(current));
    expect(drift[0]).toBeCloseTo(0.3, 6);
    expect(Number.isNaN(drift[1]!)).toBe(true);
    expect(drift[2]).toBeCloseTo(Math.PI / 2, 12);
  });

  it('checks shapes, naming home and current', async () => {
    const home = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    expect(() =>
      anchorDrift(
        home,
        tf.tensor2d([
          [1, 0, 0],
          [0, 1, 0],
        ]),
      ),
    ).toThrow(ShapeError);
    expect(() =>
      anchorDrift(
        home,
        tf.tensor2d([
          [1, 0, 0],
          [0, 1, 0],
        ]),
      ),
    ).toThrow(/anchorDrift: 'current' must have shape \[A, D=2\], got \[2, 3\]/);
    expect(() => anchorDrift(home, tf.tensor2d([[1, 0]]))).toThrow(
      /anchorDrift: 'current' must have shape \[A=2, D=2\], got \[1, 2\]/,
    );
    expect(() => anchorDrift(tf.tensor1d([1, 0]) as never, home)).toThrow(
      /anchorDrift: 'home' must have shape \[A, D\], got \[2\]/,
    );
    expect(() => anchorDrift(home, 'x' as never)).toThrow(InvalidArgumentError);
    await expect(anchorDriftAsync(home, tf.tensor2d([[1, 0]]))).rejects.toThrow(/anchorDriftAsync: 'current'/);
  });

  it('doc example', () => {
    const home = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const current = tf.tensor2d([
      [Math.cos(0.3), Math.sin(0.3)],
      [0, 2],
    ]);
    const drift = anchorDrift(home, current);
    expect(drift[0]).toBeCloseTo(0.3, 6);
    expect(drift[1]).toBeCloseTo(0.000447, 6);
  });
});

describe('driftSummary', () => {
  it('gives the fraction within ±0.05 of 0.29154 on constructed drifts (strict window)', () => {
    // |d − 0.29154|: 0.0515 (out), 0.04154 (in), 0 (in), 0.04846 (in), 0.05846 (out), 0.70846 (out)
    const s = driftSummary([0.24, 0.25, BINDING_CONSTANT, 0.34, 0.35, 1.0]);
    expect(s.count).toBe(6);
    expect(s.nonFinite).toBe(0);
    expect(s.nearBinding).toBe(0.5);
    expect(s.mean).toBeCloseTo((0.24 + 0.25 + BINDING_CONSTANT + 0.34 + 0.35 + 1.0) / 6, 14);
    expect(s.median).toBeCloseTo((BINDING_CONSTANT + 0.34) / 2, 14);
    expect(s.max).toBe(1);
    // The same drifts measured from rotated anchors.
    const angles = [0.24, 0.25, BINDING_CONSTANT, 0.34, 0.35, 1.0];
    const { home, current } = rotated(angles, 12);
    expect(driftSummary(anchorDrift(tf.tensor2d(home), tf.tensor2d(current))).nearBinding).toBe(0.5);
  });

  it('uses the binding and window options, and drops non-finite drifts', () => {
    const s = driftSummary(new Float64Array([0.1, 0.5, 0.52, NaN, 0.9]), { binding: 0.5, window: 0.1 });
    expect(s).toEqual({ count: 4, nonFinite: 1, mean: 0.505, median: 0.51, max: 0.9, nearBinding: 0.5 });
    expect(driftSummary([0.3]).median).toBe(0.3);
    const empty = driftSummary([]);
    expect(empty.count).toBe(0);
    expect([empty.mean, empty.median, empty.max, empty.nearBinding].every(Number.isNaN)).toBe(true);
  });

  it('validates its options', () => {
    expect(() => driftSummary([0.3], { window: 0 })).toThrow(
      /driftSummary: 'window' must be a finite number > 0, got 0/,
    );
    expect(() => driftSummary([0.3], { binding: NaN })).toThrow(
      /driftSummary: 'binding' must be a finite number, got NaN/,
    );
    expect(() => driftSummary(3 as never)).toThrow(/driftSummary: 'drift' must be an array of numbers/);
  });

  it('doc example', () => {
    const s = driftSummary([0.25, 0.3, 0.33, 0.5]);
    expect(s.count).toBe(4);
    expect(s.mean).toBeCloseTo(0.345, 14);
    expect(s.median).toBeCloseTo(0.315, 14);
    expect(s.max).toBe(0.5);
    expect(s.nearBinding).toBe(0.75);
  });
});
