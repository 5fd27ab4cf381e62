/**
 * WebGPU fast paths for `@tensorflow/tfjs-backend-webgpu` 4.22 (issue #6), registered by
 * `initBackend` from `@geolip/nn/backend` when the webgpu backend wins:
 *
 * 1. **Uploads through `queue.writeBuffer`.** tfjs-webgpu uploads every tensor made from CPU data (each
 *    `tf.scalar`, each JS number in `tf.mul(x, 0.5)`, each optimizer constant) through a freshly created
 *    mapped staging buffer. Measured on the H100 through Dawn in Node: ~0.8 ms per upload against ~0.06 ms
 *    for a whole elementwise op (`tools/perf/webgpu-overhead.mjs`), which made a small transformer's
 *    training step take ~0.5 s. `queue.writeBuffer` into a pooled buffer has the same ordering guarantees
 *    (queue timeline; the pool only holds buffers no unsubmitted command references).
 * 2. **Reduction gradients without host arrays.** tfjs-core's `Sum` and `Mean` gradients multiply `dy` by
 *    `tf.ones(x.shape)`, which is filled on the CPU and uploaded every step (6 MB for a `[128, 32, 384]`
 *    pooled activation). On webgpu they broadcast `dy` on the GPU instead (`tf.broadcastTo`, a Tile);
 *    other backends keep tfjs's gradient.
 * 3. **Fused kernels** (`./programs.ts`, names in `../names.ts`): layer norm forward and backward, bias +
 *    GELU forward and backward, Adam moments and the AdamW parameter update, each one dispatch where the
 *    composed tfjs ops take 5–20; the squared volumes of indexed simplices (pentachoron CV on the device);
 *    multi-head attention in one dispatch forward and four backward.
 * 4. **Tiled matmul** (`./matmul.ts`) for `BatchMatMul` on shapes that fill the GPU, and the **in-place AdamW**
 *    (`./adamw-in-place.ts`, through `../in-place.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';

import { chunkedAddN } from '../add-n.js';
import { IN_PLACE_ADAMW, registerInPlaceAdamW } from '../in-place.js';

import type { KernelRegistration } from '../index.js';
import { KERNELS } from '../names.js';
import { approxOf, epsOf, headsOf, rowsCols } from '../shared.js';
import type { Attrs, KernelFn } from '../shared.js';
import {
  AttentionProgram,
  AdamMomentProgram,
  AdamWParamProgram,
  BiasGeluProgram,
  LayerNormGradGammaProgram,
  LayerNormGradXProgram,
  LayerNormProgram,
  LayerNormStatsProgram,
  SimplexVolumeProgram,
  SUM_SQUARES_WG,
  SumSquaresProgram,
} from './programs.js';
import { isWebGPUBackendLike, webgpuInPlaceAdamW } from './adamw-in-place.js';
import { tiledBatchMatMul } from './matmul.js';
import type { AttentionMode, Program } from './programs.js';

interface Uniform {
  type: 'float32' | 'int32' | 'uint32';
  data: number[];
}

/** The parts of tfjs-webgpu's `WebGPUBackend` used here (duck-typed: no import of the backend package). */
interface WebGPUBackendLike {
  device?: { limits?: { maxStorageBuffersPerShaderStage?: number } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeData(dataId: object): boolean;
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: Uniform[],
  ): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  tensorMap: {
    get(
      dataId: object,
    ): { resource?: unknown; values?: ArrayLike<number> | null; dtype: tf.DataType; shape: number[] } | undefined;
  };
  bufferManager: { acquireBuffer(size: number, usage: number): { size: number } };
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferView): void };
  [PATCHED]?: boolean;
}

const PATCHED = Symbol.for('geolip.nn.webgpuUploadPatched');

