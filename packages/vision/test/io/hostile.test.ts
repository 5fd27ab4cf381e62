// The IDX and JPEG readers on hostile files (issue 26): a gzip bomb and a JPEG declaring 10000×10000 are refused by
// limits checked before the memory is taken (callers can raise them), and unreadable paths are typed errors naming
// the file, not a raw ENOENT / EISDIR.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { decodeJpeg, loadIdx, loadImage, parseIdx } from '../../src/io/index.js';

/** An IDX label file of `n` zero bytes, gzipped (1 MiB of it compresses to about 1 KB). */
const labelsGz = (n: number): Uint8Array => {
  const raw = new Uint8Array(8 + n);
  raw.set([0, 0, 8, 1, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  return new Uint8Array(gzipSync(raw));
};

describe('parseIdx: gzip output limit', () => {
  it('refuses data declaring more than options.maxBytes before inflating; a raised limit reads it', () => {
    const gz = labelsGz(2 ** 20);
    expect(gz.length).toBeLessThan(4096);
    expect(() => parseIdx(gz, 'bomb.gz', { maxBytes: 2 ** 16 })).toThrow(
      /^parseIdx: 'bytes' bomb\.gz: .*more than 65536 bytes \(its trailer declares 1048584; options\.maxBytes/,
    );
    expect(parseIdx(gz, 'ok.gz', { maxBytes: 2 ** 21 }).shape).toEqual([2 ** 20]);
  });

  it('enforces the limit while inflating when the trailer lies', () => {
    const gz = labelsGz(2 ** 20);
    gz.set([0, 1, 0, 0], gz.length - 4); // ISIZE 256
    expect(() => parseIdx(gz, 'liar.gz', { maxBytes: 2 ** 16 })).toThrow(
      /liar\.gz: gzip data inflates to more than 65536 bytes \(options\.maxBytes\)/,
    );
  });

  it('has a default limit (256 MiB)', () => {
    const gz = labelsGz(16);
    gz.set([0, 0, 0, 0x20], gz.length - 4); // ISIZE 512 MiB
    expect(() => parseIdx(gz, 'big.gz')).toThrow(/more than 268435456 bytes/);
  });
});

describe('decodeJpeg: pixel limit', () => {
  // SOI, then an SOF0 frame header declaring height × width, 3 components: 17 bytes, no image data.
  const declaring = (h: number, w: number): Uint8Array =>
    new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 3, 1, 0x22, 0, 2, 0x11]);

  it('a 17-byte JPEG declaring 10000×10000 is refused from its header (default 25 MP)', () => {
    expect(() => decodeJpeg(declaring(10000, 10000), { file: 'huge.jpg' })).toThrow(
      /^decodeJpeg: 'bytes' huge\.jpg: declares 10000x10000 pixels, over the 25-megapixel limit/,
    );
  });

  it('a complete 17-byte JPEG (SOF0 of one component, then EOI) declaring 10000×10000 is refused from its header', () => {
    // At 4c0c9ec the decoder allocated the image's component buffers first (1.3 s and 1.1 GB of RSS on this file).
    const h = 10000;
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, h >> 8, h & 0xff, h >> 8, h & 0xff, 1, 1, 0x11, 0]);
    const file = new Uint8Array([...bytes, 0xff, 0xd9]);
    expect(file.length).toBe(17);
    expect(() => decodeJpeg(file, { file: 'eoi.jpg' })).toThrow(
      /^decodeJpeg: 'bytes' eoi\.jpg: declares 10000x10000 pixels, over the 25-megapixel limit/,
    );
  });

  it('callers can lower or raise the limit', () => {
    expect(() => decodeJpeg(declaring(100, 100), { maxResolutionInMP: 0.005 })).toThrow(/over the 0\.005-megapixel/);
    // Under the limit, the header passes and the missing image data is what is refused.
    expect(() => decodeJpeg(declaring(100, 100))).toThrow(/corrupt or truncated JPEG/);
    expect(() => decodeJpeg(declaring(100, 100), { maxResolutionInMP: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('missing or unreadable files', () => {
  it('loadIdx and loadImage name the file in an InvalidArgumentError (ENOENT, EISDIR)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'geolip-io-'));
    try {
      for (const [load, name] of [
        [loadIdx, 'loadIdx'],
        [loadImage, 'loadImage'],
      ] as const) {
        for (const [path, code] of [
          [join(dir, 'missing'), 'ENOENT'],
          [dir, 'EISDIR'],
        ]) {
          const error = await load(path!).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(InvalidArgumentError);
          expect((error as Error).message).toMatch(new RegExp(`^${name}: 'path' cannot read .* \\(${code}`));
        }
      }
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
