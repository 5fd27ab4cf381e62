// Parity with numpy/scipy float64 (test/fixtures/linalg.json, written by
// test/fixtures/generate/linalg.py; versions and command are recorded in its "source").
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import {
  Matrix,
  cholesky,
  det,
  eigh,
  inverse,
  inverseSqrt,
  matmul,
  polarFactor,
  qr,
  solve,
  sqrtm,
  svd,
} from '../../src/linalg/index.js';
import { expectTensorClose } from '../../src/testing/expect-tensor-close.js';
import { maxAbs, maxDiff, orthogonalityError, reconstruct } from './helpers.js';

type Rows = number[][];
interface Fixture {
  source: { numpy: string; scipy: string; command: string; seed: number };
  svd: { name: string; a: Rows; s: number[] }[];
  eigh: { name: string; a: Rows; values: number[] }[];
  det: { name: string; a: Rows; det: number }[];
  solve: { name: string; a: Rows; b: Rows; x: Rows; inverse: Rows }[];
  cholesky: { name: string; a: Rows; l: Rows }[];
  qr: { name: string; a: Rows; r: Rows }[];
  matrixFunctions: { name: string; a: Rows; sqrtm: Rows; inverseSqrt: Rows }[];
  polar: { name: string; a: Rows; q: Rows }[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/linalg.json', import.meta.url), 'utf8')) as Fixture;

/** Two backward-stable float64 codes agree to ≈ ε·‖A‖·κ; these are the stated slacks. */
const close = (scale: number) => ({ atol: 1e-13 * Math.max(scale, 1), rtol: 1e-11 });

describe('linalg vs numpy/scipy fixtures', () => {
  it('records its provenance', () => {
    expect(fixture.source.command).toBe('python3 test/fixtures/generate/linalg.py');
    expect(fixture.source.numpy).toMatch(/^\d+\.\d+/);
    expect(fixture.source.scipy).toMatch(/^\d+\.\d+/);
  });

  it.each(fixture.svd.map((c) => [c.name, c] as const))(
    'svd %s: singular values match, vectors reconstruct A',
    (_name, c) => {
      const a = Matrix.fromArray(c.a);
      const { u, s, v } = svd(a);
      // Absolute error ≈ ε·‖A‖₂ for every singular value, so atol scales with s₀.
      expectTensorClose(s, c.s, { atol: 1e-13 * Math.max(c.s[0] ?? 0, 1), rtol: 1e-12 });
      expect(maxDiff(reconstruct(u, s, v), a)).toBeLessThan(1e-13 * Math.max(maxAbs(a), 1));
      expect(orthogonalityError(u)).toBeLessThan(1e-13);
      expect(orthogonalityError(v)).toBeLessThan(1e-13);
    },
  );

  it.each(fixture.eigh.map((c) => [c.name, c] as const))('eigh %s: eigenvalues match (numpy ascending)', (_name, c) => {
    const a = Matrix.fromArray(c.a);
    const { values, vectors } = eigh(a, { order: 'ascending' });
    expectTensorClose(values, c.values, close(maxAbs(a)));
    expect(maxDiff(reconstruct(vectors, values, vectors), a)).toBeLessThan(1e-13 * Math.max(maxAbs(a), 1));
    expect(orthogonalityError(vectors)).toBeLessThan(1e-13);
  });

  it.each(fixture.det.map((c) => [c.name, c] as const))('det %s', (_name, c) => {
    const d = det(c.a);
    // Relative error ≈ N·ε·κ; the singular case must come out as (near) zero.
    if (c.det === 0) expect(Math.abs(d)).toBeLessThan(1e-14);
    else expect(d / c.det).toBeCloseTo(1, 11);
  });

  it.each(fixture.solve.map((c) => [c.name, c] as const))('solve and inverse %s', (_name, c) => {
    expectTensorClose(solve(c.a, c.b), c.x, { atol: 1e-13, rtol: 1e-11 });
    expectTensorClose(inverse(c.a), c.inverse, { atol: 1e-13, rtol: 1e-11 });
  });

  it.each(fixture.cholesky.map((c) => [c.name, c] as const))('cholesky %s', (_name, c) => {
    expectTensorClose(cholesky(c.a), c.l, { atol: 1e-14, rtol: 1e-12 });
  });

  it.each(fixture.qr.map((c) => [c.name, c] as const))(
    'qr %s: R (diag ≥ 0) is unique, so it is compared directly',
    (_name, c) => {
      const a = Matrix.fromArray(c.a);
      const { q, r } = qr(a);
      expectTensorClose(r, c.r, { atol: 1e-14, rtol: 1e-12 });
      expect(maxDiff(matmul(q, r), a)).toBeLessThan(1e-14);
    },
  );

  it.each(fixture.matrixFunctions.map((c) => [c.name, c] as const))(
    'sqrtm and inverseSqrt %s match scipy.linalg.sqrtm',
    (_name, c) => {
      expectTensorClose(sqrtm(c.a), c.sqrtm, { atol: 1e-12, rtol: 1e-11 });
      expectTensorClose(inverseSqrt(c.a), c.inverseSqrt, { atol: 1e-12, rtol: 1e-11 });
    },
  );

  it.each(fixture.polar.map((c) => [c.name, c] as const))('polarFactor %s matches scipy.linalg.polar', (_name, c) => {
    expectTensorClose(polarFactor(c.a), c.q, { atol: 1e-13, rtol: 1e-11 });
  });
});
