/**
 * Plain-JS implementations of `@geolip/nn`'s kernels (`./names.ts`), the same math as the WGSL programs
 * in `./webgpu/programs.ts`. They are registered only on request ({@link registerReferenceKernels}),
 * so tests on the cpu backend run the *fused* code paths of `../functional` (kernel dispatch, custom
 * gradients, attribute plumbing) and compare them with the composed tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';

import { KERNELS } from './names.js';
import { approxOf, epsOf, rowsCols } from './shared.js';
import type { KernelFn } from './shared.js';
interface DataBackend {
  readSync(dataId: object): ArrayLike<number>;
  write(values: Float32Array, shape: number[], dtype: tf.DataType): object;
}

function read(backend: unknown, t: tf.TensorInfo): ArrayLike<number> {
  return (backend as DataBackend).readSync(t.dataId);
}
function make(backend: unknown, shape: number[], values: Float32Array): tf.TensorInfo {
  return { dataId: (backend as DataBackend).write(values, shape, 'float32'), shape, dtype: 'float32' };
}

function stats(x: ArrayLike<number>, rows: number, cols: number, eps: number): Float32Array {
  const out = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c]!;
    const mean = s / cols;
    let s2 = 0;
    for (let c = 0; c < cols; c++) {
      const d = x[r * cols + c]! - mean;
      s2 += d * d;
    }
    out[2 * r] = mean;
    out[2 * r + 1] = 1 / Math.sqrt(s2 / cols + eps);
  }
  return out;
}

/** A&S 7.1.26, as the WGSL program and tfjs's Erf kernels. */
function erf(v: number): number {
  const s = Math.sign(v);
  const a = Math.abs(v);
  const t = 1 / (1 + 0.3275911 * a);
  return (
    s *
    (1 -
      ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
        t *
        Math.exp(-a * a))
  );
}
const K = Math.sqrt(2 / Math.PI);
function gelu(u: number, tanh: boolean): number {
  if (tanh) return 0.5 * u * (1 + Math.tanh(K * (u + 0.044715 * u * u * u)));
  return 0.5 * u * (1 + erf(u * Math.SQRT1_2));
}
function geluGrad(u: number, tanh: boolean): number {
  if (tanh) {
    const t = Math.tanh(K * (u + 0.044715 * u * u * u));
    return 0.5 * (1 + t) + 0.5 * u * (1 - t * t) * K * (1 + 3 * 0.044715 * u * u);
  }
  return 0.5 * (1 + erf(u * Math.SQRT1_2)) + (u * Math.exp(-0.5 * u * u)) / Math.sqrt(2 * Math.PI);
}

const f = Math.fround;
const LANES = 64;

/**
 * The WGSL simplex-volume program (`SimplexVolumeProgram`) step for step in float32 (`Math.fround` after every
 * operation): 64 lanes of strided partial Gram sums, the same shared-memory tree, LDLᵀ with diagonal pivoting.
 */
