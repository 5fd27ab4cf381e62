/**
 * WGSL programs for `@tensorflow/tfjs-backend-webgpu` 4.22's program interface (`WebGPUProgram`): tfjs
 * writes the shader header (the `result` output array, one read-only storage array per name in
 * `variableNames`, the `uniforms` struct with the shapes plus our `uniforms` fields) and calls
 * `main(index)`; these classes give the body. Reductions use one 64-thread workgroup per row (or per
 * column) with a shared-memory tree, as tfjs's own softmax does; barriers stay in uniform control flow.
 *
 * Every program here mirrors a plain-JS reference kernel in `../reference.ts` line for line, and both are
 * parity-tested against the composed tfjs ops (cpu in CI, the GPU machine for WGSL: see the README).
 */

/** The subset of tfjs-webgpu's `WebGPUProgram` these programs fill in. */
export interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode(): string;
}

const WG = 64;

/** erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula tfjs's own Erf kernels use. */
const ERF_WGSL = `
fn geolipErf(v : f32) -> f32 {
  let s = sign(v);
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 -
    (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}`;

/** `gelu(u)` and `gelu'(u)` in the exact (erf) and tanh forms. */
function geluWgsl(approximate: 'none' | 'tanh'): string {
  if (approximate === 'tanh') {
    return `
fn geolipGelu(u : f32) -> f32 {
  let k = 0.7978845608028654 * (u + 0.044715 * u * u * u);
  return 0.5 * u * (1.0 + tanh(clamp(k, -15.0, 15.0)));
}
fn geolipGeluGrad(u : f32) -> f32 {
  let k = 0.7978845608028654 * (u + 0.044715 * u * u * u);
  let t = tanh(clamp(k, -15.0, 15.0));
  return 0.5 * (1.0 + t) + 0.5 * u * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * u * u);
}`;
  }
  return `${ERF_WGSL}
fn geolipGelu(u : f32) -> f32 {
  return 0.5 * u * (1.0 + geolipErf(u * 0.7071067811865476));
}
fn geolipGeluGrad(u : f32) -> f32 {
  return 0.5 * (1.0 + geolipErf(u * 0.7071067811865476)) + u * 0.3989422804014327 * exp(-0.5 * u * u);
}`;
}

/** Shared-memory sum of `name` over the 64 threads; leaves the total in `${name}[0]`. */
function treeSum(names: string[]): string {
  return `
  for (var s = ${WG / 2}; s > 0; s = s >> 1) {
    if (tid < s) {
      ${names.map((n) => `${n}[tid] = ${n}[tid] + ${n}[tid + s];`).join('\n      ')}
    }
    workgroupBarrier();
  }`;
}

const rowIndex =
  'let row = i32(workgroupId.x + workgroupId.y * numWorkgroups.x + workgroupId.z * numWorkgroups.x * numWorkgroups.y);';

abstract class RowProgram implements Program {
  abstract variableNames: string[];
  outputShape: number[];
  abstract shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  uniforms = 'rows : i32, cols : i32, eps : f32,';

  constructor(outputShape: number[], workgroups: number) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [workgroups, 1, 1];
  }

  abstract getUserCode(): string;
}

/** Per-row mean and variance (two passes), shared by the row programs. */
const ROW_STATS = `
  let tid = i32(localId.x);
  let cols = uniforms.cols;
  let live = row < uniforms.rows;
  let base = row * cols;
  var acc = 0.0;
  for (var c = tid; c < cols; c = c + ${WG}) {
    if (live) { acc = acc + x[base + c]; }
  }
  bufA[tid] = acc;
  workgroupBarrier();
  ${treeSum(['bufA'])}
  let mean = bufA[0] / f32(cols);
  workgroupBarrier();
  var acc2 = 0.0;
  for (var c = tid; c < cols; c = c + ${WG}) {
    if (live) { let d = x[base + c] - mean; acc2 = acc2 + d * d; }
  }
  bufA[tid] = acc2;
  workgroupBarrier();
  ${treeSum(['bufA'])}
  let rstd = inverseSqrt(bufA[0] / f32(cols) + uniforms.eps);
`;

/** {@link KERNELS.layerNorm}: `[N, D]` → `[N, D]`. */
export class LayerNormProgram extends RowProgram {
  variableNames = ['x', 'gamma', 'beta'];
  shaderKey = 'geolipLayerNorm';
  constructor(rows: number, cols: number, outShape: number[] = [rows, cols]) {
    super(outShape, rows);
  }
  getUserCode(): string {
    return `
var<workgroup> bufA : array<f32, ${WG}>;
fn main(index : i32) {
  ${rowIndex}
  ${ROW_STATS}
  for (var c = tid; c < cols; c = c + ${WG}) {
    if (live) { result[base + c] = (x[base + c] - mean) * rstd * gamma[c] + beta[c]; }
  }
}`;
  }
}

