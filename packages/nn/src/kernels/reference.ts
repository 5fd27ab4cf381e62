/**
 * Plain-JS implementations of `@geolip/nn`'s kernels (`./names.ts`), the same math as the WGSL programs
 * in `./webgpu/programs.ts`. They are registered only on request ({@link registerReferenceKernels}),
 * so tests on the cpu backend run the *fused* code paths of `../functional` (kernel dispatch, custom
 * gradients, attribute plumbing) and compare them with the composed tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';

import { KERNELS } from './names.js';
import { approxOf, epsOf, headsOf, rowsCols } from './shared.js';
import type { Attrs, KernelFn } from './shared.js';
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

/** What the attention kernels read: sizes and the (flat) inputs, masks null when absent. */
interface AttentionArgs {
  B: number;
  H: number;
  Lq: number;
  Lk: number;
  h: number;
  hv: number;
  scale: number;
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number> | null;
  kpm: ArrayLike<number> | null;
  am: ArrayLike<number> | null;
  amBatched: boolean;
}

function attentionArgs(inputs: tf.NamedTensorInfoMap, backend: unknown, attrs?: Attrs): AttentionArgs {
  const { q, k, v, keyPaddingMask, attnMask } = inputs as Record<string, tf.TensorInfo | undefined>;
  const [B, Lq, d] = q!.shape as [number, number, number];
  const Lk = k!.shape[1]!;
  const H = headsOf(attrs);
  const h = d / H;
  const dv = v ? v.shape[2]! : (inputs as Record<string, tf.TensorInfo>).dy!.shape[2]!;
  return {
    B,
    H,
    Lq,
    Lk,
    h,
    hv: dv / H,
    scale: Math.fround(1 / Math.sqrt(h)),
    q: read(backend, q!),
    k: read(backend, k!),
    v: v ? read(backend, v) : null,
    kpm: keyPaddingMask ? read(backend, keyPaddingMask) : null,
    am: attnMask ? read(backend, attnMask) : null,
    amBatched: attnMask !== undefined && attnMask.shape.length === 3,
  };
}

/** The masked scores of query `i` against every key of batch row `b`, head `hd` (as the composed ops). */
function attentionScores(a: AttentionArgs, b: number, hd: number, i: number): Float64Array {
  const { Lq, Lk, h, H, scale, q, k, kpm, am } = a;
  const d = H * h;
  const s = new Float64Array(Lk);
  for (let j = 0; j < Lk; j++) {
    let dot = 0;
    for (let c = 0; c < h; c++)
      dot += Math.fround(q[(b * Lq + i) * d + hd * h + c]! * scale) * k[(b * Lk + j) * d + hd * h + c]!;
    // float32 steps as the composed ops (s − 1e9 rounds to a multiple of 64: masked rows depend on it).
    const f = Math.fround;
    let x = f(dot);
    if (am) x = f(x + f(Math.max(am[((a.amBatched ? b * Lq : 0) + i) * Lk + j]!, MASKED)));
    if (kpm) x = f(f(x * kpm[b * Lk + j]!) + f(f(1 - kpm[b * Lk + j]!) * MASKED));
    s[j] = x;
  }
  return s;
}

/** Softmax weights of one query row, the row's max and the sum of `exp(s − max)`. */
function softmaxRow(s: Float64Array): { p: Float64Array; max: number; sum: number } {
  let m = -Infinity;
  for (const x of s) m = Math.max(m, x);
  let sum = 0;
  const p = new Float64Array(s.length);
  for (let j = 0; j < s.length; j++) sum += p[j] = Math.exp(s[j]! - m);
  for (let j = 0; j < s.length; j++) p[j] = p[j]! / sum;
  return { p, max: m, sum };
}

/**
 * The attention backward on one query row: `ds_j = p_j·(dy·v_j − dy·out)·m_j` (the gradient of the scores before
 * masking; `out` recomputed as Σ p·v), with the row's weights `p`.
 */