function simplexVolumeSquaredF32(
  points: ArrayLike<number>,
  rows: number,
  dim: number,
  simplices: ArrayLike<number>,
  vertices: number,
): Float32Array {
  const k = vertices - 1;
  const pairs: [number, number][] = [];
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) pairs.push([i, j]);
  const count = vertices === 0 ? 0 : simplices.length / vertices;
  const out = new Float32Array(count);
  const partial = new Float32Array(pairs.length * LANES);
  const e = new Float32Array(k);
  const g = new Float32Array(k * k);
  const base = new Int32Array(vertices);
  let fact2 = 1;
  for (let i = 2; i <= k; i++) fact2 *= i * i;
  for (let s = 0; s < count; s++) {
    let ok = true;
    for (let t = 0; t < vertices; t++) {
      let r = simplices[s * vertices + t]!;
      if (r < 0 || r >= rows) {
        ok = false;
        r = 0;
      }
      base[t] = r * dim;
    }
    partial.fill(0);
    if (ok) {
      for (let lane = 0; lane < LANES; lane++) {
        for (let c = lane; c < dim; c += LANES) {
          const p0 = points[base[0]! + c]!;
          for (let i = 0; i < k; i++) e[i] = f(points[base[i + 1]! + c]! - p0);
          pairs.forEach(([i, j], q) => {
            partial[q * LANES + lane] = f(partial[q * LANES + lane]! + f(e[i]! * e[j]!));
          });
        }
      }
    }
    for (let st = LANES / 2; st > 0; st >>= 1) {
      for (let lane = 0; lane < st; lane++) {
        for (let q = 0; q < pairs.length; q++) {
          partial[q * LANES + lane] = f(partial[q * LANES + lane]! + partial[q * LANES + lane + st]!);
        }
      }
    }
    let finite = ok;
    pairs.forEach(([i, j], q) => {
      g[i * k + j] = g[j * k + i] = partial[q * LANES]!;
      if (!Number.isFinite(partial[q * LANES]!)) finite = false;
    });
    let det = 1;
    for (let j = 0; j < k; j++) {
      let piv = j;
      let best = g[j * k + j]!;
      for (let i = j + 1; i < k; i++) {
        if (g[i * k + i]! > best) {
          best = g[i * k + i]!;
          piv = i;
        }
      }
      if (!(best > 0)) {
        det = 0;
        break;
      }
      if (piv !== j) {
        for (let c = 0; c < k; c++) [g[j * k + c], g[piv * k + c]] = [g[piv * k + c]!, g[j * k + c]!];
        for (let r = 0; r < k; r++) [g[r * k + j], g[r * k + piv]] = [g[r * k + piv]!, g[r * k + j]!];
      }
      det = f(det * best);
      for (let i = j + 1; i < k; i++) {
        const l = f(g[i * k + j]! / best);
        for (let c = j + 1; c < k; c++) g[i * k + c] = f(g[i * k + c]! - f(l * g[j * k + c]!));
      }
    }
    out[s] = finite ? det / fact2 : NaN;
  }
  return out;
}