/** {@link KERNELS.layerNormStats}: `[N, D]` → `[N, 2]` (mean, rstd). */
export class LayerNormStatsProgram extends RowProgram {
  variableNames = ['x'];
  shaderKey = 'geolipLayerNormStats';
  constructor(rows: number, cols: number) {
    super([rows, 2], rows);
  }
  getUserCode(): string {
    return `
var<workgroup> bufA : array<f32, ${WG}>;
fn main(index : i32) {
  ${rowIndex}
  ${ROW_STATS}
  if (live && tid == 0) {
    result[row * 2] = mean;
    result[row * 2 + 1] = rstd;
  }
}`;
  }
}

/**
 * {@link KERNELS.layerNormGradX}: with x̂ = (x − mean)·rstd and g = dy·gamma,
 * `dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))`.
 */
export class LayerNormGradXProgram extends RowProgram {
  variableNames = ['dy', 'x', 'gamma', 'stats'];
  shaderKey = 'geolipLayerNormGradX';
  constructor(rows: number, cols: number, outShape: number[] = [rows, cols]) {
    super(outShape, rows);
  }
  getUserCode(): string {
    return `
var<workgroup> bufA : array<f32, ${WG}>;
var<workgroup> bufB : array<f32, ${WG}>;
fn main(index : i32) {
  ${rowIndex}
  let tid = i32(localId.x);
  let cols = uniforms.cols;
  let live = row < uniforms.rows;
  let base = row * cols;
  var mean = 0.0;
  var rstd = 0.0;
  if (live) { mean = stats[row * 2]; rstd = stats[row * 2 + 1]; }
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = tid; c < cols; c = c + ${WG}) {
    if (live) {
      let g = dy[base + c] * gamma[c];
      sg = sg + g;
      sgx = sgx + g * (x[base + c] - mean) * rstd;
    }
  }
  bufA[tid] = sg;
  bufB[tid] = sgx;
  workgroupBarrier();
  ${treeSum(['bufA', 'bufB'])}
  let mg = bufA[0] / f32(cols);
  let mgx = bufB[0] / f32(cols);
  for (var c = tid; c < cols; c = c + ${WG}) {
    if (live) {
      let xh = (x[base + c] - mean) * rstd;
      result[base + c] = rstd * (dy[base + c] * gamma[c] - mg - xh * mgx);
    }
  }
}`;
  }
}

/** {@link KERNELS.layerNormGradGamma}: one workgroup per column, `Σ_rows dy·x̂` → `[D]`. */
export class LayerNormGradGammaProgram extends RowProgram {
  variableNames = ['dy', 'x', 'stats'];
  shaderKey = 'geolipLayerNormGradGamma';
  constructor(rows: number, cols: number) {
    super([cols], cols);
  }
  getUserCode(): string {
    return `
var<workgroup> bufA : array<f32, ${WG}>;
fn main(index : i32) {
  let col = i32(workgroupId.x + workgroupId.y * numWorkgroups.x + workgroupId.z * numWorkgroups.x * numWorkgroups.y);
  let tid = i32(localId.x);
  let cols = uniforms.cols;
  let live = col < cols;
  var acc = 0.0;
  for (var r = tid; r < uniforms.rows; r = r + ${WG}) {
    if (live) {
      let i = r * cols + col;
      acc = acc + dy[i] * (x[i] - stats[r * 2]) * stats[r * 2 + 1];
    }
  }
  bufA[tid] = acc;
  workgroupBarrier();
  ${treeSum(['bufA'])}
  if (live && tid == 0) { result[col] = bufA[0]; }
}`;
  }
}

abstract class ElementwiseProgram implements Program {
  abstract variableNames: string[];
  outputShape: number[];
  abstract shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [128, 1, 1];
  size = true;
  abstract uniforms: string;

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const n = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(n / 128), 1, 1];
  }

  abstract getUserCode(): string;
}

/**
 * {@link KERNELS.biasGelu}: `gelu(x + bias[i mod D])`, or with `grad` {@link KERNELS.biasGeluGrad}:
 * `dy · gelu′(x + bias[i mod D])`.
 */
export class BiasGeluProgram extends ElementwiseProgram {
  variableNames: string[];
  shaderKey: string;
  uniforms = 'cols : i32,';
  constructor(
    shape: number[],
    private readonly approximate: 'none' | 'tanh',
    private readonly grad = false,
  ) {
    super(shape);
    this.variableNames = grad ? ['dy', 'x', 'bias'] : ['x', 'bias'];
    this.shaderKey = `geolipBiasGelu${grad ? 'Grad' : ''}_${approximate}`;
  }
  getUserCode(): string {
    const u = 'x[index] + bias[index % uniforms.cols]';
    return `${geluWgsl(this.approximate)}
fn main(index : i32) {
  if (index < uniforms.size) {
    result[index] = ${this.grad ? `dy[index] * geolipGeluGrad(${u})` : `geolipGelu(${u})`};
  }
}`;
  }
}