function attentionRowGrad(
  a: AttentionArgs,
  dy: ArrayLike<number>,
  b: number,
  hd: number,
  i: number,
): { p: Float64Array; ds: Float64Array } {
  const { Lq, Lk, hv, H, v, kpm } = a;
  const dv = H * hv;
  const { p } = softmaxRow(attentionScores(a, b, hd, i));
  const dp = new Float64Array(Lk);
  let D = 0;
  for (let j = 0; j < Lk; j++) {
    for (let c = 0; c < hv; c++)
      dp[j] = dp[j]! + dy[(b * Lq + i) * dv + hd * hv + c]! * v![(b * Lk + j) * dv + hd * hv + c]!;
    D += p[j]! * dp[j]!;
  }
  const ds = new Float64Array(Lk);
  for (let j = 0; j < Lk; j++) ds[j] = p[j]! * (dp[j]! - D) * (kpm ? kpm[b * Lk + j]! : 1);
  return { p, ds };
}

const MASKED = -1e9;

const add = (a: Float64Array, i: number, x: number): void => {
  a[i] = a[i]! + x;
};

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
    for (let i = 0; i < mv.length; i++) out[i] = adamMomentF32(mv[i]!, gv[i]!, beta, one, sq);
    return make(backend, [...m.shape], out);
  },
  [KERNELS.adamWParam]: ({ inputs, backend, attrs }) => {
    const { p, m, v } = inputs as Record<'p' | 'm' | 'v', tf.TensorInfo>;
    const [pv, mv, vv] = [read(backend, p), read(backend, m), read(backend, v)];
    const [stepSize, sqrtBc2, eps, decay] = ['stepSize', 'sqrtBc2', 'eps', 'decay'].map((k) =>
      Math.fround(Number(attrs?.[k])),
    );
    const out = new Float32Array(pv.length);
    for (let i = 0; i < pv.length; i++)
      out[i] = adamWParamF32(pv[i]!, mv[i]!, vv[i]!, stepSize!, sqrtBc2!, eps!, decay!);
    return make(backend, [...p.shape], out);
  },
  [KERNELS.simplexVolumeSquared]: ({ inputs, backend }) => {
    const { points, simplices } = inputs as Record<'points' | 'simplices', tf.TensorInfo>;
    const [rows, dim] = points.shape as [number, number];
    const [count, vertices] = simplices.shape as [number, number];
    const v2 = simplexVolumeSquaredF32(read(backend, points), rows, dim, read(backend, simplices), vertices);
    return make(backend, [count], v2);
  },
  [KERNELS.attention]: ({ inputs, backend, attrs }) => {
    const a = attentionArgs(inputs, backend, attrs);
    const { B, H, Lq, Lk, hv, v } = a;
    const dv = H * hv;
    const out = new Float32Array(B * Lq * dv);
    for (let b = 0; b < B; b++)
      for (let hd = 0; hd < H; hd++)
        for (let i = 0; i < Lq; i++) {
          const { p } = softmaxRow(attentionScores(a, b, hd, i));
          for (let c = 0; c < hv; c++) {
            let acc = 0;
            for (let j = 0; j < Lk; j++) acc += p[j]! * v![(b * Lk + j) * dv + hd * hv + c]!;
            out[(b * Lq + i) * dv + hd * hv + c] = acc;
          }
        }
    return make(backend, [B, Lq, dv], out);
  },
  [KERNELS.attentionStats]: ({ inputs, backend, attrs }) => {
    const a = attentionArgs(inputs, backend, attrs);
    const { B, H, Lq, hv } = a;
    const { dy, out } = inputs as Record<'dy' | 'out', tf.TensorInfo>;
    const [dyv, ov] = [read(backend, dy), read(backend, out)];
    const dv = H * hv;
    const res = new Float32Array(B * H * Lq * 3);
    for (let b = 0; b < B; b++)
      for (let hd = 0; hd < H; hd++)
        for (let i = 0; i < Lq; i++) {
          let D = 0;
          for (let c = 0; c < hv; c++) {
            const at = (b * Lq + i) * dv + hd * hv + c;
            D += dyv[at]! * ov[at]!;
          }
          const row = ((b * H + hd) * Lq + i) * 3;
          const { max, sum } = softmaxRow(attentionScores(a, b, hd, i));
          res[row] = max;
          res[row + 1] = sum;
          res[row + 2] = D;
        }
    return make(backend, [B, H, Lq, 3], res);
  },
  [KERNELS.sumSquares]: ({ inputs, backend }) => {
    // The float32 squares (as the WGSL program forms them) summed in float64, rounded once: the value the
    // program's float32 partial sums approximate.
    let acc = 0;
    for (const x of inputs as unknown as tf.TensorInfo[]) {
      const xv = read(backend, x);
      for (let i = 0; i < xv.length; i++) acc += Math.fround(xv[i]! * xv[i]!);
    }
    return make(backend, [], Float32Array.of(acc));
  },
  [KERNELS.attentionGradQ]: ({ inputs, backend, attrs }) => attentionGrad('q', inputs, backend, attrs),
  [KERNELS.attentionGradK]: ({ inputs, backend, attrs }) => attentionGrad('k', inputs, backend, attrs),
  [KERNELS.attentionGradV]: ({ inputs, backend, attrs }) => attentionGrad('v', inputs, backend, attrs),
};

