import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { encode } from 'jpeg-js';
import { describe, expect, it } from 'vitest';

import { decodeJpeg, loadImage, toGrayscale, toRgb } from '../../src/io/index.js';

const fixtures = fileURLToPath(new URL('../fixtures/io/', import.meta.url));
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(fixtures + name));

/** Parses a binary PPM (P6) or PGM (P5) written by djpeg. */
function readPnm(name: string): { width: number; height: number; channels: number; data: Uint8Array } {
  const bytes = read(name);
  const header = new TextDecoder('latin1').decode(bytes.subarray(0, 32)).match(/^(P[56])\s+(\d+)\s+(\d+)\s+255\s/);
  if (!header) throw new Error(`${name}: not a PNM`);
  const channels = header[1] === 'P6' ? 3 : 1;
  const width = Number(header[2]);
  const height = Number(header[3]);
  return { width, height, channels, data: bytes.subarray(header[0].length) };
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('decodeJpeg', () => {
  // jpeg-js and libjpeg-turbo use different IDCTs and YCbCr→RGB rounding; without chroma subsampling
  // the two decodes of these 13x9 files differ by at most a few levels per channel.
  it.each([
    ['rgb-13x9.jpg', 'rgb-13x9.ppm'],
    ['rgb-13x9-prog.jpg', 'rgb-13x9-prog.ppm'],
  ])('decodes %s like libjpeg-turbo djpeg (max |Δ| ≤ 3 levels)', (jpg, ppm) => {
    const image = decodeJpeg(read(jpg), { file: jpg });
    const ref = readPnm(ppm);
    expect([image.width, image.height, image.channels, image.sourceChannels]).toEqual([13, 9, 3, 3]);
    expect(image.data).toBeInstanceOf(Uint8Array);
    expect(maxAbsDiff(image.data, ref.data)).toBeLessThanOrEqual(3);
  });

  it('decodes 4:2:0 chroma subsampling with odd sizes (MCU padding cut off)', () => {
    const image = decodeJpeg(read('rgb-13x9-420.jpg'));
    expect([image.width, image.height, image.channels]).toEqual([13, 9, 3]);
    // The green channel follows the rows (g = 255·y/8): first row dark, last row bright.
    expect(image.data[1]!).toBeLessThan(40);
    expect(image.data[8 * 13 * 3 + 1]!).toBeGreaterThan(215);
  });

  it('returns a grayscale JPEG as RGB with R = G = B, or as its one channel with { channels: 1 }', () => {
    const bytes = read('gray-13x9.jpg');
    const ref = readPnm('gray-13x9.pgm');
    const rgb = decodeJpeg(bytes, { file: 'gray-13x9.jpg' });
    expect([rgb.width, rgb.height, rgb.channels, rgb.sourceChannels]).toEqual([13, 9, 3, 1]);
    for (let i = 0; i < 13 * 9; i++) {
      expect(rgb.data[3 * i]).toBe(rgb.data[3 * i + 1]);
      expect(rgb.data[3 * i]).toBe(rgb.data[3 * i + 2]);
    }
    const gray = decodeJpeg(bytes, { channels: 1 });
    expect([gray.width, gray.height, gray.channels, gray.sourceChannels]).toEqual([13, 9, 1, 1]);
    expect(Array.from(gray.data)).toEqual(Array.from({ length: 13 * 9 }, (_, i) => rgb.data[3 * i]));
    expect(maxAbsDiff(gray.data, ref.data)).toBeLessThanOrEqual(2);
  });

  it('converts an RGB JPEG to BT.601 luma with { channels: 1 }', () => {
    const rgb = decodeJpeg(read('rgb-13x9.jpg'));
    const gray = decodeJpeg(read('rgb-13x9.jpg'), { channels: 1 });
    expect(gray.channels).toBe(1);
    const [r, g, b] = [rgb.data[30]!, rgb.data[31]!, rgb.data[32]!];
    expect(gray.data[10]).toBe(Math.round(0.299 * r + 0.587 * g + 0.114 * b));
  });

  it('round-trips a flat image encoded by jpeg-js (uniform colour survives to ±2)', () => {
    const width = 16;
    const height = 8;
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) rgba.set([200, 100, 50, 255], 4 * i);
    const jpg = new Uint8Array(encode({ width, height, data: rgba }, 95).data);
    const image = decodeJpeg(jpg);
    expect([image.width, image.height, image.channels]).toEqual([16, 8, 3]);
    for (let i = 0; i < width * height; i++) {
      expect(Math.abs(image.data[3 * i]! - 200)).toBeLessThanOrEqual(2);
      expect(Math.abs(image.data[3 * i + 1]! - 100)).toBeLessThanOrEqual(2);
      expect(Math.abs(image.data[3 * i + 2]! - 50)).toBeLessThanOrEqual(2);
    }
  });

  describe('bad input: FormatError naming the function, the argument and the file', () => {
    const good = read('rgb-13x9.jpg');
    it.each([
      ['truncated to 60%', good.subarray(0, Math.floor(good.length * 0.6))],
      ['truncated after the headers', good.subarray(0, 200)],
      ['cut to its first 3 bytes', good.subarray(0, 3)],
    ])('%s', (_, bytes) => {
      expect(() => decodeJpeg(bytes, { file: 'photo.jpg' })).toThrow(FormatError);
      expect(() => decodeJpeg(bytes, { file: 'photo.jpg' })).toThrow(
        /^decodeJpeg: 'bytes' photo\.jpg: (corrupt or truncated JPEG|not a JPEG)/,
      );
    });

    it('not a JPEG at all (a PNG signature, text, empty)', () => {
      for (const bytes of [
        new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        new TextEncoder().encode('hello'),
        new Uint8Array(0),
      ]) {
        expect(() => decodeJpeg(bytes, { file: 'x.jpg' })).toThrow(/decodeJpeg: 'bytes' x\.jpg: not a JPEG/);
      }
    });

    it('a destroyed marker segment', () => {
      const bytes = good.slice();
      bytes.fill(0x00, 2, 40); // overwrite the APP0/DQT headers after SOI
      expect(() => decodeJpeg(bytes, { file: 'broken.jpg' })).toThrow(
        /decodeJpeg: 'bytes' broken\.jpg: corrupt or truncated JPEG/,
      );
    });

    it('names <bytes> when no file is given, and keeps the decoder error as cause', () => {
      try {
        decodeJpeg(good.subarray(0, 300));
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
        expect((e as FormatError).message).toMatch(/<bytes>/);
        expect((e as FormatError).argument).toBe('bytes');
        expect((e as Error).cause).toBeInstanceOf(Error);
      }
    });

    it('rejects channels other than 1 or 3', () => {
      expect(() => decodeJpeg(good, { channels: 4 as 3 })).toThrow(InvalidArgumentError);
    });
  });
});

