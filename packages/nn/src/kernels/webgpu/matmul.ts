/**
 * A register-tiled fp32 matmul for tfjs-backend-webgpu 4.22's `BatchMatMul` (issue 19). tfjs's own programs tile
 * the output 32×32 per workgroup (64 threads, 4×4 outputs each); on the H100 they reached 2.3–12 TFLOP/s on the
 * shapes of this project's transformers (`results/perf/webgpu-profile-h100-patched.json`), and matmuls are about
 * half of a training step's GPU time. This program tiles the output `BM×BN` per workgroup of 16×16 threads, each
 * thread accumulating `TM×TN` outputs in registers (rows `ty + 16·i`, columns `tx + 16·j`: the shared-memory reads
 * are broadcasts along a row of threads and consecutive along a column, so they do not conflict), stepping
 * through K in slices of `BK` staged in workgroup memory. Transposed operands are read in place (the staging loads
 * follow the operand's memory order, so global reads stay coalesced).
 *
 * Tiles: 64×64 (4×4 per thread) by default; 128×128 (8×8 per thread) when the output has enough tiles of that size
 * to fill the GPU. Shapes too small to fill the GPU with 64×64 tiles, broadcast batches other than 1-vs-B, and
 * non-float32 inputs go to tfjs's kernel (`GEOLIP_WEBGPU_MATMUL=0` sends everything there;
 * `GEOLIP_WEBGPU_MATMUL_TILE=64|128|off` forces a tile or tfjs's kernel at each call, for measuring).
 */
import * as tf from '@tensorflow/tfjs-core';

import type { Program } from './programs.js';

/** Output tile of one workgroup. */
type MatMulTile = 64 | 128;

const BK = 16;

/** The WGSL program for `C[b] = op(A[b])·op(B[b])` with rank-3 operands (batch, rows, cols). */
class TiledMatMulProgram implements Program {
  variableNames = ['A', 'B'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y: number[]; z: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [16, 16, 1];
  uniforms = 'dimM : i32, dimN : i32, dimK : i32, strideA : i32, strideB : i32,';
  private readonly tile: MatMulTile;
  private readonly transposeA: boolean;
  private readonly transposeB: boolean;

  constructor(batch: number, m: number, n: number, transposeA: boolean, transposeB: boolean, tile: MatMulTile) {
    this.outputShape = [batch, m, n];
    this.tile = tile;
    this.transposeA = transposeA;
    this.transposeB = transposeB;
    this.shaderKey = `geolipTiledMatMul_${tile}_${transposeA ? 1 : 0}${transposeB ? 1 : 0}`;
    this.dispatchLayout = { x: [2], y: [1], z: [0] };
    this.dispatch = [Math.ceil(n / tile), Math.ceil(m / tile), batch];
  }

  getUserCode(): string {
    const T = this.tile;
    const TM = T / 16;
    const loads = (T * BK) / 256;
    // Staging loads: element e of the BM×BK (or BK×BN) slice, in the operand's memory order.
    const loadA = this.transposeA
      ? `let kk = e / ${T}; let mm = e % ${T}; let gm = row0 + mm; let gk = k0 + kk;
      var v = 0.0; if (gm < M && gk < K) { v = A[aOff + gk * M + gm]; }`
      : `let mm = e / ${BK}; let kk = e % ${BK}; let gm = row0 + mm; let gk = k0 + kk;
      var v = 0.0; if (gm < M && gk < K) { v = A[aOff + gm * K + gk]; }`;
    const loadB = this.transposeB
      ? `let nn = e / ${BK}; let kk = e % ${BK}; let gn = col0 + nn; let gk = k0 + kk;
      var v = 0.0; if (gn < N && gk < K) { v = B[bOff + gn * K + gk]; }`
      : `let kk = e / ${T}; let nn = e % ${T}; let gn = col0 + nn; let gk = k0 + kk;
      var v = 0.0; if (gn < N && gk < K) { v = B[bOff + gk * N + gn]; }`;
    return `
var<workgroup> As : array<f32, ${T * BK}>;
var<workgroup> Bs : array<f32, ${T * BK}>;
fn main() {
  let tx = i32(localId.x);
  let ty = i32(localId.y);
  let tid = ty * 16 + tx;
  let batch = i32(workgroupId.z);
  let M = uniforms.dimM;
  let N = uniforms.dimN;
  let K = uniforms.dimK;
  let row0 = i32(workgroupId.y) * ${T};
  let col0 = i32(workgroupId.x) * ${T};
  let aOff = batch * uniforms.strideA;
  let bOff = batch * uniforms.strideB;
  var acc : array<array<f32, ${TM}>, ${TM}>;
  var a : array<f32, ${TM}>;
  var b : array<f32, ${TM}>;
  for (var k0 = 0; k0 < K; k0 = k0 + ${BK}) {
    for (var l = 0; l < ${loads}; l = l + 1) {
      let e = tid + l * 256;
      ${loadA}
      As[kk * ${T} + mm] = v;
    }
    for (var l = 0; l < ${loads}; l = l + 1) {
      let e = tid + l * 256;
      ${loadB}
      Bs[kk * ${T} + nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0; kk < ${BK}; kk = kk + 1) {
      for (var i = 0; i < ${TM}; i = i + 1) { a[i] = As[kk * ${T} + ty + 16 * i]; }
      for (var j = 0; j < ${TM}; j = j + 1) { b[j] = Bs[kk * ${T} + tx + 16 * j]; }
      for (var i = 0; i < ${TM}; i = i + 1) {
        for (var j = 0; j < ${TM}; j = j + 1) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  let cOff = batch * M * N;
  for (var i = 0; i < ${TM}; i = i + 1) {
    let r = row0 + ty + 16 * i;
    for (var j = 0; j < ${TM}; j = j + 1) {
      let c = col0 + tx + 16 * j;
      if (r < M && c < N) { result[cOff + r * N + c] = acc[i][j]; }
    }
  }
}`;
  }
}

/** About how many 64×64 output tiles it takes to fill an H100 (132 SMs, a few workgroups each). */
const MIN_TILES_64 = 256;
const MIN_TILES_128 = 264;

/**
 * The tile for an output of `batch × m × n`, or null for tfjs's kernel: too small to fill the GPU, where tfjs's
 * smaller tiles and split-K programs do better.
 */
export function chooseMatMulTile(batch: number, m: number, n: number, forced?: string): MatMulTile | null {
  if (forced === '64' || forced === '128') return Number(forced) as MatMulTile;
  if (forced === 'off') return null;
  if (Math.min(m, n) < 64) return null;
  const tiles = (t: number): number => batch * Math.ceil(m / t) * Math.ceil(n / t);
  if (tiles(128) >= MIN_TILES_128) return 128;
  return tiles(64) >= MIN_TILES_64 ? 64 : null;
}

interface BackendLike {
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms?: { type: 'int32'; data: number[] }[],
  ): tf.TensorInfo;
}

