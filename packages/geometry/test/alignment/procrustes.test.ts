import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import fixture from '../fixtures/alignment.json';
import { procrustes } from '../../src/alignment/index.js';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { det, matmul, matmulTransposeA, qr, svd } from '../../src/linalg/index.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { createRng } from '../../src/random/rng.js';
import { expectTensorClose } from '../../src/testing/index.js';

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = createRng(seed);
  const m = new Matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

/** A random proper rotation (det +1), from the QR of a Gaussian matrix. */
function randomRotation(d: number, seed: number): Matrix {
  const { q } = qr(randomMatrix(d, d, seed));
  if (det(q) < 0) for (let i = 0; i < d; i++) q.data[i * d] = -q.data[i * d]!;
  return q;
}

function expectOrthonormalColumns(r: Matrix, atol = 1e-12): void {
  expectTensorClose(matmulTransposeA(r, r), Matrix.identity(r.cols), { atol, rtol: 0 });
}

function frobeniusSq(m: Matrix): number {
  return m.data.reduce((s, v) => s + v * v, 0);
}

describe('procrustes', () => {
  it('recovers a random rotation to 1e-9 on noiseless data (fp64)', () => {
    const x = randomMatrix(50, 8, 1);
    const q = randomRotation(8, 2);
    const { rotation, aligned, residual, translation } = procrustes(x, matmul(x, q));
    expectTensorClose(rotation, q, { atol: 1e-9, rtol: 0 });
    expectTensorClose(aligned, matmul(x, q), { atol: 1e-9, rtol: 0 });
    expect(residual).toBeLessThan(1e-9);
    expect(Array.from(translation)).toEqual(new Array(8).fill(0));
    expectOrthonormalColumns(rotation);
  });

  it('matches scipy.linalg.orthogonal_procrustes on noisy data', () => {
    const f = fixture.procrustes;
    const { rotation, aligned, residual } = procrustes(f.source, f.target);
    expectTensorClose(rotation, f.rotation, { atol: 1e-12, rtol: 1e-10 });
    expectTensorClose(aligned, f.aligned, { atol: 1e-12, rtol: 1e-10 });
    expect(residual).toBeCloseTo(f.residual, 12);
  });

  it('fits a rectangular map (D = 6 → Dy = 4) with orthonormal columns, as numpy thin SVD', () => {
    const f = fixture.procrustesRect;
    const { rotation, aligned, residual } = procrustes(f.source, f.target);
    expect(rotation.shape).toEqual([6, 4]);
    expect(aligned.shape).toEqual([20, 4]);
    expectOrthonormalColumns(rotation);
    expectTensorClose(rotation, f.rotation, { atol: 1e-12, rtol: 1e-10 });
    expect(residual).toBeCloseTo(f.residual, 12);
  });

  it('returns det −1 for reflected data by default, and the best proper rotation (det +1) when reflections are forbidden', () => {
    const x = randomMatrix(30, 5, 3);
    const flip = Matrix.identity(5);
    flip.data[24] = -1;
    const y = matmul(matmul(x, flip), randomRotation(5, 4)); // an improper orthogonal map of x
    const free = procrustes(x, y);
    expect(det(free.rotation)).toBeCloseTo(-1, 12);
    expect(free.residual).toBeLessThan(1e-9);

    const proper = procrustes(x, y, { allowReflection: false });
    expect(det(proper.rotation)).toBeCloseTo(1, 12);
    expectOrthonormalColumns(proper.rotation);
    // Kabsch optimum: ‖XR − Y‖² = ‖X‖² + ‖Y‖² − 2(Σ s_i − 2 s_min).
    const { s } = svd(matmulTransposeA(x, y));
    const sum = s.reduce((a, b) => a + b, 0);
    const expected = frobeniusSq(x) + frobeniusSq(y) - 2 * (sum - 2 * s[s.length - 1]!);
    expect(proper.residual ** 2).toBeCloseTo(expected, 9);
    // And a proper rotation fitted to proper data is untouched by the flag.
    const q = randomRotation(5, 5);
    expectTensorClose(procrustes(x, matmul(x, q), { allowReflection: false }).rotation, q, { atol: 1e-9, rtol: 0 });
  });

  it('with center, recovers rotation and translation: aligned = (X − μ_X)·R + μ_Y = X·R + t', () => {
    const x = randomMatrix(40, 4, 6);
    const q = randomRotation(4, 7);
    const t = new Float64Array([3, -1, 0.5, 10]);
    const y = matmul(x, q);
    for (let i = 0; i < 40; i++) for (let j = 0; j < 4; j++) y.data[i * 4 + j]! += t[j]!;
    const uncentred = procrustes(x, y);
    expect(uncentred.residual).toBeGreaterThan(1);
    const centred = procrustes(x, y, { center: true });
    expectTensorClose(centred.rotation, q, { atol: 1e-9, rtol: 0 });
    expectTensorClose(centred.translation, t, { atol: 1e-9, rtol: 0 });
    expect(centred.residual).toBeLessThan(1e-9);
  });

  it('is equivariant: rotating the source by Q changes R to Qᵀ·R', () => {
    const f = fixture.procrustes;
    const x = Matrix.fromArray(f.source);
    const q = randomRotation(5, 8);
    const base = procrustes(x, f.target).rotation;
    const turned = procrustes(matmul(x, q), f.target).rotation;
    expectTensorClose(turned, matmulTransposeA(q, base), { atol: 1e-12, rtol: 1e-10 });
  });

  it('accepts tf.Tensor2D inputs (read as float64 from float32)', () => {
    const f = fixture.procrustes;
    const xs = tf.tensor2d(f.source);
    const ys = tf.tensor2d(f.target);
    const { rotation } = procrustes(xs, ys);
    xs.dispose();
    ys.dispose();
    expectTensorClose(rotation, f.rotation, { atol: 1e-5, rtol: 0 });
  });

  it('doc example', () => {
    const source = [
      [1, 0],
      [0, 1],
      [1, 1],
    ];
    const target = [
      [0, 1],
      [-1, 0],
      [-1, 1],
    ];
    const { rotation, residual } = procrustes(source, target);
    expectTensorClose(
      rotation.toArray(),
      [
        [0, 1],
        [-1, 0],
      ],
      { atol: 1e-15, rtol: 0 },
    );
    expect(residual).toBeLessThan(1e-15);
  });

  it('throws typed errors naming the op and argument', () => {
    const x = randomMatrix(10, 4, 9);
    expect(() => procrustes(x, randomMatrix(9, 4, 1))).toThrow(ShapeError);
    expect(() => procrustes(x, randomMatrix(9, 4, 1))).toThrow(
      /procrustes: 'target' must have shape \[N=10, D=4\], got \[9, 4\]/,
    );
    expect(() => procrustes(x, randomMatrix(10, 5, 1))).toThrow(
      /procrustes: 'target' must have shape \[N=10, D=4\], got \[10, 5\] \('target' may be narrower than 'source'/,
    );
    const bad = x.clone();
    bad.data[5] = NaN;
    expect(() => procrustes(bad, x)).toThrow(NonFiniteError);
    expect(() => procrustes(bad, x)).toThrow(
      /procrustes: 'source' has 1 non-finite value\(s\) \(first at flat index 5\)/,
    );
    expect(() => procrustes(x, x, { allowReflection: 'no' as unknown as boolean })).toThrow(InvalidArgumentError);
    expect(() => procrustes(x, x, { center: 1 as unknown as boolean })).toThrow(
      /procrustes: 'options.center' must be a boolean, got number/,
    );
    expect(() => procrustes(null as unknown as Matrix, x)).toThrow(/procrustes: 'source' must be a Matrix/);
    const t3 = tf.zeros([2, 2, 2]);
    expect(() => procrustes(t3 as tf.Tensor2D, x)).toThrow(
      /procrustes: 'source' must have shape \[rows, cols\], got \[2, 2, 2\]/,
    );
    t3.dispose();
  });

  it('with allowReflection: false, equals U·diag(1, …, 1, −1)·Vᵀ built explicitly (D = 40)', () => {
    const x = randomMatrix(120, 40, 21);
    const flip = Matrix.identity(40);
    flip.data[40 * 40 - 1] = -1;
    const y = matmul(matmul(x, flip), randomRotation(40, 22));
    for (let i = 0; i < y.data.length; i++) y.data[i]! += 0.01 * Math.sin(i); // not exactly orthogonal
    const proper = procrustes(x, y, { allowReflection: false }).rotation;
    const { u, v } = svd(matmulTransposeA(x, y));
    for (let i = 0; i < 40; i++) u.data[i * 40 + 39] = -u.data[i * 40 + 39]!;
    const explicit = new Matrix(40, 40);
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 40; j++) {
        let acc = 0;
        for (let k = 0; k < 40; k++) acc += u.data[i * 40 + k]! * v.data[j * 40 + k]!;
        explicit.data[i * 40 + j] = acc;
      }
    }
    expect(det(proper)).toBeCloseTo(1, 12);
    expectTensorClose(proper, explicit, { atol: 1e-13, rtol: 0 });
    expectOrthonormalColumns(proper);
  });
});

describe('procrustes on a backend without synchronous reads', () => {
  it('throws BackendError naming procrustes and the argument, with the async conversion to use', () => {
    const x = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const original = tf.Tensor.prototype.dataSync;
    tf.Tensor.prototype.dataSync = function () {
      throw new Error('OffscreenCanvas is not defined');
    };
    try {
      expect(() =>
        procrustes(x, [
          [0, 1],
          [1, 0],
        ]),
      ).toThrow(
        /procrustes: cannot read 'source' synchronously on the '(cpu|wasm)' backend \(OffscreenCanvas is not defined\); convert it first with `await Matrix.fromTensorAsync\(tensor\)`/,
      );
    } finally {
      tf.Tensor.prototype.dataSync = original;
      x.dispose();
    }
  });
});
