// Property and fuzz tests for the safetensors reader and writer.
//
// Every input handed to readSafetensors must either parse into entries whose sizes are
// consistent (data length = product(shape), bytes = elements · itemsize, entries tiling the data
// section exactly, BOOL bytes 0/1) or throw a FormatError naming readSafetensors and 'bytes' —
// never another error type, never a hang. Seeds are fixed; GEOLIP_FUZZ_RUNS sets the number of
// runs of each main property (default 3000: about 3 s per project on 2 cores; the round-trip
// and length-tampering properties run half as many).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import { FormatError } from '@geolip/geometry';
import { SAFETENSORS_DTYPES, readSafetensors, writeSafetensors } from '../src/safetensors/index.js';
import { ITEM_SIZE } from '../src/safetensors/dtypes.js';
import type { SafetensorEntry, SafetensorsContents, SafetensorsDtype } from '../src/safetensors/index.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.GEOLIP_FUZZ_RUNS ?? '') || 3000));
/** Coverage assertions (that the fuzzer reached each rule) only make sense with enough runs. */
const CHECK_COVERAGE = RUNS >= 500;

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const looseFile = new Uint8Array(readFileSync(`${fixtureDir}safetensors_fixture.safetensors`));
const canonicalFile = new Uint8Array(readFileSync(`${fixtureDir}safetensors_fixture_canonical.safetensors`));

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

function fail(message: string): never {
  throw new Error(`inconsistent parse: ${message}`);
}

/** Throws a plain Error (which fails the property) unless a successful parse is self-consistent. */
function assertConsistent(bytes: Uint8Array, result: SafetensorsContents): void {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  let total = 0;
  for (const name of Object.keys(result.tensors)) {
    const e = Object.getOwnPropertyDescriptor(result.tensors, name)!.value as SafetensorEntry;
    if (!SAFETENSORS_DTYPES.includes(e.dtype)) fail(`dtype ${String(e.dtype)}`);
    if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`shape ${e.shape.join(',')}`);
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (e.data.length !== numel) fail(`${name}: ${e.data.length} elements for shape [${e.shape.join(',')}]`);
    if (e.data.byteLength !== numel * ITEM_SIZE[e.dtype]) fail(`${name}: ${e.data.byteLength} bytes`);
    if (e.dtype === 'BOOL' && e.data.some((b) => b > 1)) fail(`${name}: BOOL byte > 1`);
    total += e.data.byteLength;
  }
  if (total !== bytes.length - 8 - n) fail(`tensors hold ${total} bytes, data section is ${bytes.length - 8 - n}`);
  for (const key of Object.keys(result.metadata)) {
    if (typeof Object.getOwnPropertyDescriptor(result.metadata, key)!.value !== 'string') fail(`metadata ${key}`);
  }
}

type Outcome = 'ok' | string;

/** 'ok', or the FormatError's reason; rethrows anything else. */
function parseOrFormatError(bytes: Uint8Array): Outcome {
  let result: SafetensorsContents;
  try {
    result = readSafetensors(bytes);
  } catch (error) {
    if (error instanceof FormatError && error.message.startsWith("readSafetensors: 'bytes' ")) return error.message;
    throw error;
  }
  assertConsistent(bytes, result);
  return 'ok';
}

