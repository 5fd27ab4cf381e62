// Hand-made `.pt` files for the reader's tests: a tiny pickle assembler (protocol-2 opcodes, as torch.save writes
// them) and a zip writer of stored entries with their CRC-32. Every hostile file of torch-hostile.test.ts is built
// here from a few lines, so the test shows the bytes it feeds the reader.
import { crc32 } from 'node:zlib';

const enc = new TextEncoder();

/** One pickle fragment: opcodes and their arguments, as bytes. */
export type Pk = number[];

const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

export const P = {
  proto: (v = 2): Pk => [0x80, v],
  frame: (n: bigint): Pk => {
    const out = [0x95];
    for (let i = 0n; i < 8n; i++) out.push(Number((n >> (8n * i)) & 0xffn));
    return out;
  },
  mark: [0x28] as Pk,
  dict: [0x7d] as Pk,
  list: [0x5d] as Pk,
  emptyTuple: [0x29] as Pk,
  none: [0x4e] as Pk,
  false: [0x89] as Pk,
  tuple: [0x74] as Pk,
  tuple2: [0x86] as Pk,
  setitem: [0x73] as Pk,
  setitems: [0x75] as Pk,
  append: [0x61] as Pk,
  appends: [0x65] as Pk,
  reduce: [0x52] as Pk,
  build: [0x62] as Pk,
  binpersid: [0x51] as Pk,
  stop: [0x2e] as Pk,
  put: (i: number): Pk => [0x71, i],
  get: (i: number): Pk => [0x68, i],
  int: (n: number): Pk => [0x4a, ...u32(n)],
  float: (x: number): Pk => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return [0x47, ...b];
  },
  /** BINUNICODE of raw bytes (so a test can write invalid UTF-8). */
  strBytes: (b: Uint8Array): Pk => [0x58, ...u32(b.length), ...b],
  str: (s: string): Pk => P.strBytes(enc.encode(s)),
  global: (module: string, name: string): Pk => [0x63, ...enc.encode(`${module}\n${name}\n`)],
};

/** `torch._utils._rebuild_tensor_v2(storage('key', numel), offset, size, stride, False, OrderedDict())`. */
export function tensor(
  key: string,
  numel: Pk | number,
  size: number[],
  stride: number[],
  { offset = 0, storage = 'FloatStorage' }: { offset?: number; storage?: string } = {},
): Pk {
  const ints = (xs: number[]): Pk => [...P.mark, ...xs.flatMap((x) => P.int(x)), ...P.tuple];
  return [
    ...P.global('torch._utils', '_rebuild_tensor_v2'),
    ...P.mark,
    ...P.mark,
    ...P.str('storage'),
    ...P.global('torch', storage),
    ...P.str(key),
    ...P.str('cpu'),
    ...(typeof numel === 'number' ? P.int(numel) : numel),
    ...P.tuple,
    ...P.binpersid,
    ...P.int(offset),
    ...ints(size),
    ...ints(stride),
    ...P.false,
    ...P.global('collections', 'OrderedDict'),
    ...P.emptyTuple,
    ...P.reduce,
    ...P.tuple,
    ...P.reduce,
  ];
}

/** A pickle of `{name: value, …}` (value fragments already assembled), protocol 2, ending in STOP. */
export function dictPickle(items: [Pk, Pk][], { proto = 2 }: { proto?: number } = {}): Uint8Array {
  return new Uint8Array([
    ...P.proto(proto),
    ...P.dict,
    ...P.mark,
    ...items.flatMap(([k, v]) => [...k, ...v]),
    ...P.setitems,
    ...P.stop,
  ]);
}

export interface ZipOptions {
  /** Replace an entry's CRC-32 in the central directory (by entry index). */
  crc?: Record<number, number>;
  /** Extra field bytes of the central directory record (by entry index). */
  extra?: Record<number, Uint8Array>;
}

/** A zip of stored entries, in order, with their CRC-32 (as torch.save's writer makes them). */
export function zip(entries: [string, Uint8Array][], options: ZipOptions = {}): Uint8Array {
  const local: number[] = [];
  const central: number[] = [];
  entries.forEach(([name, data], i) => {
    const nameBytes = enc.encode(name);
    const crc = options.crc?.[i] ?? crc32(data);
    const extra = options.extra?.[i] ?? new Uint8Array();
    const offset = local.length;
    const common = [20, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...u32(crc), ...u32(data.length), ...u32(data.length)];
    local.push(...u32(0x04034b50), ...common, nameBytes.length, nameBytes.length >> 8, 0, 0, ...nameBytes);
    for (const b of data) local.push(b); // not push(...data): a spread of a big entry overflows the stack
    central.push(
      ...u32(0x02014b50),
      20,
      0,
      ...common,
      nameBytes.length & 0xff,
      nameBytes.length >> 8,
      extra.length & 0xff,
      extra.length >> 8,
      0,
      0, // comment length
      0,
      0, // disk
      0,
      0, // internal attributes
      0,
      0,
      0,
      0, // external attributes
      ...u32(offset),
      ...nameBytes,
      ...extra,
    );
  });
  const n = entries.length;
  const eocd = [
    ...u32(0x06054b50),
    0,
    0,
    0,
    0,
    n & 0xff,
    n >> 8,
    n & 0xff,
    n >> 8,
    ...u32(central.length),
    ...u32(local.length),
    0,
    0,
  ];
  const out = new Uint8Array(local.length + central.length + eocd.length);
  out.set(local);
  out.set(central, local.length);
  out.set(eocd, local.length + central.length);
  return out;
}

/** A torch.save-style file: `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>` for each storage. */
export function ptFile(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array> = {},
  options: ZipOptions = {},
): Uint8Array {
  return zip(
    [
      ['archive/data.pkl', pkl],
      ['archive/byteorder', enc.encode('little')],
      ...Object.entries(storages).map(([k, v]): [string, Uint8Array] => [`archive/data/${k}`, v]),
      ['archive/version', enc.encode('3\n')],
    ],
    options,
  );
}

/** Little-endian float32 bytes of `values`. */
export function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