/**
 * dq, dk or dv of attention (the reference recomputes the weights from q and k rather than reading `stats`; for
 * dv, `v` is absent and only the weights are needed).
 */
function attentionGrad(which: 'q' | 'k' | 'v', inputs: tf.NamedTensorInfoMap, backend: unknown, attrs?: Attrs) {
  const a = attentionArgs(inputs, backend, attrs);
  const { B, H, Lq, Lk, h, hv, scale, q, k } = a;
  const dy = read(backend, (inputs as Record<'dy', tf.TensorInfo>).dy);
  const d = H * h;
  const dv = H * hv;
  const rows = which === 'q' ? Lq : Lk;
  const width = which === 'v' ? dv : d;
  const acc = new Float64Array(B * rows * width);
  for (let b = 0; b < B; b++)
    for (let hd = 0; hd < H; hd++)
      for (let i = 0; i < Lq; i++) {
        const { p, ds } =
          which === 'v'
            ? { p: softmaxRow(attentionScores(a, b, hd, i)).p, ds: null }
            : attentionRowGrad(a, dy, b, hd, i);
        for (let j = 0; j < Lk; j++) {
          if (which === 'q') {
            for (let c = 0; c < h; c++)
              add(acc, (b * Lq + i) * d + hd * h + c, ds![j]! * k[(b * Lk + j) * d + hd * h + c]! * scale);
          } else if (which === 'k') {
            for (let c = 0; c < h; c++)
              add(acc, (b * Lk + j) * d + hd * h + c, ds![j]! * Math.fround(q[(b * Lq + i) * d + hd * h + c]! * scale));
          } else {
            for (let c = 0; c < hv; c++)
              add(acc, (b * Lk + j) * dv + hd * hv + c, p[j]! * dy[(b * Lq + i) * dv + hd * hv + c]!);
          }
        }
      }
  return make(backend, [B, rows, width], Float32Array.from(acc));
}

/**
 * One element of the Adam moment update in float32, `β·m + (1 − β)·g` (or `g²` with `square`): `beta` and `one`
 * (= 1 − β) already rounded to float32. Shared by the `GeolipAdamMoment` reference kernel and the in-place reference
 * (`../in-place.ts`), so both round alike.
 */
export function adamMomentF32(m: number, g: number, beta: number, one: number, square: boolean): number {
  const gi = square ? Math.fround(g * g) : g;
  return Math.fround(Math.fround(m * beta) + Math.fround(gi * one));
}

/** One element of the AdamW parameter update in float32 (scalars already rounded to float32). */
export function adamWParamF32(
  p: number,
  m: number,
  v: number,
  stepSize: number,
  sqrtBc2: number,
  eps: number,
  decay: number,
): number {
  const denom = Math.fround(Math.fround(Math.fround(Math.sqrt(v)) / sqrtBc2) + eps);
  return Math.fround(Math.fround(p * decay) - Math.fround(Math.fround(m / denom) * stepSize));
}

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
