import * as tf from '@tensorflow/tfjs-core';

import { BackendError, InvalidArgumentError } from '../errors.js';

/** Backends `initBackend` knows how to find and register. */
export type BackendName = 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu'];

export interface InitBackendOptions {
  /**
   * Backends to try, in order; the first that registers and initializes wins.
   * Default in Node: `tensorflow` (only if the user installed `@tensorflow/tfjs-node(-gpu)`),
   * `webgpu` (only if a *hardware* adapter exists), `wasm`, `cpu`.
   * Default in a browser: `webgpu`, `webgl`, `wasm`, `cpu`.
   * The environment variable `GEOLIP_BACKEND` (a name or a comma-separated list) overrides this.
   */
  prefer?: readonly BackendName[];
  /** Silence tfjs's console banners by setting the `PROD` flag. Default `true`. */
  quiet?: boolean;
  /** Accept a software WebGPU adapter (e.g. Dawn on OpenGL ES, SwiftShader). Default: only when `webgpu` was asked for explicitly. */
  allowSoftwareAdapter?: boolean;
  /** Where to report the choice and every fallback reason. Default `console.info`; pass `() => {}` to silence. */
  log?: (message: string) => void;
}

export interface BackendInfo {
  /** The backend now active (`tf.getBackend()`). */
  name: BackendName;
  /** 32, or 16 on backends without full float32 (some WebGL devices). */
  floatPrecision: 16 | 32;
  /** True once gradient functions are registered (tf.grad works). */
  gradients: boolean;
  /** Every backend tried before the winner, with the reason it was skipped. */
  skipped: { name: BackendName; reason: string }[];
  /** For webgpu: the adapter's description, when Dawn or the browser gives one. */
  adapter?: string;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

// Dynamic imports through a variable specifier so bundlers do not try to resolve optional peers.
const importOptional = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

let gradientsPromise: Promise<boolean> | undefined;

/**
 * Makes sure tfjs gradient functions are registered. `@tensorflow/tfjs-core` alone registers none
 * (`tf.grad` then throws "gradient function not found"); `@tensorflow/tfjs-layers` (a peer
 * dependency of this package) and `@tensorflow/tfjs` register all of them when imported.
 * Idempotent.
 */
export function ensureGradients(): Promise<boolean> {
  gradientsPromise ??= (async () => {
    if (tf.getGradient('Sum') !== undefined) return true;
    for (const specifier of ['@tensorflow/tfjs-layers', '@tensorflow/tfjs']) {
      try {
        await importOptional(specifier);
        if (tf.getGradient('Sum') !== undefined) return true;
      } catch {
        // try the next one
      }
    }
    return false;
  })();
  return gradientsPromise;
}

function parseEnv(): BackendName[] | undefined {
  const raw = isNode ? process.env.GEOLIP_BACKEND : undefined;
  if (!raw || raw.trim() === '') return undefined;
  const names = raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const n of names) {
    if (!(BACKEND_NAMES as readonly string[]).includes(n)) {
      throw new InvalidArgumentError('initBackend', 'GEOLIP_BACKEND', `names an unknown backend '${n}' (known: ${BACKEND_NAMES.join(', ')})`);
    }
  }
  return names as BackendName[];
}

interface Attempt {
  ok: boolean;
  reason: string;
  adapter?: string;
}

