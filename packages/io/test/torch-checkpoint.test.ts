// readTorchCheckpoint on nested training checkpoints written by PyTorch itself (test/fixtures/gen_nested_checkpoint.py,
// run on the GPU machine): the state dict is selected by key (default or options.stateDictKey), the config comes back
// beside it, and every tensor equals what PyTorch wrote (nested.json).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { toFloat32 } from '../src/safetensors/index.js';
import { STATE_DICT_KEYS, readTorchCheckpoint, readTorchStateDict } from '../src/torch/read-torch.js';
import { parseWeightsFile } from '../src/weights-file.js';

const dir = join(__dirname, 'fixtures');
const have = existsSync(join(dir, 'nested.pt'));

interface Expected {
  torch: string;
  keys: string[];
  config: Record<string, unknown>;
  epoch: number;
  tensors: Record<string, { dtype: string; shape: number[]; values: number[] }>;
}

describe.skipIf(!have)('readTorchCheckpoint on PyTorch-written nested checkpoints', () => {
  const nested = have ? new Uint8Array(readFileSync(join(dir, 'nested.pt'))) : new Uint8Array();
  const other = have ? new Uint8Array(readFileSync(join(dir, 'nested-model.pt'))) : new Uint8Array();
  const expected = (have ? JSON.parse(readFileSync(join(dir, 'nested.json'), 'utf8')) : {}) as Expected;

  function expectTensors(got: ReturnType<typeof readTorchStateDict>): void {
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, want] of Object.entries(expected.tensors)) {
      const t = got[name]!;
      expect(t.shape, name).toEqual(want.shape);
      expect(t.dtype, name).toBe(want.dtype === 'int64' ? 'I64' : 'F32');
      const values = t.dtype === 'I64' ? Array.from(t.data as BigInt64Array, Number) : Array.from(toFloat32(t));
      expect(values, name).toEqual(want.values);
    }
  }

  it("selects 'encoder_state_dict' by default and returns the config and the scalar extras", () => {
    const ckpt = readTorchCheckpoint(nested);
    expect(ckpt.keys).toEqual(expected.keys);
    expect(ckpt.stateDictKey).toBe('encoder_state_dict');
    expect(ckpt.configKey).toBe('config');
    expect(ckpt.config).toEqual(expected.config);
    expect(ckpt.extra).toMatchObject({ epoch: expected.epoch, step: 120, best_loss: 0.25 });
    expectTensors(ckpt.stateDict);
  });

  it("reads another trainer's layout ({model, args}) the same way", () => {
    const ckpt = readTorchCheckpoint(other);
    expect(ckpt.stateDictKey).toBe('model');
    expect(ckpt.configKey).toBe('args');
    expect(ckpt.config).toEqual(expected.config);
    expectTensors(ckpt.stateDict);
    expectTensors(readTorchStateDict(other));
  });

  it('takes options.stateDictKey, and names the keys found when a key is missing', () => {
    expectTensors(readTorchStateDict(nested, { stateDictKey: 'encoder_state_dict' }));
    expect(() => readTorchCheckpoint(nested, { stateDictKey: 'nope' })).toThrow(FormatError);
    expect(() => readTorchCheckpoint(nested, { stateDictKey: 'nope' })).toThrow(
      /has no key 'nope'.*keys found: 'encoder_state_dict', 'config'/,
    );
    expect(() => readTorchCheckpoint(nested, { stateDictKey: 'config' })).toThrow(
      /'config' entry 'vocab' is not a tensor/,
    );
    expect(() => readTorchCheckpoint(nested, { stateDictKey: 1 as unknown as string })).toThrow(InvalidArgumentError);
  });

  it('parseWeightsFile reads a .pt checkpoint as a weights file with its config', () => {
    const file = parseWeightsFile(nested);
    expect(file.format).toBe('pt');
    expect(file.config).toEqual(expected.config);
    expectTensors(file.tensors);
  });

  it('truncations and damage give a FormatError, never another error', () => {
    for (let n = 0; n < nested.length; n += 211)
      expect(() => readTorchCheckpoint(nested.subarray(0, n)), `length ${n}`).toThrow(FormatError);
  });
});

describe('readTorchCheckpoint on the flat state dict fixture', () => {
  it('reads a flat state dict with no key and no config, and lists the keys it tries', () => {
    const ckpt = readTorchCheckpoint(new Uint8Array(readFileSync(join(dir, 'state.pt'))));
    expect(ckpt.stateDictKey).toBeNull();
    expect(ckpt.config).toBeUndefined();
    expect(Object.keys(ckpt.stateDict)).toContain('view_offset');
    expect(STATE_DICT_KEYS).toEqual(['state_dict', 'model_state_dict', 'encoder_state_dict', 'model']);
  });
});
