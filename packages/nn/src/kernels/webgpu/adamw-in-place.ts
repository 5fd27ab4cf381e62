/**
 * In-place AdamW on tfjs-backend-webgpu 4.22 (issue 19): one compute pipeline, one dispatch per parameter that
 * reads the gradient and rewrites the parameter and both moments in their own GPU buffers. The tensor path costs
 * three tfjs kernels per parameter (two moments, the update) plus three assigns, each ~60 µs of JS and Dawn work
 * on the H100 (`results/perf/webgpu-overhead-h100-skipvalidation.json`); here the per-parameter cost is one bind
 * group and one dispatch recorded directly on the device.
 *
 * Ordering: tfjs records kernels into its own command encoder and submits every few dispatches. Before recording,
 * the pending tfjs work is submitted, so the gradients are complete when this queue submission runs; tfjs work
 * recorded afterwards is submitted after it. Both are on the one queue, whose order WebGPU guarantees.
 *
 * An item's `gradScale` (a 1-element tensor: global-norm clipping folded in) is bound as a sixth buffer and
 * multiplies the gradient in the shader; items without one bind a buffer holding 1.0.
 *
 * Caches: tfjs keeps a CPU copy of a tensor after a read (`values`); for the variables written here it is dropped,
 * so a later read fetches the new values from the GPU.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { AdamWInPlaceFn, AdamWItem } from '../in-place.js';

/** The parts of tfjs-webgpu's `WebGPUBackend` used here (duck-typed). */
interface WebGPUBackendLike {
  device: GPUDeviceLike;
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferView): void; submit(cmds: unknown[]): void };
  tensorMap: {
    get(dataId: object): { resource?: unknown; values?: unknown; dtype: tf.DataType; refCount?: number } | undefined;
  };
  uploadToGPU(dataId: object): void;
  commandEncoder: unknown;
  endComputePassEncoder(): void;
  submitQueue(): void;
}
interface GPUBufferLike {
  size: number;
  destroy(): void;
}
interface GPUPassLike {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
interface GPUDeviceLike {
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: object): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: object): unknown;
  createBuffer(d: { size: number; usage: number }): GPUBufferLike;
  createCommandEncoder(): { beginComputePass(): GPUPassLike; finish(): unknown };
}

const WG = 256;
/** WebGPU's minimum `minUniformBufferOffsetAlignment`, the stride of the per-parameter uniforms. */
const UNIFORM_STRIDE = 256;
const MAX_GROUPS = 65535;
/** Bytes of the shader's `U` (10 four-byte fields). */
const UNIFORM_SIZE = 40;

const SHADER = `
struct U {
  beta1 : f32, beta2 : f32, stepSize : f32, sqrtBc2 : f32, eps : f32, decay : f32, n : u32, rowStride : u32,
  oneMinusBeta1 : f32, oneMinusBeta2 : f32,
}
@group(0) @binding(0) var<storage, read_write> p : array<f32>;
@group(0) @binding(1) var<storage, read_write> m : array<f32>;
@group(0) @binding(2) var<storage, read_write> v : array<f32>;
@group(0) @binding(3) var<storage, read> g : array<f32>;
@group(0) @binding(4) var<uniform> u : U;
@group(0) @binding(5) var<storage, read> gs : array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  let i = gid.x + gid.y * u.rowStride;
  if (i >= u.n) { return; }
  let gi = g[i] * gs[0];
  let mi = m[i] * u.beta1 + gi * u.oneMinusBeta1;
  let vi = v[i] * u.beta2 + (gi * gi) * u.oneMinusBeta2;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] * u.decay - (mi / (sqrt(vi) / u.sqrtBc2 + u.eps)) * u.stepSize;
}`;

const pipelines = new WeakMap<object, { getBindGroupLayout(i: number): unknown }>();
const ones = new WeakMap<object, GPUBufferLike>();

/** A 1-element buffer holding 1.0, bound as the gradient scale of items without one (`g·1` is `g` exactly). */
function onesFor(b: WebGPUBackendLike, usage: Record<string, number>): GPUBufferLike {
  let buf = ones.get(b.device);
  if (!buf) {
    buf = b.device.createBuffer({ size: 4, usage: usage.STORAGE! | usage.COPY_DST! });
    b.queue.writeBuffer(buf, 0, Float32Array.of(1));
    ones.set(b.device, buf);
  }
  return buf;
}

function pipelineFor(device: GPUDeviceLike): { getBindGroupLayout(i: number): unknown } {
  let p = pipelines.get(device);
  if (!p) {
    p = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' },
    });
    pipelines.set(device, p);
  }
  return p;
}