/** Replaces the backend's upload path by `queue.writeBuffer` (see the module comment). Idempotent. */
function patchWebGPUUploads(backend: unknown): boolean {
  const b = backend as WebGPUBackendLike;
  if (
    typeof b?.uploadToGPU !== 'function' ||
    typeof b.queue?.writeBuffer !== 'function' ||
    typeof b.bufferManager?.acquireBuffer !== 'function'
  )
    return false;
  if (b[PATCHED]) return true;
  const original = b.uploadToGPU.bind(b);
  const usage = (globalThis as { GPUBufferUsage?: { STORAGE: number; COPY_SRC: number; COPY_DST: number } })
    .GPUBufferUsage;
  if (!usage) return false;
  const storage = usage.STORAGE | usage.COPY_SRC | usage.COPY_DST;
  b.uploadToGPU = function uploadToGPU(dataId: object): void {
    const data = b.tensorMap.get(dataId);
    if (
      !data ||
      data.resource != null ||
      data.values == null ||
      !(data.dtype === 'float32' || data.dtype === 'int32' || data.dtype === 'bool')
    ) {
      original(dataId);
      return;
    }
    const n = data.shape.reduce((a, c) => a * c, 1);
    if (n === 0) {
      original(dataId);
      return;
    }
    const view: ArrayBufferView =
      data.dtype === 'float32'
        ? data.values instanceof Float32Array
          ? data.values
          : Float32Array.from(data.values)
        : data.values instanceof Int32Array
          ? data.values
          : Int32Array.from(data.values);
    const buffer = b.bufferManager.acquireBuffer(n * 4, storage);
    b.queue.writeBuffer(buffer, 0, view);
    data.values = null;
    data.resource = buffer;
  };
  b[PATCHED] = true;
  return true;
}

const GRAD_PATCHED = Symbol.for('geolip.nn.reductionGradPatched');

/**
 * The gradient of `sum(x, axis)` (or `mean`) with respect to `x` for an upstream `dy`: `dy` reshaped with the
 * reduced axes kept as 1, broadcast to `x.shape` on the device (divided by the reduced size for `mean`).
 */
export function reductionGrad(dy: tf.Tensor, x: tf.Tensor, axis: number | number[], mean: boolean): tf.Tensor {
  return tf.tidy(() => {
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const expanded = x.shape.slice();
    let reduced = 1;
    for (const a of axes) {
      reduced *= x.shape[a]!;
      expanded[a] = 1;
    }
    const g = tf.broadcastTo(tf.reshape(dy, expanded), x.shape);
    return mean ? tf.div(g, reduced) : g;
  });
}

/** See the module comment, item 2. Idempotent; tfjs's own gradient still runs on every other backend. */
function patchReductionGradients(): void {
  for (const [kernelName, mean] of [
    ['Sum', false],
    ['Mean', true],
  ] as const) {
    const original = tf.getGradient(kernelName) as (tf.GradConfig & { [GRAD_PATCHED]?: boolean }) | undefined;
    if (!original || original[GRAD_PATCHED]) continue;
    const config: tf.GradConfig & { [GRAD_PATCHED]?: boolean } = {
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        if (tf.getBackend() !== 'webgpu') return original.gradFunc(dy, saved, attrs);
        const x = saved[0]!;
        return { x: () => reductionGrad(dy as tf.Tensor, x, (attrs as { axis: number | number[] }).axis, mean) };
      },
    };
    config[GRAD_PATCHED] = true;
    tf.registerGradient(config);
  }
}

const run = (backend: unknown, program: Program, inputs: tf.TensorInfo[], uniforms: Uniform[]): tf.TensorInfo =>
  (backend as WebGPUBackendLike).runWebGPUProgram(program, inputs, 'float32', uniforms);

