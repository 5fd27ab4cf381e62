/**
 * Reads PyTorch `.pt` files (`torch.save(model.state_dict(), path)` and nested training checkpoints such as
 * `{"encoder_state_dict": …, "config": …}`, the zip format of PyTorch ≥ 1.6) without running any code: a zip
 * reader for stored entries and a restricted unpickler that knows only the opcodes and globals a state dict needs,
 * the same promise as PyTorch's `torch.load(weights_only=True)`.
 * Anything else (a global outside {@link ALLOWED_GLOBALS}, an unknown opcode, a truncated or inconsistent
 * file) is refused with a `FormatError` that names it.
 */
import { FormatError, InvalidArgumentError } from '@geolip/geometry';

import { ITEM_SIZE } from '../safetensors/dtypes.js';
import type { SafetensorEntry, SafetensorsDtype } from '../safetensors/types.js';

/** Storage classes a state dict refers to, by the dtype of their elements. */
const STORAGES: Record<string, SafetensorsDtype> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** The only globals the unpickler resolves (`module.name`). */
export const ALLOWED_GLOBALS: readonly string[] = Object.freeze([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGES).map((s) => `torch.${s}`),
]);

// ------------------------------------------------------------------------------------------------
// Zip (stored entries only, as torch.save writes them)

interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/** The CRC-32 (IEEE, as zip uses) table, built on first use. */
let crcTable: Uint32Array | null = null;

/** CRC-32 of `data`, the checksum every zip entry carries. */
function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Reads the entries of a zip of stored entries. Every read is bounds-checked (a field past the end of the file is a
 * FormatError, never a RangeError), every entry's CRC-32 is checked against its data, and a name seen twice is
 * refused (two entries of one name could load either one).
 */
function readZip(OP: string, bytes: Uint8Array): Map<string, ZipEntry> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (msg: string): never => {
    throw new FormatError(OP, 'bytes', msg);
  };
  const at = (off: number, n: number, what: string): number => {
    if (!Number.isSafeInteger(off) || off < 0 || off + n > bytes.length) bad(`has ${what} past the end of the file`);
    return off;
  };
  const u16 = (off: number, what: string): number => dv.getUint16(at(off, 2, what), true);
  const u32 = (off: number, what: string): number => dv.getUint32(at(off, 4, what), true);
  const u64 = (off: number, what: string): number => {
    const v = dv.getBigUint64(at(off, 8, what), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`has ${what} of ${v}, beyond any file this can read`);
    return Number(v);
  };
  if (bytes.length < 22 || dv.getUint32(0, true) !== 0x04034b50)
    bad('is not a zip file (PyTorch ≥ 1.6 .pt files are zips; the legacy format is not supported)');
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('has no zip end-of-central-directory record (truncated?)');
  let count = u16(eocd + 10, 'an entry count');
  let cdOffset = u32(eocd + 16, 'a central directory offset');
  if (cdOffset === 0xffffffff || count === 0xffff) {
    // zip64: the locator sits just before the EOCD.
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) bad('has a zip64 marker but no zip64 locator');
    const rec = u64(loc + 8, 'a zip64 end record offset');
    if (u32(rec, 'a zip64 end record') !== 0x06064b50) bad('has a broken zip64 end record');
    count = u64(rec + 32, 'a zip64 entry count');
    cdOffset = u64(rec + 48, 'a zip64 central directory offset');
  }
  const entries = new Map<string, ZipEntry>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    const what = `a central directory record (entry ${i})`;
    if (u32(p, what) !== 0x02014b50) bad(`has a broken central directory (entry ${i})`);
    at(p, 46, what);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let size = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    at(p + 46, nameLen + extraLen + commentLen, what);
    let name = '';
    try {
      name = utf8.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    } catch {
      bad(`has an entry name (entry ${i}) that is not valid UTF-8`);
    }
    // zip64 extra field (id 1): the sizes and offset that did not fit in 32 bits, in that order, each only if its
    // 32-bit field is 0xffffffff. Every read stays inside the field.
    const extraEnd = p + 46 + nameLen + extraLen;
    for (let e = p + 46 + nameLen; e + 4 <= extraEnd;) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      const fieldEnd = e + 4 + len;
      if (fieldEnd > extraEnd) bad(`entry '${name}' has an extra field longer than its record`);
      if (id === 1) {
        let q = e + 4;
        const next = (): number => {
          if (q + 8 > fieldEnd) bad(`entry '${name}' has a zip64 extra field too short for its 0xffffffff fields`);
          const v = u64(q, `entry '${name}' zip64 field`);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = next();
        if (size === 0xffffffff) size = next();
        if (local === 0xffffffff) local = next();
      }
      e = fieldEnd;
    }
    if (method !== 0) bad(`entry '${name}' is compressed (method ${method}); torch.save stores entries uncompressed`);
    if (size !== usize) bad(`entry '${name}' is stored with a compressed size ${size} ≠ its size ${usize}`);
    if (u32(local, `entry '${name}' local header`) !== 0x04034b50) bad(`entry '${name}' points outside the file`);
    at(local, 30, `entry '${name}' local header`);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (start + size > bytes.length) bad(`entry '${name}' runs past the end of the file (truncated?)`);
    const data = bytes.subarray(start, start + size);
    if (crc32(data) !== crc) bad(`entry '${name}' fails its CRC-32 check (the file is damaged)`);
    if (entries.has(name)) bad(`has two entries named '${name}'`);
    entries.set(name, { name, data });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

