import * as tf from '@tensorflow/tfjs-core';

import { BackendError, InvalidArgumentError } from '../errors.js';
// Optional peers and Node built-ins: through a non-literal import(), so bundlers do not try to resolve them.
import { importUnbundled } from '../internal/import-unbundled.js';
import { isNode as runsOnNode } from '../internal/is-node.js';
import { enableNodeWasmThreads, MAX_WASM_THREADS } from './wasm-threads.js';
import type { WasmBackendModule } from './wasm-threads.js';

/** Backends `initBackend` knows how to find and register. */
export type BackendName = 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Every backend name `initBackend` accepts, in its default order of preference. */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * The one check of a backend name (used by `initBackend`, the CLIs and the demo): returns `value` as a
 * {@link BackendName}, or throws naming the function and the argument and listing the known names.
 *
 * @param op - the function or command that received the name (e.g. `'initBackend'`, `'geolip-bench run'`).
 * @param arg - the argument or flag that held it (e.g. `'prefer'`, `'--backend'`, `'GEOLIP_BACKEND'`).
 * @param value - the name to check (exact, lower case).
 * @throws {InvalidArgumentError}
 * `op: 'arg' names an unknown backend 'x' (known: tensorflow, webgpu, webgl, wasm, cpu)`.
 * @example
 * ```ts
 * parseBackendName('myTool', '--backend', 'wasm'); // 'wasm'
 * parseBackendName('myTool', '--backend', 'tpu');  // throws InvalidArgumentError
 * ```
 */
export function parseBackendName(op: string, arg: string, value: unknown): BackendName {
  if (typeof value === 'string' && (BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new InvalidArgumentError(
    op,
    arg,
    `names an unknown backend '${String(value)}' (known: ${BACKEND_NAMES.join(', ')})`,
  );
}

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
  /**
   * Accept a software WebGPU adapter (e.g. Dawn on OpenGL ES, SwiftShader). Default: only when `webgpu` was asked
   * for explicitly.
   */
  allowSoftwareAdapter?: boolean;
  /**
   * Where to report. Default: `console.error` in Node (stderr, so a program's output stays clean),
   * `console.info` in browsers (an informational line is not an error in the page's console); pass `() => {}` to
   * silence. What is reported depends on the log level ({@link resolveLogLevel}): at `'info'` (the default) one line
   * naming the backend chosen, plus the reason for skipping a backend that was asked for by name; at `'debug'` also
   * every other fallback reason (a missing `@tensorflow/tfjs-node`, wasm threads off, gradients not registered).
   */
  log?: (message: string) => void;
  /** Report at the `'debug'` level (every fallback reason). Default `false`; `GEOLIP_LOG` overrides it. */
  debug?: boolean;
  /**
   * Threads for the wasm backend (XNNPACK's pool). `'auto'` (default) = the available cores, at most
   * 8; `1` = single-threaded (the plain SIMD binary). In Node, more than 1 loads the threaded-SIMD
   * binary through a small shim (see `wasm-threads.ts`: tfjs 4.22 cannot start its workers in Node
   * by itself). The environment variable `GEOLIP_WASM_THREADS` (`auto` or a positive integer)
   * overrides this. Fixed once the wasm backend is initialized in a process. In a browser, tfjs's own
   * detection decides (threads need cross-origin isolation) and a number only sets the count.
   */
  wasmThreads?: number | 'auto';
}

/** How the wasm backend runs, when it is the one chosen. */
export interface WasmInfo {
  /** Whether a SIMD binary is loaded. */
  simd: boolean;
  /** Threads in XNNPACK's pool (1 = single-threaded). */
  threads: number;
  /** True when the threaded-SIMD binary is loaded and runs more than one thread. */
  multithreaded: boolean;
  /** The thread count asked for, after `GEOLIP_WASM_THREADS` and `'auto'` were resolved. */
  requestedThreads: number;
  /** Why fewer threads than requested run, when that is the case. */
  reason?: string;
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
  /** For wasm: SIMD and threads. */
  wasm?: WasmInfo;
}

const isNode = runsOnNode();

/**
 * Writes one of the library's `[geolip]` lines: to stderr in Node (a program's stdout stays clean), to
 * `console.info` in browsers, where `console.error` would count as a page error.
 */
function reportLine(message: string): void {
  if (isNode) console.error(message);
  else console.info(message);
}

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
        await importUnbundled(specifier);
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
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return names.map((n) => parseBackendName('initBackend', 'GEOLIP_BACKEND', n));
}

