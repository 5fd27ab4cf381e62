/**
 * The parts of `@tensorflow/tfjs-backend-wasm`'s `BackendWasm` (4.22.0) that this package's wasm kernels
 * use. They are not in its public typings; every kernel checks for them with {@link asWasmBackend}
 * and throws a `BackendError` if a future tfjs changed them, instead of corrupting memory.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '@geolip/geometry';

/** One entry of `BackendWasm.dataIdMap`. */
interface WasmTensorData {
  /** The id the C++ side knows the tensor by. */
  id: number;
  /** Byte offset of the data in the wasm heap. */
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}

/** The Emscripten module of the backend (`BackendWasm.wasm`). */
interface WasmModuleLike {
  HEAPU8: Uint8Array;
  /** Present in the threaded build. */
  wasmMemory?: WebAssembly.Memory;
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: unknown[]) => unknown;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

/** `BackendWasm`, as far as these kernels need it. */
export interface WasmBackendLike {
  wasm: WasmModuleLike;
  dataIdNextNumber: number;
  dataIdMap: {
    get(dataId: object): WasmTensorData | undefined;
    set(dataId: object, value: WasmTensorData): void;
    delete(dataId: object): boolean;
  };
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): tf.backend_util.BackendValues;
}

/** Checks that `backend` is a tfjs-backend-wasm 4.22-style backend; throws `BackendError` otherwise. */
export function asWasmBackend(backend: unknown, op: string): WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | undefined;
  if (
    b === undefined ||
    typeof b.makeOutput !== 'function' ||
    typeof b.disposeData !== 'function' ||
    typeof b.readSync !== 'function' ||
    b.dataIdMap === undefined ||
    typeof b.dataIdNextNumber !== 'number' ||
    b.wasm === undefined ||
    typeof b.wasm.cwrap !== 'function' ||
    typeof b.wasm.tfjs?.registerTensor !== 'function'
  ) {
    throw new BackendError(
      op,
      'the active wasm backend does not have the internals of @tensorflow/tfjs-backend-wasm 4.22 ' +
        '(dataIdMap, makeOutput, wasm.cwrap)',
    );
  }
  return b as WasmBackendLike;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function memoryOffsetOf(backend: WasmBackendLike, t: tf.TensorInfo, op: string): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (d === undefined) throw new BackendError(op, 'a tensor of this kernel is not held by the wasm backend');
  return d.memoryOffset;
}

/** A float32 view registered with the C++ side, aliasing memory another tensor owns. */
export interface HeapView {
  id: number;
  dataId: object;
}

/**
 * Registers `[memoryOffset, memoryOffset + size·4)` as a tensor the C++ kernels can address by id,
 * without allocating or copying. Release it with {@link releaseView} (never `backend.disposeData`,
 * which would free memory the view does not own).
 */
export function makeView(backend: WasmBackendLike, memoryOffset: number, shape: number[]): HeapView {
  const id = backend.dataIdNextNumber++;
  const dataId = {};
  let size = 1;
  for (const s of shape) size *= s;
  backend.dataIdMap.set(dataId, { id, memoryOffset, shape, dtype: 'float32', refCount: 1 });
  backend.wasm.tfjs.registerTensor(id, size, memoryOffset);
  return { id, dataId };
}

/** Unregisters a view: the C++ side drops its entry (and any XNNPACK operator cached on it). */
export function releaseView(backend: WasmBackendLike, view: HeapView): void {
  backend.wasm.tfjs.disposeData(view.id);
  backend.dataIdMap.delete(view.dataId);
}

/** Little-endian int32 bytes, as the backend's cwrapped kernels take shapes. */
export function int32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(values).buffer);
}
