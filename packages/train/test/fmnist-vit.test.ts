// The fmnist-vit recipe end to end on a synthetic Fashion-MNIST directory (four gzip IDX files written here: class c is
// a bright horizontal band at row 2c), with tiny models, plus config validation.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main, RECIPES } from '../src/cli.js';
import { parseFmnistVitConfig } from '../src/recipes/fmnist-vit.js';

function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([head, Buffer.from(data)]));
}

async function writeSplit(dir: string, prefix: string, n: number): Promise<void> {
  const images = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels[i] = c;
    for (let x = 0; x < 28; x++) {
      images[i * 784 + (2 * c + 4) * 28 + x] = 255;
      images[i * 784 + (2 * c + 5) * 28 + x] = 200;
    }
  }
  await writeFile(join(dir, `${prefix}-images-idx3-ubyte.gz`), idx(0x803, [n, 28, 28], images));
  await writeFile(join(dir, `${prefix}-labels-idx1-ubyte.gz`), idx(0x801, [n], labels));
}

const TINY_DUAL = { embedDim: 32, streamDim: 16, heads: 2, fusedDim: 16, dualBlocks: 1, fusedBlocks: 1, classifierHidden: 16, anchors: 8, compartments: 2, compartmentDim: 8 };
const TINY_VIT = { dModel: 16, heads: 2, ffDim: 32, layers: 1 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-fmnist-'));
  await writeSplit(dir, 'train', 160);
  await writeSplit(dir, 't10k', 40);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function run(config: unknown, out: string) {
  let stdout = '';
  let stderr = '';
  const path = join(dir, `${out}.json`);
  await writeFile(path, JSON.stringify(config));
  const code = await main(['run', 'fmnist-vit', '--config', path, '--out', join(dir, out)], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('geolip-train run fmnist-vit', () => {
  it('is registered', () => expect(Object.keys(RECIPES)).toContain('fmnist-vit'));

  it.each([
    ['dual-stream', TINY_DUAL],
    ['vit', TINY_VIT],
  ] as const)('trains the %s, writes result.json with test accuracy and the scan', async (model, modelConfig) => {
    const r = await run({ model, data: dir, epochs: 2, batchSize: 32, lr: 3e-3, warmupSteps: 2, evalEvery: 100, checkpointEvery: 100, modelConfig }, `run-${model}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`fmnist-vit: ${model} test accuracy \\d+\\.\\d\\d%`));
    const result = JSON.parse(await readFile(join(dir, `run-${model}`, 'result.json'), 'utf8'));
    expect(result.steps).toBe(10); // 2 epochs × floor(160/32)
    expect(result.testImages).toBe(40);
    expect(result.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(result.scan.n).toBe(40);
    if (model === 'dual-stream') {
      expect(result.geoAccuracy).toBeGreaterThanOrEqual(0);
      expect(result.scan.anchors).not.toBeNull();
    }
  }, 120_000);

  it('refuses bad configs naming the field', () => {
    expect(() => parseFmnistVitConfig({ model: 'resnet' }, '/')).toThrow(/'model' must be one of 'dual-stream', 'vit'/);
    expect(() => parseFmnistVitConfig({ loss: { bce: -1 } }, '/')).toThrow(/'loss.bce' must be a non-negative number/);
    expect(() => parseFmnistVitConfig({ loss: { mastery: 1 } }, '/')).toThrow(/unknown field 'loss.mastery'/);
    expect(() => parseFmnistVitConfig({ epoch: 3 }, '/')).toThrow(/unknown field 'epoch'/);
    expect(parseFmnistVitConfig({}, '/')).toMatchObject({ model: 'dual-stream', epochs: 10, batchSize: 256, loss: { bce: 1, infoNCE: 0.1, geoBce: 0.3 } });
  });
});