/** Kernel functions by name for backends with synchronous `readSync` (cpu, wasm). */
const referenceKernels: Record<string, KernelFn> = {
  [KERNELS.layerNorm]: ({ inputs, backend, attrs }) => {
    const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
    const [rows, cols] = rowsCols(x);
    const xv = read(backend, x);
    const g = read(backend, gamma);
    const b = read(backend, beta);
    const st = stats(xv, rows, cols, epsOf(attrs));
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++)
        out[r * cols + c] = (xv[r * cols + c]! - st[2 * r]!) * st[2 * r + 1]! * g[c]! + b[c]!;
    }
    return make(backend, [...x.shape], out);
  },
  [KERNELS.layerNormStats]: ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const [rows, cols] = rowsCols(x);
    return make(backend, [rows, 2], stats(read(backend, x), rows, cols, epsOf(attrs)));
  },
  [KERNELS.layerNormGradX]: ({ inputs, backend }) => {
    const { dy, x, gamma, stats: s } = inputs as Record<'dy' | 'x' | 'gamma' | 'stats', tf.TensorInfo>;
    const [rows, cols] = rowsCols(x);
    const [dyv, xv, g, st] = [read(backend, dy), read(backend, x), read(backend, gamma), read(backend, s)];
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const mean = st[2 * r]!;
      const rstd = st[2 * r + 1]!;
      let sg = 0;
      let sgx = 0;
      for (let c = 0; c < cols; c++) {
        const gi = dyv[r * cols + c]! * g[c]!;
        sg += gi;
        sgx += gi * (xv[r * cols + c]! - mean) * rstd;
      }
      const mg = sg / cols;
      const mgx = sgx / cols;
      for (let c = 0; c < cols; c++) {
        const xh = (xv[r * cols + c]! - mean) * rstd;
        out[r * cols + c] = rstd * (dyv[r * cols + c]! * g[c]! - mg - xh * mgx);
      }
    }
    return make(backend, [...x.shape], out);
  },
  [KERNELS.layerNormGradGamma]: ({ inputs, backend }) => {
    const { dy, x, stats: s } = inputs as Record<'dy' | 'x' | 'stats', tf.TensorInfo>;
    const [rows, cols] = rowsCols(x);
    const [dyv, xv, st] = [read(backend, dy), read(backend, x), read(backend, s)];
    const acc = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++)
        acc[c] = acc[c]! + dyv[r * cols + c]! * (xv[r * cols + c]! - st[2 * r]!) * st[2 * r + 1]!;
    }
    return make(backend, [cols], Float32Array.from(acc));
  },
  [KERNELS.biasGelu]: ({ inputs, backend, attrs }) => {
    const { x, bias } = inputs as Record<'x' | 'bias', tf.TensorInfo>;
    const [, cols] = rowsCols(x);
    const [xv, b] = [read(backend, x), read(backend, bias)];
    const out = new Float32Array(xv.length);
    const tanh = approxOf(attrs) === 'tanh';
    for (let i = 0; i < xv.length; i++) out[i] = gelu(xv[i]! + b[i % cols]!, tanh);
    return make(backend, [...x.shape], out);
  },
  [KERNELS.biasGeluGrad]: ({ inputs, backend, attrs }) => {
    const { dy, x, bias } = inputs as Record<'dy' | 'x' | 'bias', tf.TensorInfo>;
    const [, cols] = rowsCols(x);
    const [dyv, xv, b] = [read(backend, dy), read(backend, x), read(backend, bias)];
    const out = new Float32Array(xv.length);
    const tanh = approxOf(attrs) === 'tanh';
    for (let i = 0; i < xv.length; i++) out[i] = dyv[i]! * geluGrad(xv[i]! + b[i % cols]!, tanh);
    return make(backend, [...x.shape], out);
  },
  [KERNELS.adamMoment]: ({ inputs, backend, attrs }) => {
    const { m, g } = inputs as Record<'m' | 'g', tf.TensorInfo>;
    const [mv, gv] = [read(backend, m), read(backend, g)];
    const beta = Math.fround(Number(attrs?.beta));
    const one = Math.fround(1 - Number(attrs?.beta));
    const sq = attrs?.square === true;
    const out = new Float32Array(mv.length);
    for (let i = 0; i < mv.length; i++) {
      const gi = sq ? Math.fround(gv[i]! * gv[i]!) : gv[i]!;
      out[i] = Math.fround(mv[i]! * beta) + Math.fround(gi * one);
    }
    return make(backend, [...m.shape], out);
  },
  [KERNELS.adamWParam]: ({ inputs, backend, attrs }) => {
    const { p, m, v } = inputs as Record<'p' | 'm' | 'v', tf.TensorInfo>;
    const [pv, mv, vv] = [read(backend, p), read(backend, m), read(backend, v)];
    const [stepSize, sqrtBc2, eps, decay] = ['stepSize', 'sqrtBc2', 'eps', 'decay'].map((k) =>
      Math.fround(Number(attrs?.[k])),
    );
    const out = new Float32Array(pv.length);
    for (let i = 0; i < pv.length; i++) {
      const denom = Math.fround(Math.fround(Math.fround(Math.sqrt(vv[i]!)) / sqrtBc2!) + eps!);
      out[i] = Math.fround(pv[i]! * decay!) - Math.fround(Math.fround(mv[i]! / denom) * stepSize!);
    }
    return make(backend, [...p.shape], out);
  },
  [KERNELS.simplexVolumeSquared]: ({ inputs, backend }) => {
    const { points, simplices } = inputs as Record<'points' | 'simplices', tf.TensorInfo>;
    const [rows, dim] = points.shape as [number, number];
    const [count, vertices] = simplices.shape as [number, number];
    const v2 = simplexVolumeSquaredF32(read(backend, points), rows, dim, read(backend, simplices), vertices);
    return make(backend, [count], v2);
  },
};

const registeredFor = new Set<string>();

/**
 * Registers the reference kernels for `backendName` (default: the active backend), so the fused code
 * paths run there. For tests and debugging; {@link unregisterReferenceKernels} undoes it.
 */
export function registerReferenceKernels(backendName: string = tf.getBackend()): void {
  for (const [name, kernelFunc] of Object.entries(referenceKernels)) {
    if (tf.getKernel(name, backendName) === undefined)
      tf.registerKernel({ kernelName: name, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  registeredFor.add(backendName);
}

/** Removes what {@link registerReferenceKernels} registered for `backendName`. */
export function unregisterReferenceKernels(backendName: string = tf.getBackend()): void {
  if (!registeredFor.has(backendName)) return;
  for (const name of Object.keys(referenceKernels)) {
    if (tf.getKernel(name, backendName) !== undefined) tf.unregisterKernel(name, backendName);
  }
  registeredFor.delete(backendName);
}
