import { existsSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { type SafetensorInput, writeSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CaptionEncoder,
  SentenceEmbedder,
  loadBertUncasedTokenizer,
  loadGeolipText,
  shippedTextWeightsPath,
  toTensors,
} from '../src/index.js';
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

function weightsFile(model: CaptionEncoder, meta: Record<string, string>): Uint8Array {
  const sd = model.stateDict();
  const tensors: Record<string, SafetensorInput> = {};
  for (const [k, v] of Object.entries(sd))
    tensors[k] = { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
  tf.dispose(Object.values(sd));
  return writeSafetensors(tensors, meta);
}

const META = {
  'geolip.model': 'caption-encoder',
  'geolip.config': JSON.stringify(CONFIG),
  'geolip.tokenizer': 'bert-base-uncased',
  'geolip.maxLength': '12',
};
let model: CaptionEncoder;
let bytes: Uint8Array;

beforeAll(() => {
  model = new CaptionEncoder(CONFIG, { seed: 3 });
  bytes = weightsFile(model, META);
});
afterAll(() => model.dispose());

describe('SentenceEmbedder', () => {
  it('embeds like the encoder it was saved from, in input order whatever the batching', async () => {
    const texts = [
      'a dog runs on the beach',
      '',
      'two men are playing chess in the park today',
      'hi',
      'a very long sentence '.repeat(10),
    ];
    const emb = await SentenceEmbedder.fromWeights(bytes, { batchSize: 2 });
    expect(emb.dim).toBe(8);
    expect(emb.maxLength).toBe(12);
    expect(emb.params).toBe(model.paramCount());
    const got = await emb.embed(texts);
    const tok = await loadBertUncasedTokenizer();
    for (const [i, t] of texts.entries()) {
      const { inputIds, attentionMask } = toTensors(tok.encodeBatch([t], { maxLength: 12 }));
      const want = model.forward(inputIds, attentionMask).dataSync();
      for (let j = 0; j < 8; j++) expect(got[i * 8 + j]).toBeCloseTo(want[j]!, 5);
      tf.dispose([inputIds, attentionMask]);
    }
    // Over-long input is truncated at maxLength: the same row as its first 10 word pieces.
    const cut = await emb.embed(['a very long sentence '.repeat(3)]);
    for (let j = 0; j < 8; j++) expect(cut[j]).toBeCloseTo(got[4 * 8 + j]!, 5);
    expect((await emb.embed([])).length).toBe(0);
    emb.dispose();
  });

  it('loads the same weights from a data: URL (a URL is fetched: readBinarySource)', async () => {
    const a = await SentenceEmbedder.fromWeights(bytes);
    const b = await SentenceEmbedder.fromWeights(
      new URL(`data:application/octet-stream;base64,${Buffer.from(bytes).toString('base64')}`),
    );
    const [ra, rb] = [await a.embed(['a dog runs']), await b.embed(['a dog runs'])];
    expect(Array.from(rb)).toEqual(Array.from(ra));
    a.dispose();
    b.dispose();
  });

  it('refuses bad input with typed errors naming the argument', async () => {
    const emb = await SentenceEmbedder.fromWeights(bytes);
    await expect(emb.embed('a dog' as unknown as string[])).rejects.toThrow(InvalidArgumentError);
    await expect(emb.embed(['ok', 42 as unknown as string])).rejects.toThrow(
      /texts\[1\]' must be a string, got number/,
    );
    await expect(emb.embed([null as unknown as string])).rejects.toThrow(/got null/);
    emb.dispose();
    await expect(SentenceEmbedder.fromWeights(bytes, { batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(SentenceEmbedder.fromWeights('/nonexistent/w.safetensors')).rejects.toThrow(
      /cannot read \/nonexistent/,
    );
    await expect(SentenceEmbedder.fromWeights(42 as unknown as Uint8Array)).rejects.toThrow(InvalidArgumentError);
  });

  it('refuses files without the encoder metadata or with weights that do not fit it', async () => {
    const other = weightsFile(model, { ...META, 'geolip.model': 'vit' });
    await expect(SentenceEmbedder.fromWeights(other)).rejects.toThrow(FormatError);
    await expect(
      SentenceEmbedder.fromWeights(weightsFile(model, { 'geolip.model': 'caption-encoder' })),
    ).rejects.toThrow(/geolip.config/);
    await expect(
      SentenceEmbedder.fromWeights(weightsFile(model, { ...META, 'geolip.maxLength': '99' })),
    ).rejects.toThrow(/geolip.maxLength/);
    const wider = weightsFile(model, { ...META, 'geolip.config': JSON.stringify({ ...CONFIG, dModel: 32 }) });
    await expect(SentenceEmbedder.fromWeights(wider)).rejects.toThrow(/shape/);
  });
});

const BUNDLED = join(__dirname, '..', 'weights', 'geolip-text.safetensors');
describe.skipIf(!existsSync(BUNDLED))('loadGeolipText (bundled weights)', () => {
  let emb: SentenceEmbedder;
  beforeAll(async () => {
    emb = await loadGeolipText({ runtime: 'tfjs' });
  });
  afterAll(() => emb?.dispose());

  it('shippedTextWeightsPath: the bundled file by its shipped name; an unknown name is refused', async () => {
    const { realpathSync } = await import('node:fs');
    expect(realpathSync(await shippedTextWeightsPath())).toBe(realpathSync(BUNDLED));
    expect(await shippedTextWeightsPath('geolip-text')).toBe(await shippedTextWeightsPath());
    await expect(shippedTextWeightsPath('geolip-txt')).rejects.toThrow(InvalidArgumentError);
    await expect(shippedTextWeightsPath('geolip-txt')).rejects.toThrow(/shippedTextWeightsPath.*name.*geolip-text/s);
  });

  it('loads the shipped model: name, width, parameter count, training metadata', () => {
    expect(emb.name).toBe('geolip-text');
    expect(emb.dim).toBe(100);
    expect(emb.params).toBe(11_081_572);
    // The consensus-distilled student (text-consensus), fine-tuned with CoSENT on STS-B train + SICK train (text-cosent, issue 22).
    expect(emb.metadata.raw['geolip.type']).toBe('text/caption-encoder');
    const extra = JSON.parse(emb.metadata.raw['geolip.extra']!) as Record<string, unknown>;
    expect(extra).toMatchObject({
      recipe: 'text-cosent',
      step: 594,
      valSpearman: 77.34,
      experts: 'use-lite,glove-avg',
    });
    expect(extra.base).toMatchObject({
      id: 'file:68c8c1487b4b837e8551b30922f465be0981ece81188d736b3f9336a688dafaf',
      recipe: 'text-consensus',
      experts: 'use-lite,glove-avg',
      steps: 6179,
      sha256: '68c8c1487b4b837e8551b30922f465be0981ece81188d736b3f9336a688dafaf',
    });
  });

  it('ranks paraphrases above unrelated sentences (STS-B dev pairs scored 5.0 and 0.0)', async () => {
    const pairs = [
      ['A man is playing the cello.', 'A man seated is playing the cello.'],
      ['A woman is slicing an onion.', 'A woman is cutting an onion.'],
      ['A man is playing the guitar.', 'A woman is slicing a tomato.'],
      ['A plane is taking off.', 'A cat is sleeping on the sofa.'],
    ];
    const rows = await emb.embed(pairs.flat());
    const cos = pairs.map((_, p) => {
      let s = 0;
      for (let j = 0; j < 100; j++) s += rows[2 * p * 100 + j]! * rows[(2 * p + 1) * 100 + j]!;
      return s;
    });
    expect(Math.min(cos[0]!, cos[1]!)).toBeGreaterThan(Math.max(cos[2]!, cos[3]!) + 0.2);
  });
});