/** {@link KERNELS.adamMoment}: `β·m + (1 − β)·g` or `β·m + (1 − β)·g²`. */
export class AdamMomentProgram extends ElementwiseProgram {
  variableNames = ['m', 'g'];
  shaderKey: string;
  uniforms = 'beta : f32, oneMinusBeta : f32,';
  constructor(
    shape: number[],
    private readonly square: boolean,
  ) {
    super(shape);
    this.shaderKey = `geolipAdamMoment_${square ? 'sq' : 'lin'}`;
  }
  getUserCode(): string {
    const g = this.square ? 'g[index] * g[index]' : 'g[index]';
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    result[index] = m[index] * uniforms.beta + ${g} * uniforms.oneMinusBeta;
  }
}`;
  }
}

/** {@link KERNELS.adamWParam}: `p·decay − (m / (√v / sqrtBc2 + eps))·stepSize`. */
export class AdamWParamProgram extends ElementwiseProgram {
  variableNames = ['p', 'm', 'v'];
  shaderKey = 'geolipAdamWParam';
  uniforms = 'stepSize : f32, sqrtBc2 : f32, eps : f32, decay : f32,';
  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    let denom = sqrt(v[index]) / uniforms.sqrtBc2 + uniforms.eps;
    result[index] = p[index] * uniforms.decay - (m[index] / denom) * uniforms.stepSize;
  }
}`;
  }
}

/** Largest vertex count (k + 1) the simplex-volume program is compiled for: k(k+1)/2·64 partial sums fit 16 KiB. */
export const SIMPLEX_MAX_VERTICES = 10;

/** (k!)², the factor between det(E Eᵀ) and V² of a k-simplex. */
function factorialSquared(k: number): number {
  let f = 1;
  for (let i = 2; i <= k; i++) f *= i;
  return f * f;
}

/**
 * {@link KERNELS.simplexVolumeSquared}: `points [N, D]`, `simplices [S, k+1]` (int32) → V² `[S]`. One 64-thread
 * workgroup per simplex: each thread strides over the D coordinates, forms the edges eᵢ = pᵢ − p₀ and accumulates
 * its share of the k(k+1)/2 Gram entries eᵢ·eⱼ; a shared-memory tree sums them; thread 0 takes det(G) by LDLᵀ
 * elimination with diagonal pivoting (G is symmetric positive semi-definite; a pivot ≤ 0 means the remaining
 * Schur complement is zero in exact arithmetic, so det = 0) and writes det(G)/(k!)². A row index outside [0, N)
 * or a non-finite Gram entry gives NaN.
 */
