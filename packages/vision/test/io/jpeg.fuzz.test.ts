// Fuzz target for decodeJpeg (issue 26): damaged copies of small JPEGs (bytes set, cut, and frame sizes enlarged up to
// 65535×65535) either decode to an image whose data fills its declared size within the pixel limit, or are refused
// with a FormatError naming the file. GEOLIP_FUZZ_RUNS sets the runs (default 300).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { FormatError } from '@geolip/geometry';

import { decodeJpeg } from '../../src/io/index.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.GEOLIP_FUZZ_RUNS ?? '') || 300));
const dir = fileURLToPath(new URL('../fixtures/io/', import.meta.url));
const files = ['rgb-13x9.jpg', 'rgb-13x9-prog.jpg', 'rgb-13x9-420.jpg'].map(
  (f) => new Uint8Array(readFileSync(dir + f)),
);

describe('decodeJpeg fuzz', () => {
  test.prop(
    [
      fc.nat({ max: files.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.option(fc.nat()),
      fc.option(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }))),
    ],
    { seed: 0x3e9001, numRuns: RUNS },
  )('an image filling its size within the limit, or a FormatError naming the file', (which, flips, cut, size) => {
    let b = files[which]!.slice();
    if (size) {
      // Enlarge the first SOF frame's declared size.
      for (let i = 2; i + 8 < b.length; i++)
        if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
          b.set([size[0] >> 8, size[0] & 0xff, size[1] >> 8, size[1] & 0xff], i + 5);
          break;
        }
    }
    for (const [at, v] of flips) b[at % b.length] = v;
    if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
    try {
      const img = decodeJpeg(b, { file: 'fuzz.jpg', maxResolutionInMP: 0.25 });
      expect(img.width * img.height).toBeLessThanOrEqual(0.25e6);
      expect(img.data.length).toBe(img.width * img.height * img.channels);
    } catch (e) {
      if (!(e instanceof FormatError) || !e.message.startsWith("decodeJpeg: 'bytes' fuzz.jpg")) throw e;
    }
  });
});