/** Buckets a FormatError message by the rule it reports (for the coverage checks). */
function rule(outcome: Outcome): string {
  const rules: [string, RegExp][] = [
    ['ok', /^ok$/],
    ['too short', /needs at least 8/],
    ['header limit', /over the 100000000-byte limit/],
    ['header past end', /past the end of the buffer/],
    ['utf8', /not valid UTF-8/],
    ['json', /not valid JSON/],
    ['duplicate', /duplicate key/],
    ['not object', /header must be a JSON object/],
    ['metadata', /"__metadata__" must/],
    ['entry', /must be an object with dtype|is missing|unknown field/],
    ['dtype', /unsupported dtype/],
    ['shape', /shape must be/],
    ['offsets', /data_offsets must be/],
    ['past data', /run past the end of the data section/],
    ['byte length', /bytes \(data_offsets .* need/],
    ['overlap', /overlap/],
    ['gap', /gap of/],
    ['trailing', /trailing byte/],
    ['bool', /BOOL tensor/],
  ];
  for (const [name, pattern] of rules) if (pattern.test(outcome)) return name;
  return `unclassified: ${outcome}`;
}

// ---------------------------------------------------------------------------------------------
// Building files
// ---------------------------------------------------------------------------------------------

function withHeader(header: string, data: Uint8Array, length?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return {
    header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>,
    data: bytes.subarray(8 + n),
  };
}

const nameArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter((s) => s !== '__metadata__');

/** A random tensor of any dtype, as a SafetensorEntry with its natural typed array. */
const entryArb: fc.Arbitrary<SafetensorEntry> = fc
  .tuple(fc.constantFrom(...SAFETENSORS_DTYPES), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }))
  .chain(([dtype, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const of = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: n, maxLength: n });
    const int = (min: number, max: number) => of(fc.integer({ min, max }));
    let data: fc.Arbitrary<SafetensorEntry['data']>;
    switch (dtype) {
      case 'F64':
        data = of(fc.double()).map((v) => new Float64Array(v));
        break;
      case 'F32':
        data = of(fc.float()).map((v) => new Float32Array(v));
        break;
      case 'F16':
      case 'BF16':
      case 'U16':
        data = int(0, 65535).map((v) => new Uint16Array(v));
        break;
      case 'I64':
        data = of(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map((v) => new BigInt64Array(v));
        break;
      case 'U64':
        data = of(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map((v) => new BigUint64Array(v));
        break;
      case 'I32':
        data = int(-2147483648, 2147483647).map((v) => new Int32Array(v));
        break;
      case 'U32':
        data = int(0, 4294967295).map((v) => new Uint32Array(v));
        break;
      case 'I16':
        data = int(-32768, 32767).map((v) => new Int16Array(v));
        break;
      case 'I8':
        data = int(-128, 127).map((v) => new Int8Array(v));
        break;
      case 'U8':
        data = int(0, 255).map((v) => new Uint8Array(v));
        break;
      case 'BOOL':
        data = int(0, 1).map((v) => new Uint8Array(v));
        break;
    }
    return data.map((d) => ({ dtype, shape, data: d }) as SafetensorEntry);
  });

const tensorsArb = fc.dictionary(nameArb, entryArb, { maxKeys: 5 });
const metadataArb = fc.option(
  fc.dictionary(fc.string({ unit: 'binary', maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 8 }), {
    maxKeys: 3,
  }),
  {
    nil: undefined,
  },
);

/** Valid files: random tensors written by writeSafetensors, plus the two fixtures. */
const validFileArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(tensorsArb, metadataArb).map(([t, m]) => writeSafetensors(t, m)) },
  { weight: 1, arbitrary: fc.constantFrom(looseFile, canonicalFile) },
);

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('safetensors fuzz: every input parses consistently or throws FormatError', () => {
  const seen = new Map<string, number>();
  const record = (outcome: Outcome): void => {
    const r = rule(outcome);
    if (r.startsWith('unclassified')) throw new Error(r);
    seen.set(r, (seen.get(r) ?? 0) + 1);
  };

  test.prop([fc.uint8Array({ maxLength: 96 })], { seed: 0x5afe01, numRuns: RUNS })('random byte arrays', (bytes) => {
    record(parseOrFormatError(bytes));
  });

  test.prop(
    [
      fc.array(
        fc.constantFrom(
          '{',
          '}',
          '[',
          ']',
          '"',
          ':',
          ',',
          ' ',
          '\n',
          '0',
          '1',
          '8',
          '-',
          '.',
          'e',
          '"dtype"',
          '"shape"',
          '"data_offsets"',
          '"F32"',
          '"U8"',
          '"BOOL"',
          '"__metadata__"',
          '"w"',
          'null',
          'true',
          '\\u00',
          '\\',
          '\u00e9',
          '\uFEFF',
        ),
        { maxLength: 48 },
      ),
      fc.uint8Array({ maxLength: 16 }),
    ],
    { seed: 0x5afe02, numRuns: RUNS },
  )('random JSON-like headers with a correct length field', (tokens, data) => {
    record(parseOrFormatError(withHeader(tokens.join(''), data)));
  });

  const fieldValue = (specific: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 4, arbitrary: specific }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
  const entryLike = fc.record(
    {
      dtype: fieldValue(fc.constantFrom<unknown>(...SAFETENSORS_DTYPES, 'F8_E4M3', 'f32', '')),
      shape: fieldValue(fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 })),
      data_offsets: fieldValue(fc.tuple(fc.integer({ min: -1, max: 40 }), fc.integer({ min: -1, max: 40 }))),
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  );
  test.prop(
    [
      fc.dictionary(
        fc.constantFrom('w', 'v', 'u', '__metadata__'),
        fc.oneof({ weight: 6, arbitrary: entryLike }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }),
        { maxKeys: 3 },
      ),
      fc.uint8Array({ maxLength: 40 }),
    ],
    { seed: 0x5afe03, numRuns: RUNS },
  )('structure-aware random headers', (header, data) => {
    record(parseOrFormatError(withHeader(JSON.stringify(header), data)));
  });

  test.prop(
    [
      validFileArb,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
    ],
    { seed: 0x5afe04, numRuns: RUNS },
  )('bit flips in valid files', (file, flips) => {
    const bytes = file.slice();
    const headerEnd = Math.min(bytes.length, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)));
    for (const [at, bit, inHeader] of flips) {
      const index = inHeader ? at % headerEnd : at % bytes.length;
      bytes[index]! ^= 1 << bit;
    }
    record(parseOrFormatError(bytes));
  });

  test.prop(
    [
      validFileArb,
      fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: -16, max: 16 }).map((d) => ({ delta: d })),
        fc.constantFrom(0n, 1n, 7n, 8n, 100_000_000n, 100_000_001n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n),
      ),
    ],
    { seed: 0x5afe05, numRuns: Math.ceil(RUNS / 2) },
  )('header-length field tampering', (file, change) => {
    const bytes = file.slice();
    const dv = new DataView(bytes.buffer);
    const n = dv.getBigUint64(0, true);
    const value = typeof change === 'bigint' ? change : n + BigInt(change.delta);
    dv.setBigUint64(0, value < 0n ? 0n : value, true);
    const outcome = parseOrFormatError(bytes);
    record(outcome);
    if (value !== n) expect(outcome).not.toBe('ok');
  });

  const offsetArb = fc.oneof(
    fc.integer({ min: -2, max: 64 }),
    fc.nat(),
    fc.constantFrom<unknown>(1.5, 2 ** 53, 2 ** 60, -0, '0', null),
  );
  const mutationArb = fc.oneof(
    fc.record({
      kind: fc.constant('offsets' as const),
      value: fc.oneof(fc.tuple(offsetArb, offsetArb), fc.array(offsetArb, { maxLength: 3 })),
    }),
    fc.record({
      kind: fc.constant('offset delta' as const),
      which: fc.integer({ min: 0, max: 1 }),
      delta: fc.integer({ min: -9, max: 9 }),
    }),
    fc.record({ kind: fc.constant('shift range' as const), delta: fc.integer({ min: -16, max: 16 }) }),
    fc.record({
      kind: fc.constant('dtype' as const),
      value: fc.constantFrom<unknown>(...SAFETENSORS_DTYPES, 'F8_E5M2', 'C64', 'bool', '', 4, null),
    }),
    fc.record({
      kind: fc.constant('shape' as const),
      value: fc.oneof(
        fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 4 }),
        fc.constantFrom<unknown>([1.5], ['2'], 3, null, [2 ** 31, 2 ** 31]),
      ),
    }),
    fc.record({ kind: fc.constant('drop field' as const), field: fc.constantFrom('dtype', 'shape', 'data_offsets') }),
    fc.record({ kind: fc.constant('add field' as const), value: fc.jsonValue({ maxDepth: 1 }) }),
    fc.record({ kind: fc.constant('swap offsets' as const), other: fc.nat() }),
    fc.record({ kind: fc.constant('metadata' as const), value: fc.jsonValue({ maxDepth: 2 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), other: fc.nat() }),
  );
  test.prop([validFileArb, fc.nat(), mutationArb, fc.boolean()], { seed: 0x5afe06, numRuns: RUNS })(
    'JSON field tampering in valid headers (offsets, dtype, shape, fields, metadata, duplicates)',
    (file, pick, mutation, pad) => {
      const { header, data } = split(file);
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      let text: string;
      if (mutation.kind === 'metadata') {
        header.__metadata__ = mutation.value;
        text = JSON.stringify(header);
      } else if (names.length === 0) {
        text = JSON.stringify(header);
      } else {
        const name = names[pick % names.length]!;
        const entry = header[name] as Record<string, unknown>;
        switch (mutation.kind) {
          case 'offsets':
            entry.data_offsets = mutation.value;
            break;
          case 'offset delta': {
            const offsets = [...(entry.data_offsets as number[])];
            offsets[mutation.which] = offsets[mutation.which]! + mutation.delta;
            entry.data_offsets = offsets;
            break;
          }
          case 'shift range':
            entry.data_offsets = (entry.data_offsets as number[]).map((o) => o + mutation.delta);
            break;
          case 'dtype':
            entry.dtype = mutation.value;
            break;
          case 'shape':
            entry.shape = mutation.value;
            break;
          case 'drop field':
            delete entry[mutation.field];
            break;
          case 'add field':
            entry.extra = mutation.value;
            break;
          case 'swap offsets': {
            const other = header[names[mutation.other % names.length]!] as Record<string, unknown>;
            [entry.data_offsets, other.data_offsets] = [other.data_offsets, entry.data_offsets];
            break;
          }
          case 'duplicate':
            break;
        }
        text = JSON.stringify(header);
        if (mutation.kind === 'duplicate') {
          const other = names[mutation.other % names.length]!;
          text = `${text.slice(0, -1)},${JSON.stringify(other)}:${JSON.stringify(header[other])}}`;
        }
      }
      if (pad) text += ' '.repeat((8 - (new TextEncoder().encode(text).length % 8)) % 8);
      record(parseOrFormatError(withHeader(text, data)));
    },
  );

  it('truncation at every length, and any appended byte, is a FormatError', () => {
    const small = writeSafetensors(
      {
        a: { dtype: 'F32', shape: [2], data: [1, 2] },
        b: { dtype: 'I64', shape: [1], data: [3n] },
        c: { dtype: 'BOOL', shape: [3], data: [true, false, true] },
      },
      { k: 'v' },
    );
    for (const file of [small, looseFile, canonicalFile]) {
      expect(parseOrFormatError(file)).toBe('ok');
      for (let length = 0; length < file.length; length++) {
        const outcome = parseOrFormatError(file.subarray(0, length));
        if (outcome === 'ok') expect.unreachable(`prefix of length ${length} parsed`);
        record(outcome);
      }
      for (const extra of [0x00, 0x20, 0x7b]) {
        const longer = new Uint8Array(file.length + 1);
        longer.set(file);
        longer[file.length] = extra;
        expect(rule(parseOrFormatError(longer))).toBe('trailing');
      }
    }
  });

  it.runIf(CHECK_COVERAGE)('reached every validation rule', () => {
    const missing = [
      'ok',
      'too short',
      'header limit',
      'header past end',
      'utf8',
      'json',
      'duplicate',
      'not object',
      'metadata',
      'entry',
      'dtype',
      'shape',
      'offsets',
      'past data',
      'byte length',
      'overlap',
      'gap',
      'trailing',
      'bool',
    ].filter((r) => !seen.has(r));
    expect(missing).toEqual([]);
  });
});