export class SimplexVolumeProgram implements Program {
  variableNames = ['points', 'simplices'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  uniforms = 'rows : i32, dim : i32, count : i32,';

  constructor(
    count: number,
    private readonly vertices: number,
  ) {
    this.outputShape = [count];
    this.dispatch = [count, 1, 1];
    this.shaderKey = `geolipSimplexVolume_${vertices}`;
  }

  getUserCode(): string {
    const v = this.vertices;
    const k = v - 1;
    const pairs: [number, number][] = [];
    for (let i = 0; i < k; i++) for (let j = i; j < k; j++) pairs.push([i, j]);
    const p = pairs.length;
    const lines = (f: (i: number) => string, n: number) => Array.from({ length: n }, (_, i) => f(i)).join('\n      ');
    return `
var<workgroup> partial : array<f32, ${p * WG}>;
fn geolipNonFinite(x : f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}
fn main(index : i32) {
  let s = i32(workgroupId.x + workgroupId.y * numWorkgroups.x + workgroupId.z * numWorkgroups.x * numWorkgroups.y);
  let tid = i32(localId.x);
  let live = s < uniforms.count;
  let dim = uniforms.dim;
  var base : array<i32, ${v}>;
  var ok = live;
  for (var t = 0; t < ${v}; t = t + 1) {
    var r = 0;
    if (live) { r = simplices[s * ${v} + t]; }
    if (r < 0 || r >= uniforms.rows) { ok = false; r = 0; }
    base[t] = r * dim;
  }
  var acc : array<f32, ${p}>;
  if (ok) {
    for (var c = tid; c < dim; c = c + ${WG}) {
      let p0 = points[base[0] + c];
      ${lines((i) => `let e${i} = points[base[${i + 1}] + c] - p0;`, k)}
      ${pairs.map(([i, j], q) => `acc[${q}] = acc[${q}] + e${i} * e${j};`).join('\n      ')}
    }
  }
  for (var q = 0; q < ${p}; q = q + 1) { partial[q * ${WG} + tid] = acc[q]; }
  workgroupBarrier();
  for (var st = ${WG / 2}; st > 0; st = st >> 1) {
    if (tid < st) {
      for (var q = 0; q < ${p}; q = q + 1) {
        let o = q * ${WG} + tid;
        partial[o] = partial[o] + partial[o + st];
      }
    }
    workgroupBarrier();
  }
  if (tid == 0 && live) {
    var g : array<f32, ${k * k}>;
    var finite = ok;
    ${pairs
      .map(
        ([i, j], q) =>
          `g[${i * k + j}] = partial[${q * WG}];${i === j ? '' : ` g[${j * k + i}] = partial[${q * WG}];`}` +
          ` if (geolipNonFinite(partial[${q * WG}])) { finite = false; }`,
      )
      .join('\n    ')}
    var det = 1.0;
    for (var j = 0; j < ${k}; j = j + 1) {
      var piv = j;
      var best = g[j * ${k} + j];
      for (var i = j + 1; i < ${k}; i = i + 1) {
        if (g[i * ${k} + i] > best) { best = g[i * ${k} + i]; piv = i; }
      }
      if (!(best > 0.0)) { det = 0.0; break; }
      if (piv != j) {
        for (var c = 0; c < ${k}; c = c + 1) {
          let a = g[j * ${k} + c]; g[j * ${k} + c] = g[piv * ${k} + c]; g[piv * ${k} + c] = a;
        }
        for (var r = 0; r < ${k}; r = r + 1) {
          let a = g[r * ${k} + j]; g[r * ${k} + j] = g[r * ${k} + piv]; g[r * ${k} + piv] = a;
        }
      }
      det = det * best;
      for (var i = j + 1; i < ${k}; i = i + 1) {
        let l = g[i * ${k} + j] / best;
        for (var c = j + 1; c < ${k}; c = c + 1) { g[i * ${k} + c] = g[i * ${k} + c] - l * g[j * ${k} + c]; }
      }
    }
    if (finite) { result[s] = det / ${factorialSquared(k).toFixed(1)}; } else { result[s] = uniforms.NAN; }
  }
}`;
  }
}

/** Which attention kernel an {@link AttentionProgram} is. */
export type AttentionMode = 'forward' | 'stats' | 'gradQ' | 'gradK' | 'gradV';

/** Sizes an {@link AttentionProgram} is built for (`h`, `hv` and the masks are compiled in). */
export interface AttentionDims {
  B: number;
  H: number;
  Lq: number;
  Lk: number;
  /** Head width of q and k. */
  h: number;
  /** Head width of v. */
  hv: number;
  keyPaddingMask: boolean;
  /** 0: none, 2: `[Lq, Lk]`, 3: `[B, Lq, Lk]`. */
  attnMaskRank: 0 | 2 | 3;
}

/** Rows (queries, or keys for dk and dv) per workgroup of the attention programs. */
const ATT_ROWS = 8;
/** Keys (or queries) per tile: one per thread. */
const ATT_TILE = WG;
const MAX_WORKGROUPS_X = 65535;

/**
 * The attention kernels of `../names.ts` (`KERNELS.attention*`), reading q, k, v, dy `[B, L, H·w]` with head
 * offsets. Each workgroup owns one batch row, one head and {@link ATT_ROWS} rows, and walks the other sequence
 * in tiles of 64 (one thread per tile entry), so any length works; shared memory holds the workgroup's rows and
 * one tile of scores.
 *
 * - `forward`, `stats`, `gradQ`: rows are queries. The thread of key j computes the rows' masked scores
 *   `s = (q·scale)·k_j (+ max(attnMask, −1e9)) (·m_j + (1 − m_j)·(−1e9))`. `forward` keeps an online softmax
 *   (running max and sum per row, rescaling the accumulators) and writes `Σ p·v / Σ p`; `stats` writes
 *   `[max, sum, D = Σ dy·out]`; `gradQ` writes `scale · Σ_j ds_j k_j` with `ds = p·(dy·v_j − D)·m_j`,
 *   `p = exp(s − max) / sum`.
 * - `gradK`, `gradV`: rows are keys, the tile runs over queries: `dk_j = Σ_i ds_ij (q_i·scale)`,
 *   `dv_j = Σ_i p_ij dy_i`.
 *
 * Loops run to uniform bounds and every barrier is at the top level of `main` or of the tile loop.
 */
export class AttentionProgram implements Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  uniforms = 'lq : i32, lk : i32, heads : i32, nblk : i32, total : i32, scale : f32,';
  /** Workgroups that do work (the dispatch may round up). */
  readonly total: number;
  readonly blocks: number;

