// The shipped text model exported to the transformers.js layout, then run three ways against tfjs
// (loadGeolipText().embed on the project's backend): onnxruntime-node on onnx/model.onnx, transformers.js's
// feature-extraction pipeline on the folder (offline), and loadGeolipText({ runtime: 'ort' }).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { env, pipeline } from '@huggingface/transformers';
import { loadGeolipText } from '@geolip/text';
import { OrtSentenceEmbedder } from '@geolip/text/ort';
import type { SentenceEmbedder } from '@geolip/text';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { exportTextModel } from '../src/index.js';

const TEXTS = [
  'A dog runs on the beach.',
  'A puppy is running by the sea.',
  '',
  'Stock markets fell sharply today after new tariffs on café imports — naïve, wasn’t it?',
  'UNAFFABLE words: supercalifragilisticexpialidocious, 東京, emoji 🙂 and [SEP] literal.',
  'x '.repeat(200), // truncated at the model's maxLength
];

let dir: string;
let tfjs: SentenceEmbedder;
let reference: Float32Array;

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

beforeAll(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'geolip-export-')), 'geolip-text');
  const lines: string[] = [];
  await exportTextModel({ outDir: dir, variants: ['fp32', 'fp16', 'q8'], onProgress: (l) => lines.push(l) });
  expect(lines[0]).toBe('reading shipped geolip-text');
  tfjs = await loadGeolipText({ runtime: 'tfjs' });
  reference = await tfjs.embed(TEXTS);
});

afterAll(() => {
  tfjs?.dispose();
  rmSync(dirname(dir), { recursive: true, force: true });
});

