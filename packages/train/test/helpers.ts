// Seeded synthetic data shared by the engine's tests (and, through packages/recipes/test/helpers.ts, the recipes').
import { Matrix, linalg } from '@geolip/geometry';

/** A seeded standard-normal stream (mulberry32 uniforms, Box–Muller). */
export function gaussianSource(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-300)) * Math.cos(2 * Math.PI * uniform());
}

/** `[n, d]` Gaussian entries times `scale`. */
export function gaussian(r: () => number, n: number, d: number, scale = 1): Matrix {
  const m = new Matrix(n, d);
  for (let i = 0; i < m.data.length; i++) m.data[i] = r() * scale;
  return m;
}

/** A random `[d, d]` orthogonal matrix (polar factor of a Gaussian one). */
export function orthogonal(r: () => number, d: number): Matrix {
  const { u, v } = linalg.svd(gaussian(r, d, d));
  return linalg.matmulTransposeB(u, v);
}