/** Resolves `wasmThreads` / `GEOLIP_WASM_THREADS` to a positive count (≤ 8), or undefined for "tfjs decides". */
async function resolveWasmThreads(option: number | 'auto' | undefined): Promise<number | undefined> {
  const raw = isNode ? process.env.GEOLIP_WASM_THREADS?.trim() : undefined;
  let value: number | 'auto' | undefined = option;
  if (raw !== undefined && raw !== '') {
    if (raw.toLowerCase() === 'auto') value = 'auto';
    else if (/^[0-9]+$/.test(raw) && Number(raw) >= 1) value = Number(raw);
    else
      throw new InvalidArgumentError(
        'initBackend',
        'GEOLIP_WASM_THREADS',
        `must be 'auto' or a positive integer, got '${raw}'`,
      );
  } else if (option !== undefined && option !== 'auto' && !(Number.isInteger(option) && option >= 1)) {
    throw new InvalidArgumentError(
      'initBackend',
      'wasmThreads',
      `must be 'auto' or a positive integer, got ${String(option)}`,
    );
  }
  if (value === undefined || value === 'auto') {
    if (!isNode) return undefined;
    const os = ((await importUnbundled('node:os')) as { default: typeof import('node:os') }).default;
    value = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  return Math.max(1, Math.min(value, MAX_WASM_THREADS));
}

interface WasmPlan {
  module: WasmBackendModule;
  requested: number;
  /** Set when the threaded binary was prepared: undo the temporary changes once init settled. */
  restore?: () => void;
  reason?: string;
  /** wasm was initialized before this call: the thread count could not be changed. */
  alreadyInitialized?: boolean;
}

/**
 * Before the wasm backend's first initialization: picks the binary and the thread count.
 * Returns undefined when wasm is already initialized (its thread count is then fixed) or in a browser
 * with no explicit count.
 */
async function planWasm(requested: number | undefined): Promise<WasmPlan | undefined> {
  const mod = await wasmModule();
  if (mod === undefined || requested === undefined) return undefined;
  if (tf.engine().registry['wasm'] !== undefined)
    return {
      module: mod,
      requested,
      alreadyInitialized: true,
      reason: 'the wasm backend was already initialized in this process; its thread count is fixed then',
    };
  if (!isNode) {
    mod.setThreadsCount(requested);
    return { module: mod, requested };
  }
  if (requested <= 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    mod.setThreadsCount(1);
    return { module: mod, requested };
  }
  const setup = await enableNodeWasmThreads(mod, requested, (on) => tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', on));
  if (!setup.ok) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    mod.setThreadsCount(1);
    return { module: mod, requested, reason: `threads could not be enabled in Node: ${setup.reason}` };
  }
  return { module: mod, requested, restore: setup.restore };
}

async function wasmModule(): Promise<WasmBackendModule | undefined> {
  try {
    const m = (await importUnbundled('@tensorflow/tfjs-backend-wasm')) as Partial<WasmBackendModule> & {
      default?: Partial<WasmBackendModule>;
    };
    const pick = typeof m.setThreadsCount === 'function' ? m : m.default;
    if (pick && typeof pick.setThreadsCount === 'function' && typeof pick.getThreadsCount === 'function')
      return pick as WasmBackendModule;
  } catch {
    // not installed: register() reports it
  }
  return undefined;
}

/** Time allowed for a threaded wasm initialization before it is abandoned (it waits on 8 workers). */
const WASM_THREADED_INIT_TIMEOUT_MS = 60_000;

async function setBackendWithTimeout(name: BackendName, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${ms / 1000} s`)), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  try {
    return await Promise.race([tf.setBackend(name), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function describeWasm(plan: WasmPlan | undefined): Promise<WasmInfo | undefined> {
  const mod = plan?.module ?? (await wasmModule());
  if (mod === undefined) return undefined;
  let threads = 1;
  try {
    threads = mod.getThreadsCount();
  } catch {
    // not initialized (cannot happen once setBackend succeeded)
  }
  let simd = false;
  let threadedBinary = false;
  try {
    simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    threadedBinary = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  } catch {
    // flags not registered
  }
  const requested = plan?.requested ?? threads;
  const info: WasmInfo = {
    simd,
    threads,
    multithreaded: threadedBinary && simd && threads > 1,
    requestedThreads: requested,
  };
  // "Already initialized" matters only when it kept this call from getting what it asked for.
  if (plan?.reason !== undefined && (!plan.alreadyInitialized || threads !== requested)) info.reason = plan.reason;
  else if (threads < requested) info.reason = `tfjs reported ${threads} thread(s) after initialization`;
  return info;
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
      await importUnbundled(s);
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
    const fs = (await importUnbundled('node:fs')) as typeof import('node:fs');
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
      const mod = (await importUnbundled('webgpu')) as { create: (flags: string[]) => GpuLike; globals: object };
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
  const description =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  const software =
    adapter.isFallbackAdapter === true ||
    info.isFallbackAdapter === true ||
    SOFTWARE_ADAPTER.test(description) ||
    info.type === 'cpu';
  if (software && !(explicit || allowSoftware)) {
    return {
      ok: false,
      reason: `only a software adapter is present (${description}); ask for webgpu explicitly to use it`,
      adapter: description,
    };
  }
  if (tf.findBackendFactory('webgpu') === null) {
    const r = await tryImport('webgpu', ['@tensorflow/tfjs-backend-webgpu']);
    if (!r.ok) return { ...r, adapter: description };
  }
  return {
    ok: true,
    reason: software ? 'software adapter (explicitly allowed)' : 'hardware adapter',
    adapter: description,
  };
}

interface AdapterLike {
  isFallbackAdapter?: boolean;
  info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
    type?: string;
  };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}

/** How much `initBackend` (and the automatic choice of a model used before it) reports. */
export type LogLevel = 'silent' | 'info' | 'debug';

const LOG_RANK: Record<LogLevel, number> = { silent: 0, info: 1, debug: 2 };

/**
 * The log level: the environment variable `GEOLIP_LOG` (`silent`, `info` or `debug`; also `0`/`off` and
 * `1`/`verbose`) when it is set, else `'debug'` when `debug` is true, else `'info'`.
 *
 * @throws {InvalidArgumentError} naming `op` and `GEOLIP_LOG` for any other value of the variable.
 */
export function resolveLogLevel(op: string, debug = false): LogLevel {
  const raw = isNode ? process.env.GEOLIP_LOG?.trim().toLowerCase() : undefined;
  if (raw === undefined || raw === '') return debug ? 'debug' : 'info';
  if (raw === 'silent' || raw === 'off' || raw === '0' || raw === 'false') return 'silent';
  if (raw === 'info') return 'info';
  if (raw === 'debug' || raw === 'verbose' || raw === '1' || raw === 'true') return 'debug';
  throw new InvalidArgumentError(op, 'GEOLIP_LOG', `must be 'silent', 'info' or 'debug', got '${raw}'`);
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
  const { quiet = true, log: sink = reportLine } = options;
  const level = LOG_RANK[resolveLogLevel('initBackend', options.debug === true)];
  const info1 = (m: string) => {
    if (level >= LOG_RANK.info) sink(m);
  };
  const debug = (m: string) => {
    if (level >= LOG_RANK.debug) sink(m);
  };
  if (options.prefer !== undefined) {
    if (!Array.isArray(options.prefer) || options.prefer.length === 0) {
      throw new InvalidArgumentError('initBackend', 'prefer', 'must be a non-empty array of backend names');
    }
    for (const n of options.prefer) parseBackendName('initBackend', 'prefer', n);
  }
  const fromEnv = parseEnv();
  // Validated (and 'auto' resolved) up front so a bad value throws instead of silently skipping wasm.
  const wasmThreads = await resolveWasmThreads(options.wasmThreads);
  const explicitList = fromEnv ?? options.prefer;
  const candidates: readonly BackendName[] =
    explicitList ?? (isNode ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu']);
  if (quiet) tf.env().set('PROD', true);

  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of candidates) {
    const explicit = explicitList !== undefined && explicitList.includes(name);
    const reg = await register(name, explicit, options.allowSoftwareAdapter ?? false);
    if (!reg.ok) {
      skipped.push({ name, reason: reg.reason });
      (explicit ? info1 : debug)(`[geolip] backend '${name}' skipped: ${reg.reason}`);
      continue;
    }
    let ok = false;
    let wasmPlan: WasmPlan | undefined;
    try {
      if (name === 'wasm') wasmPlan = await planWasm(wasmThreads);
      if (wasmPlan?.restore) {
        // Threaded binary: guarded by a timeout, and on failure retried single-threaded.
        try {
          ok = await setBackendWithTimeout(name, WASM_THREADED_INIT_TIMEOUT_MS);
          if (!ok) wasmPlan.reason = 'the threaded-SIMD binary failed to initialize (tf.setBackend returned false)';
        } catch (e) {
          wasmPlan.reason = `the threaded-SIMD binary failed to initialize (${firstLine(e)})`;
        } finally {
          wasmPlan.restore();
          delete wasmPlan.restore;
        }
        if (!ok) {
          debug(`[geolip] wasm threads off: ${wasmPlan.reason}`);
          tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
          wasmPlan.module.setThreadsCount(1);
          ok = await tf.setBackend(name);
        }
      } else {
        ok = await tf.setBackend(name);
      }
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
    if (!gradients)
      debug(
        '[geolip] gradients are not registered: ' +
          'install @tensorflow/tfjs-layers (a peer dependency) for tf.grad to work',
      );
    const floatPrecision = tf.backend().floatPrecision() === 16 ? 16 : 32;
    const info: BackendInfo = { name, floatPrecision, gradients, skipped };
    if (reg.adapter) info.adapter = reg.adapter;
    if (name === 'wasm') {
      const w = await describeWasm(wasmPlan);
      if (w) info.wasm = w;
    }
    const detail =
      reg.adapter ??
      (info.wasm
        ? `${info.wasm.simd ? 'SIMD' : 'no SIMD'}, ${info.wasm.threads} thread${info.wasm.threads === 1 ? '' : 's'}`
        : undefined);
    // Which backends were passed over is a diagnostic: listed at the debug level only (the reasons are above it).
    const skippedNote =
      skipped.length && level >= LOG_RANK.debug ? `; skipped ${skipped.map((s) => s.name).join(', ')}` : '';
    info1(`[geolip] backend: ${name}${detail ? ` (${detail})` : ''}${skippedNote}`);
    return info;
  }
  throw new BackendError(
    'initBackend',
    `no backend could be initialized; tried ${candidates.join(', ')}: ` +
      skipped.map((s) => `${s.name}: ${s.reason}`).join(' | '),
    skipped,
  );
}

let autoChoice: Promise<string> | undefined;

/**
 * Makes sure a tfjs backend is active before `op` creates tensors, so a model used without `initBackend()` runs on
 * the best backend available instead of failing with tfjs's "No backend found in registry" (or running on the
 * pure-JS cpu backend, about 25× slower than wasm for a sentence encoder). A backend already active (set by
 * `initBackend()` or `tf.setBackend`) is kept and nothing is reported. Otherwise `init` (default
 * {@link initBackend}) chooses as usual (Node: wasm over cpu; a browser: webgpu, webgl, wasm, cpu; `GEOLIP_BACKEND`
 * overrides) and one line to stderr says which, once per process: `[geolip] loadGeolipText: no backend chosen, using
 * wasm (SIMD, 2 threads); call initBackend() to choose`. `GEOLIP_LOG=silent` hides it, `GEOLIP_LOG=debug` adds the
 * reasons for each backend skipped. Concurrent calls share one choice.
 *
 * @returns the active backend's name.
 * @throws {BackendError} naming `op` when no backend could be initialized (`attempts` lists every reason).
 */
export async function ensureBackend(
  op: string,
  init: (options: InitBackendOptions) => Promise<BackendInfo> = initBackend,
): Promise<string> {
  const active = tf.getBackend();
  if (active) return active;
  autoChoice ??= (async () => {
    try {
      let chosen: string | undefined;
      const info = await init({
        log: (m) => {
          const line = /^\[geolip\] backend: (.*)$/.exec(m);
          if (line) chosen = line[1];
          else reportLine(m);
        },
      });
      // `chosen` is set only at the info level or above (initBackend filters by GEOLIP_LOG).
      if (chosen !== undefined) {
        // The pure-JS cpu backend because wasm is missing is the slow path a user should hear about.
        const wasm = info.name === 'cpu' ? info.skipped.find((s) => s.name === 'wasm') : undefined;
        const hint = wasm
          ? ` (wasm skipped: ${wasm.reason}; @tensorflow/tfjs-backend-wasm@4.22.0 is about 25× faster)`
          : '';
        reportLine(`[geolip] ${op}: no backend chosen, using ${chosen}${hint}; call initBackend() to choose`);
      }
      return info.name;
    } catch (e) {
      autoChoice = undefined;
      if (e instanceof BackendError)
        throw new BackendError(op, `no tfjs backend is ready and none could be initialized: ${e.message}`, e.attempts);
      throw e;
    }
  })();
  return autoChoice;
}
