import { describe, expect, it } from 'vitest';

import fixture from '../fixtures/alignment.json';
import { whitenedProcrustes } from '../../src/alignment/index.js';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';
import { matmul, matmulTransposeA } from '../../src/linalg/index.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { createRng } from '../../src/random/rng.js';
import { expectTensorClose } from '../../src/testing/index.js';

function randomMatrix(rows: number, cols: number, seed: number, scale = 1): Matrix {
  const rng = createRng(seed);
  const m = new Matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal() * scale;
  return m;
}

function affine(x: Matrix, linear: Matrix, bias: ArrayLike<number>): Matrix {
  const out = matmul(x, linear);
  for (let r = 0; r < out.rows; r++) for (let j = 0; j < out.cols; j++) out.data[r * out.cols + j]! += bias[j]!;
  return out;
}

describe('whitenedProcrustes', () => {
  it('matches the numpy transcription of spec §3.2 (full rank) + §3.3, rectangular 5 → 4', () => {
    const f = fixture.whitenedProcrustes;
    const r = whitenedProcrustes(f.source, f.target);
    expectTensorClose(r.rotation, f.rotation, { atol: 1e-10, rtol: 1e-8 });
    expectTensorClose(r.alignedWhitened, f.alignedWhitened, { atol: 1e-10, rtol: 1e-8 });
    expectTensorClose(r.aligned, f.aligned, { atol: 1e-10, rtol: 1e-8 });
    expectTensorClose(r.linear, f.linear, { atol: 1e-10, rtol: 1e-8 });
    expectTensorClose(r.bias, f.bias, { atol: 1e-10, rtol: 1e-8 });
    expect(r.cosineAfter).toBeCloseTo(f.cosineAfter, 12);
    expectTensorClose(matmulTransposeA(r.rotation, r.rotation), Matrix.identity(4), { atol: 1e-12, rtol: 0 });
  });

  it('recovers an invertible affine map exactly (no shrinkage, no row normalization), and linear/bias reproduce aligned', () => {
    const s = randomMatrix(60, 4, 1);
    for (let i = 0; i < s.data.length; i++) s.data[i]! += 3;
    const a = randomMatrix(4, 4, 2);
    const t = affine(s, a, [1, -2, 0.5, 4]);
    const r = whitenedProcrustes(s, t, { shrinkage: 0, rowNormalize: false });
    expectTensorClose(r.aligned, t, { atol: 1e-9, rtol: 1e-9 });
    expect(r.cosineAfter).toBeCloseTo(1, 12);
    expectTensorClose(affine(s, r.linear, r.bias), r.aligned, { atol: 1e-9, rtol: 1e-9 });
    // And the affine map generalizes to new rows of the same relation.
    const sNew = randomMatrix(5, 4, 3);
    expectTensorClose(affine(sNew, r.linear, r.bias), affine(sNew, a, [1, -2, 0.5, 4]), { atol: 1e-8, rtol: 1e-8 });
    expectTensorClose(r.apply(sNew), affine(sNew, r.linear, r.bias), { atol: 1e-9, rtol: 1e-9 });
  });

  it('apply reproduces aligned for the fit rows, row normalization included', () => {
    const f = fixture.whitenedProcrustes;
    const r = whitenedProcrustes(f.source, f.target);
    expectTensorClose(r.apply(f.source), r.aligned, { atol: 1e-12, rtol: 1e-10 });
    // The affine pair differs from aligned by the per-row scale of the linear term (documented).
    const viaAffine = affine(Matrix.fromArray(f.source), r.linear, r.bias);
    const mu = r.targetWhitening.mean;
    const sw = r.sourceWhitening.whitened;
    for (let i = 0; i < 3; i++) {
      let norm = 0;
      for (let j = 0; j < 5; j++) norm += sw.data[i * 5 + j]! ** 2;
      for (let j = 0; j < 4; j++) {
        const lin = viaAffine.data[i * 4 + j]! - mu[j]!;
        expect(r.aligned.data[i * 4 + j]! - mu[j]!).toBeCloseTo(lin / Math.sqrt(norm), 10);
      }
    }
  });

  it('doc example', () => {
    const s = [
      [1, 2],
      [3, 1],
      [0, 0],
      [2, 5],
      [4, 4],
    ];
    const t = s.map(([a, b]) => [2 * b! + 1, -a!]);
    const r = whitenedProcrustes(s, t, { rowNormalize: false });
    expect(r.cosineAfter).toBeCloseTo(1, 5);
    expectTensorClose(r.aligned, t, { atol: 1e-2, rtol: 0 }); // the 1e-3 shrinkage keeps it approximate
    expectTensorClose(whitenedProcrustes(s, t, { rowNormalize: false, shrinkage: 0 }).aligned, t, {
      atol: 1e-10,
      rtol: 0,
    });
  });

  it('throws typed errors naming the op and argument', () => {
    const s = randomMatrix(10, 4, 4);
    expect(() => whitenedProcrustes(s, randomMatrix(8, 4, 5))).toThrow(ShapeError);
    expect(() => whitenedProcrustes(s, randomMatrix(8, 4, 5))).toThrow(
      /whitenedProcrustes: 'target' must have shape \[N=10, D=4\], got \[8, 4\]/,
    );
    expect(() => whitenedProcrustes(s, randomMatrix(10, 6, 5))).toThrow(
      /whitenedProcrustes: 'target' must have shape \[N=10, D=4\], got \[10, 6\]/,
    );
    expect(() => whitenedProcrustes(s, s, { shrinkage: -1 })).toThrow(InvalidArgumentError);
    expect(() => whitenedProcrustes(s, s, { shrinkage: -1 })).toThrow(
      /whitenedProcrustes: 'options.shrinkage' must be a finite number in \[0, 1\]/,
    );
    expect(() => whitenedProcrustes(s, s, { rowNormalize: 'yes' as unknown as boolean })).toThrow(
      /whitenedProcrustes: 'options.rowNormalize' must be a boolean/,
    );
    const r = whitenedProcrustes(s, s);
    expect(() => r.apply([[1, 2, 3]])).toThrow(
      /WhitenedProcrustesResult.apply: 'x' must have shape \[M, 4\], got \[1, 3\]/,
    );
  });
});