  constructor(
    private readonly mode: AttentionMode,
    private readonly dims: AttentionDims,
  ) {
    const { B, H, Lq, Lk, h, hv } = dims;
    const byKey = mode === 'gradK' || mode === 'gradV';
    const names =
      mode === 'forward'
        ? ['q', 'k', 'v']
        : mode === 'stats'
          ? ['q', 'k', 'dy', 'fwdOut']
          : mode === 'gradV'
            ? ['q', 'k', 'dy', 'stats']
            : ['q', 'k', 'v', 'dy', 'stats'];
    if (dims.keyPaddingMask) names.push('kpm');
    if (dims.attnMaskRank !== 0) names.push('am');
    this.variableNames = names;
    this.outputShape =
      mode === 'forward'
        ? [B, Lq, H * hv]
        : mode === 'stats'
          ? [B, H, Lq, 3]
          : mode === 'gradQ'
            ? [B, Lq, H * h]
            : mode === 'gradK'
              ? [B, Lk, H * h]
              : [B, Lk, H * hv];
    this.dispatchLayout = { x: this.outputShape.map((_, i) => i) };
    this.blocks = Math.ceil((byKey ? Lk : Lq) / ATT_ROWS);
    this.total = B * H * this.blocks;
    const ys = Math.max(1, Math.ceil(this.total / MAX_WORKGROUPS_X));
    this.dispatch = [Math.max(1, Math.ceil(this.total / ys)), ys, 1];
    this.shaderKey = `geolipAttention_${mode}_${h}_${hv}_${dims.keyPaddingMask ? 1 : 0}${dims.attnMaskRank}`;
  }

  getUserCode(): string {
    const { h, hv, keyPaddingMask, attnMaskRank } = this.dims;
    const R = ATT_ROWS;
    const T = ATT_TILE;
    const byKey = this.mode === 'gradK' || this.mode === 'gradV';
    const amRow = attnMaskRank === 3 ? 'b * uniforms.lq + i' : 'i';
    // Masked score of query i (clamped into range) against key j, from the raw dot product.
    const maskFn = `
fn maskScore(dot : f32, b : i32, iIn : i32, j : i32) -> f32 {
  var s = dot;
  let i = min(iIn, uniforms.lq - 1);
  ${attnMaskRank === 0 ? '' : `s = s + max(am[(${amRow}) * uniforms.lk + j], -1e9);`}
  ${keyPaddingMask ? 'let m = kpm[b * uniforms.lk + j];\n  s = s * m + (1.0 - m) * -1e9;' : ''}
  return s;
}
fn keyKeep(b : i32, j : i32) -> f32 {
  ${keyPaddingMask ? 'return kpm[b * uniforms.lk + j];' : 'return 1.0;'}
}`;
    const head = `
  let tid = i32(localId.x);
  let g = i32(workgroupId.x + workgroupId.y * numWorkgroups.x);
  let live = g < uniforms.total;
  let gg = select(0, g, live);
  let blk = gg % uniforms.nblk;
  let bh = gg / uniforms.nblk;
  let hh = bh % uniforms.heads;
  let b = bh / uniforms.heads;
  let r0 = blk * ${R};
  let lq = uniforms.lq;
  let lk = uniforms.lk;
  let dq = uniforms.heads * ${h};
  let dv = uniforms.heads * ${hv};`;
    return byKey ? this.byKeyCode(maskFn, head, R, T) : this.byQueryCode(maskFn, head, R, T);
  }

