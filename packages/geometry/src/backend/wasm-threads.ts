/**
 * Multithreading for `@tensorflow/tfjs-backend-wasm` in Node.
 *
 * Why tfjs 4.22.0 runs its wasm backend single-threaded in Node, found by reading its `dist/` and
 * measured (issue #6):
 *
 * 1. The flag `WASM_HAS_MULTITHREAD_SUPPORT` returns `false` whenever `IS_NODE` (a TODO pointing at
 *    tensorflow/tfjs#3830), so the plain SIMD binary is loaded.
 * 2. Forcing the flag on loads `tfjs-backend-wasm-threaded-simd.wasm`, whose Emscripten glue then
 *    creates its 8 pthread workers with `new Worker(URL.createObjectURL(blob))`. Node's
 *    `worker_threads.Worker` refuses that URL:
 *    `TypeError [ERR_WORKER_PATH]: The worker script or module filename must be an absolute path or a
 *    relative path starting with './' or '../'. Received "blob:nodedata:…"`, and `tf.setBackend('wasm')`
 *    resolves to `false`.
 * 3. Each worker is also sent the main script as a `Blob` (`mainScriptUrlOrBlob`), which it would load
 *    with `importScripts(URL.createObjectURL(blob))`, i.e. `fs.readFileSync('blob:…')`: same failure.
 * 4. Once 1–3 are fixed the backend initializes but reports 1 thread on a 2-core machine: its C++
 *    `init_with_threads_count` caps the pool at `emscripten_num_logical_cores() / 2` (it assumes
 *    hyper-threading), and in Node that is `require('os').cpus().length / 2`.
 * 5. A running pthread `ref()`s its worker, so a script that used the backend never exits.
 *
 * The shim below fixes each point without touching node_modules: a global `Worker` subclass that, for
 * the `blob:` worker URL only, starts the worker from the same source text (`eval: true`, which
 * gives the script `require` and `__filename` as the glue expects), rewrites the `load` message so
 * the worker imports the glue by file path (`wasm-out/tfjs-backend-wasm-threaded-simd.js` in the
 * package), and never keeps the process alive (`ref()` becomes `unref()`); plus, during
 * initialization only, `os.cpus()` reporting twice the requested thread count.
 *
 * Node-only: every Node module is reached through dynamic imports so browser bundles never see them.
 */

/** What {@link enableNodeWasmThreads} did. */
export type WasmThreadsSetup = { ok: true; restore: () => void } | { ok: false; reason: string };

