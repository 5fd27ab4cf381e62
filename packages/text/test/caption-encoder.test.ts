// CaptionEncoder: the card's parameter count, and weights written by PyTorch 2.11 (test/fixtures/gen_caption_fixture.py,
// run on the GPU machine) loaded from a .pt and from a safetensors file give PyTorch's embeddings.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { entryToTensor, readSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { CAPTION_BERT_CONFIG, CAPTION_BERT_V2_CONFIG, CaptionEncoder, captionEncoderParamCount } from '../src/index.js';

// Parameter counts of card-size models are shapes, the same on every backend; building a 25M-parameter model
// (random init) is slow, so these run once, on the cpu project.
const ONCE = process.env.GEOLIP_BACKEND === 'wasm';

const dir = join(__dirname, 'fixtures');
const io = readSafetensors(readFileSync(join(dir, 'caption-io.safetensors')), { copy: true });
const config = JSON.parse(io.metadata.config!);

describe('CaptionEncoder', () => {
  it.skipIf(ONCE)('has 25,958,016 parameters at the card config', () => {
    const m = new CaptionEncoder(CAPTION_BERT_CONFIG);
    expect(m.paramCount()).toBe(25_958_016);
    m.dispose();
  });

  it('captionEncoderParamCount: CaptionBERT v2 has 58,308,864 parameters (the card: "about 58.3M"), without allocating', () => {
    // Hand count at d 512, f 2048, 12 layers: embeddings (30,522 + 8,192)·512 = 19,821,568; per layer attention
    // 787,968 + 262,656, FFN 2,099,712, LayerNorms 2,048 = 3,152,384, ×12 = 37,828,608; final norm 1,024;
    // head 262,656 + 1,024 + 393,984 = 657,664.
    expect(19_821_568 + 37_828_608 + 1_024 + 657_664).toBe(58_308_864);
    expect(captionEncoderParamCount(CAPTION_BERT_V2_CONFIG)).toBe(58_308_864);
    expect(Math.round(captionEncoderParamCount(CAPTION_BERT_V2_CONFIG) / 1e5) / 10).toBe(58.3);
    expect(CAPTION_BERT_V2_CONFIG).toMatchObject({
      layers: 12,
      dModel: 512,
      heads: 8,
      ffDim: 2048,
      maxPositions: 8192,
      outDim: 768,
    });
    expect(captionEncoderParamCount(CAPTION_BERT_CONFIG)).toBe(25_958_016);
  });

  it('captionEncoderParamCount equals paramCount() of built models; refuses bad configs naming the field', () => {
    for (const c of [
      { ...config },
      { vocabSize: 50, maxPositions: 16, dModel: 8, heads: 2, ffDim: 12, layers: 3, outDim: 5 },
      { vocabSize: 7, maxPositions: 3, dModel: 6, heads: 3, ffDim: 4, layers: 1, outDim: 9 },
    ]) {
      const m = new CaptionEncoder(c);
      expect(captionEncoderParamCount(c)).toBe(m.paramCount());
      m.dispose();
    }
    expect(() => captionEncoderParamCount({ ...CAPTION_BERT_V2_CONFIG, layers: 0 })).toThrow(
      /captionEncoderParamCount: 'config.layers' must be a positive integer, got 0/,
    );
    expect(() => captionEncoderParamCount({ ...CAPTION_BERT_V2_CONFIG, anchorBank: {} })).toThrow(
      /captionEncoderParamCount: 'config.anchorBank'/,
    );
  });

  for (const file of ['caption.pt', 'caption.safetensors']) {
    it(`loads ${file} (written by PyTorch) and reproduces PyTorch's embeddings to 1e-5`, async () => {
      const m = await CaptionEncoder.fromPretrained(join(dir, file), config);
      const ids = entryToTensor(io.tensors.ids!) as tf.Tensor2D;
      const mask = entryToTensor(io.tensors.mask!);
      const got = m.forward(ids, mask).dataSync();
      const expected = io.tensors.expected!.data as Float32Array;
      expect(got.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-5);
      expect(m.paramCount()).toBe(23_568);
      m.dispose();
    });
  }

  it('refuses a file with a missing key, naming it', () => {
    const m = new CaptionEncoder(config);
    const st = readFileSync(join(dir, 'caption.safetensors'));
    const { tensors } = readSafetensors(st, { copy: true });
    delete tensors['head.3.bias'];
    const dict = Object.fromEntries(Object.entries(tensors).map(([k, e]) => [k, entryToTensor(e)]));
    expect(() => m.loadStateDict(dict)).toThrow(/head\.3\.bias/);
    expect(() => m.loadWeights(new Uint8Array([1, 2]))).toThrow(FormatError);
    expect(() => new CaptionEncoder({ ...config, heads: 0 })).toThrow(/config\.heads/);
    m.dispose();
  });
});
