import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { FormatError } from '@geolip/geometry';
import { afterAll, describe, expect, it } from 'vitest';

import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  IDX_MAGIC_IMAGES,
  IDX_MAGIC_LABELS,
  loadFashionMnist,
  loadIdx,
  parseIdx,
} from '../../src/io/index.js';

// Hand-written IDX files: magic (00 00 08 rank), sizes as uint32 big-endian, then the bytes.
const images2x2x3 = new Uint8Array([
  0x00,
  0x00,
  0x08,
  0x03, // magic 0x00000803
  0x00,
  0x00,
  0x00,
  0x02, // N = 2
  0x00,
  0x00,
  0x00,
  0x02, // H = 2
  0x00,
  0x00,
  0x00,
  0x03, // W = 3
  1,
  2,
  3,
  4,
  5,
  6, //        image 0
  250,
  251,
  252,
  253,
  254,
  255, // image 1
]);
const labels2 = new Uint8Array([0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02, 7, 9]);

const dir = mkdtempSync(join(tmpdir(), 'geolip-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseIdx', () => {
  it('reads a hand-written image file (magic 0x00000803)', () => {
    const t = parseIdx(images2x2x3, 'images.idx');
    expect(t.dtype).toBe('uint8');
    expect(t.shape).toEqual([2, 2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6, 250, 251, 252, 253, 254, 255]);
    expect(IDX_MAGIC_IMAGES).toBe(0x803);
  });

  it('reads a hand-written label file (magic 0x00000801) and returns a copy', () => {
    const t = parseIdx(labels2, 'labels.idx', { rank: 1 });
    expect(t.shape).toEqual([2]);
    expect(Array.from(t.data)).toEqual([7, 9]);
    expect(t.data.buffer).not.toBe(labels2.buffer);
    expect(IDX_MAGIC_LABELS).toBe(0x801);
  });

  it('inflates gzip data (detected by the 1f 8b header)', () => {
    const t = parseIdx(new Uint8Array(gzipSync(images2x2x3)), 'images.idx.gz');
    expect(t.shape).toEqual([2, 2, 3]);
    expect(t.data[11]).toBe(255);
  });

  it('reads an empty dataset (N = 0)', () => {
    const t = parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]));
    expect(t.shape).toEqual([0, 28, 28]);
    expect(t.data.length).toBe(0);
  });

  describe('bad input: FormatError naming the function, the argument and the file', () => {
    it.each([
      [
        'a wrong magic number (not 00 00 ..)',
        new Uint8Array([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5]),
        /parseIdx: 'bytes' f\.idx: not an IDX file \(magic number 0x12340801/,
      ],
      ['rank 0', new Uint8Array([0, 0, 8, 0, 5]), /not an IDX file \(magic number 0x00000800/],
      [
        'an unsupported dtype (int32, 0x0C)',
        new Uint8Array([0, 0, 0x0c, 0x01, 0, 0, 0, 1, 0, 0, 0, 5]),
        /magic number 0x00000c01 has dtype code 0x0c; only unsigned byte \(0x08\)/,
      ],
      ['fewer than 4 bytes', new Uint8Array([0, 0, 8]), /3 bytes is too short for an IDX header/],
      ['a truncated header', images2x2x3.subarray(0, 10), /truncated header \(rank 3 needs 16 bytes, got 10\)/],
      [
        'truncated data',
        images2x2x3.subarray(0, 25),
        /truncated data \(header says \[2, 2, 3\] = 12 bytes, the file holds 9\)/,
      ],
      [
        'trailing bytes',
        new Uint8Array([...labels2, 0]),
        /1 bytes after the data \(header says \[2\] = 2 bytes, the file holds 3\)/,
      ],
    ])('%s', (_, bytes, message) => {
      expect(() => parseIdx(bytes, 'f.idx')).toThrow(FormatError);
      expect(() => parseIdx(bytes, 'f.idx')).toThrow(message);
    });

    it('a label file where images were expected (rank check)', () => {
      expect(() => parseIdx(labels2, 'train-images-idx3-ubyte', { rank: 3 })).toThrow(
        /parseIdx: 'bytes' train-images-idx3-ubyte: magic number 0x00000801 \(rank 1\) where 0x00000803 \(rank 3\) was expected/,
      );
    });

    it('truncated gzip data, and a .gz name on plain data', () => {
      const gz = new Uint8Array(gzipSync(images2x2x3));
      expect(() => parseIdx(gz.subarray(0, gz.length - 10), 'x.gz')).toThrow(
        /parseIdx: 'bytes' x\.gz: corrupt or truncated gzip data/,
      );
      expect(() => parseIdx(images2x2x3, 'x.gz')).toThrow(/x\.gz: named \.gz but is not gzip data/);
    });

    it('a gzip file whose content is truncated IDX', () => {
      const gz = new Uint8Array(gzipSync(images2x2x3.subarray(0, 20)));
      expect(() => parseIdx(gz, 'x.gz')).toThrow(/x\.gz: truncated data/);
    });
  });
});

