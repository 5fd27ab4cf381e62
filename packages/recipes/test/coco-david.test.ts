// coco-consensus and coco-david: the label readings on a hand-made multi-hot fixture, the per-image metrics, the
// consensus features files against the splits of a synthetic COCO layout (row counts, labels, instance counts, image
// ids), and a tiny end to end run of GeoFractalDavid with its baselines on those files and on synthetic features.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readSafetensors, writeSafetensors } from '@geolip/io';
import { GeoFractalDavid } from '@geolip/vision';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RECIPES } from '../src/cli.js';
import {
  dominantLabels,
  imageMetrics,
  labelRows,
  parseCocoDavidConfig,
  readConsensusFeatures,
} from '../src/recipes/coco-david.js';

import { expectLoadsByMetadata, gaussianSource, runRecipe } from './helpers.js';

describe('the label readings of multi-label images', () => {
  // 4 images × 3 classes: instance counts and the multi-hot labels they give.
  const instances = Uint32Array.from([0, 2, 1, 3, 0, 3, 0, 0, 0, 0, 0, 1]);
  const labels = Uint8Array.from(instances, (v) => (v > 0 ? 1 : 0));
  const x = Float32Array.from([1, 0, 0, 1, 5, 5, 2, 2]); // 4 rows of dim 2

  it('dominant: the category with the most instances, a tie to the lowest id, -1 without any', () => {
    expect(Array.from(dominantLabels(instances, 3))).toEqual([1, 0, -1, 2]);
  });

  it("'dominant' gives one row per labelled image, 'pairs' one per (image, category)", () => {
    const d = labelRows(x, 2, labels, instances, 3, 'dominant');
    expect(Array.from(d.image)).toEqual([0, 1, 3]);
    expect(Array.from(d.split.labels)).toEqual([1, 0, 2]);
    expect(Array.from(d.split.x)).toEqual([1, 0, 0, 1, 2, 2]);
    expect([d.split.n, d.split.dim, d.unlabelled]).toEqual([3, 2, 1]);
    const p = labelRows(x, 2, labels, instances, 3, 'pairs');
    expect(Array.from(p.image)).toEqual([0, 0, 1, 1, 3]);
    expect(Array.from(p.split.labels)).toEqual([1, 2, 0, 2, 2]);
    expect(Array.from(p.split.x)).toEqual([1, 0, 1, 0, 0, 1, 0, 1, 2, 2]);
    expect(p.unlabelled).toBe(1);
  });

  it('per image: the dominant accuracy and the top-1 hit over the labelled images, the mAP over all', () => {
    // argmax per image: 2 (a category of image 0, not its dominant one), 0 (dominant), 1 (unlabelled), 1 (wrong).
    const scores = Float32Array.from([0.1, 0.2, 0.9, 0.8, 0.1, 0.3, 0, 1, 0, 0.2, 0.7, 0.1]);
    const m = imageMetrics(scores, labels, instances, 3);
    expect(m.dominantAccuracy).toBe(1 / 3);
    expect(m.top1Hit).toBe(2 / 3);
    expect([m.labelledImages, m.images]).toEqual([3, 4]);
    // The labels themselves as scores rank every class perfectly; argmax (ties: the lower class) = the dominant one.
    const perfect = imageMetrics(Float32Array.from(labels), labels, instances, 3);
    expect([perfect.dominantAccuracy, perfect.top1Hit, perfect.map]).toEqual([1, 1, 1]);
  });
});

// A synthetic COCO layout: 4 categories; image id `id` has (id mod 4) instances... of class (id mod 4), plus one of
// the next class when id is a multiple of 3. The image files only need to exist (the consensus reads features).
const CATS = [1, 2, 3, 5].map((id) => ({ id, name: `cat${id}` }));
const countsOf = (id: number): number[] => {
  const c = id % 4;
  const counts = [0, 0, 0, 0];
  counts[c] = 1 + (id % 2);
  if (id % 3 === 0) counts[(c + 1) % 4]! += 1;
  return counts;
};
const SETS = {
  'set-a/train2017': Array.from({ length: 24 }, (_, i) => 100 + i),
  'set-a/val2017': Array.from({ length: 12 }, (_, i) => 300 + i),
};
const fileName = (id: number) => `${String(id).padStart(12, '0')}.jpg`;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'geolip-coco-david-'));
  await writeFile(join(root, 'categories.json'), JSON.stringify(CATS));
  const all: number[] = [];
  for (const [set, ids] of Object.entries(SETS)) {
    const [dir, split] = set.split('/') as [string, string];
    await mkdir(join(root, dir, split), { recursive: true });
    await mkdir(join(root, dir, 'annotations'), { recursive: true });
    for (const id of ids) await writeFile(join(root, dir, split, fileName(id)), 'not decoded');
    all.push(...ids);
    const annotations = ids.flatMap((id) =>
      countsOf(id).flatMap((n, c) =>
        Array.from({ length: n }, (_, j) => ({ id: id * 100 + c * 10 + j, image_id: id, category_id: CATS[c]!.id })),
      ),
    );
    await writeFile(
      join(root, dir, 'annotations', `instances_${split}.json`),
      JSON.stringify({ images: ids.map((id) => ({ id, file_name: fileName(id) })), annotations, categories: CATS }),
    );
  }
  // Two experts: features = counts·M + noise, file names in the metadata.
  for (const [name, dim, seed] of [
    ['e1', 10, 1],
    ['e2', 14, 2],
  ] as const) {
    const r = gaussianSource(seed);
    const m = Array.from({ length: 4 * dim }, () => r());
    const data = new Float32Array(all.length * dim);
    all.forEach((id, i) => {
      const y = countsOf(id);
      for (let j = 0; j < dim; j++) data[i * dim + j] = y.reduce((s, v, c) => s + v * m[c * dim + j]!, 0) + 0.05 * r();
    });
    await writeFile(
      join(root, `${name}.safetensors`),
      writeSafetensors(
        { embeddings: { dtype: 'F32', shape: [all.length, dim], data } },
        { files: JSON.stringify(all.map(fileName)) },
      ),
    );
  }
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const SOUP_CONFIG = {
  preset: 'small',
  experts: [
    { name: 'e1', features: 'e1.safetensors' },
    { name: 'e2', features: 'e2.safetensors' },
  ],
  images: {
    root: '.',
    train: [{ dir: 'set-a', split: 'train2017' }],
    eval: [{ dir: 'set-a', split: 'val2017' }],
    validation: 6,
  },
  consensus: { pcaDim: 6, targetDim: 4 },
};

