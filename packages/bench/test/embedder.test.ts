import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { GeolipError, InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';
import { builtinModels, cosineRows, embedAll, loadModel, type Embedder } from '../src/embedder.js';

const require = createRequire(import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/embedder/${name}`, import.meta.url));

/** Embeds "s<i>" strings as [i, i+1, i+2]; records the batch sizes it saw. */
function counting(kind: 'array' | 'tensor' = 'array'): Embedder & { batches: number[] } {
  const batches: number[] = [];
  return {
    name: 'counter',
    dim: 3,
    batches,
    async embed(inputs) {
      batches.push(inputs.length);
      const out = new Float32Array(inputs.length * 3);
      inputs.forEach((s, r) => {
        const i = Number(s.slice(1));
        out.set([i, i + 1, i + 2], r * 3);
      });
      return kind === 'tensor' ? tf.tensor2d(out, [inputs.length, 3]) : out;
    },
  };
}

/** An embedder returning whatever `make(batchSize)` gives. */
function faulty(make: (b: number) => tf.Tensor | Float32Array, name = 'glove-avg', dim = 100): Embedder {
  return { name, dim, embed: async (inputs) => make(inputs.length) as tf.Tensor2D | Float32Array };
}

const inputs = Array.from({ length: 10 }, (_, i) => `s${i}`);

describe('embedAll', () => {
  it.each([1, 3, 4, 10, 64])('batchSize %i keeps rows in input order', async (batchSize) => {
    const m = counting();
    const out = await embedAll(m, inputs, { batchSize });
    expect(out.length).toBe(30);
    for (let i = 0; i < 10; i++) expect(Array.from(out.subarray(3 * i, 3 * i + 3))).toEqual([i, i + 1, i + 2]);
    expect(m.batches.reduce((a, b) => a + b)).toBe(10);
    expect(m.batches.every((b) => b <= batchSize)).toBe(true);
    expect(m.batches.length).toBe(Math.ceil(10 / batchSize));
  });

  it('defaults to batches of 64 and reports progress', async () => {
    const m = counting();
    const many = Array.from({ length: 150 }, (_, i) => `s${i}`);
    const progress: [number, number][] = [];
    await embedAll(m, many, { onProgress: (d, t) => progress.push([d, t]) });
    expect(m.batches).toEqual([64, 64, 22]);
    expect(progress).toEqual([
      [64, 150],
      [128, 150],
      [150, 150],
    ]);
  });

  it('reads and disposes tensor results', async () => {
    const before = tf.memory().numTensors;
    const out = await embedAll(counting('tensor'), inputs, { batchSize: 4 });
    expect(Array.from(out.subarray(27))).toEqual([9, 10, 11]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('returns an empty array for no inputs without calling the model', async () => {
    const m = counting();
    expect((await embedAll(m, [])).length).toBe(0);
    expect(m.batches).toEqual([]);
  });

  it('rejects bad batch sizes', async () => {
    for (const batchSize of [0, -1, 1.5, Number.NaN]) {
      await expect(embedAll(counting(), inputs, { batchSize })).rejects.toThrow(InvalidArgumentError);
    }
  });

  it('names the model when a batch has the wrong row count', async () => {
    const m = faulty((b) => new Float32Array((b - 1) * 100));
    const err = await embedAll(m, ['a', 'b', 'c', 'd']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShapeError);
    expect(GeolipError.isInstance(err)).toBe(true);
    expect((err as Error).message).toContain("embedAll: model 'glove-avg' returned 3 rows for a batch of 4");
  });

  it('names the model when a tensor batch has the wrong row count and still disposes it', async () => {
    const before = tf.memory().numTensors;
    const m = faulty((b) => tf.zeros([b - 1, 100]));
    await expect(embedAll(m, ['a', 'b', 'c', 'd'])).rejects.toThrow(
      "model 'glove-avg' returned 3 rows for a batch of 4",
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the model when the width differs from dim', async () => {
    await expect(
      embedAll(
        faulty((b) => tf.zeros([b, 99])),
        ['a', 'b'],
      ),
    ).rejects.toThrow("embedAll: model 'glove-avg' returned width 99, declared dim 100");
    await expect(
      embedAll(
        faulty((b) => new Float32Array(b * 100 + 1)),
        ['a', 'b'],
      ),
    ).rejects.toThrow(/model 'glove-avg' returned 201 values for a batch of 2/);
    await expect(
      embedAll(
        faulty((b) => tf.zeros([b, 100, 1])),
        ['a'],
      ),
    ).rejects.toThrow(ShapeError);
  });

  it('names the model and the row on NaN or Infinity', async () => {
    const withBad = (value: number) => {
      let call = 0;
      return faulty((b) => {
        const out = new Float32Array(b * 100);
        if (call++ === 1) out[3 * 100 + 5] = value; // row 3 of the second batch → row 7
        return out;
      });
    };
    const err = await embedAll(withBad(Number.NaN), inputs.slice(0, 8), { batchSize: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as Error).message).toContain("embedAll: model 'glove-avg' returned NaN in row 7");
    expect((err as NonFiniteError).firstIndex).toBe(705);
    await expect(embedAll(withBad(Number.POSITIVE_INFINITY), inputs.slice(0, 8), { batchSize: 4 })).rejects.toThrow(
      "model 'glove-avg' returned Infinity in row 7",
    );
  });

  it('rejects results that are neither tensors nor Float32Arrays', async () => {
    const m = faulty(() => [1, 2] as unknown as Float32Array, 'weird', 2);
    await expect(embedAll(m, ['a'])).rejects.toThrow(/model 'weird' must return/);
  });
});

describe('cosineRows', () => {
  it('computes row cosines and maps zero rows to 0', () => {
    const a = new Float32Array([1, 0, 0, 0, 3, 4]);
    const b = new Float32Array([1, 1, 5, 5, 3, 4]);
    const c = cosineRows(a, b, 3, 2);
    expect(c).toBeInstanceOf(Float64Array);
    expect(c[0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(c[1]).toBe(0);
    expect(c[2]).toBeCloseTo(1, 12);
  });

  it('checks lengths', () => {
    expect(() => cosineRows(new Float32Array(4), new Float32Array(3), 2, 2)).toThrow(ShapeError);
    expect(() => cosineRows(new Float32Array(4), new Float32Array(4), 2, 0)).toThrow(InvalidArgumentError);
  });
});

describe('loadModel', () => {
  it('lists the builtin models', () => {
    expect(Object.keys(builtinModels).sort()).toEqual(['geolip-text', 'glove-avg', 'use-lite']);
    for (const m of Object.values(builtinModels)) expect(m.description.length).toBeGreaterThan(10);
  });

  it('rejects an unknown name and lists the valid ones', async () => {
    const err = await loadModel('bert-huge').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toContain("'glove-avg'");
    expect((err as Error).message).toContain("'use-lite'");
    await expect(loadModel('')).rejects.toThrow(InvalidArgumentError);
  });

  it('rejects a missing file', async () => {
    await expect(loadModel('./does/not/exist.mjs')).rejects.toThrow(/does not exist/);
  });

  it('loads a module whose default export is a factory', async () => {
    const m = await loadModel(fixture('factory-model.mjs'));
    expect(m.name).toBe('fixture-length');
    expect(Array.from(await embedAll(m, ['ab', 'abcd']))).toEqual([2, 1, 4, 1]);
  });

  it('loads a module whose default export is an embedder', async () => {
    const m = await loadModel(fixture('object-model.mjs'));
    expect(m.name).toBe('fixture-object');
    expect(m.dim).toBe(1);
  });

  it("loads 'geolip-text' (the student bundled with @geolip/text) and a .safetensors path of the same format", async () => {
    const byName = await loadModel('geolip-text');
    expect(byName.name).toBe('geolip-text');
    expect(byName.dim).toBe(100);
    const path = join(dirname(require.resolve('@geolip/text/package.json')), 'weights', 'geolip-text.safetensors');
    const byPath = await loadModel(path);
    expect(byPath.name).toBe('geolip-text');
    const [a, b] = [await embedAll(byName, ['A dog runs.']), await embedAll(byPath, ['A dog runs.'])];
    expect(Array.from(b)).toEqual(Array.from(a));
    byName.dispose?.();
    byPath.dispose?.();
    await expect(loadModel('./missing/model.safetensors')).rejects.toThrow(/does not exist/);
  });

  it('rejects a module whose default export is not an embedder', async () => {
    await expect(loadModel(fixture('not-a-model.mjs'))).rejects.toThrow(/must default-export an Embedder/);
  });
});
