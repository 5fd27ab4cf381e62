// The coco-soup recipe end to end on a synthetic COCO layout written here: two image folders per split (one image id
// listed twice in eval, one train image also in eval), JPEGs whose quadrants show their labels, and two experts whose
// features are linear in the labels (rows shuffled, extra rows, names in the metadata / a sidecar JSON). Plus the
// consensus folding, the row matching errors and config validation.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Matrix } from '@geolip/geometry';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import { encode } from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RECIPES } from '../src/cli.js';
import { applyProjector, normalizedMean } from '@geolip/train';
import type { CocoSplit } from '../src/recipes/coco-data.js';
import { constantScoreMap, readExpertRows } from '../src/recipes/coco-data.js';
import { parseCocoSoupConfig } from '../src/recipes/coco-soup.js';
import { fitSoupConsensus } from '../src/recipes/coco-soup-parts.js';
import { BaseTierSoup, ViTClassifier, ViTEncoder } from '@geolip/vision';

import { expectLoadsByMetadata, gaussianSource, runRecipe } from './helpers.js';

const CATS = [1, 2, 3, 5].map((id) => ({ id, name: `cat${id}` }));

/** Labels (category ids) of image id `id`: class (id mod 4), plus the next class when id is a multiple of 3. */
const labelsOf = (id: number): number[] => {
  const c = id % 4;
  return id % 3 === 0 ? [CATS[c]!.id, CATS[(c + 1) % 4]!.id] : [CATS[c]!.id];
};

/** A 32×24 JPEG: dark, with quadrant c bright when class c is among the labels. */
function jpeg(labels: number[]): Buffer {
  const w = 32;
  const h = 24;
  const rgba = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const q = (y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1);
      const on = labels.includes(CATS[q]!.id);
      const o = (y * w + x) * 4;
      rgba[o] = on ? 230 : 30;
      rgba[o + 1] = on ? 200 : 30;
      rgba[o + 2] = on ? 40 : 30;
      rgba[o + 3] = 255;
    }
  }
  return encode({ width: w, height: h, data: rgba }, 95).data;
}

const SETS = {
  'set-a/train2017': Array.from({ length: 16 }, (_, i) => 100 + i),
  'set-b/train2017': [...Array.from({ length: 15 }, (_, i) => 200 + i), 300], // 300 is also in eval
  'set-a/val2017': Array.from({ length: 8 }, (_, i) => 300 + i),
  'set-b/val2017': [...Array.from({ length: 7 }, (_, i) => 400 + i), 301], // 301 listed twice in eval
};
const fileName = (id: number) => `${String(id).padStart(12, '0')}.jpg`;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'geolip-coco-soup-'));
  await writeFile(join(root, 'categories.json'), JSON.stringify(CATS));
  const all = new Set<number>();
  for (const [set, ids] of Object.entries(SETS)) {
    const [dir, split] = set.split('/') as [string, string];
    await mkdir(join(root, dir, split), { recursive: true });
    await mkdir(join(root, dir, 'annotations'), { recursive: true });
    for (const id of ids) {
      await writeFile(join(root, dir, split, fileName(id)), jpeg(labelsOf(id)));
      all.add(id);
    }
    const anns = ids.flatMap((id) => labelsOf(id).map((c, j) => ({ id: id * 10 + j, image_id: id, category_id: c })));
    await writeFile(
      join(root, dir, 'annotations', `instances_${split}.json`),
      JSON.stringify({
        images: ids.map((id) => ({ id, file_name: fileName(id) })),
        annotations: anns,
        categories: CATS,
      }),
    );
  }
  // Experts: features = multi-hot(labels)·M + noise, rows in reverse order plus two unrelated rows.
  const ids = [...all].reverse();
  const expert = (dim: number, seed: number) => {
    const r = gaussianSource(seed);
    const m = Array.from({ length: 4 * dim }, () => r());
    const rows = [...ids, 9001, 9002];
    const data = new Float32Array(rows.length * dim);
    rows.forEach((id, i) => {
      const y: number[] = CATS.map((c) => (labelsOf(id).includes(c.id) ? 1 : 0));
      for (let j = 0; j < dim; j++) data[i * dim + j] = y.reduce((s, v, c) => s + v * m[c * dim + j]!, 0) + 0.05 * r();
    });
    return { rows: rows.map((id) => `val2017/${fileName(id)}`), data };
  };
  const e1 = expert(10, 1);
  await writeFile(
    join(root, 'e1.safetensors'),
    writeSafetensors(
      { embeddings: { dtype: 'F32', shape: [e1.rows.length, 10], data: e1.data } },
      { files: JSON.stringify(e1.rows) },
    ),
  );
  const e2 = expert(14, 2);
  await writeFile(
    join(root, 'e2.safetensors'),
    writeSafetensors({ embeddings: { dtype: 'F16', shape: [e2.rows.length, 14], data: e2.data } }),
  );
  await writeFile(join(root, 'e2.json'), JSON.stringify({ file_names: e2.rows }));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const CONFIG = {
  preset: 'small',
  experts: [
    { name: 'e1', features: 'e1.safetensors' },
    { name: 'e2', features: 'e2.safetensors' },
  ],
  images: {
    root: '.',
    train: [
      { dir: 'set-a', split: 'train2017' },
      { dir: 'set-b', split: 'train2017' },
    ],
    eval: [
      { dir: 'set-a', split: 'val2017' },
      { dir: 'set-b', split: 'val2017' },
    ],
  },
  consensus: { pcaDim: 6, targetDim: 4 },
  soup: {
    anchors: 8,
    compartments: 2,
    compartmentDim: 4,
    hiddenDim: 16,
    steps: 60,
    batchSize: 8,
    lr: 0.01,
    evalEvery: 30,
  },
  student: {
    imageSize: 16,
    patchSize: 8,
    dModel: 16,
    heads: 2,
    ffDim: 32,
    layers: 1,
    steps: 60,
    batchSize: 8,
    lr: 5e-3,
    warmupSteps: 4,
    evalEvery: 30,
  },
  probe: { steps: 150, lr: 0.05 },
};