// ------------------------------------------------------------------------------------------------
// Restricted unpickler

interface Global {
  kind: 'global';
  name: string;
}
interface StorageRef {
  kind: 'storage';
  dtype: SafetensorsDtype;
  key: string;
  numel: number;
}
interface TensorValue {
  kind: 'tensor';
  entry: SafetensorEntry;
}
type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyValue[]
  | Map<string, PyValue>
  | { tuple: PyValue[] }
  | Global
  | StorageRef
  | TensorValue
  | { kind: 'ordereddict'; map: Map<string, PyValue> };

const MARK = Symbol('mark');

/** The output budget of one read: bytes of tensors built so far and the most allowed. */
interface Budget {
  used: number;
  max: number;
  option: string;
}

function unpickle(OP: string, pkl: Uint8Array, loadStorage: (ref: StorageRef) => Uint8Array, budget: Budget): PyValue {
  const dv = new DataView(pkl.buffer, pkl.byteOffset, pkl.byteLength);
  const stack: (PyValue | typeof MARK)[] = [];
  const memo = new Map<number, PyValue>();
  let p = 0;
  const bad = (msg: string): never => {
    throw new FormatError(OP, 'data.pkl', `${msg} (at byte ${p})`);
  };
  const need = (n: number): void => {
    if (p + n > pkl.length) bad('ends early (truncated pickle)');
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) bad('pops an empty stack');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const items: PyValue[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === undefined) bad('has no MARK to pop to');
      if (v === MARK) return items.reverse();
      items.push(v as PyValue);
    }
  };
  const readLine = (): string => {
    const end = pkl.indexOf(0x0a, p);
    if (end < 0) bad('has an unterminated GLOBAL');
    const s = str(end - p);
    p = end + 1;
    return s;
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const str = (n: number): string => {
    need(n);
    let s = '';
    try {
      s = utf8.decode(pkl.subarray(p, p + n));
    } catch {
      bad('has a string that is not valid UTF-8');
    }
    p += n;
    return s;
  };
  let steps = 0;
  for (;;) {
    if (++steps > 50_000_000) bad('runs too long');
    need(1);
    const op = pkl[p++]!;
    switch (op) {
      case 0x80: {
        // PROTO: pickle protocols go up to 5; a higher one is not a file Python wrote.
        need(1);
        const v = pkl[p++]!;
        if (v > 5) bad(`has pickle protocol ${v}; the highest is 5`);
        break;
      }
      case 0x95: {
        // FRAME: its length must fit in what is left of the pickle.
        need(8);
        const n = dv.getBigUint64(p, true);
        p += 8;
        if (n > BigInt(pkl.length - p)) bad(`has a frame of ${n} bytes, more than the ${pkl.length - p} left`);
        break;
      }
      case 0x2e: {
        // STOP
        const v = pop();
        return v;
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push({ tuple: [] });
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(pkl[p++]!);
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(dv.getUint16(p, true));
        p += 2;
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(dv.getInt32(p, true));
        p += 4;
        break;
      case 0x8a: {
        // LONG1
        need(1);
        const n = pkl[p++]!;
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(pkl[p + i]!);
        if (n > 0 && pkl[p + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(dv.getFloat64(p, false));
        p += 8;
        break;
      case 0x58: {
        // BINUNICODE
        need(4);
        const n = dv.getUint32(p, true);
        p += 4;
        stack.push(str(n));
        break;
      }
      case 0x8c: {
        // SHORT_BINUNICODE
        need(1);
        const n = pkl[p++]!;
        stack.push(str(n));
        break;
      }
      case 0x71: // BINPUT
        need(1);
        memo.set(pkl[p++]!, stack[stack.length - 1] as PyValue);
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(dv.getUint32(p, true), stack[stack.length - 1] as PyValue);
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, stack[stack.length - 1] as PyValue);
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        let i: number;
        if (op === 0x68) {
          need(1);
          i = pkl[p++]!;
        } else {
          need(4);
          i = dv.getUint32(p, true);
          p += 4;
        }
        if (!memo.has(i)) bad(`reads memo ${i}, which was never stored`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x74: // TUPLE
        stack.push({ tuple: popMark() });
        break;
      case 0x85:
        stack.push({ tuple: [pop()] });
        break;
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push({ tuple: [a, b] });
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push({ tuple: [a, b, c] });
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = stack[stack.length - 1];
        if (!Array.isArray(list)) bad('APPENDs to a non-list');
        (list as PyValue[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = stack[stack.length - 1];
        if (!Array.isArray(list)) bad('APPENDs to a non-list');
        // One at a time: a spread of ~130,000 items overflows the call stack.
        for (const item of items) (list as PyValue[]).push(item);
        break;
      }
      case 0x73: // SETITEM
      case 0x75: {
        // SETITEMS
        const items =
          op === 0x73
            ? (() => {
                const v = pop();
                const k = pop();
                return [k, v];
              })()
            : popMark();
        const target = stack[stack.length - 1];
        const map = target instanceof Map ? target : isOrderedDict(target) ? target.map : bad('SETITEMs on a non-dict');
        if (items.length % 2 !== 0) bad('SETITEMS with an odd number of items');
        for (let i = 0; i < items.length; i += 2)
          (map as Map<string, PyValue>).set(dictKey(items[i], bad), items[i + 1]!);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = readLine();
        const name = readLine();
        const full = `${module}.${name}`;
        if (!ALLOWED_GLOBALS.includes(full))
          bad(`refuses global '${full}': a state dict needs only ${ALLOWED_GLOBALS.join(', ')}`);
        stack.push({ kind: 'global', name: full });
        break;
      }
      case 0x93: // STACK_GLOBAL
        bad('uses STACK_GLOBAL; only protocol-2 state dicts (torch.save default) are supported');
        break;
      case 0x51: {
        // BINPERSID: ('storage', storage_type, key, location, numel)
        const pid = pop();
        if (!isTuple(pid) || pid.tuple[0] !== 'storage' || pid.tuple.length < 5)
          bad('has a persistent id that is not a storage');
        const [, type, key, , numel] = (pid as { tuple: PyValue[] }).tuple;
        if (!isGlobal(type) || !type.name.startsWith('torch.') || !(type.name.slice(6) in STORAGES))
          bad('has a storage of an unknown type');
        if (typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0)
          bad('has a malformed storage reference (its element count must be a non-negative integer)');
        stack.push({
          kind: 'storage',
          dtype: STORAGES[(type as Global).name.slice(6)]!,
          key: key as string,
          numel: numel as number,
        });
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!isGlobal(fn) || !isTuple(args)) bad('REDUCEs something other than an allowed global with a tuple');
        stack.push(call((fn as Global).name, (args as { tuple: PyValue[] }).tuple, loadStorage, budget, bad));
        break;
      }
      case 0x62: {
        // BUILD: only the empty state of OrderedDict / tensors is accepted (and ignored).
        pop();
        break;
      }
      default:
        bad(`has opcode 0x${op.toString(16).padStart(2, '0')}, which a state dict does not use`);
    }
  }
}

function isTuple(v: unknown): v is { tuple: PyValue[] } {
  return typeof v === 'object' && v !== null && Array.isArray((v as { tuple?: unknown }).tuple);
}
function isGlobal(v: unknown): v is Global {
  return typeof v === 'object' && v !== null && (v as Global).kind === 'global';
}
function isOrderedDict(v: unknown): v is { kind: 'ordereddict'; map: Map<string, PyValue> } {
  return typeof v === 'object' && v !== null && (v as { kind?: string }).kind === 'ordereddict';
}

/** The key of a dict item: strings (state dicts, configs) and integers (an optimizer's per-parameter state). */
function dictKey(k: PyValue | undefined, bad: (m: string) => never): string {
  if (typeof k !== 'string' && !(typeof k === 'number' && Number.isInteger(k)))
    bad('has a dict key that is neither a string nor an integer');
  return String(k);
}

/** `OrderedDict()`, `OrderedDict(dict)` or `OrderedDict(iterable of (key, value) pairs)`, as Python builds them. */
function orderedDict(args: PyValue[], bad: (m: string) => never): PyValue {
  const map = new Map<string, PyValue>();
  if (args.length > 1) bad(`calls OrderedDict with ${args.length} arguments; it takes at most 1`);
  if (args.length === 1) {
    const src = args[0]!;
    const from = src instanceof Map ? src : isOrderedDict(src) ? src.map : null;
    if (from) for (const [k, v] of from) map.set(k, v);
    else if (Array.isArray(src) || isTuple(src)) {
      for (const pair of Array.isArray(src) ? src : src.tuple) {
        const kv = Array.isArray(pair) ? pair : isTuple(pair) ? pair.tuple : null;
        if (!kv || kv.length !== 2) bad('calls OrderedDict with an item that is not a (key, value) pair');
        map.set(dictKey(kv![0], bad), kv![1]!);
      }
    } else bad('calls OrderedDict with an argument that is neither a dict nor a list of pairs');
  }
  return { kind: 'ordereddict', map };
}

function call(
  name: string,
  args: PyValue[],
  loadStorage: (ref: StorageRef) => Uint8Array,
  budget: Budget,
  bad: (m: string) => never,
): PyValue {
  if (name === 'collections.OrderedDict') return orderedDict(args, bad);
  if (name === 'torch._utils._rebuild_parameter') {
    const t = args[0];
    if (!(typeof t === 'object' && t !== null && (t as TensorValue).kind === 'tensor'))
      bad('_rebuild_parameter of a non-tensor');
    return t as TensorValue;
  }
  // torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  const [storage, offset, size, stride] = args;
  if (!(typeof storage === 'object' && storage !== null && (storage as StorageRef).kind === 'storage'))
    bad('_rebuild_tensor_v2 without a storage');
  const ints = (v: PyValue | undefined, what: string): number[] => {
    if (!isTuple(v) || v.tuple.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0))
      bad(`_rebuild_tensor_v2 with a bad ${what}`);
    return (v as { tuple: number[] }).tuple;
  };
  const shape = ints(size, 'size');
  const strides = ints(stride, 'stride');
  if (strides.length !== shape.length) bad('_rebuild_tensor_v2 with size and stride of different lengths');
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0)
    bad('_rebuild_tensor_v2 with a bad storage offset');
  const ref = storage as StorageRef;
  const bytes = loadStorage(ref);
  const item = ITEM_SIZE[ref.dtype];
  if (bytes.length !== ref.numel * item)
    bad(`storage '${ref.key}' holds ${bytes.length} bytes, not the ${ref.numel * item} its ${ref.numel} elements need`);
  // The output is budgeted before it is allocated: a view with zero or overlapping strides can declare far more
  // elements than its storage holds (a 600-byte file can declare 20000×20000).
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) bad('_rebuild_tensor_v2 with a size whose element count overflows');
  }
  if (n * item > budget.max - budget.used)
    bad(
      `declares tensors of more than ${budget.max} bytes in all (${budget.option}; ` +
        `a tensor of shape [${shape.join(', ')}] needs ${n * item} more)`,
    );
  budget.used += n * item;
  if (n > 0) {
    let last = offset as number;
    for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * strides[d]!;
    if (last >= ref.numel) bad(`a tensor reaches element ${last} of storage '${ref.key}', which has ${ref.numel}`);
  }
  return { kind: 'tensor', entry: gather(ref.dtype, bytes, offset as number, shape, strides, n) };
}

