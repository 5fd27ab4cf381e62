import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { BackendError, GeolipError, InvalidArgumentError } from '../../src/errors.js';
import { initBackend } from '../../src/backend/index.js';

const envBackend = process.env.GEOLIP_BACKEND!;

afterEach(async () => {
  process.env.GEOLIP_BACKEND = envBackend;
  await initBackend({ log: () => {} });
});

describe('initBackend', () => {
  it('the test setup selected the backend of this vitest project, with gradients', () => {
    expect(['cpu', 'wasm']).toContain(envBackend);
    expect(tf.getBackend()).toBe(envBackend);
    const g = tf.grad((x) => tf.sum(tf.square(x)))(tf.tensor1d([1, -2]));
    expect(Array.from(g.dataSync())).toEqual([2, -4]);
  });

  it('GEOLIP_BACKEND overrides options.prefer', async () => {
    process.env.GEOLIP_BACKEND = 'cpu';
    const info = await initBackend({ prefer: ['wasm'], log: () => {} });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('follows prefer when GEOLIP_BACKEND is unset, and reports precision and gradients', async () => {
    delete process.env.GEOLIP_BACKEND;
    const info = await initBackend({ prefer: ['wasm', 'cpu'], log: () => {} });
    expect(info).toMatchObject({ name: 'wasm', floatPrecision: 32, gradients: true, skipped: [] });
  });

  it('falls back past an unavailable tensorflow backend and logs why', async () => {
    delete process.env.GEOLIP_BACKEND;
    const logs: string[] = [];
    const info = await initBackend({ prefer: ['tensorflow', 'cpu'], log: (m) => logs.push(m) });
    expect(info.name).toBe('cpu');
    expect(info.skipped[0]?.name).toBe('tensorflow');
    expect(info.skipped[0]?.reason).toMatch(/@tensorflow\/tfjs-node/);
    expect(logs.join('\n')).toMatch(/backend 'tensorflow' skipped/);
  });

  it('defaults to wasm in Node here (no tfjs-node, no hardware WebGPU adapter)', async () => {
    delete process.env.GEOLIP_BACKEND;
    const info = await initBackend({ log: () => {} });
    expect(info.name).toBe('wasm');
    const webgpu = info.skipped.find((s) => s.name === 'webgpu');
    expect(webgpu?.reason).toMatch(/no Vulkan loader|no WebGPU adapter|only a software adapter/);
  });

  it('probes webgpu when asked explicitly, and falls back with the reason when no adapter answers', async () => {
    delete process.env.GEOLIP_BACKEND;
    const info = await initBackend({ prefer: ['webgpu', 'cpu'], log: () => {} });
    if (info.name === 'webgpu') expect(info.adapter).toBeTruthy();
    else
      expect(info.skipped[0]).toMatchObject({ name: 'webgpu', reason: expect.stringMatching(/adapter|not loadable/) });
  });

  it('webgl is refused in Node with a reason', async () => {
    delete process.env.GEOLIP_BACKEND;
    const info = await initBackend({ prefer: ['webgl', 'cpu'], log: () => {} });
    expect(info.skipped).toEqual([{ name: 'webgl', reason: 'webgl needs a browser (no WebGL context in Node)' }]);
  });

  it('throws BackendError listing every attempt when nothing initializes', async () => {
    delete process.env.GEOLIP_BACKEND;
    const err = await initBackend({ prefer: ['webgl', 'tensorflow'], log: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(GeolipError.isInstance(err)).toBe(true);
    expect((err as BackendError).attempts.map((a) => a.name)).toEqual(['webgl', 'tensorflow']);
    expect(String(err)).toMatch(/initBackend: no backend could be initialized; tried webgl, tensorflow/);
  });

  it('rejects unknown names in prefer and in GEOLIP_BACKEND', async () => {
    await expect(initBackend({ prefer: ['tpu' as never] })).rejects.toThrow(
      /initBackend: 'prefer' names an unknown backend 'tpu'/,
    );
    await expect(initBackend({ prefer: [] })).rejects.toThrow(InvalidArgumentError);
    process.env.GEOLIP_BACKEND = 'cpu,metal';
    await expect(initBackend()).rejects.toThrow(/initBackend: 'GEOLIP_BACKEND' names an unknown backend 'metal'/);
  });
});
