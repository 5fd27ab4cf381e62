// fromPretrained on hostile text weights files (issue 26): a config whose sizes are far beyond the file's tensors, a
// bank the file has no tensors for (`"anchorBank": {}`) and a null config are refused with a FormatError naming the
// loader, and nothing is left behind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { readSafetensors, writeModelMetadata, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { CaptionEncoder, GEOLIP_TEXT_WEIGHTS_FILE, fromPretrained } from '../src/index.js';
import type { CaptionEncoderConfig } from '../src/index.js';

const tiny: CaptionEncoderConfig = {
  vocabSize: 50,
  maxPositions: 8,
  dModel: 8,
  heads: 2,
  ffDim: 16,
  layers: 1,
  outDim: 4,
};

/** A tiny encoder's file whose metadata says `config`. */
function fileSaying(config: unknown): Uint8Array {
  const model = new CaptionEncoder(tiny);
  const dict = model.stateDict();
  try {
    const metadata = writeModelMetadata({ type: 'text/caption-encoder', config: tiny });
    return writeSafetensors(dict, { ...metadata, 'geolip.config': JSON.stringify(config) });
  } finally {
    tf.dispose(Object.values(dict));
    model.dispose();
  }
}

async function refused(bytes: Uint8Array, message: RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  const error = await fromPretrained(bytes).then(
    (m) => {
      m.dispose();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FormatError);
  expect((error as Error).message).toMatch(/^fromPretrained: 'source' /);
  expect((error as Error).message).toMatch(message);
  expect(tf.memory().numTensors).toBe(before);
}

describe('text fromPretrained on hostile files', () => {
  it('loads the honest tiny file', async () => {
    const m = await fromPretrained<CaptionEncoder>(fileSaying(tiny));
    expect(m.anchorBank).toBeNull();
    m.dispose();
  });

  it('"anchorBank": {} with no bank tensors in the file is refused (it loaded a random bank)', async () => {
    // The shipped file: large enough that the bank fits the parameter budget, so the bank rule is what refuses it.
    const { tensors, metadata } = readSafetensors(
      readFileSync(join(__dirname, '..', 'weights', GEOLIP_TEXT_WEIGHTS_FILE)),
    );
    const config = { ...(JSON.parse(metadata['geolip.config']!) as object), anchorBank: {} };
    await refused(
      writeSafetensors(tensors, { ...metadata, 'geolip.config': JSON.stringify(config) }),
      /no 'bank\.' tensors.*config\.anchorBank/,
    );
  });

  it('dModel: 4096 and layers: 20000 are refused while building, before their memory is taken', async () => {
    await refused(fileSaying({ ...tiny, dModel: 4096 }), /far larger than its tensors/);
    await refused(fileSaying({ ...tiny, layers: 20000 }), /far larger than its tensors/);
  });

  it('geolip.config = "null" is a FormatError', async () => {
    await refused(fileSaying(null), /geolip\.config/);
  });
});
