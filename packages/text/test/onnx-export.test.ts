// The text side of the ONNX export: tokenizer.json written and read back (same ids on hard cases), the graph's
// argument checks, the 'ort' runtime hook's errors (a missing onnxruntime-node is a BackendError saying how to
// install it). Parity with onnxruntime-node and transformers.js is tested in @geolip/export (their dev dependencies).
import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  CAPTION_BERT_BANK_CONFIG,
  CaptionEncoder,
  bertTokenizerFromJson,
  bertTokenizerToJson,
  captionEncoderToOnnx,
  loadBertUncasedTokenizer,
  loadGeolipText,
} from '../src/index.js';

const HARD = [
  'Unaffable café, 日本! naïve résumé',
  'UPPER lower MiXeD [SEP] [CLS] literal specials',
  "don't stop—it's 3.14 ± 0.01 µm; e-mail: a.b@c.de",
  'supercalifragilisticexpialidocious '.repeat(3),
  '',
  '\u0000\u00ad control\tchars\n',
];

describe('bertTokenizerToJson / bertTokenizerFromJson', () => {
  it('round-trips the bundled vocabulary: the same ids on hard cases', async () => {
    const tok = await loadBertUncasedTokenizer();
    const json = bertTokenizerToJson(tok) as {
      model: { vocab: Record<string, number> };
      added_tokens: { content: string; id: number }[];
    };
    expect(Object.keys(json.model.vocab)).toHaveLength(tok.vocabSize);
    expect(json.added_tokens.map((t) => [t.content, t.id])).toEqual([
      ['[PAD]', 0],
      ['[UNK]', 100],
      ['[CLS]', 101],
      ['[SEP]', 102],
      ['[MASK]', 103],
    ]);
    const back = bertTokenizerFromJson(JSON.stringify(json));
    expect(back.vocabSize).toBe(tok.vocabSize);
    for (const t of HARD) expect(back.encode(t).inputIds).toEqual(tok.encode(t).inputIds);
  });

  it('refuses what it cannot read, naming the difference', () => {
    const op = "bertTokenizerFromJson: 'text'";
    expect(() => bertTokenizerFromJson('{')).toThrow(`${op} is not JSON`);
    expect(() => bertTokenizerFromJson(JSON.stringify({ model: { type: 'BPE' } }))).toThrow(
      `${op} has model type "BPE"; only WordPiece is supported`,
    );
    const cased = {
      model: { type: 'WordPiece', vocab: { a: 0 } },
      normalizer: { type: 'BertNormalizer', lowercase: false },
    };
    expect(() => bertTokenizerFromJson(JSON.stringify(cased))).toThrow('lowercase: true');
    const gap = {
      model: { type: 'WordPiece', vocab: { a: 0, b: 2 } },
      normalizer: { type: 'BertNormalizer', lowercase: true },
    };
    expect(() => bertTokenizerFromJson(JSON.stringify(gap))).toThrow(
      "model.vocab ids must be 0..1, each once; 'b' has 2",
    );
  });
});

describe('captionEncoderToOnnx arguments', () => {
  it('refuses a non-encoder, the AnchorBank variant and a maxLength beyond the position table', () => {
    expect(() => captionEncoderToOnnx({} as CaptionEncoder)).toThrow(
      "captionEncoderToOnnx: 'model' must be a CaptionEncoder",
    );
    const small = { vocabSize: 32, maxPositions: 8, dModel: 8, heads: 2, ffDim: 16, layers: 1, outDim: 8 };
    const banked = new CaptionEncoder({
      ...small,
      anchorBank: { ...CAPTION_BERT_BANK_CONFIG, anchors: 4, bankDim: 4 },
    });
    expect(() => captionEncoderToOnnx(banked)).toThrow('AnchorBank variant');
    banked.dispose();
    const plain = new CaptionEncoder(small);
    expect(() => captionEncoderToOnnx(plain, { maxLength: 9 })).toThrow(
      "captionEncoderToOnnx: 'options.maxLength' must be an integer in [2, 8]",
    );
    // a valid export: an ONNX ModelProto (field 1, ir_version 8, first)
    const bytes = captionEncoderToOnnx(plain, { maxLength: 8, weightType: 'float16' });
    expect([...bytes.subarray(0, 2)]).toEqual([0x08, 0x08]);
    plain.dispose();
  });
});

describe("loadGeolipText's runtime option", () => {
  afterEach(() => {
    vi.doUnmock('../src/experts/require.js');
    vi.resetModules();
  });

  it('refuses an unknown runtime by name', async () => {
    await expect(loadGeolipText({ runtime: 'onnx' as never })).rejects.toThrow(
      "loadGeolipText: 'options.runtime' must be 'tfjs' or 'ort', got \"onnx\"",
    );
  });

  it('without onnxruntime-node: a BackendError that says how to install it', async () => {
    vi.resetModules();
    vi.doMock('../src/experts/require.js', () => ({
      packageRequire: Object.assign(
        () => {
          throw Object.assign(new Error("Cannot find module 'onnxruntime-node'"), { code: 'MODULE_NOT_FOUND' });
        },
        { resolve: () => '' },
      ),
    }));
    const { loadOnnxRuntime, onnxRuntimeVersion } = await import('../src/ort/ort-embedder.js');
    expect(() => loadOnnxRuntime('loadGeolipText')).toThrow(
      /^loadGeolipText: the 'ort' runtime needs onnxruntime-node, which is not installed: install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`/,
    );
    try {
      loadOnnxRuntime('x');
    } catch (e) {
      expect((e as Error).name).toBe('BackendError');
    }
    expect(onnxRuntimeVersion()).toBeNull();
  });
});