const TINY_DAVID = { preset: 'fmnist-small', model: { k: 2, scales: [6, 8], levels: 4 } };

describe('geolip-train run coco-consensus', () => {
  it('is registered, with coco-david', () =>
    expect(Object.keys(RECIPES)).toEqual(expect.arrayContaining(['coco-consensus', 'coco-david'])));

  it('writes one row per image of each split: unit consensus rows, the labels and instance counts, the image ids', async () => {
    const r = await runRecipe('coco-consensus', root, SOUP_CONFIG, 'cons');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(root, 'cons', 'result.json'), 'utf8'));
    expect(result.splits.train.images).toBe(18);
    expect(result.splits.validation.images).toBe(6);
    expect(result.splits.eval.images).toBe(12);
    const val = result.splits.validation.imageIds as number[];
    const expected = {
      train: SETS['set-a/train2017'].filter((id) => !val.includes(id)),
      val,
      eval: SETS['set-a/val2017'],
    };
    for (const [split, ids] of Object.entries(expected)) {
      const file = join(root, 'cons', `consensus-${split}.safetensors`);
      const f = readConsensusFeatures('test', split, file);
      expect([f.n, f.dim, f.classes]).toEqual([ids.length, 4, 4]);
      expect(f.imageIds).toEqual(ids);
      expect(f.categories).toEqual(CATS);
      expect(Array.from(f.instances)).toEqual(ids.flatMap(countsOf));
      expect(Array.from(f.labels)).toEqual(ids.flatMap((id) => countsOf(id).map((v) => (v > 0 ? 1 : 0))));
      for (let i = 0; i < f.n; i++) expect(Math.hypot(...f.x.subarray(i * 4, i * 4 + 4))).toBeCloseTo(1, 5);
      const meta = readSafetensors(await readFile(file)).metadata;
      expect(meta.split).toBe(split);
      expect(JSON.parse(meta.files!)).toEqual(
        ids.map((id) => `set-a/${split === 'eval' ? 'val2017' : 'train2017'}/${fileName(id)}`),
      );
    }
    // The train rows are the consensus targets the fit produced (consensus.safetensors).
    const consensus = readSafetensors(await readFile(join(root, 'cons', 'consensus.safetensors')));
    const train = readConsensusFeatures('test', 'train', join(root, 'cons', 'consensus-train.safetensors'));
    expect(Array.from(train.x)).toEqual(Array.from(consensus.tensors.targets!.data as Float32Array));
  });

  it('coco-david on those files: both readings run end to end and report per-image metrics beside the baselines', async () => {
    for (const labels of ['dominant', 'pairs'] as const) {
      const out = `david-${labels}`;
      const r = await runRecipe(
        'coco-david',
        root,
        {
          ...TINY_DAVID,
          features: 'cons',
          labels,
          epochs: 3,
          batchSize: 6,
          warmupSteps: 2,
          baselines: { linearProbe: { steps: 20 } },
        },
        out,
      );
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(await readFile(join(root, out, 'result.json'), 'utf8'));
      expect(result.recipe).toBe('coco-david');
      expect(Object.keys(result.machine)).toEqual(['cpu', 'cores', 'node', 'tfjs', 'backend']);
      expect(result.command).toMatch(/^geolip-train run coco-david --config /);
      expect(result.labels).toBe(labels);
      // Every synthetic image has a category: dominant rows = images; pairs = their (image, category) pairs.
      const pairs = (ids: number[]) => ids.reduce((s, id) => s + countsOf(id).filter((v) => v > 0).length, 0);
      expect(result.splits.eval.rows).toBe(labels === 'dominant' ? 12 : pairs(SETS['set-a/val2017']));
      expect(result.splits.train.images).toBe(18);
      expect(result.testRows).toBe(result.splits.eval.rows);
      for (const who of ['david', 'linearProbe', 'knn']) {
        const m = result.perImage[who].eval;
        expect(m.images).toBe(12);
        expect(m.labelledImages).toBe(12);
        for (const v of [m.dominantAccuracy, m.top1Hit, m.map]) expect(v).toBeGreaterThanOrEqual(0);
        expect(m.top1Hit).toBeGreaterThanOrEqual(m.dominantAccuracy);
      }
      expect(result.perImage.chance.eval.dominantAccuracy).toBe(1 / 4);
      expect(result.structure.alpha.trajectory).toHaveLength(4); // init + 3 epochs
      expect(result.structure.selected.scales).toHaveLength(2);
      await expectLoadsByMetadata(join(root, out, 'david.safetensors'), 'vision/david', GeoFractalDavid);
    }
  });
});

