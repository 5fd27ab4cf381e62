// Synthetic experts and file writers shared by the consensus and CLI tests.
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

/** Expert view of `base` [N, D₀]: pad with zeros to width d, add noise·N(0, 1), rotate by a random orthogonal matrix. */
export function expertView(r: () => number, base: Matrix, d: number, noise: number): Matrix {
  const padded = new Matrix(base.rows, d);
  for (let i = 0; i < base.rows; i++) {
    for (let j = 0; j < d; j++) padded.data[i * d + j] = (j < base.cols ? base.data[i * base.cols + j]! : 0) + noise * r();
  }
  return linalg.matmul(padded, orthogonal(r, d));
}

/** A `.npy` v1.0 file holding `m` as little-endian float64 (C order). */
export function npyF8(m: Matrix): Uint8Array {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + m.data.length * 8);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(Float64Array.from(m.data).buffer), 10 + header.length);
  return out;
}
