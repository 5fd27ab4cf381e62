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