describe('loadIdx', () => {
  it('reads plain and gzip files from disk, naming the path in errors', async () => {
    writeFileSync(join(dir, 'labels-idx1-ubyte'), labels2);
    writeFileSync(join(dir, 'images-idx3-ubyte.gz'), gzipSync(images2x2x3));
    writeFileSync(join(dir, 'bad-idx3-ubyte'), images2x2x3.subarray(0, 21));
    expect((await loadIdx(join(dir, 'labels-idx1-ubyte'))).shape).toEqual([2]);
    expect((await loadIdx(join(dir, 'images-idx3-ubyte.gz'), { rank: 3 })).shape).toEqual([2, 2, 3]);
    await expect(loadIdx(join(dir, 'bad-idx3-ubyte'))).rejects.toThrow(
      /loadIdx: 'path' .*bad-idx3-ubyte: truncated data/,
    );
  });
});

describe('loadFashionMnist on a synthetic directory', () => {
  const fake = join(dir, 'fmnist');
  const header = (magic: number, sizes: number[]): number[] => [
    ...[0, 0, 8, magic & 0xff],
    ...sizes.flatMap((s) => [(s >>> 24) & 0xff, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff]),
  ];

  it('reads the t10k files (plain, not gzip) and checks N, 28x28 and the label range', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(fake, { recursive: true });
    const pixels = Array.from({ length: 3 * 28 * 28 }, (_, i) => i % 256);
    writeFileSync(join(fake, 't10k-images-idx3-ubyte'), new Uint8Array([...header(3, [3, 28, 28]), ...pixels]));
    writeFileSync(join(fake, 't10k-labels-idx1-ubyte'), new Uint8Array([...header(1, [3]), 4, 0, 9]));
    const ds = await loadFashionMnist('test', { dir: fake });
    expect([ds.n, ds.height, ds.width, ds.channels, ds.split]).toEqual([3, 28, 28, 1, 'test']);
    expect(Array.from(ds.labels)).toEqual([4, 0, 9]);
    expect(ds.images[28 * 28]).toBe((28 * 28) % 256);

    writeFileSync(join(fake, 't10k-labels-idx1-ubyte'), new Uint8Array([...header(1, [2]), 4, 0]));
    await expect(loadFashionMnist('test', { dir: fake })).rejects.toThrow(
      /t10k-labels-idx1-ubyte: 2 labels for 3 images/,
    );
    writeFileSync(join(fake, 't10k-labels-idx1-ubyte'), new Uint8Array([...header(1, [3]), 4, 10, 9]));
    await expect(loadFashionMnist('test', { dir: fake })).rejects.toThrow(/label 10 at index 1 is not a class 0–9/);
    writeFileSync(join(fake, 't10k-labels-idx1-ubyte'), new Uint8Array([...header(3, [3, 28, 28]), ...pixels]));
    await expect(loadFashionMnist('test', { dir: fake })).rejects.toThrow(
      /loadIdx: 'path' .*t10k-labels-idx1-ubyte: magic number 0x00000803 \(rank 3\) where 0x00000801 \(rank 1\)/,
    );
  });

  it('says how to install the data when the files are missing', async () => {
    await expect(loadFashionMnist('train', { dir: join(dir, 'nowhere') })).rejects.toThrow(
      /tools\/setup\/fashion-mnist\.sh/,
    );
    await expect(loadFashionMnist('val' as 'test')).rejects.toThrow(/'split' must be 'train' or 'test'/);
  });
});

describe.skipIf(!existsSync(FASHION_MNIST_DIR))('loadFashionMnist on the real data (dataset-fashion-mnist)', () => {
  it('reads the test split: N = 10000, 28x28, 1000 images per class', async () => {
    const ds = await loadFashionMnist('test');
    expect(ds.n).toBe(10_000);
    expect(ds.images.length).toBe(10_000 * 28 * 28);
    const histogram = new Array<number>(10).fill(0);
    for (const l of ds.labels) histogram[l]! += 1;
    expect(histogram).toEqual(new Array(10).fill(1000));
    expect(FASHION_MNIST_CLASSES).toHaveLength(10);
    // The first test image is an ankle boot (label 9), as in the dataset's README.
    expect(FASHION_MNIST_CLASSES[ds.labels[0]!]).toBe('Ankle boot');
  });
});