const run = (config: unknown, out: string) => runRecipe('coco-soup', root, config, out);

async function losses(file: string): Promise<number[]> {
  const lines = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return lines.filter((r) => r.type === 'step').map((r) => r.loss as number);
}
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

describe('geolip-train run coco-soup', () => {
  it('is registered', () => expect(Object.keys(RECIPES)).toContain('coco-soup'));

  it('builds the splits (deduplicated), trains soup and student, reports mAP and writes both models', async () => {
    const r = await run(CONFIG, 'run');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(root, 'run', 'result.json'), 'utf8'));
    // train: 16 + 16 listed, image 300 is also in eval → 31; eval: 8 + 8 listed, image 301 twice → 15.
    expect(result.splits.train.images).toBe(31);
    expect(result.splits.train.overlapWithEvalRemoved).toBe(1);
    expect(result.splits.eval.images).toBe(15);
    expect(result.splits.eval.duplicateIdsRemoved).toEqual([301]);
    expect(result.splits.eval.sets).toEqual([
      { set: 'set-a/val2017', listed: 8, kept: 8 },
      { set: 'set-b/val2017', listed: 8, kept: 7 },
    ]);
    expect(result.splits.eval.classesWithPositives).toBe(4);
    expect(result.experts.map((e: { namesSource: string }) => e.namesSource)).toEqual([
      expect.stringMatching(/e1.safetensors metadata 'files'$/),
      expect.stringMatching(/e2.json$/),
    ]);
    expect(result.consensus.targetDim).toBe(4);
    expect(result.consensus.reduction.map((x: { pcaDim: number }) => x.pcaDim)).toEqual([6, 6]);
    // The experts are linear in the labels: the soup separates them.
    expect(result.soup.evalMap).toBeGreaterThan(0.9);
    expect(result.soup.classesUsed).toBe(4);
    expect(result.probes.evalMap['expert e1']).toBeGreaterThan(0.9);
    expect(mean((await losses(join(root, 'run', 'soup-metrics.jsonl'))).slice(-10))).toBeLessThan(
      0.8 * mean((await losses(join(root, 'run', 'soup-metrics.jsonl'))).slice(0, 10)),
    );
    const studentLosses = await losses(join(root, 'run', 'student-metrics.jsonl'));
    expect(studentLosses).toHaveLength(60);
    expect(mean(studentLosses.slice(-10))).toBeLessThan(mean(studentLosses.slice(0, 10)));
    expect(result.student.evalMap).toBeGreaterThan(0);
    expect(result.student.evalMap).toBeLessThanOrEqual(1);
    const soup = readSafetensors(new Uint8Array(await readFile(join(root, 'run', 'soup.safetensors'))));
    expect(soup.tensors['projectors.0.0.weight']!.shape).toEqual([4, 10]);
    expect(soup.tensors['projectors.1.0.weight']!.shape).toEqual([4, 14]);
    const student = readSafetensors(new Uint8Array(await readFile(join(root, 'run', 'student.safetensors'))));
    expect(student.tensors['classifier.weight']!.shape).toEqual([4, 4]);
    expect(student.tensors['encoder.patch_embed.weight']!.shape).toEqual([16, 3, 8, 8]);
    // Both load by their metadata alone, bit-identical to the files.
    await expectLoadsByMetadata(join(root, 'run', 'soup.safetensors'), 'vision/base-tier-soup', BaseTierSoup);
    await expectLoadsByMetadata(join(root, 'run', 'student.safetensors'), 'vision/vit', ViTClassifier);
    expect(r.stdout).toMatch(/A TINY set/);
  });

  it('card preset: common-width consensus, validation split, calibration ablation, the student through the frozen soup', async () => {
    const config = {
      experts: CONFIG.experts,
      images: { ...CONFIG.images, validation: 6 },
      consensus: { pcaDim: 12, targetDim: 8 },
      soup: {
        anchors: 8,
        compartments: 2,
        compartmentDim: 4,
        hiddenDim: 16,
        steps: 40,
        batchSize: 8,
        lr: 0.01,
        evalEvery: 20,
      },
      student: {
        imageSize: 16,
        patchSize: 8,
        dModel: 16,
        heads: 2,
        ffDim: 32,
        layers: 1,
        epochs: 2,
        batchSize: 8,
        lr: 5e-3,
        warmupSteps: 2,
      },
      probe: { steps: 50, lr: 0.05 },
    };
    const r = await run(config, 'card');
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    const result = JSON.parse(await readFile(join(root, 'card', 'result.json'), 'utf8'));
    expect(result.preset).toBe('card');
    // 31 train images: 6 drawn for validation, 25 fit the consensus, the soups and the student.
    expect(result.splits.train.images).toBe(25);
    expect(result.splits.validation.images).toBe(6);
    expect(result.splits.validation.imageIds).toHaveLength(6);
    // The consensus features files of coco-david, one row per image of each split.
    for (const [split, rows] of [
      ['train', 25],
      ['val', 6],
      ['eval', result.splits.eval.images],
    ] as const) {
      const f = readSafetensors(new Uint8Array(await readFile(join(root, 'card', `consensus-${split}.safetensors`))));
      expect(f.tensors.embeddings!.shape[0]).toBe(rows);
      expect(f.tensors.labels!.shape).toEqual([rows, 4]);
      expect(JSON.parse(f.metadata.image_ids!)).toHaveLength(rows);
    }
    expect(
      JSON.parse(
        readSafetensors(new Uint8Array(await readFile(join(root, 'card', 'consensus-val.safetensors')))).metadata
          .image_ids!,
      ),
    ).toEqual(result.splits.validation.imageIds);
    // e1 (10-d) is zero-padded to 12, e2 (14-d) reduced by its PCA to 12.
    expect(result.consensus.reduction.map((x: { kind: string }) => x.kind)).toEqual(['pad', 'pca']);
    expect(result.soup.config.expertDims).toEqual([12, 12]);
    expect(result.calibrationAblation.calibrated.calibrated).toBe(true);
    expect(result.calibrationAblation.uncalibrated.calibrated).toBe(false);
    for (const side of ['calibrated', 'uncalibrated']) {
      const a = result.calibrationAblation[side];
      expect(a.activeAnchors.of).toBe(8);
      expect(a.activeAnchors.eval).toBeGreaterThanOrEqual(1);
      expect(a.activeAnchors.eval).toBeLessThanOrEqual(8);
      expect(a.evalMap).toBeGreaterThan(0);
    }
    expect(result.student.head).toBe(false);
    expect(result.student.epochs).toBe(2);
    expect(result.student.stepsPerEpoch).toBe(4);
    const records = (await readFile(join(root, 'card', 'student-metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((x) => x.type === 'eval');
    expect(records.map((x) => x.metrics.epoch)).toEqual([1, 2]);
    for (const x of records) {
      for (const key of [
        'nce_acc',
        'val_cos',
        'val_r1',
        'val_map',
        'val_f1_micro',
        'val_f1_macro',
        'val_active_anchors',
      ])
        expect(Number.isFinite(x.metrics[key]), key).toBe(true);
    }
    const soup = readSafetensors(new Uint8Array(await readFile(join(root, 'card', 'soup.safetensors'))));
    expect(soup.tensors['projectors.0.0.weight']!.shape).toEqual([8, 12]);
    await expectLoadsByMetadata(join(root, 'card', 'soup.safetensors'), 'vision/base-tier-soup', BaseTierSoup);
    await expectLoadsByMetadata(
      join(root, 'card', 'soup-uncalibrated.safetensors'),
      'vision/base-tier-soup',
      BaseTierSoup,
    );
    await expectLoadsByMetadata(join(root, 'card', 'student.safetensors'), 'vision/vit-encoder', ViTEncoder);
  });

  it('names the expert file that lacks rows for split images', async () => {
    await writeFile(
      join(root, 'short.safetensors'),
      writeSafetensors(
        { embeddings: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) } },
        { files: JSON.stringify([fileName(100), fileName(101)]) },
      ),
    );
    const r = await run(
      { ...CONFIG, experts: [CONFIG.experts[0], { name: 'short', features: 'short.safetensors' }] },
      'short',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /coco-soup: 'experts\[1\].features' .*short.safetensors \(expert 'short'\) has no row for 29 of the 31 train images/,
    );
    await writeFile(
      join(root, 'nonames.safetensors'),
      writeSafetensors({ embeddings: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) } }),
    );
    const n = await run(
      { ...CONFIG, experts: [CONFIG.experts[0], { name: 'x', features: 'nonames.safetensors' }] },
      'nonames',
    );
    expect(n.stderr).toMatch(/'experts\[1\].features' .*no image file names found/);
  });

  it('refuses bad configs naming the key', () => {
    const ok = { experts: CONFIG.experts };
    expect(() => parseCocoSoupConfig({}, '/')).toThrow(/coco-soup config: missing field 'experts'/);
    expect(() => parseCocoSoupConfig({ experts: [CONFIG.experts[0]] }, '/')).toThrow(
      /'experts' must be an array of at least 2/,
    );
    expect(() =>
      parseCocoSoupConfig(
        {
          experts: [
            { name: 'a', features: 'x' },
            { name: 'a', features: 'y' },
          ],
        },
        '/',
      ),
    ).toThrow(/'experts\[1\].name' 'a' is given twice/);
    expect(() => parseCocoSoupConfig({ experts: [{ name: 'a' }, { name: 'b', features: 'y' }] }, '/')).toThrow(
      /missing field 'experts\[0\].features'/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, soup: { anchor: 8 } }, '/')).toThrow(/unknown field 'soup.anchor'/);
    expect(() => parseCocoSoupConfig({ ...ok, soup: { anchors: 10 } }, '/')).toThrow(
      /'soup.anchors' \(10\) must be a multiple of 'soup.compartments' \(8\)/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, consensus: { pcaDim: 16, targetDim: 32 } }, '/')).toThrow(
      /'consensus.targetDim' \(32\) must not exceed 'consensus.pcaDim' \(16\)/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, student: { target: 'teacher' } }, '/')).toThrow(
      /'student.target' must be one of 'soup', 'consensus'/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, student: { imageSize: 100 } }, '/')).toThrow(
      /'student.imageSize' \(100\) must be a multiple of 'student.patchSize' \(16\)/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, student: { lr: 0 } }, '/')).toThrow(
      /'student.lr' must be a positive number/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, images: { train: [{ split: 'train2017' }] } }, '/')).toThrow(
      /missing field 'images.train\[0\].dir'/,
    );
    expect(() => parseCocoSoupConfig({ ...ok, soup: { autograd: 1 } }, '/')).toThrow(
      /'soup.autograd' must be true or false/,
    );
    const cfg = parseCocoSoupConfig({ ...ok, preset: 'small' }, '/work/main');
    expect(cfg.images.root).toBe('/work/shared/data/coco');
    expect(cfg.images.categories).toBe('/work/shared/data/coco/categories.json');
    expect(cfg.images.train).toEqual([
      { dir: 'coco-mini', split: 'train2017' },
      { dir: 'coco-tiny', split: 'train2017' },
    ]);
    expect(cfg.images.eval).toEqual([
      { dir: 'coco-mini', split: 'val2017' },
      { dir: 'coco-tiny', split: 'val2017' },
    ]);
    expect(cfg.student).toMatchObject({ imageSize: 112, patchSize: 16, dModel: 128, layers: 3, target: 'soup' });
    expect(cfg.probe.steps).toBe(300);
    expect(parseCocoSoupConfig({ ...ok, probe: { steps: 0 } }, '/').probe.steps).toBe(0);
  });
});