  /** forward, stats, gradQ: one workgroup per block of query rows; tiles over keys. */
  private byQueryCode(maskFn: string, head: string, R: number, T: number): string {
    const { h, hv } = this.dims;
    const mode = this.mode;
    const CV = Math.ceil(hv / T);
    const CQ = Math.ceil(h / T);
    const needDy = mode === 'gradQ';
    const online = mode === 'forward' || mode === 'stats';
    const accN = mode === 'forward' ? R * CV : mode === 'gradQ' ? R * CQ : 1;
    // Phase A: the thread of key j fills sc[r * T + tid] for every row r.
    const phaseA = `
    let j = t0 + tid;
    // Zeroed explicitly: lavapipe kept a loop-scoped array's values from the previous iteration.
    var dots : array<f32, ${R}>;
    ${needDy ? `var dps : array<f32, ${R}>;` : ''}
    for (var r = 0; r < ${R}; r = r + 1) {
      dots[r] = 0.0;
      ${needDy ? 'dps[r] = 0.0;' : ''}
    }
    if (j < lk) {
      let kb = (b * lk + j) * dq + hh * ${h};
      for (var c = 0; c < ${h}; c = c + 1) {
        let kc = k[kb + c];
        for (var r = 0; r < ${R}; r = r + 1) { dots[r] = dots[r] + qs[r * ${h} + c] * kc; }
      }
      ${
        needDy
          ? `let vb = (b * lk + j) * dv + hh * ${hv};
      for (var c = 0; c < ${hv}; c = c + 1) {
        let vc = v[vb + c];
        for (var r = 0; r < ${R}; r = r + 1) { dps[r] = dps[r] + dos[r * ${hv} + c] * vc; }
      }`
          : ''
      }
    }
    for (var r = 0; r < ${R}; r = r + 1) {
      var x = ${online ? '-3.0e38' : '0.0'};
      if (j < lk) {
        let s = maskScore(dots[r], b, r0 + r, j);
        ${online ? 'x = s;' : 'x = exp(s - mrow[r]) / lrow[r] * (dps[r] - dd[r]) * keyKeep(b, j);'}
      }
      sc[r * ${T} + tid] = x;
    }
    workgroupBarrier();
    let nt = min(${T}, lk - t0);`;
    // Online softmax of the tile, by the thread of each row.
    const onlineSoftmax = `
    if (tid < ${R}) {
      let r = tid;
      var mt = mrow[r];
      for (var jj = 0; jj < nt; jj = jj + 1) { mt = max(mt, sc[r * ${T} + jj]); }
      let alpha = exp(mrow[r] - mt);
      var sum = 0.0;
      for (var jj = 0; jj < nt; jj = jj + 1) {
        let p = exp(sc[r * ${T} + jj] - mt);
        sc[r * ${T} + jj] = p;
        sum = sum + p;
      }
      lrow[r] = lrow[r] * alpha + sum;
      mrow[r] = mt;
      arow[r] = alpha;
    }
    workgroupBarrier();`;
    let phaseC = '';
    let finish = '';
    if (mode === 'forward') {
      phaseC = `
    for (var cv = 0; cv < ${CV}; cv = cv + 1) {
      let c = tid + cv * ${T};
      if (c < ${hv}) {
        for (var r = 0; r < ${R}; r = r + 1) { acc[r * ${CV} + cv] = acc[r * ${CV} + cv] * arow[r]; }
        for (var jj = 0; jj < nt; jj = jj + 1) {
          let x = v[(b * lk + t0 + jj) * dv + hh * ${hv} + c];
          for (var r = 0; r < ${R}; r = r + 1) { acc[r * ${CV} + cv] = acc[r * ${CV} + cv] + sc[r * ${T} + jj] * x; }
        }
      }
    }`;
      finish = `
  for (var cv = 0; cv < ${CV}; cv = cv + 1) {
    let c = tid + cv * ${T};
    for (var r = 0; r < ${R}; r = r + 1) {
      let i = r0 + r;
      if (live && c < ${hv} && i < lq) { result[(b * lq + i) * dv + hh * ${hv} + c] = acc[r * ${CV} + cv] / lrow[r]; }
    }
  }`;
    } else if (mode === 'stats') {
      finish = `
  if (tid < ${R}) {
    let i = r0 + tid;
    if (live && i < lq) {
      var dsum = 0.0;
      let base = (b * lq + i) * dv + hh * ${hv};
      for (var c = 0; c < ${hv}; c = c + 1) { dsum = dsum + dy[base + c] * fwdOut[base + c]; }
      let o = ((b * uniforms.heads + hh) * lq + i) * 3;
      result[o] = mrow[tid];
      result[o + 1] = lrow[tid];
      result[o + 2] = dsum;
    }
  }`;
    } else {
      phaseC = `
    for (var cq = 0; cq < ${CQ}; cq = cq + 1) {
      let c = tid + cq * ${T};
      if (c < ${h}) {
        for (var jj = 0; jj < nt; jj = jj + 1) {
          let x = k[(b * lk + t0 + jj) * dq + hh * ${h} + c];
          for (var r = 0; r < ${R}; r = r + 1) { acc[r * ${CQ} + cq] = acc[r * ${CQ} + cq] + sc[r * ${T} + jj] * x; }
        }
      }
    }
    workgroupBarrier();`;
      finish = `
  for (var cq = 0; cq < ${CQ}; cq = cq + 1) {
    let c = tid + cq * ${T};
    for (var r = 0; r < ${R}; r = r + 1) {
      let i = r0 + r;
      if (live && c < ${h} && i < lq) {
        result[(b * lq + i) * dq + hh * ${h} + c] = acc[r * ${CQ} + cq] * uniforms.scale;
      }
    }
  }`;
    }
    return `
var<workgroup> qs : array<f32, ${R * h}>;
var<workgroup> sc : array<f32, ${R * T}>;
${needDy ? `var<workgroup> dos : array<f32, ${R * hv}>;` : ''}
var<workgroup> mrow : array<f32, ${R}>;
var<workgroup> lrow : array<f32, ${R}>;
var<workgroup> arow : array<f32, ${R}>;
var<workgroup> dd : array<f32, ${R}>;
${maskFn}
fn main(index : i32) {
  ${head}
  for (var e = tid; e < ${R * h}; e = e + ${T}) {
    let i = r0 + e / ${h};
    var x = 0.0;
    if (i < lq) { x = q[(b * lq + i) * dq + hh * ${h} + e % ${h}] * uniforms.scale; }
    qs[e] = x;
  }
  ${
    needDy
      ? `for (var e = tid; e < ${R * hv}; e = e + ${T}) {
    let i = r0 + e / ${hv};
    var x = 0.0;
    if (i < lq) { x = dy[(b * lq + i) * dv + hh * ${hv} + e % ${hv}]; }
    dos[e] = x;
  }
  if (tid < ${R}) {
    let i = min(r0 + tid, lq - 1);
    let o = ((b * uniforms.heads + hh) * lq + i) * 3;
    mrow[tid] = stats[o];
    lrow[tid] = stats[o + 1];
    dd[tid] = stats[o + 2];
  }`
      : ''
  }
  ${
    online
      ? `if (tid < ${R}) {
    mrow[tid] = -3.0e38;
    lrow[tid] = 0.0;
  }`
      : ''
  }
  var acc : array<f32, ${accN}>;
  workgroupBarrier();
  for (var t0 = 0; t0 < lk; t0 = t0 + ${T}) {
    ${phaseA}
    ${online ? onlineSoftmax : ''}
    ${phaseC}
    ${mode === 'forward' ? 'workgroupBarrier();' : ''}
  }
  ${finish}
}`;
  }

