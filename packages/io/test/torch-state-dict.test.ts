// readTorchStateDict against files written by PyTorch 2.11 itself (test/fixtures/gen_torch_fixtures.py, run on
// the GPU machine): every tensor equals the safetensors library's copy byte for byte; foreign globals, damage and
// truncation are refused with a FormatError, never a crash or a hang.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { FormatError } from '@geolip/geometry';

import { readSafetensors } from '../src/safetensors/index.js';
import { describe, expect, it } from 'vitest';

import { ALLOWED_GLOBALS, readTorchStateDict } from '../src/torch/read-torch.js';

const dir = join(__dirname, 'fixtures');
const pt = new Uint8Array(readFileSync(join(dir, 'state.pt')));
const reference = readSafetensors(readFileSync(join(dir, 'state.safetensors')), { copy: true }).tensors;
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('readTorchStateDict', () => {
  it('reads every tensor of a torch.save state dict exactly as the safetensors library wrote it', () => {
    const got = readTorchStateDict(pt);
    expect(Object.keys(got).sort()).toEqual(Object.keys(reference).sort());
    for (const [name, ref] of Object.entries(reference)) {
      const t = got[name]!;
      expect(t.dtype, name).toBe(ref.dtype);
      expect(t.shape, name).toEqual(ref.shape);
      expect(Array.from(bytesOf(t.data)), name).toEqual(Array.from(bytesOf(ref.data)));
    }
  });

  it('resolves views: a slice with a storage offset and a transposed tensor', () => {
    const got = readTorchStateDict(pt);
    expect(Array.from(got.view_offset!.data as Float32Array)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    expect(got.view_transposed!.shape).toEqual([5, 3]);
    expect((got.ids!.data as BigInt64Array)[2]).toBe(2n ** 40n);
    expect(got.scalar!.shape).toEqual([]);
  });

  it('refuses a pickle that calls a global outside the state-dict list, naming it', () => {
    const evil = new Uint8Array(readFileSync(join(dir, 'evil.pt')));
    expect(() => readTorchStateDict(evil)).toThrow(FormatError);
    expect(() => readTorchStateDict(evil)).toThrow(/refuses global '__builtin__\.print'/);
    expect(ALLOWED_GLOBALS).toContain('torch._utils._rebuild_tensor_v2');
  });

  it('refuses non-zip input and every truncation', () => {
    expect(() => readTorchStateDict(new Uint8Array([1, 2, 3]))).toThrow(/not a zip/);
    for (let n = 0; n < pt.length; n += 97)
      expect(() => readTorchStateDict(pt.subarray(0, n)), `length ${n}`).toThrow(FormatError);
  });

  it('fuzz: random byte damage gives a FormatError or a result, never another error', () => {
    let state = 12345;
    const rand = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const runs = Number(process.env.GEOLIP_FUZZ_RUNS ?? 300);
    for (let r = 0; r < runs; r++) {
      const copy = pt.slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256);
      try {
        readTorchStateDict(copy);
      } catch (e) {
        if (!(e instanceof FormatError)) throw new Error(`run ${r}: ${String(e)}`);
      }
    }
  });

  it('names the argument on a wrong type', () => {
    expect(() => readTorchStateDict('x' as unknown as Uint8Array)).toThrow(
      /readTorchStateDict: 'bytes' must be a Uint8Array/,
    );
  });
});