/** Kernel functions by name, for the webgpu backend. */
const webgpuKernels: Record<string, KernelFn> = {
  [KERNELS.layerNorm]: ({ inputs, backend, attrs }) => {
    const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
    const [rows, cols] = rowsCols(x);
    return run(
      backend,
      new LayerNormProgram(rows, cols, [...x.shape]),
      [x, gamma, beta],
      rowUniforms(rows, cols, attrs),
    );
  },
  [KERNELS.layerNormStats]: ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const [rows, cols] = rowsCols(x);
    return run(backend, new LayerNormStatsProgram(rows, cols), [x], rowUniforms(rows, cols, attrs));
  },
  [KERNELS.layerNormGradX]: ({ inputs, backend }) => {
    const { dy, x, gamma, stats } = inputs as Record<'dy' | 'x' | 'gamma' | 'stats', tf.TensorInfo>;
    const [rows, cols] = rowsCols(x);
    return run(
      backend,
      new LayerNormGradXProgram(rows, cols, [...x.shape]),
      [dy, x, gamma, stats],
      rowUniforms(rows, cols),
    );
  },
  [KERNELS.layerNormGradGamma]: ({ inputs, backend }) => {
    const { dy, x, stats } = inputs as Record<'dy' | 'x' | 'stats', tf.TensorInfo>;
    const [rows, cols] = rowsCols(x);
    return run(backend, new LayerNormGradGammaProgram(rows, cols), [dy, x, stats], rowUniforms(rows, cols));
  },
  [KERNELS.biasGelu]: ({ inputs, backend, attrs }) => {
    const { x, bias } = inputs as { x: tf.TensorInfo; bias: tf.TensorInfo };
    const [, cols] = rowsCols(x);
    return run(
      backend,
      new BiasGeluProgram([...x.shape], approxOf(attrs)),
      [x, bias],
      [{ type: 'int32', data: [cols] }],
    );
  },
  [KERNELS.biasGeluGrad]: ({ inputs, backend, attrs }) => {
    const { dy, x, bias } = inputs as Record<'dy' | 'x' | 'bias', tf.TensorInfo>;
    const [, cols] = rowsCols(x);
    return run(
      backend,
      new BiasGeluProgram([...x.shape], approxOf(attrs), true),
      [dy, x, bias],
      [{ type: 'int32', data: [cols] }],
    );
  },
  [KERNELS.adamMoment]: ({ inputs, backend, attrs }) => {
    const { m, g } = inputs as { m: tf.TensorInfo; g: tf.TensorInfo };
    const beta = Number(attrs?.beta);
    return run(
      backend,
      new AdamMomentProgram([...m.shape], attrs?.square === true),
      [m, g],
      [
        { type: 'float32', data: [beta] },
        { type: 'float32', data: [1 - beta] },
      ],
    );
  },
  [KERNELS.adamWParam]: ({ inputs, backend, attrs }) => {
    const { p, m, v } = inputs as Record<'p' | 'm' | 'v', tf.TensorInfo>;
    return run(
      backend,
      new AdamWParamProgram([...p.shape]),
      [p, m, v],
      [
        { type: 'float32', data: [Number(attrs?.stepSize)] },
        { type: 'float32', data: [Number(attrs?.sqrtBc2)] },
        { type: 'float32', data: [Number(attrs?.eps)] },
        { type: 'float32', data: [Number(attrs?.decay)] },
      ],
    );
  },
  [KERNELS.simplexVolumeSquared]: ({ inputs, backend }) => {
    const { points, simplices } = inputs as Record<'points' | 'simplices', tf.TensorInfo>;
    const [rows, dim] = points.shape as [number, number];
    const [count, vertices] = simplices.shape as [number, number];
    return run(
      backend,
      new SimplexVolumeProgram(count, vertices),
      [points, simplices],
      [
        { type: 'int32', data: [rows] },
        { type: 'int32', data: [dim] },
        { type: 'int32', data: [count] },
      ],
    );
  },
  [KERNELS.sumSquares]: ({ inputs, backend }) => sumSquaresWebGPU(inputs as unknown as tf.TensorInfo[], backend),
  [KERNELS.attention]: ({ inputs, backend, attrs }) => runAttention('forward', inputs, backend, attrs),
  [KERNELS.attentionStats]: ({ inputs, backend, attrs }) => runAttention('stats', inputs, backend, attrs),
  [KERNELS.attentionGradQ]: ({ inputs, backend, attrs }) => runAttention('gradQ', inputs, backend, attrs),
  [KERNELS.attentionGradK]: ({ inputs, backend, attrs }) => runAttention('gradK', inputs, backend, attrs),
  [KERNELS.attentionGradV]: ({ inputs, backend, attrs }) => runAttention('gradV', inputs, backend, attrs),
};

/**
 * Runs one attention program. Inputs by name: `q`, `k`, `v`, `dy`, `out`, `stats`, and the optional
 * `keyPaddingMask`, `attnMask`; the program picks those its mode reads.
 */
function runAttention(mode: AttentionMode, inputs: tf.NamedTensorInfoMap, backend: unknown, attrs?: Attrs) {
  const t = inputs as Record<string, tf.TensorInfo | undefined>;
  const [B, Lq, d] = t.q!.shape as [number, number, number];
  const Lk = t.k!.shape[1]!;
  const H = headsOf(attrs);
  const dv = (t.v ?? t.dy)!.shape[2]!;
  const program = new AttentionProgram(mode, {
    B,
    H,
    Lq,
    Lk,
    h: d / H,
    hv: dv / H,
    keyPaddingMask: t.keyPaddingMask !== undefined,
    attnMaskRank: t.attnMask === undefined ? 0 : (t.attnMask.shape.length as 2 | 3),
  });
  const byName: Record<string, tf.TensorInfo | undefined> = {
    ...t,
    fwdOut: t.out,
    kpm: t.keyPaddingMask,
    am: t.attnMask,
  };
  return run(
    backend,
    program,
    program.variableNames.map((n) => byName[n]!),
    [
      { type: 'int32', data: [Lq] },
      { type: 'int32', data: [Lk] },
      { type: 'int32', data: [H] },
      { type: 'int32', data: [program.blocks] },
      { type: 'int32', data: [program.total] },
      { type: 'float32', data: [1 / Math.sqrt(d / H)] },
    ],
  );
}

