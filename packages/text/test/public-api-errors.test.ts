/**
 * Issue 26 ("Public API", "lifetime"): holes in the texts, a byte array passed as `weights`, and a load before any
 * backend exists give typed errors naming the function and the argument.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { type SafetensorInput, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { CaptionEncoder, SentenceEmbedder, loadGeolipText } from '../src/index.js';
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

function weightsFile(): Uint8Array {
  const model = new CaptionEncoder(CONFIG, { seed: 3 });
  const sd = model.stateDict();
  const tensors: Record<string, SafetensorInput> = {};
  for (const [k, v] of Object.entries(sd))
    tensors[k] = { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
  tf.dispose(Object.values(sd));
  model.dispose();
  return writeSafetensors(tensors, {
    'geolip.model': 'caption-encoder',
    'geolip.config': JSON.stringify(CONFIG),
    'geolip.tokenizer': 'bert-base-uncased',
    'geolip.maxLength': '12',
  });
}

describe('issue 26: text public API errors', () => {
  it('embed([, "a"]) refuses the hole with InvalidArgumentError naming texts[0]', async () => {
    const emb = await SentenceEmbedder.fromWeights(weightsFile());
    try {
      // eslint-disable-next-line no-sparse-arrays
      const sparse = [, 'a'] as unknown as string[];
      await expect(emb.embed(sparse)).rejects.toThrow(InvalidArgumentError);
      await expect(emb.embed(sparse)).rejects.toThrow(
        /^SentenceEmbedder\.embed: 'texts\[0\]' must be a string, got a hole/,
      );
      expect((await emb.embed(['a'])).length).toBe(8);
    } finally {
      emb.dispose();
    }
  });

  it('loadGeolipText({ weights: <Uint8Array> }) describes the value briefly', async () => {
    const bytes = new Uint8Array(100_000).fill(7);
    const p = loadGeolipText({ weights: bytes as unknown as string });
    await expect(p).rejects.toThrow(InvalidArgumentError);
    const error = (await loadGeolipText({ weights: bytes as unknown as string }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^loadGeolipText: 'options\.weights' .*got a Uint8Array of 100000 bytes$/);
    expect(error.message.length).toBeLessThan(300);
  });

  it.skipIf(process.env.GEOLIP_BACKEND === 'cpu')(
    'loadGeolipText() before initBackend() chooses wasm itself and says so in one stderr line',
    () => {
      // A fresh process without a backend (this one has one: test/setup.ts). Runs the built package (dist). Once,
      // in the wasm project: the child does not depend on the project's backend (GEOLIP_BACKEND is removed).
      const script =
        "import { loadGeolipText } from '@geolip/text'; import * as tf from '@tensorflow/tfjs-core';" +
        "const model = await loadGeolipText(); const e = await model.encode(['A dog runs.', 'A dog is running.']);" +
        'console.log(JSON.stringify({ backend: tf.getBackend(), shape: e.shape, cos: model.similarity(e)[0][1] }));';
      // GEOLIP_RUNTIME=tfjs: onnxruntime-node is installed here, so without it the runtime would be 'ort'
      // (test/runtime-default.test.ts); this test is about the tfjs backend chosen without initBackend().
      const env: Record<string, string | undefined> = {
        ...process.env,
        GEOLIP_WASM_THREADS: '1',
        GEOLIP_RUNTIME: 'tfjs',
      };
      delete env.GEOLIP_BACKEND;
      delete env.GEOLIP_LOG;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        encoding: 'utf8',
        env,
      });
      const result = JSON.parse(r.stdout.trim()) as { backend: string; shape: number[]; cos: number };
      expect(result.backend).toBe('wasm');
      expect(result.shape).toEqual([2, 100]);
      expect(result.cos).toBeGreaterThan(0.5);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('[geolip]'))).toEqual([
        expect.stringMatching(
          /^\[geolip\] loadGeolipText: no backend chosen, using wasm \(SIMD, 1 thread\); call initBackend/,
        ),
      ]);
    },
  );
});
