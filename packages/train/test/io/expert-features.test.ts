import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { FormatError, NonFiniteError } from '@geolip/geometry';
import { writeSafetensors } from '@geolip/io';
import { float64Bytes as f8, npyBytes } from '@geolip/io/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readExpertFeatures } from '../../src/io/expert-features.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/cli/', import.meta.url));
const BASE = Array.from({ length: 12 }, (_, i) => i / 8 - 0.5);

describe('parseNpy / readExpertFeatures on numpy-written files', () => {
  it.each(['small-f4.npy', 'small-f8.npy', 'small-f8-v2.npy'])('reads %s', async (file) => {
    const m = await readExpertFeatures(join(FIXTURES, file));
    expect([m.rows, m.cols]).toEqual([3, 4]);
    expect(Array.from(m.data)).toEqual(BASE);
  });

  it.each([
    ['fortran.npy', /Fortran order/],
    ['int.npy', /dtype '<i4'/],
    ['vector.npy', /2-D shape/],
    ['truncated.npy', /truncated/],
  ])('rejects %s with a FormatError naming the file', async (file, pattern) => {
    const path = join(FIXTURES, file);
    const error = await readExpertFeatures(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(pattern);
  });
});

describe('readExpertFeatures on safetensors and shards', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'geolip-train-io-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rows = (n: number, d: number, start: number) => Array.from({ length: n * d }, (_, i) => start + i);

  it('reads the embeddings tensor, or the only tensor, in F32/F64/F16/BF16', async () => {
    const a = join(dir, 'a.safetensors');
    await writeFile(
      a,
      writeSafetensors({
        other: { dtype: 'F32', shape: [1], data: [9] },
        embeddings: { dtype: 'F64', shape: [2, 3], data: [0.1, 2, 3, 4, 5, 6] },
      }),
    );
    const m = await readExpertFeatures(a);
    expect([m.rows, m.cols, ...m.data]).toEqual([2, 3, 0.1, 2, 3, 4, 5, 6]);
    for (const [dtype, data] of [
      ['F32', new Float32Array([1, -2])],
      ['F16', new Uint16Array([0x3c00, 0xc000])],
      ['BF16', new Uint16Array([0x3f80, 0xc000])],
    ] as const) {
      const p = join(dir, `single-${dtype}.safetensors`);
      await writeFile(p, writeSafetensors({ feats: { dtype, shape: [1, 2], data } }));
      expect(Array.from((await readExpertFeatures(p)).data)).toEqual([1, -2]);
    }
  });

  it('rejects ambiguous, non-2-D, integer and NaN safetensors, naming the file', async () => {
    const cases: [
      string,
      Parameters<typeof writeSafetensors>[0],
      RegExp,
      typeof FormatError | typeof NonFiniteError,
    ][] = [
      [
        'two.safetensors',
        { a: { dtype: 'F32', shape: [1, 1], data: [1] }, b: { dtype: 'F32', shape: [1, 1], data: [1] } },
        /no tensor 'embeddings'/,
        FormatError,
      ],
      ['vec.safetensors', { embeddings: { dtype: 'F32', shape: [3], data: [1, 2, 3] } }, /2-D/, FormatError],
      ['int.safetensors', { embeddings: { dtype: 'I32', shape: [1, 1], data: [1] } }, /dtype I32/, FormatError],
      [
        'nan.safetensors',
        { embeddings: { dtype: 'F32', shape: [1, 2], data: [1, Number.NaN] } },
        /non-finite/,
        NonFiniteError,
      ],
    ];
    for (const [name, tensors, pattern, type] of cases) {
      const p = join(dir, name);
      await writeFile(p, writeSafetensors(tensors));
      const error = await readExpertFeatures(p).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message).toContain(p);
    }
    const garbage = join(dir, 'garbage.safetensors');
    await writeFile(garbage, new Uint8Array([1, 2, 3]));
    await expect(readExpertFeatures(garbage)).rejects.toThrow(/garbage\.safetensors' is not a valid safetensors file/);
  });

  it('names a missing file and rejects an unknown extension', async () => {
    await expect(readExpertFeatures(join(dir, 'nope.npy'))).rejects.toThrow(/nope\.npy' does not exist/);
    const txt = join(dir, 'x.txt');
    await writeFile(txt, 'hi');
    await expect(readExpertFeatures(txt)).rejects.toThrow(/unknown extension/);
  });

  it('concatenates shards of a directory and of a glob in index order', async () => {
    const shards = join(dir, 'shards');
    await import('node:fs/promises').then((fs) => fs.mkdir(shards));
    // 12 shards so that lexical order (0, 1, 10, 11, 2, ...) differs from index order.
    const sizes = [2, 1, 3, 2, 1, 1, 2, 3, 1, 2, 1, 2];
    let start = 0;
    for (let i = 0; i < sizes.length; i++) {
      const data = rows(sizes[i]!, 2, start);
      start += data.length;
      await writeFile(
        join(shards, `emb.shard-${i}-of-12.safetensors`),
        writeSafetensors({ embeddings: { dtype: 'F32', shape: [sizes[i]!, 2], data } }),
      );
    }
    const expected = rows(start / 2, 2, 0);
    for (const path of [shards, join(shards, 'emb.shard-*-of-12.safetensors'), join(shards, '*')]) {
      const m = await readExpertFeatures(path);
      expect([m.rows, m.cols]).toEqual([start / 2, 2]);
      expect(Array.from(m.data)).toEqual(expected);
    }
    const bytes = await readFile(join(shards, 'emb.shard-7-of-12.safetensors'));
    await rm(join(shards, 'emb.shard-7-of-12.safetensors'));
    await expect(readExpertFeatures(shards)).rejects.toThrow(/missing shard .*emb\.shard-7-of-12\.safetensors/);
    await writeFile(join(shards, 'emb.shard-7-of-12.safetensors'), bytes);
    await writeFile(
      join(shards, 'emb.shard-3-of-12.safetensors'),
      writeSafetensors({ embeddings: { dtype: 'F32', shape: [2, 2], data: [1, Number.NaN, 1, 1] } }),
    );
    await expect(readExpertFeatures(shards)).rejects.toThrow(/emb\.shard-3-of-12\.safetensors' has 1 non-finite/);
    await writeFile(
      join(shards, 'emb.shard-3-of-12.safetensors'),
      writeSafetensors({ embeddings: { dtype: 'F32', shape: [2, 3], data: rows(2, 3, 0) } }),
    );
    await expect(readExpertFeatures(shards)).rejects.toThrow(/width 3, the first shard has 2/);
    await writeFile(
      join(shards, 'other.shard-0-of-1.safetensors'),
      writeSafetensors({ embeddings: { dtype: 'F32', shape: [1, 2], data: [1, 2] } }),
    );
    await expect(readExpertFeatures(shards)).rejects.toThrow(/2 different outputs/);
    await expect(readExpertFeatures(join(shards, 'zzz*'))).rejects.toThrow(/no shard files/);
  });
});