/**
 * A `BatchMatMul` kernel function for webgpu that runs {@link TiledMatMulProgram} where it applies and `fallback`
 * (tfjs's kernel) elsewhere.
 */
export function tiledBatchMatMul(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const env = typeof process !== 'undefined' ? process.env : {};
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2)
      return fallback(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = outerA.reduce((x, y) => x * y, 1);
    const batchB = outerB.reduce((x, y) => x * y, 1);
    if (k !== kb || k === 0) return fallback(args); // tfjs reports the mismatch
    // Same batch dims, or one side unbatched (broadcast): anything else is tfjs's.
    const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
    if (!sameOuter && batchA !== 1 && batchB !== 1) return fallback(args);
    const batch = Math.max(batchA, batchB);
    const tile = chooseMatMulTile(batch, m, n, env.GEOLIP_WEBGPU_MATMUL_TILE);
    if (tile === null) return fallback(args);
    const backend = args.backend as unknown as BackendLike;
    const program = new TiledMatMulProgram(batch, m, n, transposeA, transposeB, tile);
    const uniforms = [
      { type: 'int32' as const, data: [m] },
      { type: 'int32' as const, data: [n] },
      { type: 'int32' as const, data: [k] },
      { type: 'int32' as const, data: [batchA === 1 ? 0 : m * k] },
      { type: 'int32' as const, data: [batchB === 1 ? 0 : k * n] },
    ];
    const out = backend.runWebGPUProgram(program, [a, b], 'float32', uniforms);
    const outer = outerA.length >= outerB.length ? outerA : outerB;
    // The program wrote [batch, m, n]; give it the broadcast batch dims (a reshape shares the data).
    return { ...out, shape: [...(batch === 1 && outer.length === 0 ? [] : outer), m, n] };
  };
}