/** Elements per workgroup of the first pass (32 per thread) and of the passes that add partial sums (256). */
const SQUARES_CHUNK = SUM_SQUARES_WG * 32;
const PARTIALS_CHUNK = SUM_SQUARES_WG * 256;

/**
 * {@link KERNELS.sumSquares}: the inputs (flattened) in groups of at most 7 per {@link SumSquaresProgram} dispatch,
 * each giving one partial sum per chunk; then the partial sums, 7 arrays per dispatch, until one value is left, the
 * `[]` output. ~120 parameter gradients take 18 + 3 + 1 dispatches where the composed ops take ~260.
 */
export function sumSquaresWebGPU(inputs: tf.TensorInfo[], backend: unknown): tf.TensorInfo {
  const b = backend as WebGPUBackendLike;
  let level: tf.TensorInfo[] = inputs
    .filter((t) => t.shape.reduce((a, c) => a * c, 1) > 0)
    .map((t) => ({ ...t, shape: [t.shape.reduce((a, c) => a * c, 1)] }));
  if (level.length === 0) return b.makeTensorInfo([], 'float32', Float32Array.of(0));
  const maxInputs = Math.max(1, Math.min(7, (b.device?.limits?.maxStorageBuffersPerShaderStage ?? 8) - 1));
  const temps: tf.TensorInfo[] = [];
  let square = true;
  for (;;) {
    const chunk = square ? SQUARES_CHUNK : PARTIALS_CHUNK;
    const groups: tf.TensorInfo[][] = [];
    for (let i = 0; i < level.length; i += maxInputs) groups.push(level.slice(i, i + maxInputs));
    const next: tf.TensorInfo[] = [];
    let result: tf.TensorInfo | undefined;
    for (const group of groups) {
      const ends: number[] = [];
      let total = 0;
      for (const t of group) ends.push((total += t.shape[0]!));
      const count = Math.ceil(total / chunk);
      const last = groups.length === 1 && count === 1;
      const out = run(backend, new SumSquaresProgram(group.length, count, square, last), group, [
        { type: 'int32', data: [count] },
        { type: 'int32', data: [chunk] },
        ...ends.map((e) => ({ type: 'int32' as const, data: [e] })),
      ]);
      if (last) result = out;
      else {
        temps.push(out);
        next.push(out);
      }
    }
    if (result) {
      for (const t of temps) b.disposeData(t.dataId);
      return result;
    }
    level = next;
    square = false;
  }
}

function rowUniforms(rows: number, cols: number, attrs?: Attrs): Uniform[] {
  return [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [cols] },
    { type: 'float32', data: [epsOf(attrs)] },
  ];
}

const DESCRIPTIONS: Record<string, string> = {
  [KERNELS.layerNorm]: 'fused layer norm forward (1 dispatch instead of ~8)',
  [KERNELS.layerNormStats]: 'per-row mean and rstd for the layer-norm backward',
  [KERNELS.layerNormGradX]: 'fused layer-norm input gradient',
  [KERNELS.layerNormGradGamma]: 'fused layer-norm scale gradient (column reduction)',
  [KERNELS.biasGelu]: 'fused bias + GELU forward',
  [KERNELS.biasGeluGrad]: 'fused bias + GELU backward',
  [KERNELS.adamMoment]: 'fused Adam moment update',
  [KERNELS.adamWParam]: 'fused AdamW parameter update',
  [KERNELS.simplexVolumeSquared]: 'simplex volumes (Gram determinant) of indexed rows, one workgroup per simplex',
  [KERNELS.sumSquares]: 'sum of squares over many tensors, up to 7 per dispatch (the gradient norm for clipping)',
  [KERNELS.attention]: 'fused multi-head attention forward (scores, masks, softmax, weighted sum: 1 dispatch)',
  [KERNELS.attentionStats]: 'attention backward: per-row log-sum-exp and D = Σ dy·out',
  [KERNELS.attentionGradQ]: 'fused attention query gradient',
  [KERNELS.attentionGradK]: 'fused attention key gradient',
  [KERNELS.attentionGradV]: 'fused attention value gradient',
};

