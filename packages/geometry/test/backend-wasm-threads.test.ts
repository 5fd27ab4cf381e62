// wasm multithreading in Node (src/backend/wasm-threads.ts and the `wasmThreads` option of initBackend).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { build } from 'tsup';
import { afterAll, describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../src/errors.js';
import { initBackend } from '../src/backend/index.js';

const envBackend = process.env.GEOLIP_BACKEND!;
const onWasm = envBackend === 'wasm';
const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const envThreads = process.env.GEOLIP_WASM_THREADS;
const expectedThreads = Math.min(8, envThreads && envThreads !== 'auto' ? Number(envThreads) : cores);

describe('initBackend: wasmThreads validation', () => {
  it.each([0, -1, 2.5, Number.NaN])('rejects wasmThreads = %s with InvalidArgumentError', async (n) => {
    await expect(initBackend({ wasmThreads: n, log: () => {} })).rejects.toThrow(InvalidArgumentError);
  });

  it('rejects a malformed GEOLIP_WASM_THREADS, naming the variable', async () => {
    const saved = process.env.GEOLIP_WASM_THREADS;
    process.env.GEOLIP_WASM_THREADS = 'lots';
    try {
      await expect(initBackend({ log: () => {} })).rejects.toThrow(/GEOLIP_WASM_THREADS/);
    } finally {
      if (saved === undefined) delete process.env.GEOLIP_WASM_THREADS;
      else process.env.GEOLIP_WASM_THREADS = saved;
    }
  });
});

describe.skipIf(!onWasm)('initBackend: wasm threads in Node', () => {
  it('the test setup initialized wasm with SIMD and the default thread count (auto = cores, at most 8)', async () => {
    const info = await initBackend({ log: () => {} });
    expect(info.name).toBe('wasm');
    expect(info.wasm).toBeDefined();
    expect(info.wasm!.simd).toBe(true);
    expect(info.wasm!.threads).toBe(expectedThreads);
    expect(info.wasm!.multithreaded).toBe(expectedThreads > 1);
  });

  it('reports that the count is fixed once wasm is initialized', async () => {
    const info = await initBackend({ wasmThreads: expectedThreads === 1 ? 2 : 1, log: () => {} });
    expect(info.wasm!.threads).toBe(expectedThreads);
    if (envThreads === undefined) expect(info.wasm!.reason).toMatch(/already initialized/);
  });

  it('threaded matmul gives the same values as cpu', async () => {
    const a = Float32Array.from({ length: 300 * 200 }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: 200 * 100 }, (_, i) => Math.cos(i));
    const run = () =>
      tf.tidy(() =>
        tf
          .matMul(tf.tensor2d(a, [300, 200]), tf.tensor2d(b, [200, 100]))
          .dataSync()
          .slice(),
      );
    const w = run();
    await tf.setBackend('cpu');
    const c = run();
    await tf.setBackend('wasm');
    let err = 0;
    for (let i = 0; i < w.length; i++) err = Math.max(err, Math.abs(w[i]! - c[i]!) / Math.max(1, Math.abs(c[i]!)));
    expect(err).toBeLessThan(1e-5);
  });
});

// A script that uses threaded wasm must exit by itself: pthread workers must not keep Node alive.
describe.skipIf(!onWasm)('a Node script using threaded wasm', () => {
  const dir = path.resolve(__dirname, '..', '.tmp', `wasm-threads-exit-${process.pid}`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('initializes 2 threads, computes, and exits on its own (ESM and CommonJS builds)', async () => {
    mkdirSync(dir, { recursive: true });
    await build({
      config: false,
      entry: { backend: path.resolve(__dirname, '..', 'src', 'backend', 'index.ts') },
      format: ['esm', 'cjs'],
      outDir: dir,
      target: 'es2022',
      dts: false,
      sourcemap: false,
      clean: false,
      silent: true,
      external: [/^@tensorflow\//, 'webgpu'],
    });
    const body = `
      const info = await initBackend({ prefer: ['wasm'], wasmThreads: 2, log: () => {} });
      const a = tf.ones([256, 256]);
      const v = tf.matMul(a, a).dataSync()[0];
      console.log(JSON.stringify({ name: info.name, wasm: info.wasm, v }));`;
    writeFileSync(
      path.join(dir, 'main.mjs'),
      `import * as tf from '@tensorflow/tfjs-core';\nimport { initBackend } from './backend.js';\n${body}\n`,
    );
    writeFileSync(
      path.join(dir, 'main.cjs'),
      `const tf = require('@tensorflow/tfjs-core');\nconst { initBackend } = require('./backend.cjs');\n(async () => {${body}\n})();\n`,
    );
    for (const script of ['main.mjs', 'main.cjs']) {
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.GEOLIP_BACKEND;
      delete env.GEOLIP_WASM_THREADS;
      const r = spawnSync(process.execPath, [path.join(dir, script)], { encoding: 'utf8', timeout: 90_000, env });
      expect(r.signal, `${script} was killed (it did not exit): ${r.stderr}`).toBeNull();
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        name: string;
        wasm: { threads: number; multithreaded: boolean };
        v: number;
      };
      expect(out).toMatchObject({ name: 'wasm', v: 256 });
      expect(out.wasm.threads).toBe(2);
      expect(out.wasm.multithreaded).toBe(true);
    }
  }, 240_000);
});
