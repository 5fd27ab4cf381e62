// The metadata contract: written once (writeModelMetadata), read once (readModelMetadata), with the four legacy keys
// of files written before it.
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { LEGACY_MODEL_KEYS, MODEL_METADATA_FORMAT, readModelMetadata, writeModelMetadata } from '../src/metadata.js';

describe('writeModelMetadata / readModelMetadata', () => {
  it('round-trips type, config and extra under the four contract keys', () => {
    const meta = writeModelMetadata({
      type: 'vision/dual-stream-vit',
      config: { dim: 8, layers: [1, 2] },
      extra: { classes: ['a', 'b'] },
    });
    expect(Object.keys(meta).sort()).toEqual(['geolip.config', 'geolip.extra', 'geolip.format', 'geolip.type']);
    expect(meta['geolip.format']).toBe(MODEL_METADATA_FORMAT);
    expect(readModelMetadata(meta)).toEqual({
      type: 'vision/dual-stream-vit',
      config: { dim: 8, layers: [1, 2] },
      extra: { classes: ['a', 'b'] },
      format: '1',
    });
    expect(writeModelMetadata({ type: 'a/b', config: null })['geolip.extra']).toBeUndefined();
  });

  it('rejects what the contract cannot hold, naming the field', () => {
    expect(() => writeModelMetadata({ type: 'nopackage', config: {} })).toThrow(/writeModelMetadata: 'type'/);
    expect(() => writeModelMetadata({ type: 'a/b', config: undefined })).toThrow(/'config' cannot be written as JSON/);
    expect(() => writeModelMetadata({ type: 'a/b', config: { n: 1n } })).toThrow(InvalidArgumentError);
    expect(() =>
      writeModelMetadata({ type: 'a/b', config: {}, extra: [] as unknown as Record<string, unknown> }),
    ).toThrow(/'extra'/);
    expect(() => writeModelMetadata(null as never)).toThrow(InvalidArgumentError);
  });

  it('reads the legacy keys: geolip.model as a type string or a JSON blob, .module, .class, .consensus', () => {
    expect(LEGACY_MODEL_KEYS).toEqual(['geolip.model', 'geolip.module', 'geolip.class', 'geolip.consensus']);
    const text = readModelMetadata({
      'geolip.model': 'caption-encoder',
      'geolip.config': '{"dModel":4}',
      'geolip.maxLength': '64',
      'geolip.tokenizer': 'bert-base-uncased',
    });
    expect(text).toEqual({
      type: 'text/caption-encoder',
      config: { dModel: 4 },
      extra: { maxLength: 64, tokenizer: 'bert-base-uncased' },
      format: 'legacy',
      legacyKey: 'geolip.model',
    });
    expect(readModelMetadata({ 'geolip.model': 'dual-stream', 'geolip.config': '{}' }).type).toBe(
      'vision/dual-stream-vit',
    );
    const blob = readModelMetadata({ 'geolip.model': JSON.stringify({ recipe: 'fmnist-david', dim: 3 }) });
    expect(blob.type).toBe('vision/david');
    expect(blob.config).toEqual({ recipe: 'fmnist-david', dim: 3 });
    expect(readModelMetadata({ 'geolip.module': 'Constellation', 'geolip.config': '{"anchors":2}' })).toMatchObject({
      type: 'anchors/constellation',
      config: { anchors: 2 },
      legacyKey: 'geolip.module',
    });
    expect(readModelMetadata({ 'geolip.class': 'AnchorBank', 'geolip.version': '1', config: '{}' })).toMatchObject({
      type: 'anchors/anchor-bank',
      config: {},
      extra: { version: 1 },
    });
    expect(readModelMetadata({ 'geolip.consensus': '{"format":1,"experts":["a"]}' })).toMatchObject({
      type: 'train/consensus',
      config: { format: 1, experts: ['a'] },
    });
    expect(readModelMetadata({ 'geolip.model': 'something-new' }).type).toBe('legacy/something-new');
  });

  it('prefers geolip.type over legacy keys, and refuses a file that names no model', () => {
    expect(readModelMetadata({ 'geolip.type': 'x/y', 'geolip.model': 'vit' }).type).toBe('x/y');
    expect(() => readModelMetadata({ format: 'pt', 'geolip.split': 'train' })).toThrow(
      /names no model: .*geolip keys found: geolip.split/,
    );
    expect(() => readModelMetadata({})).toThrow(FormatError);
  });

  it('refuses malformed metadata with a FormatError naming the key', () => {
    expect(() => readModelMetadata({ 'geolip.type': 'x/y', 'geolip.format': '2' })).toThrow(/'geolip.format' is '2'/);
    expect(() => readModelMetadata({ 'geolip.type': 'x/y', 'geolip.config': '{' })).toThrow(
      /'geolip.config' is not JSON/,
    );
    expect(() => readModelMetadata({ 'geolip.type': 'x/y', 'geolip.extra': '[1]' })).toThrow(
      /'geolip.extra' must be a JSON object/,
    );
    expect(() => readModelMetadata({ 'geolip.type': '' })).toThrow(/is empty/);
    expect(() => readModelMetadata({ 'geolip.model': '{"dim":3}' })).toThrow(/names no type/);
    expect(() => readModelMetadata({ 'geolip.consensus': 'nope' })).toThrow(/'geolip.consensus' is not JSON/);
    expect(() => readModelMetadata({ a: 1 } as never)).toThrow(InvalidArgumentError);
    expect(() => readModelMetadata(null as never)).toThrow(/readModelMetadata: 'metadata'/);
  });
});
