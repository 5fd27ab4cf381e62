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