describe('exportTextModel (shipped geolip-text)', () => {
  it('writes the transformers.js layout with the model sizes in config.json', () => {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.model_type).toBe('bert');
    expect(config.geolip.embedding_dim).toBe(tfjs.dim);
    expect(config.geolip.max_length).toBe(tfjs.maxLength);
    expect(config.geolip.params).toBe(tfjs.params);
    const tc = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(tc.model_max_length).toBe(1e30); // no tokenizer limit: the graph truncates (next tests)
    const tok = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    expect(Object.keys(tok.model.vocab)).toHaveLength(tfjs.tokenizer.vocabSize);
  });

  it('onnxruntime-node on onnx/model.onnx matches loadGeolipText().embed to 1e-5, padded batches included', async () => {
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'));
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask']);
    expect(session.outputNames).toEqual(['sentence_embedding', 'last_hidden_state']);
    // one padded batch of all texts, in input order (the tfjs embedder sorts by length; the graph must not care)
    const enc = TEXTS.map((t) => tfjs.tokenizer.encode(t, { maxLength: tfjs.maxLength }).inputIds);
    const len = Math.max(...enc.map((e) => e.length));
    const ids = new BigInt64Array(TEXTS.length * len);
    const mask = new BigInt64Array(TEXTS.length * len);
    enc.forEach((e, i) =>
      e.forEach((id, j) => {
        ids[i * len + j] = BigInt(id);
        mask[i * len + j] = 1n;
      }),
    );
    const dims = [TEXTS.length, len];
    const out = await session.run({
      input_ids: new ort.Tensor('int64', ids, dims),
      attention_mask: new ort.Tensor('int64', mask, dims),
    });
    expect(out.sentence_embedding!.dims).toEqual([TEXTS.length, tfjs.dim]);
    expect(maxAbsDiff(out.sentence_embedding!.data as Float32Array, reference)).toBeLessThan(1e-5);
    expect(Array.from(out.last_hidden_state!.data as Float32Array)).toEqual(
      Array.from(out.sentence_embedding!.data as Float32Array),
    );
    await session.release();
  });

  it("transformers.js pipeline('feature-extraction', localDir) matches loadGeolipText() to 1e-5 (offline)", async () => {
    env.allowRemoteModels = false;
    env.localModelPath = dirname(dir);
    const extractor = await pipeline('feature-extraction', basename(dir), { local_files_only: true, dtype: 'fp32' });
    // the same tokens: the exported tokenizer.json against the project's tokenizer
    // (long inputs are not cut by the tokenizer here: tokenizer_config.json's model_max_length is unlimited, and the graph truncates to the model's maxLength, keeping [SEP])
    for (const t of TEXTS) {
      const ids = Array.from(extractor.tokenizer(t).input_ids.data as BigInt64Array, Number);
      expect(ids).toEqual(tfjs.tokenizer.encode(t, { maxLength: 4096 }).inputIds);
    }
    const out = await extractor(TEXTS, { pooling: 'none', normalize: false });
    expect(out.dims).toEqual([TEXTS.length, tfjs.dim]);
    expect(maxAbsDiff(out.data as Float32Array, reference)).toBeLessThan(1e-5);
    // the fp16 variant: weights rounded to float16, so close but not equal (cosine with the tfjs rows)
    const half = await pipeline('feature-extraction', basename(dir), { local_files_only: true, dtype: 'fp16' });
    const h = (await half(TEXTS, { pooling: 'none', normalize: false })).data as Float32Array;
    for (let i = 0; i < TEXTS.length; i++) {
      let cos = 0;
      for (let k = 0; k < tfjs.dim; k++) cos += h[i * tfjs.dim + k]! * reference[i * tfjs.dim + k]!;
      expect(cos).toBeGreaterThan(0.999);
    }
    await extractor.dispose();
    await half.dispose();
  });

  it('q8: onnx/model_quantized.onnx, int8 matrices (DequantizeLinear), a quarter of the size, cosine > 0.99', async () => {
    const q8 = readFileSync(join(dir, 'onnx', 'model_quantized.onnx'));
    const fp32 = readFileSync(join(dir, 'onnx', 'model.onnx'));
    expect(q8.byteLength / fp32.byteLength).toBeLessThan(0.3);
    expect(q8.includes('DequantizeLinear')).toBe(true);
    expect(fp32.includes('DequantizeLinear')).toBe(false);
    const cosines = (rows: Float32Array): number[] =>
      TEXTS.map((_, i) => {
        let cos = 0;
        for (let k = 0; k < tfjs.dim; k++) cos += rows[i * tfjs.dim + k]! * reference[i * tfjs.dim + k]!;
        return cos;
      });
    // onnxruntime-node directly, through the project's ONNX embedder (rows are unit vectors: the graph normalizes)
    const direct = await OrtSentenceEmbedder.fromOnnx(new Uint8Array(q8), tfjs.tokenizer, {
      maxLength: tfjs.maxLength,
      normalize: false,
    });
    for (const c of cosines(await direct.embed(TEXTS))) expect(c).toBeGreaterThan(0.99);
    direct.dispose();
    // transformers.js with dtype 'q8' picks the same file
    env.allowRemoteModels = false;
    env.localModelPath = dirname(dir);
    const extractor = await pipeline('feature-extraction', basename(dir), { local_files_only: true, dtype: 'q8' });
    const rows = (await extractor(TEXTS, { pooling: 'none', normalize: false })).data as Float32Array;
    const c = cosines(rows);
    for (const x of c) expect(x).toBeGreaterThan(0.99);
    expect(Math.min(...c)).toBeLessThan(1 - 1e-7); // quantised: close, not equal
    await extractor.dispose();
  });

  it("loadGeolipText({ runtime: 'ort' }) has the same embed contract and values (1e-5)", async () => {
    const model = await loadGeolipText({ runtime: 'ort', batchSize: 2 });
    expect([model.dim, model.maxLength, model.params, model.name]).toEqual([
      tfjs.dim,
      tfjs.maxLength,
      tfjs.params,
      tfjs.name,
    ]);
    expect(maxAbsDiff(await model.embed(TEXTS), reference)).toBeLessThan(1e-5);
    expect(await model.embed([])).toEqual(new Float32Array(0));
    await expect(model.embed(['ok', 3 as unknown as string])).rejects.toThrow(
      /OrtSentenceEmbedder.embed: 'texts\[1\]'/,
    );
    model.dispose();
  });
});
