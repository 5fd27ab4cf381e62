import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import fixture from '../fixtures/alignment.json';
import { effectiveDimension, explainedBySingularValues, singularValueSpectrum } from '../../src/diagnostics/index.js';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { svd } from '../../src/linalg/index.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { createRng } from '../../src/random/rng.js';
import { expectTensorClose } from '../../src/testing/index.js';

describe('effectiveDimension', () => {
  const f = fixture.effectiveDimension;

  it('matches numpy: (Σσ)²/Σσ² on the singular values of the centred data', () => {
    expectTensorClose(singularValueSpectrum(f.x), f.singularValues, { atol: 1e-12, rtol: 1e-11 });
    expect(effectiveDimension(f.x)).toBeCloseTo(f.value, 12);
    expect(explainedBySingularValues(f.x, 3)).toBeCloseTo(f.explainedTop3, 12);
  });

  it('gives hand-derived values: k equal σ → k, rank one → 1, constant → 0', () => {
    expect(
      effectiveDimension([
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ]),
    ).toBeCloseTo(2, 14);
    expect(
      effectiveDimension([
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
    ).toBeCloseTo(1, 14);
    expect(
      effectiveDimension([
        [5, 5],
        [5, 5],
      ]),
    ).toBe(0);
    // σ = [2√2, √2]: (3√2)² / (8 + 2) = 1.8 (the σ² version would give 100/68 ≈ 1.47).
    expect(
      effectiveDimension([
        [1, 0],
        [-1, 0],
        [0, 2],
        [0, -2],
      ]),
    ).toBeCloseTo(1.8, 14);
    expect(
      explainedBySingularValues(
        [
          [1, 0],
          [-1, 0],
          [0, 2],
          [0, -2],
        ],
        1,
      ),
    ).toBeCloseTo(2 / 3, 14);
    expect(
      explainedBySingularValues(
        [
          [1, 0],
          [-1, 0],
          [0, 2],
          [0, -2],
        ],
        5,
      ),
    ).toBeCloseTo(1, 14);
    expect(
      explainedBySingularValues(
        [
          [5, 5],
          [5, 5],
        ],
        1,
      ),
    ).toBeNaN();
  });

  it('uses only the first maxRows rows, for matrices and tensors alike', () => {
    const x = Matrix.fromArray(f.x);
    const head = new Matrix(10, 8, x.data.slice(0, 80));
    expect(effectiveDimension(x, { maxRows: 10 })).toBeCloseTo(effectiveDimension(head), 14);
    const t = tf.tensor2d(f.x);
    const before = tf.memory().numTensors;
    expect(effectiveDimension(t, { maxRows: 10 })).toBeCloseTo(effectiveDimension(head), 5); // float32 input
    expect(effectiveDimension(t)).toBeCloseTo(f.value, 5);
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });

  it('can skip centering', () => {
    // Uncentred [[1, 1], [1, 1]] is rank one with σ = [2]; centred it is all zeros.
    expect(
      effectiveDimension(
        [
          [1, 1],
          [1, 1],
        ],
        { center: false },
      ),
    ).toBeCloseTo(1, 14);
    expectTensorClose(
      singularValueSpectrum(
        [
          [3, 0],
          [0, 4],
        ],
        { center: false },
      ),
      [4, 3],
      { atol: 1e-14, rtol: 0 },
    );
  });

  it('doc examples', () => {
    expectTensorClose(
      singularValueSpectrum([
        [1, 0],
        [-1, 0],
        [0, 2],
        [0, -2],
      ]),
      [2 * Math.SQRT2, Math.SQRT2],
      { atol: 1e-14, rtol: 0 },
    );
    expect(
      explainedBySingularValues(
        [
          [1, 0],
          [-1, 0],
          [0, 2],
          [0, -2],
        ],
        1,
      ),
    ).toBeCloseTo(0.6666666666666666, 14);
    expect(
      effectiveDimension([
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ]),
    ).toBeCloseTo(2, 14);
    expect(
      effectiveDimension([
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
    ).toBeCloseTo(1, 14);
  });

  it('throws typed errors naming the op and argument', () => {
    expect(() => effectiveDimension(f.x, { maxRows: 0 })).toThrow(InvalidArgumentError);
    expect(() => effectiveDimension(f.x, { maxRows: 0 })).toThrow(
      /effectiveDimension: 'options.maxRows' must be an integer >= 1, got 0/,
    );
    expect(() => explainedBySingularValues(f.x, 0)).toThrow(
      /explainedBySingularValues: 'k' must be an integer >= 1, got 0/,
    );
    const t = tf.zeros([2, 3, 4]);
    expect(() => effectiveDimension(t as tf.Tensor2D)).toThrow(ShapeError);
    expect(() => effectiveDimension(t as tf.Tensor2D)).toThrow(
      /effectiveDimension: 'x' must have shape \[N, D\], got \[2, 3, 4\]/,
    );
    t.dispose();
    expect(() => effectiveDimension([[1, NaN]])).toThrow(NonFiniteError);
    expect(() => singularValueSpectrum([[1, NaN]])).toThrow(/singularValueSpectrum: 'x' has 1 non-finite/);
  });

  it.each([
    [300, 40],
    [30, 50], // fewer rows than columns
  ])('gives the singular values of the full SVD of the centred data (%i×%i, values-only path)', (rows, cols) => {
    const rng = createRng(rows + cols);
    const x = new Matrix(rows, cols);
    for (let i = 0; i < x.data.length; i++) x.data[i] = rng.normal() * (1 + (i % cols)); // uneven column scales
    const centred = x.clone();
    for (let j = 0; j < cols; j++) {
      let mu = 0;
      for (let i = 0; i < rows; i++) mu += x.data[i * cols + j]!;
      mu /= rows;
      for (let i = 0; i < rows; i++) centred.data[i * cols + j] = x.data[i * cols + j]! - mu;
    }
    const full = svd(centred).s;
    const spectrum = singularValueSpectrum(x);
    expect(spectrum.length).toBe(Math.min(rows, cols));
    expectTensorClose(spectrum.subarray(0, Math.min(rows - 1, cols)), full.subarray(0, Math.min(rows - 1, cols)), {
      atol: 0,
      rtol: 1e-12,
    });
    // rows < cols: the centred data has rank rows − 1, so the last σ is rounding noise.
    if (rows <= cols) expect(spectrum[rows - 1]! / spectrum[0]!).toBeLessThan(1e-14);
    let s1 = 0;
    let s2 = 0;
    for (const v of full) {
      s1 += v;
      s2 += v * v;
    }
    expect(effectiveDimension(x)).toBeCloseTo((s1 * s1) / s2, 10);
  });
});
