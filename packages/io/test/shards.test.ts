import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import {
  ShardSetError,
  canonicalJson,
  parseShardSpec,
  readShardSet,
  shardPath,
  shardRange,
  writeShardFile,
} from '../src/node/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'geolip-io-shards-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('shard specs and ranges', () => {
  it('parses i/N and refuses the rest, naming the function and argument', () => {
    expect(parseShardSpec('f', '--shard', '1/4')).toEqual({ index: 1, count: 4 });
    for (const bad of ['4/4', '0/0', '-1/2', 'a/b', '1', ''])
      expect(() => parseShardSpec('f', '--shard', bad)).toThrow(/^f: '--shard' must be i\/N with 0 <= i < N/);
  });

  it('cuts contiguous ranges that cover every item once', () => {
    for (const n of [0, 1, 7, 20, 101])
      for (const count of [1, 2, 3, 4, 9]) {
        const seen: number[] = [];
        for (let index = 0; index < count; index++) {
          const { start, end } = shardRange(n, { index, count });
          for (let i = start; i < end; i++) seen.push(i);
        }
        expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
      }
    expect(shardPath('/x/report.json', { index: 0, count: 2 }, '.json')).toBe('/x/report.shard-0-of-2.json');
  });

  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: Infinity } })).toBe(
      '{"a":{"c":"Infinity","d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe('readShardSet', () => {
  const write = (name: string, index: number, count: number, config = { model: 'm' }, kind = 'k') =>
    writeShardFile(join(tmp, name), kind, config, { index, count }, { items: [index] }).then(() => join(tmp, name));

  it('returns a complete set in index order; rewriting a shard gives the same bytes', async () => {
    const b = await write('s1.json', 1, 2);
    const a = await write('s0.json', 0, 2);
    const bytes = readFileSync(b, 'utf8');
    await write('s1.json', 1, 2);
    expect(readFileSync(b, 'utf8')).toBe(bytes);
    const set = await readShardSet('merge', [b, a], 'k');
    expect(set.map((s) => s.payload)).toEqual([{ items: [0] }, { items: [1] }]);
  });

  it('refuses a missing shard, a duplicate, another config, kind or count, and a torn file', async () => {
    const a = await write('m0.json', 0, 3);
    const c = await write('m2.json', 2, 3);
    await expect(readShardSet('merge', [a, c], 'k')).rejects.toThrow(
      /^merge: 'shards' lack shard\(s\) 1 of 3 \(have 0, 2\)/,
    );
    await expect(readShardSet('merge', [a, a], 'k')).rejects.toMatchObject({ problem: 'duplicate' });
    const other = await write('o1.json', 1, 3, { model: 'other' });
    const err = await readShardSet('merge', [a, other, c], 'k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardSetError);
    expect((err as ShardSetError).problem).toBe('config');
    expect((err as Error).message).toMatch(/o1\.json' comes from another configuration .*'model' differ/);
    const kind = await write('k1.json', 1, 3, { model: 'm' }, 'other-kind');
    await expect(readShardSet('merge', [a, kind], 'k')).rejects.toMatchObject({ problem: 'kind' });
    const count = await write('c1.json', 1, 2);
    await expect(readShardSet('merge', [a, count], 'k')).rejects.toMatchObject({ problem: 'count' });
    await expect(readShardSet('merge', [], 'k')).rejects.toMatchObject({ problem: 'empty' });
    const torn = join(tmp, 'torn.json');
    writeFileSync(torn, readFileSync(a, 'utf8').replace('"items":[0]', '"items":[5]'));
    await expect(readShardSet('merge', [torn], 'k')).rejects.toThrow(
      /readShardFile: '.*torn\.json' payload does not match/,
    );
  });
});
