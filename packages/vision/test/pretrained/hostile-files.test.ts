// fromPretrained on hostile vision weights files (issue 26): the shipped Dual-Stream file with `fusedBlocks: 20000` in
// its metadata is refused while the model is built (it took over 120 s), and a null config is a FormatError; nothing
// is left behind.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { fromPretrained } from '../../src/index.js';

const shipped = readSafetensors(
  readFileSync(fileURLToPath(new URL('../../weights/fmnist-dual-stream.safetensors', import.meta.url))),
);

/** The shipped file with its geolip.config replaced. */
function saying(config: string): Uint8Array {
  return writeSafetensors(shipped.tensors, { ...shipped.metadata, 'geolip.config': config });
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

describe('vision fromPretrained on hostile files', () => {
  it('fusedBlocks: 20000 is refused while building (parameter budget), everything built disposed', async () => {
    const config = { ...(JSON.parse(shipped.metadata['geolip.config']!) as object), fusedBlocks: 20000 };
    await refused(saying(JSON.stringify(config)), /far larger than its tensors/);
  });

  it('a loaded model, disposed, leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const model = await fromPretrained(saying(shipped.metadata['geolip.config']!));
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('geolip.config = "null" is a FormatError naming the config', async () => {
    await refused(saying('null'), /geolip\.config/);
  });
});
