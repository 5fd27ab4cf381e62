// averagePrecision / meanAveragePrecision: hand-derived values.
import { InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { averagePrecision, meanAveragePrecision } from '../src/index.js';

describe('averagePrecision', () => {
  it('hand case: ranks 1 and 3 positive → (1/2)·1 + (1/2)·(2/3) = 5/6', () => {
    expect(averagePrecision([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0])).toBeCloseTo(5 / 6, 15);
  });
  it('a perfect ranking gives 1; the reversed one gives the hand value', () => {
    expect(averagePrecision([4, 3, 2, 1], [1, 1, 0, 0])).toBe(1);
    // positives at ranks 3 and 4: (1/2)·(1/3) + (1/2)·(2/4) = 5/12
    expect(averagePrecision([1, 2, 3, 4], [1, 1, 0, 0])).toBeCloseTo(5 / 12, 15);
  });
  it('a constant scorer gets the prevalence (all scores tie: one threshold)', () => {
    expect(averagePrecision([0.5, 0.5, 0.5, 0.5, 0.5], [0, 1, 0, 0, 1])).toBeCloseTo(2 / 5, 15);
  });
  it('refuses bad input naming the argument', () => {
    expect(() => averagePrecision([1, 2], [0, 0])).toThrow(/at least one positive/);
    expect(() => averagePrecision([1, 2], [0, 2])).toThrow(InvalidArgumentError);
    expect(() => averagePrecision([1, 2, 3], [0, 1])).toThrow(ShapeError);
    expect(() => averagePrecision([NaN, 1], [0, 1])).toThrow(NonFiniteError);
  });
});

describe('meanAveragePrecision', () => {
  // 4 images × 3 classes, row-major; class 2 has no positive and is left out of the mean.
  const targets = [1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0];
  it('a perfect predictor (scores = targets) gives 1 over the 2 classes with positives', () => {
    const r = meanAveragePrecision(targets, targets, 3);
    expect(r.map).toBe(1);
    expect(r.classesUsed).toBe(2);
    expect(r.perClass[2]).toBeNaN();
  });
  it('a constant predictor gives the mean prevalence: (2/4 + 2/4) / 2 = 0.5', () => {
    expect(meanAveragePrecision(new Array(12).fill(0.3), targets, 3).map).toBeCloseTo(0.5, 15);
  });
  it('hand case: class 0 ranked perfectly (AP 1), class 1 with its positives at ranks 2 and 4 (AP (1/2 + 2/4)/2 = 1/2)', () => {
    const scores = [0.9, 0.8, 0, 0.1, 0.9, 0, 0.8, 0.1, 0, 0.2, 0.95, 0];
    const r = meanAveragePrecision(scores, targets, 3);
    expect(r.perClass[0]).toBe(1);
    expect(r.perClass[1]).toBeCloseTo(0.5, 15);
    expect(r.map).toBeCloseTo(0.75, 15);
  });
  it('is NaN without any positive, and refuses a length that is not N·C', () => {
    expect(meanAveragePrecision([1, 2], [0, 0], 1).map).toBeNaN();
    expect(() => meanAveragePrecision([1, 2, 3], [0, 1, 0], 2)).toThrow(ShapeError);
  });
});