/** Copies a strided view of a storage into a contiguous row-major array of its dtype. */
function gather(
  dtype: SafetensorsDtype,
  bytes: Uint8Array,
  offset: number,
  shape: number[],
  strides: number[],
  n: number,
): SafetensorEntry {
  const item = ITEM_SIZE[dtype];
  const out = new Uint8Array(n * item);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let s = offset;
    for (let d = 0; d < shape.length; d++) s += idx[d]! * strides[d]!;
    out.set(bytes.subarray(s * item, (s + 1) * item), i * item);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  // `out` is little-endian, as torch writes storages on every platform this reads (byteorder is checked).
  const buf = out.buffer;
  const data =
    dtype === 'F32'
      ? new Float32Array(buf)
      : dtype === 'F64'
        ? new Float64Array(buf)
        : dtype === 'F16' || dtype === 'BF16' || dtype === 'U16'
          ? new Uint16Array(buf)
          : dtype === 'I64'
            ? new BigInt64Array(buf)
            : dtype === 'I32'
              ? new Int32Array(buf)
              : dtype === 'I16'
                ? new Int16Array(buf)
                : dtype === 'I8'
                  ? new Int8Array(buf)
                  : new Uint8Array(buf);
  return { dtype, shape, data } as SafetensorEntry;
}

