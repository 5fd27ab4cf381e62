/**
 * `@geolip/nn/backend`: {@link initBackend} from `@geolip/geometry/backend`, plus this package's
 * kernels (fused WebGPU kernels, wasm kernel fixes) registered for the backend that won.
 *
 * Models built from `@geolip/nn` blocks run on any backend without this; calling it is what turns
 * the fast paths on. Libraries above `nn` (text, vision, train, bench) call this one.
 */
import { ensureBackend as ensureGeometryBackend, initBackend as initGeometryBackend } from '@geolip/geometry/backend';
import type { BackendInfo, InitBackendOptions } from '@geolip/geometry/backend';

import { registerKernels } from './kernels/index.js';
import type { KernelRegistration } from './kernels/index.js';

export { BACKEND_NAMES, ensureGradients } from '@geolip/geometry/backend';
export type { BackendName, InitBackendOptions, LogLevel } from '@geolip/geometry/backend';
export { registerKernels, registeredKernels } from './kernels/index.js';
export type { KernelRegistration } from './kernels/index.js';

/** {@link BackendInfo} plus the kernels this package registered for the chosen backend. */
export interface NnBackendInfo extends BackendInfo {
  kernels: KernelRegistration[];
}

/**
 * Chooses and initializes a tfjs backend exactly as `@geolip/geometry/backend`'s `initBackend`
 * (same options, same `GEOLIP_BACKEND` override), then registers this package's kernels for it.
 *
 * @example
 * import { initBackend } from '@geolip/nn/backend';
 * const info = await initBackend({ prefer: ['webgpu', 'wasm', 'cpu'] });
 * console.log(info.name, info.kernels.map((k) => k.name));
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<NnBackendInfo> {
  const info = await initGeometryBackend(options);
  const kernels = await registerKernels(info.name);
  return { ...info, kernels };
}

/**
 * Makes sure a backend is active before `op` builds a model: keeps the active one, else chooses one with this
 * package's {@link initBackend} (kernels included) and says which on stderr once per process (`GEOLIP_LOG=silent`
 * hides it). `loadPretrained` / `fromPretrained` of every model registry and `loadGeolipText` call it, so a model
 * used without `initBackend()` runs on wasm in Node rather than failing. See `ensureBackend` of
 * `@geolip/geometry/backend`.
 * @throws {BackendError} naming `op` when no backend could be initialized.
 */
export function ensureBackend(op: string): Promise<string> {
  return ensureGeometryBackend(op, initBackend);
}
