// Issue 26, NaN/Inf policy: a loaded model whose output turns non-finite raises a NonFiniteError naming the model
// (its name: the registry's shipped name or the file's `geolip.name`), never a silent NaN embedding.
import * as tf from '@tensorflow/tfjs-core';
import { GeolipError, NonFiniteError } from '@geolip/geometry';
import { type SafetensorInput, writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CaptionEncoder, SentenceEmbedder, loadBertUncasedTokenizer } from '../src/index.js';
import type { CaptionEncoderConfig } from '../src/index.js';

const CONFIG: CaptionEncoderConfig = {
  vocabSize: 30522,
  maxPositions: 16,
  dModel: 16,
  heads: 2,
  ffDim: 32,
  layers: 1,
  outDim: 8,
};

let bytes: Uint8Array;

beforeAll(() => {
  const model = new CaptionEncoder(CONFIG, { seed: 5 });
  const sd = model.stateDict();
  const tensors: Record<string, SafetensorInput> = {};
  for (const [k, v] of Object.entries(sd))
    tensors[k] = { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
  tf.dispose(Object.values(sd));
  model.dispose();
  bytes = writeSafetensors(tensors, {
    'geolip.model': 'caption-encoder',
    'geolip.config': JSON.stringify(CONFIG),
    'geolip.name': 'tiny-student',
    'geolip.maxLength': '12',
  });
});

/** Sets every entry of the weight `name` (or one row of it) to `value`, after loading. */
function poison(emb: SentenceEmbedder, name: string, value: number, row?: number): void {
  const w = emb.model.getWeights()[name];
  if (w === undefined) throw new Error(`no weight ${name}: ${Object.keys(emb.model.getWeights()).join(', ')}`);
  const data = w.dataSync().slice() as Float32Array;
  if (row === undefined) data.fill(value);
  else {
    const width = w.shape[1]!;
    data.fill(value, row * width, (row + 1) * width);
  }
  const t = tf.tensor(data, w.shape);
  w.assign(t);
  t.dispose();
}

describe('SentenceEmbedder.embed: non-finite output', () => {
  let emb: SentenceEmbedder;
  beforeAll(async () => {
    emb = await SentenceEmbedder.fromWeights(bytes, { batchSize: 2 });
  });
  afterAll(() => emb.dispose());

  it('embeds finite unit rows before the weights are poisoned', async () => {
    const rows = await emb.embed(['a dog runs', 'hi']);
    expect(rows.length).toBe(16);
    for (let r = 0; r < 2; r++) {
      let n = 0;
      for (let j = 0; j < 8; j++) n += rows[r * 8 + j]! ** 2;
      expect(n).toBeCloseTo(1, 5);
    }
  });

  it("a NaN head bias: NonFiniteError naming the op, the output and the model's name", async () => {
    poison(emb, 'head.3.bias', NaN);
    const before = tf.memory().numTensors;
    const err = await emb.embed(['a dog runs', 'hi', 'two men play chess']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(GeolipError.isInstance(err)).toBe(true);
    const e = err as NonFiniteError;
    expect(e.op).toBe('SentenceEmbedder.embed');
    expect(e.model).toBe('tiny-student');
    expect(e.argument).toBe('embedding');
    // Batch of 2 (the two shortest sentences) fails first: all 16 values are NaN.
    expect(e.count).toBe(16);
    expect(e.message).toBe(
      "SentenceEmbedder.embed: model 'tiny-student' returned 16 non-finite value(s) in 'embedding' " +
        `(first at flat index ${e.firstIndex})`,
    );
    // The failing batch's tensors are freed.
    expect(tf.memory().numTensors).toBe(before);
  });

  it('one token row set to Infinity: the error points at the first affected sentence, in input order', async () => {
    const other = await SentenceEmbedder.fromWeights(bytes, { batchSize: 8, name: 'renamed' });
    try {
      const tok = await loadBertUncasedTokenizer();
      const [dog] = tok.encode('dog').inputIds.slice(1, 2);
      poison(other, 'encoder.token_emb.weight', Infinity, dog);
      const err = await other.embed(['a cat sleeps', 'hello there', 'a dog runs']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonFiniteError);
      const e = err as NonFiniteError;
      expect(e.model).toBe('renamed');
      expect(e.count).toBe(8); // only the third sentence's row
      expect(e.firstIndex).toBe(2 * 8);
      // The sentences without the token still embed.
      const ok = await other.embed(['a cat sleeps', 'hello there']);
      expect(ok.every((v) => Number.isFinite(v))).toBe(true);
    } finally {
      other.dispose();
    }
  });
});