/** Synthetic consensus files: class c's direction plus noise, `perClass` images per class (counts: one instance). */
async function syntheticFiles(dir: string): Promise<void> {
  const r = gaussianSource(7);
  const C = 3;
  const dim = 8;
  const dirs = Array.from({ length: C }, () => Array.from({ length: dim }, () => r()));
  let nextId = 1;
  for (const [split, perClass] of [
    ['train', 12],
    ['val', 4],
    ['eval', 6],
  ] as const) {
    const n = C * perClass;
    const x = new Float32Array(n * dim);
    const instances = new Uint32Array(n * C);
    for (let i = 0; i < n; i++) {
      const c = i % C;
      instances[i * C + c] = 1;
      for (let j = 0; j < dim; j++) x[i * dim + j] = dirs[c]![j]! + 0.2 * r();
    }
    const ids = Array.from({ length: n }, () => nextId++);
    await writeFile(
      join(dir, `consensus-${split}.safetensors`),
      writeSafetensors(
        {
          embeddings: { dtype: 'F32', shape: [n, dim], data: x },
          labels: { dtype: 'U8', shape: [n, C], data: Uint8Array.from(instances, (v) => (v > 0 ? 1 : 0)) },
          instances: { dtype: 'U32', shape: [n, C], data: instances },
        },
        {
          image_ids: JSON.stringify(ids),
          categories: JSON.stringify(['a', 'b', 'c'].map((name, id) => ({ id, name }))),
        },
      ),
    );
  }
}

describe('geolip-train run coco-david', () => {
  it('separates synthetic consensus features: David, the probe and the k-NN far above the majority class', async () => {
    await mkdir(join(root, 'synthetic'), { recursive: true });
    await syntheticFiles(join(root, 'synthetic'));
    const r = await runRecipe(
      'coco-david',
      root,
      { ...TINY_DAVID, features: 'synthetic', epochs: 6, batchSize: 9, lr: 5e-3, warmupSteps: 2 },
      'synthetic-run',
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(root, 'synthetic-run', 'result.json'), 'utf8'));
    expect([result.trainRows, result.valRows, result.testRows]).toEqual([36, 12, 18]);
    expect(result.steps).toBe(24); // 6 epochs × floor(36 / 9)
    expect(result.perImage.majority.class).toBe(0); // a three-way tie of the training rows: the lowest class
    expect(result.perImage.majority.eval.dominantAccuracy).toBe(1 / 3);
    for (const who of ['david', 'linearProbe', 'knn'])
      expect(result.perImage[who].eval.dominantAccuracy).toBeGreaterThan(0.8);
    expect(result.testAccuracy).toBe(result.perImage.david.eval.dominantAccuracy);
    expect(r.stdout).toMatch(/eval images \(dominant accuracy \/ top-1 hit \/ mAP\): David \d/);
  });

  it('refuses bad configs and files, naming the key', async () => {
    expect(() => parseCocoDavidConfig({}, root)).toThrow(/'features' must be a directory/);
    expect(() => parseCocoDavidConfig({ features: 'x', labels: 'first' }, root)).toThrow(/'labels'/);
    expect(() => parseCocoDavidConfig({ features: 'x', valRows: 3 }, root)).toThrow(/valRows/);
    expect(parseCocoDavidConfig({ features: 'x' }, root).preset).toBe('basin-k12');
    await writeFile(
      join(root, 'plain.safetensors'),
      writeSafetensors({ embeddings: { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } }),
    );
    expect(() => readConsensusFeatures('coco-david', 'features.train', join(root, 'plain.safetensors'))).toThrow(
      /coco-david: 'features.train' .*plain.safetensors has no tensor 'labels'/,
    );
    const r = await runRecipe(
      'coco-david',
      root,
      { ...TINY_DAVID, features: 'synthetic', batchSize: 100 },
      'big-batch',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'batchSize' 100 is more than the 36 training rows/);
  });
});
