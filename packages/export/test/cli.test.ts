// geolip-export's command line: the text command writes the layout with progress lines; usage errors exit 1 with one
// line naming the flag.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { ViTClassifier } from '@geolip/vision';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import { main } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'geolip-export-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function capture(): {
  io: { stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean } };
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: { write: (s: string) => (out.push(s), true) },
      stderr: { write: (s: string) => (err.push(s), true) },
    },
  };
}

describe('geolip-export', () => {
  it('text --variants fp32 writes config, tokenizer and onnx/model.onnx only, with a line per file', async () => {
    const c = capture();
    const dir = join(root, 'text');
    const code = await main(['text', '--out', dir, '--variants', 'fp32'], c.io as never);
    expect(code).toBe(0);
    for (const f of [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'onnx/model.onnx',
    ])
      expect(existsSync(join(dir, f))).toBe(true);
    expect(existsSync(join(dir, 'onnx/model_fp16.onnx'))).toBe(false);
    expect(c.err.join('')).toMatch(/geolip-export: wrote onnx\/model\.onnx \(\d+\.\d MiB\)/);
    expect(c.out.join('')).toMatch(/5 files, .* 100-d embeddings, max 64 tokens, 11,081,572 parameters/);
  });

  it("vision --weights <vision/vit file>: the folder, and a graph that gives the file model's logits", async () => {
    const config = { imageSize: 8, patchSize: 4, channels: 1, dModel: 16, heads: 2, ffDim: 32, layers: 1, outDim: 8 };
    const model = new ViTClassifier(config, 3, { seed: 5 });
    const state = model.stateDict();
    const entries = Object.fromEntries(
      Object.entries(state).map(([k, t]) => [
        k,
        { dtype: 'F32' as const, shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) },
      ]),
    );
    tf.dispose(Object.values(state));
    const file = join(root, 'vit.safetensors');
    writeFileSync(file, writeSafetensors(entries, writeModelMetadata({ type: 'vision/vit', config })));
    const c = capture();
    const dir = join(root, 'vit');
    expect(await main(['vision', '--weights', file, '--out', dir, '--variants', 'fp32'], c.io as never)).toBe(0);
    expect(c.out.join('')).toMatch(/2 files, .* 8-d embeddings, 3 classes/);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).num_labels).toBe(3);
    const images = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const { embedding, logits } = model.forward(images);
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'));
    const out = await session.run({
      pixel_values: new ort.Tensor('float32', images.dataSync() as Float32Array, [2, 8, 8, 1]),
    });
    const want = logits.dataSync();
    (out.logits!.data as Float32Array).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
    await session.release();
    tf.dispose([images, embedding, logits]);
    model.dispose();
  });

  it('usage errors: missing --out, an unknown variant, --weights with --shipped, a missing weights file', async () => {
    const cases: [string[], RegExp, number][] = [
      [['text'], /--out <dir> is required/, 1],
      [['text', '--out', root, '--variants', 'int4'], /unknown variant 'int4' \(use fp32,fp16,q8\)/, 1],
      [['vision', '--out', root, '--weights', 'w', '--variants', 'q8'], /unknown variant 'q8' \(use fp32,fp16\)/, 1],
      [['text', '--out', root, '--weights', 'a', '--shipped', 'b'], /give --weights or --shipped, not both/, 1],
      [['text', '--out', root, '--shipped', 'nope'], /'options.shipped' must name shipped weights \(geolip-text/, 1],
      [['vision', '--out', root], /--weights <file> is required/, 1],
    ];
    for (const [argv, message, status] of cases) {
      const c = capture();
      expect(await main(argv, c.io as never)).toBe(status);
      expect(c.err.join('')).toMatch(message);
    }
  });
});
