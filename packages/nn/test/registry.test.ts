// ModelRegistry and loadPretrained: dispatch on the file's geolip.type, config parsing, strict loading, and no
// tensor left behind when any step fails.
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { readWeightsFile, writeModelMetadata, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { Linear } from '../src/layers/linear.js';
import { ModelRegistry, loadPretrained } from '../src/registry.js';

interface LinearConfig {
  inDim: number;
  outDim: number;
}

function parseLinearConfig(json: unknown): LinearConfig {
  const c = json as Partial<LinearConfig>;
  if (typeof json !== 'object' || json === null || !Number.isInteger(c.inDim) || !Number.isInteger(c.outDim)) {
    throw new FormatError('parseLinearConfig', 'config', 'must be { inDim, outDim } integers');
  }
  return { inDim: c.inDim!, outDim: c.outDim! };
}

const registry = () =>
  new ModelRegistry('test').register({
    type: 'test/linear',
    description: 'one Linear layer',
    parseConfig: parseLinearConfig,
    create: (c: LinearConfig) => new Linear(c.inDim, c.outDim, { seed: 1 }),
  });

function fileOf(model: Linear, metadata: Record<string, string>): Uint8Array {
  const dict = model.stateDict();
  try {
    return writeSafetensors(dict, metadata);
  } finally {
    tf.dispose(Object.values(dict));
  }
}

describe('ModelRegistry', () => {
  it('loads a model by its metadata alone, bit-identically', async () => {
    const src = new Linear(3, 2, { seed: 7 });
    const bytes = fileOf(src, writeModelMetadata({ type: 'test/linear', config: { inDim: 3, outDim: 2 } }));
    const loaded = await registry().fromPretrained<Linear>(bytes);
    const a = src.stateDict();
    const b = loaded.stateDict();
    for (const k of Object.keys(a)) expect(Array.from(b[k]!.dataSync())).toEqual(Array.from(a[k]!.dataSync()));
    tf.dispose([...Object.values(a), ...Object.values(b)]);
    src.dispose();
    loaded.dispose();
  });

  it('returns the extra metadata with loadPretrained, and takes an already read WeightsFile', async () => {
    const src = new Linear(2, 2);
    const bytes = fileOf(
      src,
      writeModelMetadata({ type: 'test/linear', config: { inDim: 2, outDim: 2 }, extra: { classes: ['a', 'b'] } }),
    );
    const got = await loadPretrained(registry(), await readWeightsFile(bytes));
    expect(got.type).toBe('test/linear');
    expect(got.extra).toEqual({ classes: ['a', 'b'] });
    expect(got.config).toEqual({ inDim: 2, outDim: 2 });
    got.model.dispose();
    src.dispose();
  });

  it('lists types and shipped files; rejects duplicates and unknown types', () => {
    const r = registry().ship('tiny', { type: 'test/linear', file: 'tiny.safetensors', description: 'x' });
    expect(r.types()).toEqual(['test/linear']);
    expect(Object.keys(r.shipped())).toEqual(['tiny']);
    expect(() =>
      r.register({ type: 'test/linear', description: '', parseConfig: (j) => j, create: () => new Linear(1, 1) }),
    ).toThrow(/already registered/);
    expect(() => r.ship('x', { type: 'test/none', file: 'x', description: '' })).toThrow(InvalidArgumentError);
    expect(() => r.get('test/none')).toThrow(/registered: test\/linear/);
    const merged = ModelRegistry.merge('all', r, new ModelRegistry('other'));
    expect(merged.types()).toEqual(['test/linear']);
  });

  describe('on failure, throws a typed error and leaves no tensor behind', () => {
    const cases: [string, () => Uint8Array, RegExp][] = [
      ['no metadata', () => writeSafetensors({ w: { dtype: 'F32', shape: [1], data: [1] } }), /names no model type/],
      [
        'unknown type',
        () =>
          writeSafetensors(
            { w: { dtype: 'F32', shape: [1], data: [1] } },
            writeModelMetadata({ type: 'test/other', config: {} }),
          ),
        /not a model type of test; registered: test\/linear/,
      ],
      [
        'bad config',
        () =>
          writeSafetensors(
            { w: { dtype: 'F32', shape: [1], data: [1] } },
            writeModelMetadata({ type: 'test/linear', config: { inDim: 'x' } }),
          ),
        /'geolip.config' is not a valid test\/linear config/,
      ],
      [
        'missing tensor',
        () =>
          writeSafetensors(
            { weight: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) } },
            writeModelMetadata({ type: 'test/linear', config: { inDim: 3, outDim: 2 } }),
          ),
        /does not fit 'test\/linear'/,
      ],
      [
        'wrong shape',
        () => fileOf(new Linear(4, 2), writeModelMetadata({ type: 'test/linear', config: { inDim: 3, outDim: 2 } })),
        /does not fit 'test\/linear'/,
      ],
      ['not safetensors', () => new Uint8Array([1, 2, 3]), /readSafetensors/],
    ];
    it.each(cases)('%s', async (_label, make, pattern) => {
      const bytes = make();
      const before = tf.memory().numTensors;
      const error = await registry()
        .fromPretrained(bytes)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FormatError);
      expect((error as Error).message).toMatch(pattern);
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('wants options.type for a file without metadata, and checks it against a file with metadata', async () => {
    const src = new Linear(3, 2);
    const bare = fileOf(src, {});
    const m = await registry().fromPretrained<Linear>(bare, { type: 'test/linear', config: { inDim: 3, outDim: 2 } });
    m.dispose();
    const tagged = fileOf(src, writeModelMetadata({ type: 'test/linear', config: { inDim: 3, outDim: 2 } }));
    await expect(registry().fromPretrained(tagged, { type: 'test/other' })).rejects.toThrow(
      /metadata 'geolip.type' must be 'test\/other', got "test\/linear"/,
    );
    await expect(registry().fromPretrained(tagged, { strict: 'yes' as unknown as boolean })).rejects.toThrow(
      /options\.strict/,
    );
    src.dispose();
  });
});