/** Registers the backend's factory if its package is installed. Never throws. */
async function register(name: BackendName, explicit: boolean, allowSoftware: boolean): Promise<Attempt> {
  if (name !== 'webgpu' && tf.findBackendFactory(name) !== null) return { ok: true, reason: 'already registered' };
  switch (name) {
    case 'cpu':
      return tryImport(name, ['@tensorflow/tfjs-backend-cpu']);
    case 'wasm':
      return tryImport(name, ['@tensorflow/tfjs-backend-wasm']);
    case 'webgl':
      if (isNode) return { ok: false, reason: 'webgl needs a browser (no WebGL context in Node)' };
      return tryImport(name, ['@tensorflow/tfjs-backend-webgl']);
    case 'tensorflow':
      if (!isNode) return { ok: false, reason: 'the tensorflow backend exists only in Node' };
      // tfjs-node(-gpu) are optional peers: never dependencies, since their install downloads libtensorflow.
      return tryImport(name, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    case 'webgpu':
      return registerWebgpu(explicit, allowSoftware);
  }
}

async function tryImport(name: BackendName, specifiers: string[]): Promise<Attempt> {
  const errors: string[] = [];
  for (const s of specifiers) {
    try {
      await importOptional(s);
      if (tf.findBackendFactory(name) !== null) return { ok: true, reason: `registered by ${s}` };
      errors.push(`${s} loaded but did not register '${name}'`);
    } catch (e) {
      errors.push(`${s} not loadable (${firstLine(e)})`);
    }
  }
  return { ok: false, reason: errors.join('; ') };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 200);
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|software|microsoft basic render|lavapipe|opengl/i;

/**
 * On Linux, Dawn reaches hardware GPUs only through the Vulkan loader. Where `libvulkan.so.1` is in
 * neither the linker cache nor LD_LIBRARY_PATH, no hardware adapter can exist, so the automatic probe
 * is skipped (loading dawn.node would only print Vulkan warnings). Elsewhere: unknown, so true.
 */
async function vulkanLoaderMayExist(): Promise<boolean> {
  if (!isNode || process.platform !== 'linux') return true;
  try {
    const fs = (await importOptional('node:fs')) as typeof import('node:fs');
    const cache = fs.readFileSync('/etc/ld.so.cache', 'latin1');
    if (cache.includes('libvulkan.so.1')) return true;
    const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
    return dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
  } catch {
    return true;
  }
}

async function registerWebgpu(explicit: boolean, allowSoftware: boolean): Promise<Attempt> {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (isNode && !g.navigator?.gpu && !explicit && !allowSoftware && !(await vulkanLoaderMayExist())) {
    return { ok: false, reason: 'no Vulkan loader (libvulkan.so.1) on this Linux machine, so no hardware adapter' };
  }
  if (isNode && !g.navigator?.gpu) {
    // Dawn for Node: the `webgpu` npm package ships dawn.node inside its tarball.
    try {
      const mod = (await importOptional('webgpu')) as { create: (flags: string[]) => GpuLike; globals: object };
      Object.assign(globalThis, mod.globals);
      const gpu = mod.create([]);
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } catch (e) {
      return { ok: false, reason: `the 'webgpu' package (Dawn for Node) is not loadable (${firstLine(e)})` };
    }
  }
  const gpu = g.navigator?.gpu;
  if (!gpu) return { ok: false, reason: 'no navigator.gpu in this environment' };
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, reason: `requestAdapter failed (${firstLine(e)})` };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter found' };
  const info = adapter.info ?? {};
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  const software = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(description) || info.type === 'cpu';
  if (software && !(explicit || allowSoftware)) {
    return { ok: false, reason: `only a software adapter is present (${description}); ask for webgpu explicitly to use it`, adapter: description };
  }
  if (tf.findBackendFactory('webgpu') === null) {
    const r = await tryImport('webgpu', ['@tensorflow/tfjs-backend-webgpu']);
    if (!r.ok) return { ...r, adapter: description };
  }
  return { ok: true, reason: software ? 'software adapter (explicitly allowed)' : 'hardware adapter', adapter: description };
}

interface AdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean; type?: string };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}

/**
 * Picks the tfjs backend, makes sure gradients are registered, and reports what it chose.
 *
 * Candidates are tried in order (`GEOLIP_BACKEND` > `options.prefer` > the platform default);
 * a backend whose package is not installed, or that fails to initialize, is skipped with a logged
 * reason. Library code never calls this at import time: applications, CLIs and tests do.
 *
 * @example
 * import { initBackend } from '@geolip/geometry/backend';
 * const info = await initBackend();            // wasm in Node unless tfjs-node is installed
 * await initBackend({ prefer: ['cpu'] });      // the deterministic reference
 *
 * @throws {BackendError} if no candidate could be initialized (`attempts` lists every reason).
 * @throws {InvalidArgumentError} for an unknown name in `prefer` or `GEOLIP_BACKEND`.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const { quiet = true, log = (m: string) => console.info(m) } = options;
  if (options.prefer !== undefined) {
    if (!Array.isArray(options.prefer) || options.prefer.length === 0) {
      throw new InvalidArgumentError('initBackend', 'prefer', 'must be a non-empty array of backend names');
    }
    for (const n of options.prefer) {
      if (!(BACKEND_NAMES as readonly string[]).includes(n)) {
        throw new InvalidArgumentError('initBackend', 'prefer', `names an unknown backend '${String(n)}' (known: ${BACKEND_NAMES.join(', ')})`);
      }
    }
  }
  const fromEnv = parseEnv();
  const explicitList = fromEnv ?? options.prefer;
  const candidates: readonly BackendName[] = explicitList ?? (isNode ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu']);
  if (quiet) tf.env().set('PROD', true);

  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of candidates) {
    const explicit = explicitList !== undefined && explicitList.includes(name);
    const reg = await register(name, explicit, options.allowSoftwareAdapter ?? false);
    if (!reg.ok) {
      skipped.push({ name, reason: reg.reason });
      if (explicit || name === 'tensorflow') log(`[geolip] backend '${name}' skipped: ${reg.reason}`);
      continue;
    }
    let ok = false;
    try {
      ok = await tf.setBackend(name);
    } catch (e) {
      skipped.push({ name, reason: `initialization threw (${firstLine(e)})` });
      continue;
    }
    if (!ok) {
      skipped.push({ name, reason: 'initialization failed (tf.setBackend returned false)' });
      continue;
    }
    await tf.ready();
    const gradients = await ensureGradients();
    if (!gradients) log('[geolip] gradients are not registered: install @tensorflow/tfjs-layers (a peer dependency) for tf.grad to work');
    const floatPrecision = tf.backend().floatPrecision() === 16 ? 16 : 32;
    const info: BackendInfo = { name, floatPrecision, gradients, skipped };
    if (reg.adapter) info.adapter = reg.adapter;
    log(`[geolip] backend: ${name}${reg.adapter ? ` (${reg.adapter})` : ''}${skipped.length ? `; skipped ${skipped.map((s) => s.name).join(', ')}` : ''}`);
    return info;
  }
  throw new BackendError(
    'initBackend',
    `no backend could be initialized; tried ${candidates.join(', ')}: ${skipped.map((s) => `${s.name}: ${s.reason}`).join(' | ')}`,
    skipped,
  );
}
