// Fuzz target for parseIdx (issue 26): any bytes, raw or gzipped, either read back equal to an independent reading of
// the IDX header and body or are refused with a FormatError naming the file. GEOLIP_FUZZ_RUNS sets the runs
// (default 300).
import { gzipSync } from 'node:zlib';

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { FormatError } from '@geolip/geometry';

import { parseIdx } from '../../src/io/index.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.GEOLIP_FUZZ_RUNS ?? '') || 300));

/** The independent reading: shape and data, or null when the bytes are not a whole uint8 IDX file. */
function reference(b: Uint8Array): { shape: number[]; data: number[] } | null {
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0 || b[2] !== 8 || b[3] === 0) return null;
  const rank = b[3]!;
  if (b.length < 4 + 4 * rank) return null;
  const shape: number[] = [];
  for (let i = 0; i < rank; i++)
    shape.push(((b[4 + 4 * i]! << 24) >>> 0) + (b[5 + 4 * i]! << 16) + (b[6 + 4 * i]! << 8) + b[7 + 4 * i]!);
  const n = shape.reduce((x, y) => x * y, 1);
  return b.length - 4 - 4 * rank === n ? { shape, data: Array.from(b.subarray(4 + 4 * rank)) } : null;
}

const idxLike = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }))
  .chain(([rank, dims]) => {
    const shape = dims.slice(0, rank);
    const n = shape.reduce((x, y) => x * y, 1);
    return fc.uint8Array({ minLength: n, maxLength: n }).map((body) => {
      const head = [0, 0, 8, rank, ...shape.flatMap((d) => [0, 0, 0, d])];
      return new Uint8Array([...head, ...body]);
    });
  });
const mutated = fc
  .tuple(idxLike, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat())
  .map(([b, flips, cut]) => {
    const c = b.slice();
    for (const [at, v] of flips) if (c.length > 0) c[at % c.length] = v;
    return cut % 4 === 0 ? c.subarray(0, cut % (c.length + 1)) : c;
  });

describe('parseIdx fuzz', () => {
  test.prop([fc.oneof(mutated, fc.uint8Array({ maxLength: 40 })), fc.boolean()], { seed: 0x1d8001, numRuns: RUNS })(
    'raw or gzipped: equal to the independent reading, or a FormatError naming the file',
    (bytes, gz) => {
      const input = gz ? new Uint8Array(gzipSync(bytes)) : bytes;
      const want = gz || !(bytes[0] === 0x1f && bytes[1] === 0x8b) ? reference(bytes) : null;
      let got;
      try {
        const t = parseIdx(input, 'fuzz', { maxBytes: 1 << 16 });
        got = { shape: t.shape, data: Array.from(t.data) };
      } catch (e) {
        if (!(e instanceof FormatError) || !e.message.startsWith("parseIdx: 'bytes' fuzz")) throw e;
        got = null;
      }
      expect(got).toEqual(want);
    },
  );
});
