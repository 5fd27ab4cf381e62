// loadPretrained against hostile weights files (issue 26): sizes in the metadata larger than the file, integer and
// bool tensors as float weights, NaN/Inf weights and a null config are refused with a FormatError naming the loader,
// before the model's memory is taken, and no tensor is left behind.
import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { Linear } from '../src/layers/linear.js';
import { Module } from '../src/module.js';
import { ModelRegistry } from '../src/registry.js';

interface StackConfig {
  dim: number;
  layers: number;
}

/** `layers` Linear(dim, dim) blocks. */
class Stack extends Module {
  constructor(c: StackConfig) {
    super();
    for (let i = 0; i < c.layers; i++) this.addModule(`block${i}`, new Linear(c.dim, c.dim, { seed: i }));
  }
}

const registry = () =>
  new ModelRegistry('test').register({
    type: 'test/stack',
    description: 'Linear blocks',
    parseConfig: (json) => {
      const c = json as StackConfig;
      if (typeof json !== 'object' || json === null) throw new FormatError('parseStack', 'config', 'must be an object');
      return { dim: c.dim, layers: c.layers };
    },
    create: (c: StackConfig) => new Stack(c),
  });

/** A file of a Stack(dim 4, 2 layers), its metadata saying `config`. */
function stackFile(config: unknown, edit?: (dict: Record<string, tf.Tensor>) => void): Uint8Array {
  const model = new Stack({ dim: 4, layers: 2 });
  const dict = model.stateDict();
  edit?.(dict);
  try {
    return writeSafetensors(dict, {
      ...writeModelMetadata({ type: 'test/stack', config: { dim: 4, layers: 2 } }),
      'geolip.config': typeof config === 'string' ? config : JSON.stringify(config),
    });
  } finally {
    tf.dispose(Object.values(dict));
    model.dispose();
  }
}

async function refused(bytes: Uint8Array, message: RegExp, options = {}): Promise<void> {
  const before = tf.memory().numTensors;
  const error = await registry()
    .fromPretrained(bytes, options)
    .then(
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

describe('fromPretrained on hostile files', () => {
  it('loads the honest file', async () => {
    const m = await registry().fromPretrained(stackFile({ dim: 4, layers: 2 }));
    expect(m.paramCount()).toBe(40);
    m.dispose();
  });

  it('a size in the config larger than the file (dim 4096) is refused before its parameters are allocated', async () => {
    await refused(
      stackFile({ dim: 4096, layers: 2 }),
      /far larger than its tensors \(more than 65616 parameter elements: a parameter of shape \[4096, 4096\]/,
    );
  });

  it('a layer count larger than the file (layers 20000) is refused while building, everything built disposed', async () => {
    await refused(stackFile({ dim: 4, layers: 20000 }), /far larger than its tensors \(more than 65616 /);
  });

  it('an integer or bool tensor is not loaded as a float weight', async () => {
    const asInt = stackFile({ dim: 4, layers: 2 }, (d) => {
      const w = d['block0.weight']!;
      d['block0.weight'] = tf.cast(w, 'int32');
      w.dispose();
    });
    await refused(asInt, /block0\.weight.*has dtype int32, not float32/);
    const asBool = stackFile({ dim: 4, layers: 2 }, (d) => {
      const b = d['block1.bias']!;
      d['block1.bias'] = tf.cast(b, 'bool');
      b.dispose();
    });
    await refused(asBool, /block1\.bias.*has dtype bool, not float32/);
  });

  it('NaN or Inf weights are refused by default, loaded with allowNonFinite', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const bytes = stackFile({ dim: 4, layers: 2 }, (d) => {
        const w = d['block1.weight']!;
        const data = w.dataSync().slice();
        data[5] = bad;
        d['block1.weight'] = tf.tensor(data, w.shape);
        w.dispose();
      });
      await refused(bytes, new RegExp(`tensor 'block1\\.weight' holds ${bad} at element 5`));
      const m = await registry().fromPretrained(bytes, { allowNonFinite: true });
      m.dispose();
    }
  });

  it("geolip.config = 'null' is a FormatError, not a TypeError", async () => {
    await refused(stackFile('null'), /geolip\.config/);
  });
});

describe('Module error messages', () => {
  it('name the public class, not a bundler-renamed one (_CaptionEncoder, CaptionEncoder$1)', () => {
    for (const Renamed of [
      class _CaptionEncoder extends Module {},
      { ['CaptionEncoder$1']: class extends Module {} }['CaptionEncoder$1']!,
    ]) {
      const m = new Renamed();
      m.dispose();
      expect(() => m.stateDictKeys()).toThrow(/^CaptionEncoder\.stateDictKeys: 'this' /);
      expect(() => m.stateDict()).toThrow(/^CaptionEncoder\.stateDict: 'this' /);
    }
  });
});