/**
 * Registers the fused kernels for the `webgpu` backend and patches the active webgpu backend's uploads.
 * Idempotent. Set `GEOLIP_WEBGPU_FUSED=0` to skip the fused kernels (the composed ops then run),
 * `GEOLIP_WEBGPU_ATTENTION=0` to keep the composed attention ops (the other fused kernels stay),
 * `GEOLIP_WEBGPU_MATMUL=0` to keep tfjs's matmul programs (see `./matmul.ts`),
 * `GEOLIP_WEBGPU_IN_PLACE=0` to keep the in-place AdamW off (the fused per-tensor kernels then run),
 * `GEOLIP_WEBGPU_SUM_SQUARES=0` to keep the composed sum of squares (`sumOfSquares`: a square and a sum per tensor),
 * `GEOLIP_WEBGPU_UPLOAD_PATCH=0` to keep tfjs's own upload path and `GEOLIP_WEBGPU_GRAD_PATCH=0` to keep tfjs's
 * reduction gradients, e.g. to measure each change.
 */
let addNPatched = false;
let matMulPatched = false;

export function registerWebGPUKernels(): KernelRegistration[] {
  const out: KernelRegistration[] = [];
  const env = typeof process !== 'undefined' ? process.env : {};
  if (env.GEOLIP_WEBGPU_UPLOAD_PATCH !== '0' && tf.getBackend() === 'webgpu' && patchWebGPUUploads(tf.backend())) {
    out.push({
      name: 'uploadToGPU',
      backend: 'webgpu',
      description: 'uploads through queue.writeBuffer instead of a new mapped staging buffer per tensor',
    });
  }
  if (env.GEOLIP_WEBGPU_GRAD_PATCH !== '0') {
    patchReductionGradients();
    out.push({
      name: 'Sum/Mean gradients',
      backend: 'webgpu',
      description: 'broadcast dy on the GPU instead of multiplying by a CPU-made tf.ones(x.shape)',
    });
  }
  const addN = tf.getKernel('AddN', 'webgpu');
  if (addN !== undefined && !addNPatched) {
    const limits =
      tf.getBackend() === 'webgpu'
        ? (tf.backend() as unknown as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device
            ?.limits
        : undefined;
    const maxInputs = Math.max(2, (limits?.maxStorageBuffersPerShaderStage ?? 8) - 1);
    tf.unregisterKernel('AddN', 'webgpu');
    tf.registerKernel({
      kernelName: 'AddN',
      backendName: 'webgpu',
      kernelFunc: chunkedAddN(addN.kernelFunc, maxInputs),
    });
    addNPatched = true;
  }
  out.push({
    name: 'AddN',
    backend: 'webgpu',
    description:
      'sums more than 7 tensors in groups ' +
      '(the stock shader binds one storage buffer per input and fails validation beyond the limit of 8)',
  });
  if (env.GEOLIP_WEBGPU_FUSED === '0') return out;
  const matMul = tf.getKernel('BatchMatMul', 'webgpu');
  if (env.GEOLIP_WEBGPU_MATMUL !== '0' && matMul !== undefined) {
    if (!matMulPatched) {
      tf.unregisterKernel('BatchMatMul', 'webgpu');
      tf.registerKernel({
        kernelName: 'BatchMatMul',
        backendName: 'webgpu',
        kernelFunc: tiledBatchMatMul(matMul.kernelFunc as tf.KernelFunc),
      });
      matMulPatched = true;
    }
    out.push({
      name: 'BatchMatMul',
      backend: 'webgpu',
      description: 'register-tiled fp32 matmul (64×64 or 128×128 per workgroup) for shapes that fill the GPU',
    });
  }
  if (env.GEOLIP_WEBGPU_IN_PLACE !== '0' && tf.getBackend() === 'webgpu' && isWebGPUBackendLike(tf.backend())) {
    registerInPlaceAdamW('webgpu', webgpuInPlaceAdamW);
    out.push({
      name: IN_PLACE_ADAMW,
      backend: 'webgpu',
      description: 'AdamW over all parameters in place: one dispatch per parameter, no new tensors (adamwUpdate)',
    });
  }
  const attentionKernels = new Set<string>([
    KERNELS.attention,
    KERNELS.attentionStats,
    KERNELS.attentionGradQ,
    KERNELS.attentionGradK,
    KERNELS.attentionGradV,
  ]);
  for (const [name, kernelFunc] of Object.entries(webgpuKernels)) {
    if (env.GEOLIP_WEBGPU_ATTENTION === '0' && attentionKernels.has(name)) continue;
    if (env.GEOLIP_WEBGPU_SUM_SQUARES === '0' && name === KERNELS.sumSquares) continue;
    if (tf.getKernel(name, 'webgpu') === undefined) {
      tf.registerKernel({
        kernelName: name,
        backendName: 'webgpu',
        kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      });
    }
    out.push({ name, backend: 'webgpu', description: DESCRIPTIONS[name] ?? name });
  }
  return out;
}