/** The GPU buffer of `t` if it is float32 and (for a written tensor) not shared with another live tensor. */
function bufferOf(b: WebGPUBackendLike, t: tf.Tensor, written: boolean): GPUBufferLike | null {
  if (t.dtype !== 'float32' || t.size === 0) return null;
  const d0 = b.tensorMap.get(t.dataId);
  if (!d0 || (written && d0.refCount !== undefined && d0.refCount !== 1)) return null;
  b.uploadToGPU(t.dataId);
  const d = b.tensorMap.get(t.dataId);
  const res = d?.resource as Partial<GPUBufferLike> | undefined;
  if (!res || typeof res.size !== 'number' || res.size < t.size * 4) return null; // a texture, or not a buffer
  if (written) d!.values = null; // drop a stale CPU copy
  return res as GPUBufferLike;
}

/** Whether `backend` looks like tfjs-webgpu 4.22's `WebGPUBackend` (the fields used here). */
export function isWebGPUBackendLike(backend: unknown): boolean {
  const b = backend as Partial<WebGPUBackendLike> | undefined;
  return (
    typeof b?.device?.createComputePipeline === 'function' &&
    typeof b.queue?.writeBuffer === 'function' &&
    typeof b.tensorMap?.get === 'function' &&
    typeof b.uploadToGPU === 'function' &&
    typeof b.endComputePassEncoder === 'function' &&
    typeof b.submitQueue === 'function'
  );
}

/** See the module comment. Declines (returns false for) items whose tensors it cannot update in place. */
export const webgpuInPlaceAdamW: AdamWInPlaceFn = (items: readonly AdamWItem[]) => {
  const backend = tf.backend() as unknown;
  const done = items.map(() => false);
  if (!isWebGPUBackendLike(backend) || items.length === 0) return done;
  const b = backend as WebGPUBackendLike;
  const usage = (globalThis as unknown as { GPUBufferUsage?: Record<string, number> }).GPUBufferUsage;
  if (!usage) return done;

  const work: { index: number; bufs: GPUBufferLike[]; n: number; scale: GPUBufferLike }[] = [];
  items.forEach((it, index) => {
    const n = it.p.size;
    if (it.g.size !== n || it.m.size !== n || it.v.size !== n) return;
    if (it.gradScale && it.gradScale.size !== 1) return;
    const bp = bufferOf(b, it.p, true);
    const bm = bp && bufferOf(b, it.m, true);
    const bv = bm && bufferOf(b, it.v, true);
    const bg = bv && bufferOf(b, it.g, false);
    const bs = bg && (it.gradScale ? bufferOf(b, it.gradScale, false) : onesFor(b, usage));
    if (bp && bm && bv && bg && bs) work.push({ index, bufs: [bp, bm, bv, bg], n, scale: bs });
  });
  if (work.length === 0) return done;

  // The gradients' kernels (and the uploads above) are in tfjs's pending encoder: submit them first.
  if (b.commandEncoder) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  const uniforms = new ArrayBuffer(work.length * UNIFORM_STRIDE);
  const f32 = new Float32Array(uniforms);
  const u32 = new Uint32Array(uniforms);
  const grids: [number, number][] = [];
  work.forEach(({ index, n }, k) => {
    const s = items[index]!.scalars;
    const o = (k * UNIFORM_STRIDE) / 4;
    f32.set([s.beta1, s.beta2, s.stepSize, s.sqrtBc2, s.epsilon, s.decay], o);
    const groups = Math.ceil(n / WG);
    const gx = Math.min(groups, MAX_GROUPS);
    const gy = Math.ceil(groups / gx);
    u32[o + 6] = n;
    u32[o + 7] = gx * WG;
    // 1 − β in float64, then rounded, as the tensor path's constants (1 − f32(β) in the shader differs by ~1e-5
    // relative for β2 = 0.999).
    f32[o + 8] = 1 - s.beta1;
    f32[o + 9] = 1 - s.beta2;
    grids.push([gx, gy]);
  });
  const device = b.device;
  const ubuf = device.createBuffer({ size: uniforms.byteLength, usage: usage.UNIFORM! | usage.COPY_DST! });
  b.queue.writeBuffer(ubuf, 0, new Uint8Array(uniforms));
  const pipeline = pipelineFor(device);
  const layout = pipeline.getBindGroupLayout(0);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  work.forEach(({ bufs, n, scale }, k) => {
    const entries = bufs.map((buffer, i) => ({ binding: i, resource: { buffer, offset: 0, size: n * 4 } }));
    entries.push({ binding: 4, resource: { buffer: ubuf, offset: k * UNIFORM_STRIDE, size: UNIFORM_SIZE } });
    entries.push({ binding: 5, resource: { buffer: scale, offset: 0, size: 4 } });
    pass.setBindGroup(0, device.createBindGroup({ layout, entries }));
    pass.dispatchWorkgroups(grids[k]![0], grids[k]![1]);
    done[work[k]!.index] = true;
  });
  pass.end();
  b.queue.submit([encoder.finish()]);
  ubuf.destroy(); // WebGPU keeps a destroyed buffer alive until the submitted work that uses it completes
  return done;
};