/** Options of {@link readTorchCheckpoint} and {@link readTorchStateDict}. */
export interface ReadTorchOptions {
  /**
   * The top-level key that holds the state dict. Default: the first of {@link STATE_DICT_KEYS} that holds a dict of
   * tensors, else the top level itself when it is a dict of tensors.
   */
  stateDictKey?: string | undefined;
  /** The top-level key that holds the config. Default: the first of {@link CONFIG_KEYS} present. */
  configKey?: string | undefined;
  /**
   * The most bytes of tensors the reader builds, checked before each tensor is allocated. A view with zero or
   * overlapping strides (`expand`) declares more elements than its storage holds; this budget bounds what a small
   * file can make the reader allocate. Default: 4 × the file's size, at least 64 MiB.
   */
  maxOutputBytes?: number | undefined;
}

const DEFAULT_MIN_OUTPUT_BYTES = 64 * 2 ** 20;

/** What {@link readTorchCheckpoint} returns. */
export interface TorchCheckpoint {
  /** The state dict's tensors by name, contiguous, in the dtypes PyTorch stored. */
  stateDict: Record<string, SafetensorEntry>;
  /** The key the state dict came from; `null` when the file is a flat state dict. */
  stateDictKey: string | null;
  /** The config (Python dicts as objects, tuples and lists as arrays, None as null), or `undefined` if none. */
  config: unknown;
  /** The key the config came from, or `null`. */
  configKey: string | null;
  /** Every top-level key of the file, in file order. */
  keys: string[];
  /** The other top-level values that are not tensors' containers (epoch, step, losses…), converted like `config`. */
  extra: Record<string, unknown>;
}

