import { describe, expect, it } from 'vitest';

import fixture from '../fixtures/alignment.json';
import { pca } from '../../src/alignment/index.js';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';
import { matmulTransposeA } from '../../src/linalg/index.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { expectTensorClose } from '../../src/testing/index.js';

describe('pca', () => {
  const f = fixture.pca;

  it('matches numpy SVD PCA (components with the same sign rule, variances, ratios, projections)', () => {
    const r = pca(f.x, f.k);
    expectTensorClose(r.mean, f.mean, { atol: 1e-14, rtol: 1e-12 });
    expectTensorClose(r.components, f.components, { atol: 1e-10, rtol: 0 });
    expectTensorClose(r.explainedVariance, f.explainedVariance, { atol: 1e-12, rtol: 1e-11 });
    expectTensorClose(r.explainedVarianceRatio, f.explainedVarianceRatio, { atol: 1e-13, rtol: 1e-11 });
    expectTensorClose(r.projected, f.projected, { atol: 1e-10, rtol: 1e-9 });
  });

  it('returns orthonormal components with their largest-|entry| positive, and transform = projected', () => {
    const r = pca(f.x, 5);
    expectTensorClose(matmulTransposeA(r.components, r.components), Matrix.identity(5), { atol: 1e-12, rtol: 0 });
    for (let j = 0; j < 5; j++) {
      const col = Array.from(r.components.column(j));
      const big = col.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0);
      expect(big).toBeGreaterThan(0);
    }
    expectTensorClose(r.transform(f.x), r.projected, { atol: 0, rtol: 0 });
    const ratios = Array.from(pca(f.x, 6).explainedVarianceRatio);
    expect(ratios.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('without centering uses the second-moment matrix XᵀX/(N − 1)', () => {
    const x = [
      [1, 0],
      [1, 0],
      [1, 0],
      [1, 0],
    ];
    const r = pca(x, 1, { center: false });
    expectTensorClose(r.components.toArray(), [[1], [0]], { atol: 1e-15, rtol: 0 });
    expectTensorClose(r.explainedVariance, [4 / 3], { atol: 1e-15, rtol: 1e-14 });
    expect(Array.from(r.mean)).toEqual([0, 0]);
    expect(pca(x, 1).explainedVariance[0]).toBe(0); // centred: no variance at all
  });

  it('doc example', () => {
    const { components, explainedVarianceRatio } = pca(
      [
        [2, 0],
        [-2, 0],
        [0, 1],
        [0, -1],
      ],
      1,
    );
    expectTensorClose(components.toArray(), [[1], [0]], { atol: 1e-15, rtol: 0 });
    expectTensorClose(explainedVarianceRatio, [0.8], { atol: 1e-15, rtol: 1e-14 });
  });

  it('throws typed errors naming the op and argument', () => {
    expect(() => pca(f.x, 7)).toThrow(InvalidArgumentError);
    expect(() => pca(f.x, 7)).toThrow(/pca: 'k' must be an integer in \[1, 6\], got 7/);
    expect(() => pca(f.x, 0)).toThrow(/pca: 'k' must be an integer in \[1, 6\], got 0/);
    expect(() => pca(new Matrix(0, 3), 1)).toThrow(ShapeError);
    const r = pca(f.x, 2);
    expect(() => r.transform([[1, 2, 3]])).toThrow(/PcaResult.transform: 'y' must have shape \[M, 6\], got \[1, 3\]/);
    expect(() => pca(f.x, 2, { center: 'no' as unknown as boolean })).toThrow(
      /pca: 'options.center' must be a boolean/,
    );
  });
});
