/**
 * Backend-specific kernels of `@geolip/nn`. Each entry is registered with tfjs's kernel registry for
 * one backend; the ops in `../functional` call them through `tf.engine().runKernel` when the active
 * backend has them and fall back to composed tfjs ops otherwise (the reference path, used on cpu).
 */
import * as tf from '@tensorflow/tfjs-core';

/** One kernel this package registered. */
export interface KernelRegistration {
  /** tfjs kernel name, e.g. `GeolipLayerNorm` or `UnsortedSegmentSum`. */
  name: string;
  backend: string;
  /** What it is for, in a few words. */
  description: string;
}

const registered: KernelRegistration[] = [];

/**
 * Registers the kernels this package has for `backendName` (idempotent; a kernel tfjs already has for
 * that backend is left alone unless this package replaces it on purpose). Returns what is registered
 * for that backend.
 */
export async function registerKernels(backendName: string): Promise<KernelRegistration[]> {
  if (backendName === 'wasm') {
    const { registerWasmKernels } = await import('./wasm/index.js');
    add(registerWasmKernels());
  } else if (backendName === 'cpu') {
    const { registerCpuKernels } = await import('./cpu/index.js');
    add(registerCpuKernels());
  } else if (backendName === 'webgpu') {
    const { registerWebGPUKernels } = await import('./webgpu/index.js');
    add(registerWebGPUKernels());
  }
  return registered.filter((k) => k.backend === backendName);
}

/** Every kernel registered so far, all backends. */
export function registeredKernels(): KernelRegistration[] {
  return registered.slice();
}

/** Whether the active backend has a kernel called `name` (so a fused path can be taken). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

function add(list: KernelRegistration[]): void {
  for (const k of list) {
    if (!registered.some((r) => r.name === k.name && r.backend === k.backend)) registered.push(k);
  }
}