/** Keys tried, in order, for the state dict of a nested checkpoint. */
export const STATE_DICT_KEYS: readonly string[] = Object.freeze([
  'state_dict',
  'model_state_dict',
  'encoder_state_dict',
  'model',
]);
/** Keys tried, in order, for the config of a nested checkpoint. */
export const CONFIG_KEYS: readonly string[] = Object.freeze([
  'config',
  'model_config',
  'args',
  'hparams',
  'hyper_parameters',
]);

function asMap(v: PyValue | undefined): Map<string, PyValue> | null {
  return v instanceof Map ? v : isOrderedDict(v) ? v.map : null;
}
function isTensor(v: PyValue | undefined): v is TensorValue {
  return typeof v === 'object' && v !== null && (v as TensorValue).kind === 'tensor';
}
function isTensorDict(v: PyValue | undefined): boolean {
  const m = asMap(v);
  return m !== null && m.size > 0 && [...m.values()].every(isTensor);
}

/** The deepest nesting of lists, tuples and dicts a config may have (Python's own recursion limit is 1000). */
export const MAX_NESTING = 1000;

/**
 * A Python value as plain JS: dicts → objects, tuples/lists → arrays, tensors → entries. A value the pickle shares
 * (through its memo) is converted once and shared, so the work is linear in the pickle; a container that holds
 * itself, or nesting deeper than {@link MAX_NESTING}, is a FormatError.
 */