describe('loadImage', () => {
  it('reads a JPEG file', async () => {
    const image = await loadImage(`${fixtures}rgb-13x9.jpg`);
    expect([image.width, image.height, image.channels]).toEqual([13, 9, 3]);
  });

  it('names the path in a FormatError for a non-JPEG file', async () => {
    await expect(loadImage(`${fixtures}rgb-13x9.ppm`)).rejects.toThrow(/loadImage: 'path' .*rgb-13x9\.ppm: not a JPEG/);
  });

  const cocoSample = fileURLToPath(new URL('../../../../../shared/data/coco/sample-images/', import.meta.url));
  it.skipIf(!existsSync(cocoSample))('decodes a real COCO photo (shared/data)', async () => {
    const list = JSON.parse(readFileSync(`${cocoSample}images.json`, 'utf8')) as {
      file_name: string;
      width: number;
      height: number;
    }[];
    const { file_name: name, width, height } = list[0]!;
    const image = await loadImage(cocoSample + name);
    expect([image.width, image.height, image.channels]).toEqual([width, height, 3]);
    expect(image.data.length).toBe(image.width * image.height * 3);
  });
});

describe('toRgb / toGrayscale', () => {
  it('repeats a gray channel and maps gray RGB back exactly', () => {
    const gray = { width: 2, height: 1, channels: 1, data: new Uint8Array([7, 250]) };
    const rgb = toRgb(gray);
    expect(Array.from(rgb.data)).toEqual([7, 7, 7, 250, 250, 250]);
    expect(Array.from(toGrayscale(rgb).data)).toEqual([7, 250]);
    expect(toRgb(rgb)).toBe(rgb);
  });

  it('computes BT.601 luma on floats without rounding', () => {
    const rgb = { width: 1, height: 1, channels: 3, data: new Float32Array([1, 0, 0]) };
    expect(toGrayscale(rgb).data[0]).toBeCloseTo(0.299, 6);
  });
});