describe('fitSoupConsensus', () => {
  it('folds each expert PCA into its projector exactly: raw rows through the folded projectors give the targets', () => {
    const r = gaussianSource(5);
    const base = Array.from({ length: 40 * 5 }, () => r());
    const make = (dim: number) => {
      const m = Array.from({ length: 5 * dim }, () => r());
      const x = new Float32Array(40 * dim);
      for (let i = 0; i < 40; i++)
        for (let j = 0; j < dim; j++)
          x[i * dim + j] = 3 + base.slice(i * 5, i * 5 + 5).reduce((s, v, k) => s + v * m[k * dim + j]!, 0) + 0.1 * r();
      return x;
    };
    const xa = make(12);
    const xb = make(6);
    const experts = [
      {
        name: 'a',
        file: 'a',
        dim: 12,
        fileRows: 40,
        namesSource: '',
        train: xa.subarray(0, 30 * 12),
        eval: xa.subarray(30 * 12),
      },
      {
        name: 'b',
        file: 'b',
        dim: 6,
        fileRows: 40,
        namesSource: '',
        train: xb.subarray(0, 30 * 6),
        eval: xb.subarray(30 * 6),
      },
    ];
    const c = fitSoupConsensus(experts, 30, 10, { pcaDim: 8, targetDim: 4, iterations: 5, shrinkage: 1e-3 });
    expect(c.reduction.map((x) => x.pcaDim)).toEqual([8, 6]); // b is narrower than pcaDim: used as it is
    expect(c.model.projectors[0]!.linear.shape).toEqual([12, 4]);
    const views = c.model.projectors.map((p, e) =>
      applyProjector(p, new Matrix(30, experts[e]!.dim, Float64Array.from(experts[e]!.train))),
    );
    const again = normalizedMean(views, 30, 4);
    for (let i = 0; i < again.data.length; i++) expect(again.data[i]).toBeCloseTo(c.model.targets.data[i]!, 9);
    expect(c.evalTargets.shape).toEqual([10, 4]);
    expect(Math.min(...c.model.diagnostics.cosineToConsensus)).toBeGreaterThan(0.8);
  });
});