function toPlain(OP: string, root: PyValue): unknown {
  const done = new Map<object, unknown>();
  const open = new Set<object>();
  const convert = (v: PyValue, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (isTensor(v)) return v.entry;
    if (isGlobal(v)) return `<global ${v.name}>`;
    if (done.has(v)) return done.get(v);
    if (open.has(v)) throw new FormatError(OP, 'bytes', 'holds a container that contains itself');
    if (depth >= MAX_NESTING) throw new FormatError(OP, 'bytes', `nests containers more than ${MAX_NESTING} deep`);
    open.add(v);
    let out: unknown;
    const m = asMap(v);
    if (Array.isArray(v) || isTuple(v)) out = (Array.isArray(v) ? v : v.tuple).map((x) => convert(x, depth + 1));
    else if (m) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of m)
        Object.defineProperty(o, k, {
          value: convert(x, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      out = o;
    } else out = `<${(v as { kind?: string }).kind ?? 'object'}>`;
    open.delete(v);
    done.set(v, out);
    return out;
  };
  return convert(root, 0);
}

function tensorsOf(OP: string, map: Map<string, PyValue>, where: string): Record<string, SafetensorEntry> {
  const out: Record<string, SafetensorEntry> = {};
  for (const [k, v] of map) {
    if (!isTensor(v)) throw new FormatError(OP, 'bytes', `${where} entry '${k}' is not a tensor`);
    Object.defineProperty(out, k, { value: v.entry, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function readRoot(OP: string, bytes: unknown, maxOutputBytes: number | undefined): PyValue {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer))
    throw new InvalidArgumentError(OP, 'bytes', 'must be a Uint8Array or an ArrayBuffer');
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const zip = readZip(OP, u8);
  // One archive per file: exactly one `<folder>/data.pkl`, and every entry inside that folder.
  const pkls = [...zip.keys()].filter((k) => /^([^/]*\/)?data\.pkl$/.test(k));
  if (pkls.length === 0) throw new FormatError(OP, 'bytes', 'has no data.pkl entry (not a torch.save file)');
  if (pkls.length > 1)
    throw new FormatError(OP, 'bytes', `holds ${pkls.length} archives (${pkls.map((k) => `'${k}'`).join(', ')})`);
  const pklName = pkls[0]!;
  const prefix = pklName.slice(0, pklName.length - 'data.pkl'.length);
  for (const k of zip.keys())
    if (!k.startsWith(prefix)) throw new FormatError(OP, 'bytes', `has entry '${k}' outside its archive '${prefix}'`);
  const order = zip.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(order.data).trim() !== 'little')
    throw new FormatError(OP, 'bytes', 'stores big-endian tensors, which are not supported');
  const loadStorage = (ref: StorageRef): Uint8Array => {
    const e = zip.get(`${prefix}data/${ref.key}`);
    if (!e) throw new FormatError(OP, 'bytes', `has no entry for storage '${ref.key}'`);
    return e.data;
  };
  const max = maxOutputBytes ?? Math.max(DEFAULT_MIN_OUTPUT_BYTES, 4 * u8.byteLength);
  const option =
    maxOutputBytes === undefined
      ? 'by default 4 × the file size, at least 64 MiB; raise options.maxOutputBytes'
      : 'options.maxOutputBytes';
  return unpickle(OP, zip.get(pklName)!.data, loadStorage, { used: 0, max, option });
}

function checkpointOf(OP: string, bytes: unknown, options: ReadTorchOptions): TorchCheckpoint {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(OP, 'options', 'must be an object');
  const { stateDictKey, configKey, maxOutputBytes } = options;
  if (maxOutputBytes !== undefined && !(Number.isSafeInteger(maxOutputBytes) && maxOutputBytes >= 0))
    throw new InvalidArgumentError(OP, 'options.maxOutputBytes', 'must be a non-negative integer');
  if (stateDictKey !== undefined && typeof stateDictKey !== 'string')
    throw new InvalidArgumentError(OP, 'options.stateDictKey', 'must be a string');
  if (configKey !== undefined && typeof configKey !== 'string')
    throw new InvalidArgumentError(OP, 'options.configKey', 'must be a string');
  const root = readRoot(OP, bytes, maxOutputBytes);
  const map = asMap(root);
  if (!map) throw new FormatError(OP, 'bytes', 'does not hold a dict (a state dict or a checkpoint dict)');
  const keys = [...map.keys()];
  const listed = keys.map((k) => `'${k}'`).join(', ') || 'none';
  let key: string | null;
  if (stateDictKey !== undefined) {
    if (!map.has(stateDictKey))
      throw new FormatError(OP, 'bytes', `has no key '${stateDictKey}' (options.stateDictKey); keys found: ${listed}`);
    if (!asMap(map.get(stateDictKey)))
      throw new FormatError(OP, 'bytes', `key '${stateDictKey}' does not hold a dict of tensors`);
    key = stateDictKey;
  } else {
    const hit = STATE_DICT_KEYS.find((k) => isTensorDict(map.get(k)));
    if (hit !== undefined) key = hit;
    else if ([...map.values()].every(isTensor)) key = null;
    else
      throw new FormatError(
        OP,
        'bytes',
        `holds no state dict: none of ${STATE_DICT_KEYS.map((k) => `'${k}'`).join(
          ', ',
        )} is a dict of tensors, and the top level is not one; keys found: ${listed} (pass options.stateDictKey)`,
      );
  }
  const stateDict = tensorsOf(
    OP,
    key === null ? map : asMap(map.get(key))!,
    key === null ? 'the state dict' : `'${key}'`,
  );
  let cKey: string | null = null;
  if (configKey !== undefined) {
    if (!map.has(configKey))
      throw new FormatError(OP, 'bytes', `has no key '${configKey}' (options.configKey); keys found: ${listed}`);
    cKey = configKey;
  } else if (key !== null) {
    cKey = CONFIG_KEYS.find((k) => map.has(k)) ?? null;
  }
  const extra: Record<string, unknown> = {};
  if (key !== null) {
    for (const [k, v] of map) {
      if (k === key || k === cKey || asMap(v) || isTensor(v) || Array.isArray(v) || isTuple(v)) continue;
      Object.defineProperty(extra, k, { value: toPlain(OP, v), enumerable: true, writable: true, configurable: true });
    }
  }
  return {
    stateDict,
    stateDictKey: key,
    config: cKey === null ? undefined : toPlain(OP, map.get(cKey)!),
    configKey: cKey,
    keys,
    extra,
  };
}

/**
 * Reads a PyTorch training checkpoint saved with `torch.save` (zip format): the state dict, selected by key, and the
 * config beside it. A flat state dict (`torch.save(model.state_dict())`) is read as a checkpoint with no config.
 *
 * @example
 * const { stateDict, config } = readTorchCheckpoint(readFileSync('best.pt')); // {"encoder_state_dict", "config", …}
 * @throws {InvalidArgumentError} naming `readTorchCheckpoint`: `bytes` not a Uint8Array/ArrayBuffer, bad options.
 * @throws {FormatError} naming `readTorchCheckpoint` and `'bytes'`: everything {@link readTorchStateDict} refuses,
 *   no state dict under the given or default keys (the message lists the keys found), a named key that is absent.
 */
export function readTorchCheckpoint(bytes: Uint8Array | ArrayBuffer, options: ReadTorchOptions = {}): TorchCheckpoint {
  return checkpointOf('readTorchCheckpoint', bytes, options);
}

/**
 * Reads a PyTorch state dict saved with `torch.save(state_dict, path)` (zip format), or the state dict inside a
 * nested training checkpoint (see {@link ReadTorchOptions.stateDictKey}). Returns the tensors by name, contiguous,
 * in the dtypes PyTorch stored (the same entry type as `readSafetensors`).
 *
 * @example
 * const tensors = readTorchStateDict(readFileSync('model.pt'));
 * model.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([k, e]) => [k, entryToTensor(e)])));
 * @throws {FormatError} naming what is wrong: not a zip, a compressed or truncated entry, a global other than
 *   {@link ALLOWED_GLOBALS}, an opcode a state dict does not use, a tensor reaching past its storage, no state dict.
 */
export function readTorchStateDict(
  bytes: Uint8Array | ArrayBuffer,
  options: ReadTorchOptions = {},
): Record<string, SafetensorEntry> {
  return checkpointOf('readTorchStateDict', bytes, options).stateDict;
}
