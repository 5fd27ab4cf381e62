/**
 * `BatchMatMul` for the wasm backend: every case on XNNPACK's fast path.
 *
 * What it fixes: tfjs-backend-wasm 4.22 runs a matmul on XNNPACK (SIMD, multithreaded) only when
 * neither operand is transposed **and** both have a batch size of 1. Every other case goes to a naive,
 * single-threaded blocked triple loop (`slow_batch_matmul` in its C++), measured 15–80× slower. That
 * includes both matmuls of every linear layer's backward pass (`dy·Wᵀ`, `xᵀ·dy`), `x[B,L,D]·W[D,F]`
 * on rank-3 input, and the attention products `QKᵀ` and `P·V` (batched).
 *
 * How: transposed operands are transposed explicitly first (the wasm `Transpose` kernel, one pass over
 * memory), then
 * - when `b` has no batch (or a batch of 1), `a` is viewed as one `[batch·M, K]` matrix: one XNNPACK call;
 * - otherwise each batch item runs as its own XNNPACK call on views into the operands' memory (no
 *   copies; the views are registered with the C++ side and released right after), except, with threads
 *   on, items smaller than {@link SMALL_ITEM_FLOP} (each call then pays a thread-pool wake-up).
 * Int32 inputs and batch shapes that need real broadcasting on both sides go to the original kernel.
 *
 * Parity test: `test/kernels-wasm-batch-matmul.test.ts` (all four transpose combinations, ranks 2–4,
 * broadcasting, odd sizes, the transformer shapes, gradients; against the cpu backend, 1e-5 relative).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '@geolip/geometry';

import type { KernelRegistration } from '../index.js';
import { asWasmBackend, int32Bytes, makeView, memoryOffsetOf, releaseView } from './wasm-internals.js';
import type { WasmBackendLike } from './wasm-internals.js';

const OP = 'BatchMatMul (wasm)';
const MARK = Symbol.for('geolip.nn.wasmBatchMatMul');

type KernelFunc = tf.KernelConfig['kernelFunc'];
type CwrappedMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

/** The registration this module makes. */
const batchMatMulRegistration: KernelRegistration = {
  name: 'BatchMatMul',
  backend: 'wasm',
  description:
    'BatchMatMul on XNNPACK for transposed and batched operands ' +
    '(tfjs-wasm sends those to a naive single-threaded loop)',
};

/**
 * Replaces the wasm backend's `BatchMatMul` with {@link batchMatMulRegistration}'s kernel. The original
 * kernel function is kept and called (never the registry, so no recursion). Idempotent. Returns
 * undefined when no wasm `BatchMatMul` or `Transpose` is registered.
 */
export function registerWasmBatchMatMul(): KernelRegistration | undefined {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (original === undefined || transposeKernel === undefined) return undefined;
  if ((original.kernelFunc as unknown as Record<symbol, unknown>)[MARK] === true) return batchMatMulRegistration;
  const kernelFunc = makeBatchMatMul(original.kernelFunc, transposeKernel.kernelFunc);
  (kernelFunc as unknown as Record<symbol, unknown>)[MARK] = true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  const config: tf.KernelConfig = { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc };
  if (original.setupFunc) config.setupFunc = original.setupFunc;
  if (original.disposeFunc) config.disposeFunc = original.disposeFunc;
  tf.registerKernel(config);
  return batchMatMulRegistration;
}

/** Per-item work (2·M·N·K) below which batched products stay on the original kernel when threads are on. */
const SMALL_ITEM_FLOP = 1 << 20;

function threadsOf(backend: WasmBackendLike): number {
  const f = (backend.wasm.tfjs as { getThreadsCount?: () => number }).getThreadsCount;
  return typeof f === 'function' ? f() : 1;
}

const cwrapped = new WeakMap<object, CwrappedMatMul>();

function wasmMatMul(backend: WasmBackendLike): CwrappedMatMul {
  let f = cwrapped.get(backend.wasm);
  if (f === undefined) {
    f = backend.wasm.cwrap('BatchMatMul', null, [
      'number',
      'array',
      'number',
      'number',
      'array',
      'number',
      'number',
      'number',
      'number',
    ]) as CwrappedMatMul;
    cwrapped.set(backend.wasm, f);
  }
  return f;
}

function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