  /** gradK, gradV: one workgroup per block of key rows; tiles over queries. */
  private byKeyCode(maskFn: string, head: string, R: number, T: number): string {
    const { h, hv } = this.dims;
    const isK = this.mode === 'gradK';
    const W = isK ? h : hv;
    const CW = Math.ceil(W / T);
    // What dk (q·scale) or dv (dy) accumulates, query `t0 + ii` of the tile, column c.
    const tileValue = isK
      ? `q[(b * lq + t0 + ii) * dq + hh * ${h} + c] * uniforms.scale`
      : `dy[(b * lq + t0 + ii) * dv + hh * ${hv} + c]`;
    return `
var<workgroup> ks : array<f32, ${R * h}>;
${isK ? `var<workgroup> vs : array<f32, ${R * hv}>;` : ''}
var<workgroup> sc : array<f32, ${R * T}>;
${maskFn}
fn main(index : i32) {
  ${head}
  for (var e = tid; e < ${R * h}; e = e + ${T}) {
    let j = r0 + e / ${h};
    var x = 0.0;
    if (j < lk) { x = k[(b * lk + j) * dq + hh * ${h} + e % ${h}]; }
    ks[e] = x;
  }
  ${
    isK
      ? `for (var e = tid; e < ${R * hv}; e = e + ${T}) {
    let j = r0 + e / ${hv};
    var x = 0.0;
    if (j < lk) { x = v[(b * lk + j) * dv + hh * ${hv} + e % ${hv}]; }
    vs[e] = x;
  }`
      : ''
  }
  var acc : array<f32, ${R * CW}>;
  workgroupBarrier();
  for (var t0 = 0; t0 < lq; t0 = t0 + ${T}) {
    let i = t0 + tid;
    if (i < lq) {
      let o = ((b * uniforms.heads + hh) * lq + i) * 3;
      let mi = stats[o];
      let li = stats[o + 1];
      ${isK ? 'let di = stats[o + 2];' : ''}
      var dots : array<f32, ${R}>;
      for (var r = 0; r < ${R}; r = r + 1) { dots[r] = 0.0; }
      let qb = (b * lq + i) * dq + hh * ${h};
      for (var c = 0; c < ${h}; c = c + 1) {
        let qc = q[qb + c] * uniforms.scale;
        for (var r = 0; r < ${R}; r = r + 1) { dots[r] = dots[r] + qc * ks[r * ${h} + c]; }
      }
      ${
        isK
          ? `var dps : array<f32, ${R}>;
      for (var r = 0; r < ${R}; r = r + 1) { dps[r] = 0.0; }
      let yb = (b * lq + i) * dv + hh * ${hv};
      for (var c = 0; c < ${hv}; c = c + 1) {
        let yc = dy[yb + c];
        for (var r = 0; r < ${R}; r = r + 1) { dps[r] = dps[r] + yc * vs[r * ${hv} + c]; }
      }`
          : ''
      }
      for (var r = 0; r < ${R}; r = r + 1) {
        let j = min(r0 + r, lk - 1);
        let p = exp(maskScore(dots[r], b, i, j) - mi) / li;
        sc[r * ${T} + tid] = ${isK ? 'p * (dps[r] - di) * keyKeep(b, j)' : 'p'};
      }
    } else {
      for (var r = 0; r < ${R}; r = r + 1) { sc[r * ${T} + tid] = 0.0; }
    }
    workgroupBarrier();
    let nt = min(${T}, lq - t0);
    for (var cw = 0; cw < ${CW}; cw = cw + 1) {
      let c = tid + cw * ${T};
      if (c < ${W}) {
        for (var ii = 0; ii < nt; ii = ii + 1) {
          let x = ${tileValue};
          for (var r = 0; r < ${R}; r = r + 1) { acc[r * ${CW} + cw] = acc[r * ${CW} + cw] + sc[r * ${T} + ii] * x; }
        }
      }
    }
    workgroupBarrier();
  }
  for (var cw = 0; cw < ${CW}; cw = cw + 1) {
    let c = tid + cw * ${T};
    for (var r = 0; r < ${R}; r = r + 1) {
      let j = r0 + r;
      if (live && c < ${W} && j < lk) {
        result[(b * lk + j) * ${isK ? 'dq' : 'dv'} + hh * ${W} + c] = acc[r * ${CW} + cw];
      }
    }
  }
}`;
  }
}

