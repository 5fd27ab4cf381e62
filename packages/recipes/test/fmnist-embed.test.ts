// The fmnist-embed recipe (issue 20; `tools/vision/fmnist-weights.mjs embed` calls the same function): a Dual-Stream
// weights file's unit embeddings of every image of each split, in Fashion-MNIST order, readable as fmnist-david's
// features files; the `splits` and `rows` options; its config errors.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DualStreamViT, FashionMnistClassifier } from '@geolip/vision';
import type { DualStreamViTConfig } from '@geolip/vision';
import { loadFashionMnist } from '@geolip/vision/io';
import { float32StateEntries, tinyDualStreamViTConfig } from '@geolip/vision/testing';
import { readSafetensors, toFloat32, writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RECIPES } from '../src/registry.js';
import { embedFashionMnist, parseFmnistEmbedConfig } from '../src/recipes/fmnist-embed.js';
import { readEmbeddingsFile } from '../src/recipes/embeddings.js';
import { runRecipe, writeFashionMnistSplit } from './helpers.js';

const TINY: DualStreamViTConfig = tinyDualStreamViTConfig(10);
const N_TRAIN = 23;
const N_TEST = 11;

let dir: string;
let weightsFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-fmnist-embed-'));
  await writeFashionMnistSplit(dir, 'train', N_TRAIN);
  await writeFashionMnistSplit(dir, 't10k', N_TEST);
  const model = new DualStreamViT(TINY, { seed: 3 });
  const tensors = float32StateEntries(model);
  model.dispose();
  weightsFile = join(dir, 'model.safetensors');
  await writeFile(
    weightsFile,
    writeSafetensors(tensors, { 'geolip.model': 'dual-stream', 'geolip.config': JSON.stringify(TINY) }),
  );
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The `embeddings` tensor of a file: shape and float32 values. */
async function readEmbeddings(
  file: string,
): Promise<{ shape: number[]; data: Float32Array; meta: Record<string, string> }> {
  const { tensors, metadata } = readSafetensors(new Uint8Array(await readFile(file)));
  const t = tensors.embeddings!;
  expect(t.dtype).toBe('F32');
  return { shape: [...t.shape], data: toFloat32(t), meta: metadata };
}