/** The tfjs-backend-wasm exports this file needs. */
export interface WasmBackendModule {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** Most threads the prebuilt binary can use: it pre-creates 8 workers and its C++ caps the pool at 8. */
export const MAX_WASM_THREADS = 8;

const importNode = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

interface NodeWorkerCtor {
  new (filename: string | URL, options?: Record<string, unknown>): NodeWorkerLike;
}
interface NodeWorkerLike {
  postMessage(value: unknown, transferList?: readonly unknown[]): void;
  ref(): void;
  unref(): void;
}

const SHIM_MARK = Symbol.for('geolip.wasmThreadsWorkerShim');

/**
 * Installs what the threaded-SIMD wasm binary needs in Node and sets its thread count. Call it after
 * `@tensorflow/tfjs-backend-wasm` is imported and before `tf.setBackend('wasm')`; call `restore()`
 * once initialization settled (it undoes the temporary `os.cpus()` change; the `Worker` shim stays,
 * since Emscripten may start more workers later). Never throws.
 */
export async function enableNodeWasmThreads(
  wasmModule: WasmBackendModule,
  threads: number,
  setMultithreadFlag: (on: boolean) => void,
): Promise<WasmThreadsSetup> {
  try {
    const nodeModule = (await importNode('node:module')) as typeof import('node:module');
    const path = (await importNode('node:path')) as typeof import('node:path');
    const fs = (await importNode('node:fs')) as typeof import('node:fs');
    const os = ((await importNode('node:os')) as { default: typeof import('node:os') }).default;
    const workerThreads = (await importNode('node:worker_threads')) as typeof import('node:worker_threads');

    // In the CJS build esbuild replaces `import.meta` with `{}`, so `url` is undefined there.
    const url = import.meta.url as string | undefined;
    const base = typeof __filename === 'string' ? __filename : url;
    if (base === undefined)
      return { ok: false, reason: 'cannot locate this module to resolve @tensorflow/tfjs-backend-wasm' };
    const req = nodeModule.createRequire(base);
    const main = req.resolve('@tensorflow/tfjs-backend-wasm');
    const root = path.dirname(path.dirname(main));
    const gluePath = path.join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
    const workerPath = path.join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js');
    if (!fs.existsSync(gluePath) || !fs.existsSync(workerPath)) {
      return { ok: false, reason: `the threaded glue is missing (${gluePath})` };
    }
    const workerContents = (req(workerPath) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
    if (typeof workerContents !== 'string')
      return { ok: false, reason: `${workerPath} has no wasmWorkerContents string` };
    // The source is a template literal whose "\n" inside quoted strings became real newlines: escape them
    // back, as tfjs does before it makes its Blob.
    const workerSource = workerContents.replace(/\n/g, '\\n');

    installWorkerShim(workerThreads.Worker as unknown as NodeWorkerCtor, workerSource, gluePath);

    setMultithreadFlag(true);
    wasmModule.setThreadsCount(threads);

    // The C++ side caps the pool at logical cores / 2: report 2 × threads while it initializes.
    const originalCpus = os.cpus;
    const realCount = originalCpus.call(os).length;
    if (realCount < 2 * threads) {
      os.cpus = function cpus() {
        const real = originalCpus.call(os);
        return Array.from({ length: 2 * threads }, (_, i) => real[i % Math.max(real.length, 1)]!);
      };
    }
    return {
      ok: true,
      restore: () => {
        os.cpus = originalCpus;
      },
    };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

/**
 * Makes `globalThis.Worker` a `worker_threads.Worker` subclass that handles tfjs's pthread workers
 * (the `blob:` URL) and behaves exactly like `worker_threads.Worker` for anything else. The property
 * ignores writes, because the Emscripten glue assigns `worker_threads.Worker` to the global each time
 * its factory runs. Idempotent.
 */
function installWorkerShim(BaseWorker: NodeWorkerCtor, workerSource: string, gluePath: string): void {
  const g = globalThis as Record<string | symbol, unknown>;
  if (g[SHIM_MARK] === true) return;
  const Base = BaseWorker as unknown as new (
    filename: string | URL,
    options?: Record<string, unknown>,
  ) => NodeWorkerLike;
  class TfjsPthreadAwareWorker extends Base {
    readonly #pthread: boolean;
    constructor(filename: string | URL, options?: Record<string, unknown>) {
      const pthread = typeof filename === 'string' && filename.startsWith('blob:');
      if (pthread) super(workerSource, { ...options, eval: true });
      else super(filename, options);
      this.#pthread = pthread;
      if (pthread) this.unref();
    }
    override ref(): void {
      // A pthread worker must never keep the process alive: the main thread waits for its results
      // synchronously, so when the event loop is empty no work is pending.
      if (this.#pthread) this.unref();
      else super.ref();
    }
    override postMessage(value: unknown, transferList?: readonly unknown[]): void {
      if (this.#pthread && isLoadMessage(value) && typeof value.urlOrBlob !== 'string') {
        value = { ...value, urlOrBlob: gluePath };
      }
      super.postMessage(value, transferList);
    }
  }
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    enumerable: false,
    get: () => TfjsPthreadAwareWorker,
    set: () => {},
  });
  g[SHIM_MARK] = true;
}

function isLoadMessage(v: unknown): v is { cmd: 'load'; urlOrBlob: unknown } {
  return typeof v === 'object' && v !== null && (v as { cmd?: unknown }).cmd === 'load';
}
