// Fuzz targets for the `.pt` reader (issue 26). Every input either reads back a value equal to an independent reading
// or is refused with a FormatError naming the function — never another error, a crash or a hang.
//
// - Damaged copies of a PyTorch-written file (state.pt) and of a hand-made checkpoint: every zip entry carries a
//   CRC-32, so a damaged file that still reads must read exactly as the undamaged one (the independent reading is the
//   safetensors library's copy of state.pt).
// - Random pickles assembled from opcode fragments, in a valid zip: the reader must refuse them or return tensors whose
//   data length is the product of their shape.
//
// GEOLIP_FUZZ_RUNS sets the runs of each property (default 300: a few seconds per project on 2 cores).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { FormatError } from '@geolip/geometry';

import { readSafetensors } from '../src/safetensors/index.js';
import type { SafetensorEntry } from '../src/safetensors/index.js';
import { readTorchCheckpoint, readTorchStateDict } from '../src/torch/read-torch.js';
import { P, dictPickle, f32, ptFile, tensor } from './torch-files.js';
import type { Pk } from './torch-files.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.GEOLIP_FUZZ_RUNS ?? '') || 300));

const dir = join(__dirname, 'fixtures');
const statePt = new Uint8Array(readFileSync(join(dir, 'state.pt')));
const stateRef = readSafetensors(readFileSync(join(dir, 'state.safetensors')), { copy: true }).tensors;
const handMade = ptFile(
  dictPickle([
    [P.str('state_dict'), [...P.dict, ...P.mark, ...P.str('w'), ...tensor('0', 4, [2, 2], [1, 2]), ...P.setitems]],
    [P.str('config'), [...P.dict, ...P.str('dim'), ...P.int(2), ...P.setitem]],
  ]),
  { '0': f32([1, 2, 3, 4]) },
);
const handRef = readTorchStateDict(handMade);

const bytesOf = (a: ArrayBufferView): number[] => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

/** Throws a plain Error (failing the property) unless `got` equals `ref` tensor for tensor, byte for byte. */
function expectSame(got: Record<string, SafetensorEntry>, ref: Record<string, SafetensorEntry>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(ref).sort());
  for (const [k, e] of Object.entries(ref)) {
    expect(got[k]!.dtype, k).toBe(e.dtype);
    expect(got[k]!.shape, k).toEqual(e.shape);
    expect(bytesOf(got[k]!.data), k).toEqual(bytesOf(e.data));
  }
}

/** The tensors read, or null when refused with a FormatError; any other error fails the property. */
function readOrRefuse(bytes: Uint8Array): Record<string, SafetensorEntry> | null {
  try {
    return readTorchCheckpoint(bytes).stateDict;
  } catch (e) {
    if (e instanceof FormatError && e.message.startsWith('readTorchCheckpoint: ')) return null;
    throw e;
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('ffff' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(file: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = file.slice();
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'set') b[at] = m.value;
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else if (m.kind === 'insert') b = new Uint8Array([...b.subarray(0, at), m.value, ...b.subarray(at)]);
    else b.fill(0xff, at, at + 4);
  }
  return b;
}

describe('readTorchCheckpoint fuzz', () => {
  test.prop([fc.array(mutation, { minLength: 1, maxLength: 4 })], { seed: 0x70a701, numRuns: RUNS })(
    'damaged copies of a PyTorch-written file: refused, or read exactly as the safetensors copy',
    (ms) => {
      const got = readOrRefuse(mutate(statePt, ms));
      if (got) expectSame(got, stateRef);
    },
  );

  test.prop([fc.array(mutation, { minLength: 1, maxLength: 4 })], { seed: 0x70a702, numRuns: RUNS })(
    'damaged copies of a hand-made checkpoint: refused, or read exactly as the undamaged one',
    (ms) => {
      const got = readOrRefuse(mutate(handMade, ms));
      if (got) expectSame(got, handRef);
    },
  );

  const fragment: fc.Arbitrary<Pk> = fc.oneof(
    fc.constantFrom<Pk>(
      P.mark,
      P.dict,
      P.list,
      P.emptyTuple,
      P.none,
      P.false,
      P.tuple,
      P.tuple2,
      P.setitem,
      P.setitems,
      P.append,
      P.appends,
      P.reduce,
      P.build,
      P.binpersid,
      P.global('collections', 'OrderedDict'),
      P.global('torch', 'FloatStorage'),
      P.global('torch._utils', '_rebuild_tensor_v2'),
      P.global('os', 'system'),
    ),
    fc.integer({ min: -3, max: 70 }).map((n) => P.int(n)),
    fc.double().map((x) => P.float(x)),
    fc.constantFrom('w', 'storage', '0', 'cpu', '__proto__').map((s) => P.str(s)),
    fc.nat({ max: 4 }).map((i) => P.put(i)),
    fc.nat({ max: 4 }).map((i) => P.get(i)),
    fc.constantFrom('0', '1').map((k) => tensor(k, 16, [4, 4], [4, 1])),
    fc.uint8Array({ maxLength: 3 }).map((b) => Array.from(b)),
  );

  test.prop([fc.array(fragment, { maxLength: 40 }), fc.boolean()], { seed: 0x70a703, numRuns: RUNS })(
    'random pickles in a valid zip: refused, or tensors whose data fills their shape',
    (frags, wrap) => {
      const body = frags.flat();
      const pkl = new Uint8Array(
        wrap ? [...P.proto(), ...P.dict, ...P.mark, ...body, ...P.setitems, ...P.stop] : [...body, ...P.stop],
      );
      const got = readOrRefuse(ptFile(pkl, { '0': f32(new Array(16).fill(1)), '1': f32(new Array(16).fill(2)) }));
      for (const e of Object.values(got ?? {})) expect(e.data.length).toBe(e.shape.reduce((a, b) => a * b, 1));
    },
  );
});