describe('geolip-train run fmnist-embed', () => {
  it('is registered', () => expect(Object.keys(RECIPES)).toContain('fmnist-embed'));

  it('writes every image of both splits, in order, as unit rows the classifier gives one image at a time', async () => {
    // batchSize 4 splits each split into several forward passes (23 = 5·4 + 3): the rows must not depend on it.
    const r = await runRecipe('fmnist-embed', dir, { weights: 'model.safetensors', data: dir, batchSize: 4 }, 'emb');
    expect(r.code, r.stderr).toBe(0);
    const clf = await FashionMnistClassifier.fromWeights(new Uint8Array(await readFile(weightsFile)));
    try {
      for (const [split, n] of [
        ['train', N_TRAIN],
        ['test', N_TEST],
      ] as const) {
        const file = join(dir, 'emb', `embeddings-${split}.safetensors`);
        const { shape, data, meta } = await readEmbeddings(file);
        expect(shape).toEqual([n, TINY.outDim]);
        expect(meta).toMatchObject({ source: weightsFile, split, normalized: 'true' });
        const D = TINY.outDim;
        const images = (await loadFashionMnist(split, { dir })).images;
        for (const i of [0, 5, n - 1]) {
          const row = data.subarray(i * D, (i + 1) * D);
          expect(Math.hypot(...row)).toBeCloseTo(1, 5);
          const [one] = await clf.classify(images.subarray(i * 784, (i + 1) * 784), { batchSize: 1 });
          for (let j = 0; j < D; j++) expect(row[j]).toBeCloseTo(one!.embedding[j]!, 5);
        }
        // fmnist-david's reader takes the file: one row per image of the split.
        const read = readEmbeddingsFile('fmnist-david', `features.${split}`, file);
        expect([read.rows, read.cols]).toEqual([n, D]);
      }
    } finally {
      clf.dispose();
    }
    const result = JSON.parse(await readFile(join(dir, 'emb', 'result.json'), 'utf8'));
    expect(result).toMatchObject({ recipe: 'fmnist-embed', weights: weightsFile });
    expect(result.command).toMatch(/^geolip-train run fmnist-embed --config .*emb\.json --out .*emb$/);
    expect(Object.keys(result.machine)).toEqual(['cpu', 'cores', 'node', 'tfjs', 'backend']);
    expect(result.files.map((f: { split: string; rows: number }) => [f.split, f.rows])).toEqual([
      ['train', N_TRAIN],
      ['test', N_TEST],
    ]);
  });

  it('embeds only the named splits and the first `rows` images', async () => {
    const out = join(dir, 'part');
    const progress: string[] = [];
    // chunkRows 4: the file holds the first 4 rows (complete: false) before the last 2 are done.
    const files = await embedFashionMnist(
      parseFmnistEmbedConfig({ weights: weightsFile, data: dir, splits: ['test'], rows: 6, chunkRows: 4 }, dir),
      out,
      (split, done, total) => {
        const { tensors, metadata } = readSafetensors(readFileSync(join(out, 'embeddings-test.safetensors')));
        progress.push(`${split} ${done}/${total}: ${tensors.embeddings!.shape[0]} rows, complete ${metadata.complete}`);
      },
    );
    expect(files.map((f) => [f.split, f.rows, f.complete, f.dim])).toEqual([['test', 6, true, TINY.outDim]]);
    expect(progress).toEqual(['test 4/6: 4 rows, complete false', 'test 6/6: 6 rows, complete true']);
    expect(existsSync(join(out, 'embeddings-train.safetensors'))).toBe(false);
    const full = await readEmbeddings(join(dir, 'emb', 'embeddings-test.safetensors'));
    const part = await readEmbeddings(join(out, 'embeddings-test.safetensors'));
    expect(part.shape).toEqual([6, TINY.outDim]);
    for (let j = 0; j < part.data.length; j++) expect(part.data[j]).toBeCloseTo(full.data[j]!, 5);
  });

  it('stops after the chunk during which the signal aborts, keeping the rows done, and starts no other split', async () => {
    const out = join(dir, 'stopped');
    const controller = new AbortController();
    const files = await embedFashionMnist(
      parseFmnistEmbedConfig({ weights: weightsFile, data: dir, chunkRows: 5 }, dir),
      out,
      (_split, done) => {
        if (done === 10) controller.abort('test');
      },
      controller.signal,
    );
    expect(files.map((f) => [f.split, f.rows, f.complete])).toEqual([['train', 10, false]]);
    const { shape, meta } = await readEmbeddings(join(out, 'embeddings-train.safetensors'));
    expect(shape).toEqual([10, TINY.outDim]);
    expect(meta.complete).toBe('false');
    expect(existsSync(join(out, 'embeddings-test.safetensors'))).toBe(false);
  });

  it('validates its config and names the unreadable weights file', async () => {
    expect(() => parseFmnistEmbedConfig({}, '/')).toThrow(/fmnist-embed config: missing field 'weights'/);
    expect(() => parseFmnistEmbedConfig({ weights: 'w', epochs: 1 }, '/')).toThrow(/unknown field 'epochs'/);
    expect(() => parseFmnistEmbedConfig({ weights: 'w', splits: ['val'] }, '/')).toThrow(
      /'splits' must be a non-empty array of distinct "train" \/ "test", got \["val"\]/,
    );
    expect(() => parseFmnistEmbedConfig({ weights: 'w', splits: ['test', 'test'] }, '/')).toThrow(/'splits'/);
    expect(() => parseFmnistEmbedConfig({ weights: 'w', rows: -1 }, '/')).toThrow(/'rows'/);
    expect(() => parseFmnistEmbedConfig({ weights: 'w', chunkRows: 0 }, '/')).toThrow(/'chunkRows'/);
    expect(parseFmnistEmbedConfig({ weights: 'w.safetensors' }, '/x')).toMatchObject({
      weights: '/x/w.safetensors',
      splits: ['train', 'test'],
      rows: 0,
      batchSize: 250,
      chunkRows: 2000,
    });
    await expect(
      embedFashionMnist(parseFmnistEmbedConfig({ weights: 'missing.safetensors', data: dir }, dir), join(dir, 'x')),
    ).rejects.toThrow(/fmnist-embed.*'weights' .*missing.safetensors cannot be read \(ENOENT\)/);
  });
});