/** Threads per workgroup of {@link SumSquaresProgram}. */
export const SUM_SQUARES_WG = 256;

/**
 * {@link KERNELS.sumSquares}, one pass over a group of inputs `x0 … x{k−1}` (flat float32 arrays, k ≤ 7: the output
 * and the inputs must fit WebGPU's 8 storage buffers per stage). Their elements, concatenated, are cut into chunks of
 * `uniforms.chunk`; workgroup w sums `x²` (or, with `square` off, `x`: the later passes that add partial sums) over
 * chunk w into `result[w]`: each thread strides over the chunk's part of each input, then a shared-memory tree.
 * `uniforms.end{i}` is where input i ends in the concatenation (it starts where input i − 1 ends, input 0 at 0).
 */
export class SumSquaresProgram implements Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [SUM_SQUARES_WG, 1, 1];
  uniforms: string;

  /**
   * @param inputs - how many inputs (1 … 7).
   * @param workgroups - chunks (workgroups) to sum; the output has one partial sum per workgroup, or is `[]` with
   *   `scalar` (then `workgroups` must be 1).
   */
  constructor(
    private readonly inputs: number,
    workgroups: number,
    private readonly square: boolean,
    scalar: boolean,
  ) {
    this.variableNames = Array.from({ length: inputs }, (_, i) => `x${i}`);
    this.outputShape = scalar ? [] : [workgroups];
    this.dispatch = [workgroups, 1, 1];
    this.uniforms = `count : i32, chunk : i32, ${this.variableNames.map((_, i) => `end${i} : i32,`).join(' ')}`;
    this.shaderKey = `geolipSumSquares_${inputs}_${square ? 'sq' : 'sum'}`;
  }

  getUserCode(): string {
    const WGS = SUM_SQUARES_WG;
    const term = (v: string) => (this.square ? `${v} * ${v}` : v);
    const perInput = this.variableNames
      .map((x, i) => {
        const start = i === 0 ? '0' : `uniforms.end${i - 1}`;
        return `
    {
      let s${i} = ${start};
      let lo${i} = max(start, s${i});
      let hi${i} = min(end, uniforms.end${i});
      for (var j = lo${i} + tid; j < hi${i}; j = j + ${WGS}) {
        let v = ${x}[j - s${i}];
        acc = acc + ${term('v')};
      }
    }`;
      })
      .join('');
    return `
var<workgroup> partial : array<f32, ${WGS}>;
fn main(index : i32) {
  let w = i32(workgroupId.x + workgroupId.y * numWorkgroups.x + workgroupId.z * numWorkgroups.x * numWorkgroups.y);
  let tid = i32(localId.x);
  let live = w < uniforms.count;
  let start = w * uniforms.chunk;
  let end = min(start + uniforms.chunk, uniforms.end${this.inputs - 1});
  var acc = 0.0;
  if (live) {${perInput}
  }
  partial[tid] = acc;
  workgroupBarrier();
  for (var s = ${WGS / 2}; s > 0; s = s >> 1) {
    if (tid < s) { partial[tid] = partial[tid] + partial[tid + s]; }
    workgroupBarrier();
  }
  if (live && tid == 0) { result[w] = partial[0]; }
}`;
  }
}
