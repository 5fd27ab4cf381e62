// The `.pt` reader against hostile files (issue 26), each built by hand in torch-files.ts: every one either reads
// back exactly what it declares or is refused with a FormatError naming the rule, never another error, a crash or a
// silent misread.
import { FormatError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { readTorchCheckpoint, readTorchStateDict } from '../src/torch/read-torch.js';
import { P, dictPickle, f32, ptFile, tensor, zip } from './torch-files.js';
import type { Pk } from './torch-files.js';

const w = (): [Pk, Pk] => [P.str('w'), tensor('0', 2, [2], [1])];
const storage = { '0': f32([1.5, -2]) };
/** A checkpoint `{'state_dict': {'w': …}, 'config': <config>}`. */
const withConfig = (config: Pk): Uint8Array =>
  ptFile(
    dictPickle([
      [P.str('state_dict'), [...P.dict, ...P.mark, ...w()[0], ...w()[1], ...P.setitems]],
      [P.str('config'), config],
    ]),
    storage,
  );
const refused = (bytes: Uint8Array, message: RegExp): void => {
  let error: unknown;
  try {
    readTorchCheckpoint(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(FormatError);
  expect((error as Error).message).toMatch(/^readTorchCheckpoint: '(bytes|data\.pkl)' /);
  expect((error as Error).message).toMatch(message);
};

describe('readTorchCheckpoint on hostile files', () => {
  it('reads a hand-made file (the builder is sound)', () => {
    const got = readTorchStateDict(ptFile(dictPickle([w()]), storage));
    expect(Array.from(got.w!.data as Float32Array)).toEqual([1.5, -2]);
  });

  it('APPENDS of 300,000 items: read one at a time (a spread overflowed the stack)', () => {
    const n = 300_000;
    const items: number[] = [];
    for (let i = 0; i < n; i++) items.push(0x4b, i & 0x7f); // BININT1
    const got = readTorchCheckpoint(withConfig([...P.list, ...P.mark, ...items, ...P.appends]));
    expect((got.config as number[]).length).toBe(n);
    expect((got.config as number[])[n - 1]).toBe((n - 1) & 0x7f);
  });

  it('a zip64 extra field at the end of the file: FormatError, not a RangeError', () => {
    // The central directory after the end record, its last record ending in a zip64 field (id 1, empty) at EOF that
    // the record's 0xffffffff local-header offset says to read.
    const good = ptFile(dictPickle([w()]), storage, { extra: { 3: new Uint8Array([1, 0, 0, 0]) } });
    const dv = new DataView(good.buffer);
    const eocdAt = good.length - 22;
    const cdSize = dv.getUint32(eocdAt + 12, true);
    const cdAt = dv.getUint32(eocdAt + 16, true);
    const central = good.slice(cdAt, cdAt + cdSize);
    const eocd = good.slice(eocdAt);
    new DataView(eocd.buffer).setUint32(16, cdAt + 22, true);
    new DataView(central.buffer).setUint32(central.length - 4 - 'archive/version'.length - 4, 0xffffffff, true); // its local offset
    const bytes = new Uint8Array([...good.subarray(0, cdAt), ...eocd, ...central]);
    refused(bytes, /zip64 extra field too short|past the end of the file/);
  });

  it('a stride-0 view declaring 5000×5000 from one element: refused before allocation; the budget can be raised', () => {
    const bytes = ptFile(dictPickle([[P.str('big'), tensor('0', 1, [5000, 5000], [0, 0])]]), { '0': f32([7]) });
    refused(bytes, /more than 67108864 bytes in all .*options\.maxOutputBytes/);
    const small = ptFile(dictPickle([[P.str('e'), tensor('0', 1, [3, 4], [0, 0])]]), { '0': f32([7]) });
    expect(Array.from(readTorchStateDict(small).e!.data as Float32Array)).toEqual(new Array(12).fill(7));
    expect(() => readTorchStateDict(small, { maxOutputBytes: 47 })).toThrow(/more than 47 bytes/);
    expect(readTorchStateDict(small, { maxOutputBytes: 48 }).e!.shape).toEqual([3, 4]);
  });

  it.each([
    ['NaN', P.float(NaN)],
    ['3.5', P.float(3.5)],
    ['-1', P.int(-1)],
  ])('a storage element count of %s is refused (it skipped the bounds check)', (_, numel) => {
    refused(ptFile(dictPickle([[P.str('w'), tensor('0', numel, [4], [1])]]), storage), /malformed storage/);
  });

  it('a storage element count of 3.5 over 16 bytes, viewed as 3 elements, is refused (it was read)', () => {
    const bytes = ptFile(dictPickle([[P.str('w'), tensor('0', P.float(3.5), [3], [1])]]), { '0': f32([1, 2, 3, 4]) });
    refused(bytes, /malformed storage/);
  });

  it("a storage whose bytes are not exactly its element count's is refused", () => {
    refused(ptFile(dictPickle([[P.str('w'), tensor('0', 1, [1], [1])]]), storage), /holds 8 bytes, not the 4/);
  });

  it("a tensor named '__proto__' is an own entry and leaves the result's prototype alone", () => {
    const got = readTorchStateDict(ptFile(dictPickle([[P.str('__proto__'), tensor('0', 2, [2], [1])], w()]), storage));
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.keys(got)).toEqual(['__proto__', 'w']);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')!.value.shape).toEqual([2]);
  });

  it('keys that are not valid UTF-8 are refused (lossy decoding merged two tensors)', () => {
    const bytes = ptFile(
      dictPickle([
        [P.strBytes(new Uint8Array([0xff])), tensor('0', 2, [2], [1])],
        [P.strBytes(new Uint8Array([0xfe])), tensor('0', 2, [2], [1])],
      ]),
      storage,
    );
    refused(bytes, /not valid UTF-8/);
  });

  it('an OrderedDict built through REDUCE from a list of pairs keeps its items', () => {
    const pkl = new Uint8Array([
      ...P.proto(),
      ...P.global('collections', 'OrderedDict'),
      ...P.list,
      ...P.mark,
      ...P.str('w'),
      ...tensor('0', 2, [2], [1]),
      ...P.tuple2,
      ...P.appends,
      0x85, // TUPLE1
      ...P.reduce,
      ...P.stop,
    ]);
    const got = readTorchStateDict(ptFile(pkl, storage));
    expect(Object.keys(got)).toEqual(['w']);
    expect(Array.from(got.w!.data as Float32Array)).toEqual([1.5, -2]);
  });

  it('checks every entry against its CRC-32: a flipped weight bit or a wrong CRC is refused', () => {
    const good = ptFile(dictPickle([w()]), storage);
    const flipped = good.slice();
    const at = good.findIndex((_, i) => good[i] === 0x00 && good[i + 1] === 0x00 && good[i + 2] === 0xc0); // 1.5f
    expect(at).toBeGreaterThan(0);
    flipped[at + 1] = flipped[at + 1]! ^ 0x01;
    refused(flipped, /entry 'archive\/data\/0' fails its CRC-32 check/);
    refused(ptFile(dictPickle([w()]), storage, { crc: { 0: 0x12345678 } }), /'archive\/data\.pkl' fails its CRC-32/);
  });

  it('pickle protocol 99 is refused', () => {
    refused(ptFile(dictPickle([w()], { proto: 99 }), storage), /pickle protocol 99/);
  });

  it('a frame claiming 1 TB is refused', () => {
    const pkl = dictPickle([w()]);
    const framed = new Uint8Array([...pkl.subarray(0, 2), ...P.frame(2n ** 40n), ...pkl.subarray(2)]);
    refused(ptFile(framed, storage), /frame of 1099511627776 bytes/);
  });

  it('duplicate zip entries are refused', () => {
    const pkl = dictPickle([w()]);
    const bytes = zip([
      ['archive/data.pkl', pkl],
      ['archive/data/0', f32([1.5, -2])],
      ['archive/data/0', f32([9, 9])],
    ]);
    refused(bytes, /two entries named 'archive\/data\/0'/);
  });

  it('two archives in one zip are refused', () => {
    const pkl = dictPickle([w()]);
    const bytes = zip([
      ['a/data.pkl', pkl],
      ['a/data/0', f32([1.5, -2])],
      ['b/data.pkl', pkl],
      ['b/data/0', f32([9, 9])],
    ]);
    refused(bytes, /holds 2 archives/);
    refused(
      zip([
        ['a/data.pkl', pkl],
        ['a/data/0', f32([1.5, -2])],
        ['b/data/0', f32([9, 9])],
      ]),
      /entry 'b\/data\/0' outside its archive 'a\/'/,
    );
  });

  it('a config that contains itself, or nests too deep, is a FormatError, not a stack overflow', () => {
    refused(withConfig([...P.list, ...P.put(0), ...P.get(0), ...P.append]), /contains itself/);
    const depth = 1005; // MAX_NESTING + 5
    const deep = [...new Array<Pk>(depth).fill(P.list).flat(), ...new Array<Pk>(depth - 1).fill(P.append).flat()];
    refused(withConfig(deep), /more than 1000 deep/);
  });

  it('a config that shares one list 2^40 times is converted in linear time, the sharing kept', () => {
    // L0 = []; L(k+1) = [Lk, Lk]: 40 levels of memo references, all 41 lists gathered into the config list.
    const parts: Pk = [...P.list, ...P.mark, ...P.list, ...P.put(0)];
    for (let k = 0; k < 40; k++)
      parts.push(...P.list, ...P.get(k), ...P.append, ...P.get(k), ...P.append, ...P.put(k + 1));
    parts.push(...P.appends);
    const config = (readTorchCheckpoint(withConfig(parts)).config as unknown[][])[40]!;
    expect(config[0]).toBe(config[1]);
  });

  it('keeps the allowlist closed: a foreign global is refused even inside a REDUCE argument', () => {
    const pkl = dictPickle([
      [P.str('x'), [...P.global('os', 'system'), ...P.mark, ...P.str('echo'), ...P.tuple, ...P.reduce]],
    ]);
    refused(ptFile(pkl, storage), /refuses global 'os\.system'/);
  });
});
