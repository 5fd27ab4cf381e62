// Issue 26, model loaders: hostile files through SentenceEmbedder.fromWeights, the loader that existed at 4c0c9ec as
// it does now (so this file, with writeSafetensors imported from @geolip/geometry as it was then, runs on both and
// fails there: docs/fuzz/issue-26-defects.md). Each asserts the fixed behaviour: a typed FormatError, not a random
// bank, a float copy of integer weights, NaN weights, a TypeError or a stack overflow.
import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { CaptionEncoder, SentenceEmbedder } from '../src/index.js';
import type { CaptionEncoderConfig } from '../src/index.js';

const tiny: CaptionEncoderConfig = {
  vocabSize: 30522,
  maxPositions: 8,
  dModel: 8,
  heads: 2,
  ffDim: 16,
  layers: 1,
  outDim: 4,
};

function fileSaying(config: unknown, edit?: (d: Record<string, tf.Tensor>) => void): Uint8Array {
  const model = new CaptionEncoder(tiny);
  const dict = model.stateDict() as Record<string, tf.Tensor>;
  try {
    edit?.(dict);
    return writeSafetensors(dict as never, {
      'geolip.model': 'caption-encoder',
      'geolip.config': typeof config === 'string' ? config : JSON.stringify(config),
    });
  } finally {
    tf.dispose(Object.values(dict));
    model.dispose();
  }
}

async function refused(bytes: Uint8Array, message: RegExp): Promise<void> {
  const error = await SentenceEmbedder.fromWeights(bytes).then(
    (m) => {
      m.dispose();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FormatError);
  expect((error as Error).message).toMatch(message);
}

describe('SentenceEmbedder.fromWeights on hostile files', () => {
  it('loads the honest tiny file (the probe is sound)', async () => {
    const m = await SentenceEmbedder.fromWeights(fileSaying(tiny));
    expect(m.dim).toBe(4);
    m.dispose();
  });

  it('"anchorBank": {} with no bank tensors is refused', async () => {
    await refused(fileSaying({ ...tiny, anchorBank: {} }), /no 'bank\.' tensors.*config\.anchorBank/);
  });

  it('dModel: 1024 in a file of dModel 8 is refused as far larger than its tensors', async () => {
    await refused(fileSaying({ ...tiny, dModel: 1024 }), /far larger than its tensors/);
  });

  it('layers: 20000 in a file of 1 layer is refused as far larger than its tensors', async () => {
    await refused(fileSaying({ ...tiny, layers: 20000 }), /far larger than its tensors/);
  });

  it('an int32 or bool tensor is not loaded as a float weight', async () => {
    await refused(
      fileSaying(tiny, (d) => {
        const w = d['head.3.weight']!;
        d['head.3.weight'] = tf.cast(w, 'int32');
        w.dispose();
      }),
      /'dict\['head\.3\.weight'\]' has dtype int32, not float32/,
    );
    await refused(
      fileSaying(tiny, (d) => {
        const w = d['head.3.bias']!;
        d['head.3.bias'] = tf.cast(w, 'bool');
        w.dispose();
      }),
      /'dict\['head\.3\.bias'\]' has dtype bool, not float32/,
    );
  });

  it('NaN or Inf weights are refused by default', async () => {
    for (const bad of [NaN, Infinity]) {
      await refused(
        fileSaying(tiny, (d) => {
          const w = d['head.3.weight']!;
          const data = w.dataSync().slice();
          data[5] = bad;
          d['head.3.weight'] = tf.tensor(data, w.shape);
          w.dispose();
        }),
        new RegExp(`tensor 'head\\.3\\.weight' holds ${bad} at element 5`),
      );
    }
  });

  it("geolip.config = 'null' is a FormatError, not a TypeError", async () => {
    await refused(fileSaying('null'), /geolip\.config/);
  });
});
