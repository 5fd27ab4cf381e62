// The PNG encoder's output read back by hand: signature, IHDR fields, each chunk's CRC against a bitwise CRC-32
// written here (no table), and the inflated IDAT equal to the filter-0 scanlines.
import { inflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { crc32, encodeGrayPng } from '../../src/io/png.js';

/** Bit-at-a-time CRC-32 (reflected, polynomial 0xEDB88320), independent of the encoder's table. */
function bitwiseCrc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

function readChunks(png: Uint8Array) {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: { type: string; data: Uint8Array; crc: number; crcInput: Uint8Array }[] = [];
  let o = 8;
  while (o < png.length) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    chunks.push({
      type,
      data: png.subarray(o + 8, o + 8 + len),
      crc: view.getUint32(o + 8 + len),
      crcInput: png.subarray(o + 4, o + 8 + len),
    });
    o += 12 + len;
  }
  expect(o).toBe(png.length);
  return chunks;
}

describe('encodeGrayPng', () => {
  it('crc32 matches the check value and the bitwise CRC', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(bitwiseCrc(check)).toBe(0xcbf43926);
    const random = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919 + 13) & 0xff);
    expect(crc32(random)).toBe(bitwiseCrc(random));
  });

  it('writes signature, IHDR, IDAT, IEND with valid CRCs and the rows', () => {
    const width = 5;
    const height = 3;
    const pixels = Uint8Array.from({ length: width * height }, (_, i) => (i * 17) & 0xff);
    const png = encodeGrayPng(width, height, pixels);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const chunks = readChunks(png);
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    for (const c of chunks) expect(c.crc, c.type).toBe(bitwiseCrc(c.crcInput));
    const ihdr = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13);
    expect(chunks[0]!.data.length).toBe(13);
    expect(ihdr.getUint32(0)).toBe(width);
    expect(ihdr.getUint32(4)).toBe(height);
    expect(Array.from(chunks[0]!.data.subarray(8))).toEqual([8, 0, 0, 0, 0]); // depth 8, gray, deflate, filter 0, no interlace
    const rows = new Uint8Array(inflateSync(chunks[1]!.data));
    const expected: number[] = [];
    for (let y = 0; y < height; y++) expected.push(0, ...pixels.subarray(y * width, (y + 1) * width));
    expect(Array.from(rows)).toEqual(expected);
    expect(chunks[2]!.data.length).toBe(0);
  });

  it('refuses a wrong pixel count or size', () => {
    expect(() => encodeGrayPng(2, 2, new Uint8Array(3))).toThrow(/4 bytes/);
    expect(() => encodeGrayPng(0, 2, new Uint8Array(0))).toThrow(/positive integers/);
  });
});
