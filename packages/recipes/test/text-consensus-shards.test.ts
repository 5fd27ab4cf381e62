// `geolip-train run text-consensus --shard i/N` + `geolip-train merge`: the sharded feature stage gives the same
// features, hence the same consensus, as one process; the merged consensus statistics equal the all-at-once ones; a
// set of shards that is not exactly one complete run is refused by name.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Matrix } from '@geolip/geometry';
import { readSafetensors } from '@geolip/io';
import { ConsensusStatistics, loadConsensus } from '@geolip/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../src/cli.js';
import { clearShardExpertCache } from '../src/recipes/text-consensus.js';

const fixtures = fileURLToPath(new URL('./fixtures/experts/', import.meta.url));

async function run(args: string[]) {
  const o = { stdout: '', stderr: '' };
  const code = await main(args, {
    stdout: { write: (s: string) => (o.stdout += s) },
    stderr: { write: (s: string) => (o.stderr += s) },
  });
  return { code, ...o };
}

const WORDS = ['red', 'blue', 'green', 'dog', 'cat', 'horse', 'beach', 'street', 'runs', 'sleeps', 'old', 'small'];
const SENTENCES = Array.from(
  { length: 103 },
  (_, i) => `a ${WORDS[i % 12]} ${WORDS[(i * 5 + 3) % 12]} ${WORDS[(i * 7 + 1) % 12]} number ${i}.`,
);

let dir: string;
const config = (embedBatch = 16) => ({
  corpus: { file: 'corpus.txt' },
  experts: ['tri-a', 'tri-b'],
  expertModules: { 'tri-a': join(fixtures, 'trigram.mjs'), 'tri-b': join(fixtures, 'trigram-b.mjs') },
  consensus: { targetDim: 6 },
  embedBatch,
  stopAfter: 'consensus',
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-consensus-shards-'));
  await writeFile(join(dir, 'corpus.txt'), SENTENCES.join('\n') + '\n');
  await writeFile(join(dir, 'config.json'), JSON.stringify(config()));
  await writeFile(join(dir, 'config-b8.json'), JSON.stringify(config(8)));
});
afterAll(async () => {
  clearShardExpertCache(); // the experts its --shard runs kept (isolate: false: leave no state behind)
  if (dir) await rm(dir, { recursive: true, force: true });
});

const rows = (path: string): Float32Array =>
  readSafetensors(readFileSync(path)).tensors.embeddings!.data as Float32Array;

describe('text-consensus --shard i/N + geolip-train merge', () => {
  it('equals the single-process consensus, features and statistics', async () => {
    const single = join(dir, 'single');
    let r = await run(['run', 'text-consensus', '--config', join(dir, 'config.json'), '--out', single]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const sharded = join(dir, 'sharded');
    for (const i of [2, 0, 1]) {
      r = await run([
        'run',
        'text-consensus',
        '--config',
        join(dir, 'config.json'),
        '--out',
        sharded,
        '--shard',
        `${i}/3`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`shard.shard-${i}-of-3.json: written`);
    }
    r = await run(['run', 'text-consensus', '--config', join(dir, 'config.json'), '--out', sharded, '--shard', '1/3']);
    expect(r.stdout).toContain('shard.shard-1-of-3.json: exists, shard already done');
    r = await run(['merge', 'text-consensus', '--config', join(dir, 'config.json'), '--out', sharded]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/features: tri-a 103 x 12 \(merged shards/);

    const a = loadConsensus(readFileSync(join(single, 'consensus.safetensors')));
    const b = loadConsensus(readFileSync(join(sharded, 'consensus.safetensors')));
    expect(Array.from(b.targets.data)).toEqual(Array.from(a.targets.data));
    expect(b.projectors.map((p) => Array.from(p.linear.data))).toEqual(
      a.projectors.map((p) => Array.from(p.linear.data)),
    );

    // The features, bit for bit, and the consensus statistics: shard by shard then merged = all at once.
    const whole = rows(join(single, 'features', 'tri-a.shard-0-of-1.safetensors'));
    const parts = [0, 1, 2].map((i) => rows(join(sharded, 'features', `tri-a.part-${i}-of-3.safetensors`)));
    expect(Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(Array.from(whole));
    const k = a.targets.cols;
    const stats = (from: number, to: number) => {
      const x = new Matrix(to - from, 12);
      x.data.set(whole.subarray(from * 12, to * 12));
      const y = new Matrix(to - from, k);
      y.data.set(a.targets.data.subarray(from * k, to * k));
      return new ConsensusStatistics([{ name: 'tri-a', dim: 12 }], k).update({ 'tri-a': x }, y);
    };
    const once = stats(0, 103).toJSON();
    const merged = stats(0, 35).merge(stats(35, 70)).merge(stats(70, 103)).toJSON();
    const flat = (j: unknown): number[] =>
      JSON.stringify(j)
        .match(/-?\d+(\.\d+)?(e-?\d+)?/g)!
        .map(Number);
    const fa = flat(once);
    const fb = flat(merged);
    expect(fb).toHaveLength(fa.length);
    fa.forEach((v, i) => expect(Math.abs(fb[i]! - v)).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(v))));
  });

  it('refuses a missing shard and a shard of another configuration, naming the file', async () => {
    const out = join(dir, 'bad');
    await run(['run', 'text-consensus', '--config', join(dir, 'config.json'), '--out', out, '--shard', '0/3']);
    await run(['run', 'text-consensus', '--config', join(dir, 'config.json'), '--out', out, '--shard', '2/3']);
    let r = await run(['merge', 'text-consensus', '--config', join(dir, 'config.json'), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/geolip-train merge: 'shards' lack shard\(s\) 1 of 3 \(have 0, 2\)/);
    expect(existsSync(join(out, 'consensus.safetensors'))).toBe(false);
    // Shard 1 made with another embedBatch, copied in: refused as foreign.
    const other = join(dir, 'other');
    await run(['run', 'text-consensus', '--config', join(dir, 'config-b8.json'), '--out', other, '--shard', '1/3']);
    mkdirSync(join(out, 'features'), { recursive: true });
    copyFileSync(join(other, 'features', 'shard.shard-1-of-3.json'), join(out, 'features', 'shard.shard-1-of-3.json'));
    r = await run(['merge', 'text-consensus', '--config', join(dir, 'config.json'), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/shard\.shard-1-of-3\.json' comes from another configuration .*'embedBatch' differ/);
  });

  it('usage: a bad spec; a recipe without a sharded stage', async () => {
    let r = await run(['run', 'text-consensus', '--config', join(dir, 'config.json'), '--shard', '3/3']);
    expect(r.stderr).toContain("--shard must be i/N with 0 <= i < N, got '3/3'");
    r = await run(['run', 'fmnist-vit', '--config', join(dir, 'config.json'), '--shard', '0/2']);
    expect(r.stderr).toMatch(/recipe 'fmnist-vit' has no sharded stage \(recipes with one: text-consensus\)/);
  });
});