describe('safetensors round trip property', () => {
  test.prop([tensorsArb, metadataArb], { seed: 0x5afe07, numRuns: Math.ceil(RUNS / 2) })(
    'random tensors → write → read gives the same values; writing again gives the same bytes',
    (tensors, metadata) => {
      const bytes = writeSafetensors(tensors, metadata);
      const header = new DataView(bytes.buffer).getBigUint64(0, true);
      expect(header % 8n).toBe(0n);
      const read = readSafetensors(bytes);
      expect(Object.keys(read.tensors).sort()).toEqual(Object.keys(tensors).sort());
      for (const name of Object.keys(tensors)) {
        const want = Object.getOwnPropertyDescriptor(tensors, name)!.value as SafetensorEntry;
        const got = Object.getOwnPropertyDescriptor(read.tensors, name)!.value as SafetensorEntry;
        expect(got.dtype).toBe(want.dtype);
        expect(got.shape).toEqual(want.shape);
        // Bytes, not values: NaN payloads must survive too.
        expect(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength)).toEqual(
          new Uint8Array(want.data.buffer, want.data.byteOffset, want.data.byteLength),
        );
        expect(got.data.buffer).toBe(bytes.buffer); // aligned by construction: views, not copies
      }
      expect({ ...read.metadata }).toEqual({ ...(metadata ?? {}) });
      expect(writeSafetensors(read.tensors, read.metadata)).toEqual(bytes);
    },
  );
});
