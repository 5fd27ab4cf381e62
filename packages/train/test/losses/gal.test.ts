import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '@geolip/geometry';

import { galLoss } from '../../src/losses/gal.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/gal.json', import.meta.url), 'utf8')) as {
  vertices: number;
  tower: number[][];
  experts: number[][][];
  simplices: number[];
  cases: { name: string; options: Record<string, number>; ref: Record<string, number> }[];
};

describe('galLoss', () => {
  it('doc example: a tower equal to its expert has GAL 0', () => {
    const x = tf.eye(6) as tf.Tensor2D;
    const r = galLoss(x, [x], Int32Array.from([0, 1, 2, 3, 4, 1, 2, 3, 4, 5]));
    expect(r.loss.dataSync()[0]).toBeCloseTo(0, 6);
    expect(r.validity.dataSync()[0]).toBe(1);
  });

  for (const c of fixture.cases)
    it(`matches the numpy float64 reference (${c.name})`, () => {
      const z = tf.tensor2d(fixture.tower);
      const experts = fixture.experts.map((e) => tf.tensor2d(e));
      const r = galLoss(z, experts, Int32Array.from(fixture.simplices), fixture.vertices, c.options);
      for (const key of ['loss', 'volume', 'cvTerm', 'cm', 'cv', 'target', 'validity'] as const) {
        const got = (r[key] as tf.Scalar).dataSync()[0]!;
        // float32 Gram determinants of 5 unit vectors against float64 Cayley–Menger: ~1e-5 relative.
        expect(Math.abs(got - c.ref[key]!)).toBeLessThanOrEqual(2e-5 + 2e-4 * Math.abs(c.ref[key]!));
      }
      expect(r.active).toBe(true);
    });

  it('is 0 with no gradient on an empty pool (step 0) and on a pool smaller than a simplex', () => {
    // A loss made of GAL alone on an empty pool is not connected to z at all (tfjs refuses to differentiate it);
    // next to another term, z gets no gradient.
    const z = tf.variable(tf.eye(4));
    const other = tf.variable(tf.ones([2]));
    const gal = () => galLoss(z as unknown as tf.Tensor2D, [tf.eye(4) as tf.Tensor2D], new Int32Array(0)).loss;
    expect(() => tf.variableGrads(gal, [z])).toThrow(/Cannot find a connection/);
    const g = tf.variableGrads(() => tf.add(gal(), tf.sum(other)) as tf.Scalar, [z, other]);
    expect(g.value.dataSync()[0]).toBe(2);
    expect(g.grads[z.name]).toBeUndefined();
    expect(Array.from(g.grads[other.name]!.dataSync())).toEqual([1, 1]);
    const r = galLoss(tf.eye(3) as tf.Tensor2D, [tf.eye(3) as tf.Tensor2D], new Int32Array(0));
    expect(r.active).toBe(false);
    expect(r.loss.dataSync()[0]).toBe(0);
  });

  it('sends its gradient to the tower only, never to an expert', () => {
    const z = tf.variable(tf.tensor2d(fixture.tower));
    const e0 = tf.variable(tf.tensor2d(fixture.experts[0]!));
    const e1 = tf.variable(tf.tensor2d(fixture.experts[1]!));
    const simplices = Int32Array.from(fixture.simplices);
    const { grads } = tf.variableGrads(
      () =>
        galLoss(z as unknown as tf.Tensor2D, [e0 as unknown as tf.Tensor2D, e1 as unknown as tf.Tensor2D], simplices)
          .loss,
      [z, e0, e1],
    );
    const norm = (t: tf.Tensor | undefined) => (t ? tf.norm(t).dataSync()[0]! : 0);
    expect(norm(grads[z.name])).toBeGreaterThan(1e-4);
    expect(norm(grads[e0.name])).toBe(0);
    expect(norm(grads[e1.name])).toBe(0);
  });

  it('rejects mismatched rows and out-of-range indices by name', () => {
    const z = tf.eye(6) as tf.Tensor2D;
    expect(() => galLoss(z, [tf.eye(5) as tf.Tensor2D], Int32Array.from([0, 1, 2, 3, 4]))).toThrow(
      /galLoss: 'experts\[0\]'/,
    );
    expect(() => galLoss(z, [z], Int32Array.from([0, 1, 2, 3, 6]))).toThrow(ShapeError);
    expect(() => galLoss(z, [z], Int32Array.from([0, 1, 2, 3]))).toThrow(/'simplices'/);
  });
});