/** Builds the replacement kernel around the saved original `BatchMatMul` and `Transpose` kernel functions. */
function makeBatchMatMul(original: KernelFunc, transposeFn: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, attrs } = args;
    const a = inputs['a'] as tf.TensorInfo | undefined;
    const b = inputs['b'] as tf.TensorInfo | undefined;
    const transposeA = attrs?.['transposeA'] === true;
    const transposeB = attrs?.['transposeB'] === true;
    if (
      a === undefined ||
      b === undefined ||
      a.dtype !== 'float32' ||
      b.dtype !== 'float32' ||
      a.shape.length < 2 ||
      b.shape.length < 2
    ) {
      return original(args);
    }
    const aRank = a.shape.length;
    const bRank = b.shape.length;
    const M = a.shape[transposeA ? aRank - 1 : aRank - 2]!;
    const K = a.shape[transposeA ? aRank - 2 : aRank - 1]!;
    const Kb = b.shape[transposeB ? bRank - 1 : bRank - 2]!;
    const N = b.shape[transposeB ? bRank - 2 : bRank - 1]!;
    const aBatchShape = a.shape.slice(0, -2);
    const bBatchShape = b.shape.slice(0, -2);
    const batchA = prod(aBatchShape);
    const batchB = prod(bBatchShape);
    // Mismatched inner dimensions, empty tensors: let the original kernel throw or handle them.
    if (K !== Kb || M * N * K === 0 || batchA === 0 || batchB === 0) return original(args);
    const outBatchShape = tf.backend_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
    const outShape = [...outBatchShape, M, N];
    const batch = prod(outBatchShape);
    // Both sides batched with different sizes (e.g. [2,1]·[1,3]): real broadcasting, rare; original kernel.
    if (batchA !== 1 && batchB !== 1 && (batchA !== batch || batchB !== batch)) return original(args);

    const backend = asWasmBackend(args.backend, OP);
    // Each XNNPACK call on a multithreaded build pays a thread-pool wake-up (measured ≈0.35 ms per call
    // on a busy 2-core machine): for small batch items the original single-threaded loop is faster.
    if (batchB !== 1 && threadsOf(backend) > 1 && 2 * M * N * K < SMALL_ITEM_FLOP) return original(args);
    const temps: tf.TensorInfo[] = [];
    const plain = (x: tf.TensorInfo, transposed: boolean): tf.TensorInfo => {
      if (!transposed) return x;
      const r = x.shape.length;
      const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
      const t = transposeFn({ inputs: { x }, backend: args.backend, attrs: { perm } }) as tf.TensorInfo;
      temps.push(t);
      return t;
    };
    try {
      const a2 = plain(a, transposeA); // [..., M, K], contiguous
      const b2 = plain(b, transposeB); // [..., K, N], contiguous
      if (batchB === 1) {
        // One matmul: [batchA·M, K] · [K, N]. The original kernel takes this case to XNNPACK.
        const out = original({
          inputs: {
            a: { dataId: a2.dataId, shape: [batchA * M, K], dtype: 'float32' },
            b: { dataId: b2.dataId, shape: [K, N], dtype: 'float32' },
          },
          backend: args.backend,
          attrs: { transposeA: false, transposeB: false },
        }) as tf.TensorInfo;
        return { dataId: out.dataId, shape: outShape, dtype: 'float32' };
      }
      return batchedLoop(backend, a2, b2, batchA, batchB, batch, M, K, N, outShape);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

/** One XNNPACK matmul per batch item, on views into the operands' memory. */
function batchedLoop(
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  batchA: number,
  batchB: number,
  batch: number,
  M: number,
  K: number,
  N: number,
  outShape: number[],
): tf.TensorInfo {
  const matmul = wasmMatMul(backend);
  const out = backend.makeOutput(outShape, 'float32');
  const aOff = memoryOffsetOf(backend, a, OP);
  const bOff = memoryOffsetOf(backend, b, OP);
  const oOff = memoryOffsetOf(backend, out, OP);
  const aShape = int32Bytes([1, M, K]);
  const bShape = int32Bytes([1, K, N]);
  for (let i = 0; i < batch; i++) {
    const av = makeView(backend, aOff + (batchA === 1 ? 0 : i) * M * K * 4, [1, M, K]);
    const bv = makeView(backend, bOff + (batchB === 1 ? 0 : i) * K * N * 4, [1, K, N]);
    const ov = makeView(backend, oOff + i * M * N * 4, [1, M, N]);
    try {
      matmul(av.id, aShape, 3, bv.id, bShape, 3, false, false, ov.id);
    } catch (e) {
      throw new BackendError(
        OP,
        `XNNPACK matmul of batch item ${i} failed (${e instanceof Error ? e.message : String(e)})`,
      );
    } finally {
      releaseView(backend, av);
      releaseView(backend, bv);
      releaseView(backend, ov);
    }
  }
  return out;
}