describe('split helpers', () => {
  it('constantScoreMap is the mean prevalence over classes with a positive', () => {
    // 4 images × 3 classes: prevalences 2/4, 1/4, none → (0.5 + 0.25) / 2
    expect(constantScoreMap(Uint8Array.from([1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]), 3)).toBeCloseTo(0.375, 15);
  });
  it('readExpertRows matches rows by base name and names the file when the names do not match the rows', async () => {
    const split = (ids: number[]): CocoSplit => ({
      images: ids.map((id) => ({ id, fileName: fileName(id), path: '', set: 's' })),
      targets: new Uint8Array(0),
      counts: new Uint32Array(0),
      sets: [],
      duplicates: [],
    });
    const path = join(root, 'two.safetensors');
    await writeFile(
      path,
      writeSafetensors(
        { embeddings: { dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } },
        { images: JSON.stringify([`a/${fileName(7)}`, fileName(8)]) },
      ),
    );
    const rows = readExpertRows('coco-soup', 0, 'two', path, undefined, { train: split([8]), eval: split([7, 8]) });
    expect(Array.from(rows.train)).toEqual([3, 4]);
    expect(Array.from(rows.eval)).toEqual([1, 2, 3, 4]);
    await writeFile(join(root, 'bad-names.json'), JSON.stringify([fileName(7)]));
    expect(() =>
      readExpertRows('coco-soup', 0, 'two', path, join(root, 'bad-names.json'), {
        train: split([8]),
        eval: split([7]),
      }),
    ).toThrow(/'experts\[0\].features' .*bad-names.json lists 1 file names for the 2 rows/);
  });
});
