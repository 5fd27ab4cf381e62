// geolip-train run text-heads end to end on tiny files in the formats of ../shared/data (a few rows each), with the
// trigram test expert as the frozen encoder: splits, scores recomputed here from the same embeddings, the embedding
// cache, the saved heads, the sentiment note, and config errors.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { spearman } from '@geolip/metrics';
import { ParaphraseThreshold, shippedTextWeightsPath } from '@geolip/text';
import { mrpcDevSplit, parseMrpc } from '@geolip/text/data';
import { readSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  embedCached,
  fileEncoderId,
  parseTextHeadsConfig,
  SENTIMENT_UNAVAILABLE,
  shippedEncoderId,
} from '../src/recipes/text-heads.js';
import type { Encoder } from '../src/recipes/text-heads.js';
import { runRecipe } from './helpers.js';
import { TINY_ACTS, TINY_ANIMALS, stsCsv, writeTinyMrpc } from './tiny-text.js';

const ANIMALS = TINY_ANIMALS;
const ACTS = TINY_ACTS;

let dir: string;
const ENCODER = join(__dirname, 'fixtures', 'experts', 'trigram.mjs'); // tri-a: 12-d character trigrams

function cos(x: Float32Array, y: Float32Array): number {
  let d = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < x.length; i++) {
    d += x[i]! * y[i]!;
    a += x[i]! ** 2;
    b += y[i]! ** 2;
  }
  return d / Math.sqrt(a * b);
}

async function embedOne(text: string): Promise<Float32Array> {
  const mod = (await import(/* @vite-ignore */ pathToFileURL(ENCODER).href)) as {
    default: () => { embed(t: string[]): Promise<Float32Array> };
  };
  return mod.default().embed([text]);
}

// STS-B rows: same animal → 4.0, else 1.0 (score by sentence content).
const stsRows = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => {
    const a = ANIMALS[(i + offset) % 6]!;
    const b = ANIMALS[(i + offset + (i % 2)) % 6]!;
    return { s1: `a ${a} ${ACTS[i % 4]}.`, s2: `the ${b} ${ACTS[(i + 1) % 4]}.`, score: a === b ? 4 : 1 };
  });
const STS_TRAIN = stsRows(12, 0);
const STS_DEV = stsRows(6, 3);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-text-heads-'));
  const data = join(dir, 'data');
  for (const d of ['stsb', 'sick', 'mrpc', 'coco/coco-mini/annotations'])
    await mkdir(join(data, d), { recursive: true });
  await writeFile(join(data, 'stsb', 'sts-train.csv'), stsCsv(STS_TRAIN));
  await writeFile(join(data, 'stsb', 'sts-dev.csv'), stsCsv(STS_DEV));
  const labels = ['ENTAILMENT', 'NEUTRAL', 'CONTRADICTION'];
  const sick = (n: number, offset: number) =>
    Array.from(
      { length: n },
      (_, i) =>
        `${i + 1}\ta ${ANIMALS[i % 6]} ${ACTS[i % 4]}\ta ${ANIMALS[(i + offset) % 6]} ${ACTS[(i + 2) % 4]}\t3.0\t${labels[i % 3]}`,
    ).join('\n');
  await writeFile(join(data, 'sick', 'SICK_train.txt'), sick(12, 1) + '\n');
  await writeFile(join(data, 'sick', 'SICK_trial.txt'), sick(6, 2) + '\n');
  await writeTinyMrpc(data);
  const categories = [
    { id: 1, name: 'dog' },
    { id: 2, name: 'cat' },
    { id: 5, name: 'dining table' },
  ];
  await writeFile(join(data, 'coco', 'categories.json'), JSON.stringify(categories));
  // 10 images, 2 captions each; mention labels: dog in images 1–4 (image 1 via "dogs"), cat in 3–6, table in 7, 8.
  const caps: Record<number, [string, string]> = {
    1: ['Two dogs play.', 'Animals on grass.'],
    2: ['A dog sleeps.', 'A pet on a rug.'],
    3: ['A dog and a cat.', 'Two pets.'],
    4: ['A dog chases a cat.', 'Running animals.'],
    5: ['A cat on a roof.', 'An animal up high.'],
    6: ['A cat eats.', 'A small animal eating.'],
    7: ['Food on a dining table.', 'A meal.'],
    8: ['People at the dining tables.', 'Dinner time.'],
    9: ['A plane takes off.', 'The sky.'],
    10: ['A red bus.', 'A street.'],
  };
  const images = Object.keys(caps).map((id) => ({ id: Number(id), file_name: `${id}.jpg` }));
  const annotations = Object.entries(caps).flatMap(([id, cs], k) =>
    cs.map((caption, j) => ({ image_id: Number(id), caption, id: 100 * k + j })),
  );
  await writeFile(join(data, 'coco', 'captions_val2017.json'), JSON.stringify({ images, annotations }));
  // Instance labels for images 1–6 (coco-mini val): 1, 2 dog; 3, 4 dog + cat; 5, 6 cat + dining table.
  const inst = [1, 2, 3, 4, 5, 6].flatMap((id) =>
    (id <= 2 ? [1] : id <= 4 ? [1, 2] : [2, 5]).map((c, j) => ({ image_id: id, category_id: c, id: 10 * id + j })),
  );
  await writeFile(
    join(data, 'coco', 'coco-mini', 'annotations', 'instances_val2017.json'),
    JSON.stringify({ images: images.slice(0, 6), annotations: inst, categories }),
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const base = () => ({
  data: 'data',
  encoder: { module: ENCODER },
  similarity: { steps: 40, batchSize: 8, warmupSteps: 2 },
  nli: { steps: 40, batchSize: 8, warmupSteps: 2 },
  tagging: { steps: 40, batchSize: 8, warmupSteps: 2, testFraction: 0.3 },
  paraphrase: { devFraction: 0.3 },
});

describe('geolip-train run text-heads', () => {
  let result: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let first: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    first = await runRecipe('text-heads', dir, base(), 'run1');
    result = JSON.parse(await readFile(join(dir, 'run1', 'result.json'), 'utf8'));
  });

  it('trains and scores every task, recording the command, machine and settings', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(result.recipe).toBe('text-heads');
    expect(result.command).toMatch(/^geolip-train run text-heads --config .*run1\.json --out .*run1$/);
    expect(result.machine).toMatchObject({ tfjs: '4.22.0', node: process.version });
    expect(result.encoder).toEqual({ name: 'tri-a', dim: 12, id: `module:${ENCODER}` });
    expect(Object.keys(result)).toEqual(
      expect.arrayContaining(['similarity', 'nli', 'paraphrase', 'tagging', 'sentiment']),
    );
  });

  it('similarity: the card head (Linear(12, 1) on u ⊙ v, 13 parameters); the raw cosine Spearman recomputed', async () => {
    const s = result.similarity;
    expect(s).toMatchObject({
      head: 'SimilarityHead',
      train: 'STS-B train (12 pairs)',
      eval: 'STS-B dev (6 pairs)',
      pairInput: 'product',
      params: 13,
      settings: { layout: 'card', steps: 40, batchSize: 8, lr: 0.01, warmupSteps: 2, weightDecay: 0 },
    });
    const c = await Promise.all(STS_DEV.map(async (r) => cos(await embedOne(r.s1), await embedOne(r.s2))));
    const expected =
      Math.round(
        spearman(
          c,
          STS_DEV.map((r) => r.score),
        ) * 1e4,
      ) / 100;
    expect(s.cosineSpearman).toBeCloseTo(expected, 10);
    expect(Number.isFinite(s.spearman)).toBe(true);
    expect(Number.isFinite(s.lastLoss)).toBe(true);
  });

  it('nli: Linear(48, 3) = 147 parameters; accuracy over the 6 trial pairs and the majority baseline', () => {
    const n = result.nli;
    expect(n).toMatchObject({
      head: 'NliHead',
      train: 'SICK train (12 pairs)',
      eval: 'SICK trial (6 pairs)',
      params: 147,
    });
    // 6 trial pairs: accuracy is a multiple of 1/6; train labels are 4 of each class, so the majority is ENTAILMENT
    // (first of the tie), 2 of 6 trial pairs.
    expect([0, 16.67, 33.33, 50, 66.67, 83.33, 100]).toContain(n.accuracy);
    expect(n.majorityBaseline).toEqual({ label: 'ENTAILMENT', accuracy: 33.33 });
  });

  it('paraphrase: the threshold fitted on MRPC train:train equals a fit on cosines computed here', async () => {
    const raw = await readFile(join(dir, 'data', 'mrpc', 'msr_paraphrase_train.txt'), 'utf8');
    const { train, dev } = mrpcDevSplit(parseMrpc(raw, 'mrpc'), { fraction: 0.3, seed: 0 });
    const c = await Promise.all(train.pairs.map(async (p) => cos(await embedOne(p.a), await embedOne(p.b))));
    const fit = new ParaphraseThreshold().fit(
      c,
      train.pairs.map((p) => p.label!),
    );
    expect(result.paraphrase.threshold).toBeCloseTo(fit.threshold, 6);
    expect(result.paraphrase.train).toMatch(/^MRPC train:train \(14 pairs; mrpcDevSplit fraction 0.3, seed 0\)$/);
    expect(result.paraphrase.eval).toBe(`MRPC train:dev (${dev.pairs.length} pairs)`);
    const saved = ParaphraseThreshold.fromJSON(await readFile(join(dir, 'run1', 'heads', 'paraphrase.json'), 'utf8'));
    expect(saved.threshold).toBe(result.paraphrase.threshold);
  });

  it('tagging (instances): the images with instance labels and captions, split by the seed; Linear(12, 3)', () => {
    const t = result.tagging;
    expect(t.labels).toBe('instances');
    expect(t.params).toBe(12 * 3 + 3);
    // 6 labelled images (2 captions each): round(0.3·6) = 2 held out.
    expect(t.train.images + t.eval.images).toBe(6);
    expect(t.eval.images).toBe(2);
    expect(t.train.captions).toBe(2 * t.train.images);
    // 1 + 1 + 2 + 2 + 2 + 2 = 10 positive labels over the 6 images.
    expect(t.train.positiveLabels + t.eval.positiveLabels).toBe(10);
    expect(t.mAP).toBeGreaterThan(0);
    expect(t.mAP).toBeLessThanOrEqual(100);
  });

  it('sentiment: says why it is not trained', () => {
    expect(result.sentiment).toEqual({ head: 'SentimentHead', trained: false, reason: SENTIMENT_UNAVAILABLE });
  });

  it('caches each split once; a rerun reads the cache and gives the same scores', async () => {
    expect(first.stdout).toMatch(/embedded stsb-train: 24 texts/);
    const st = readSafetensors(
      new Uint8Array(await readFile(join(dir, 'run1', 'embeddings', 'stsb-train.safetensors'))),
    );
    expect(st.tensors.embeddings!.shape).toEqual([24, 12]);
    expect(st.metadata.encoder).toBe(`module:${ENCODER}`);
    const again = await runRecipe('text-heads', dir, base(), 'run1');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/embedded/);
    const second = JSON.parse(await readFile(join(dir, 'run1', 'result.json'), 'utf8'));
    for (const k of ['similarity', 'nli', 'paraphrase', 'tagging']) expect(second[k]).toEqual(result[k]);
    for (const f of ['similarity', 'nli', 'tagging'])
      expect(existsSync(join(dir, 'run1', 'heads', `${f}.safetensors`))).toBe(true);
    const sim = readSafetensors(new Uint8Array(await readFile(join(dir, 'run1', 'heads', 'similarity.safetensors'))));
    expect(Object.keys(sim.tensors).sort()).toEqual(['linear.bias', 'linear.weight']);
  });

  it('tagging (mentions): an image is labelled with the categories its captions name', async () => {
    const r = await runRecipe(
      'text-heads',
      dir,
      { ...base(), tasks: ['tagging'], tagging: { ...base().tagging, labels: 'mentions' } },
      'run2',
    );
    expect(r.code).toBe(0);
    const t = JSON.parse(await readFile(join(dir, 'run2', 'result.json'), 'utf8')).tagging;
    // dog: images 1 ("dogs"), 2, 3, 4; cat: 3, 4, 5, 6; dining table: 7, 8 ("dining tables") → 10 labels, 10 images.
    expect(t.train.images + t.eval.images).toBe(10);
    expect(t.eval.images).toBe(3);
    expect(t.train.positiveLabels + t.eval.positiveLabels).toBe(10);
    expect(t.source).toMatch(/\[INFER\]/);
  });
});

describe('text-heads embedding cache', () => {
  it("names shipped weights by their file's sha256, so a change of the shipped file invalidates the cache", async () => {
    const path = await shippedTextWeightsPath('geolip-text');
    const hex = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    expect(await shippedEncoderId('geolip-text')).toBe(`shipped:geolip-text@${hex}`);
    expect(fileEncoderId(path)).toBe(`file:${hex}`);
  });

  it('reuses a split only for the same encoder id and texts', async () => {
    const out = await mkdtemp(join(tmpdir(), 'geolip-heads-cache-'));
    const job = {
      out,
      name: 'text-heads',
      say: () => undefined,
      error: (m: string) => new Error(m),
    } as unknown as Parameters<typeof embedCached>[0];
    let calls = 0;
    const enc = (id: string, value: number): Encoder => ({
      name: 'fake',
      dim: 2,
      id,
      embed: async (t) => {
        calls++;
        return new Float32Array(t.length * 2).fill(value);
      },
    });
    try {
      const texts = ['a dog', 'a cat'];
      const a = await embedCached(job, enc('shipped:x@1', 1), 'split', texts);
      expect([a.cached, calls, Array.from(a.data)]).toEqual([false, 1, [1, 1, 1, 1]]);
      const again = await embedCached(job, enc('shipped:x@1', 9), 'split', texts);
      expect([again.cached, calls, Array.from(again.data)]).toEqual([true, 1, [1, 1, 1, 1]]);
      const newWeights = await embedCached(job, enc('shipped:x@2', 2), 'split', texts);
      expect([newWeights.cached, calls, Array.from(newWeights.data)]).toEqual([false, 2, [2, 2, 2, 2]]);
      const newTexts = await embedCached(job, enc('shipped:x@2', 3), 'split', ['a dog']);
      expect([newTexts.cached, calls, Array.from(newTexts.data)]).toEqual([false, 3, [3, 3]]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('text-heads config', () => {
  it('defaults: the shipped encoder, every task, card layouts', () => {
    const c = parseTextHeadsConfig({}, '/cfg');
    expect(c.encoder).toEqual({ kind: 'shipped', name: 'geolip-text' });
    expect(c.tasks).toEqual(['similarity', 'nli', 'paraphrase', 'tagging', 'sentiment']);
    expect(c.similarity).toMatchObject({ layout: 'card', hidden: null, pairInput: 'product', steps: 3000 });
    expect(c.tagging).toMatchObject({ labels: 'instances', testFraction: 0.2, seed: 0 });
    expect(c.data).toBe('/shared/data');
    expect(parseTextHeadsConfig({ encoder: 'w.safetensors' }, '/cfg').encoder).toEqual({
      kind: 'file',
      path: '/cfg/w.safetensors',
    });
    expect(parseTextHeadsConfig({ similarity: { layout: 'mlp' } }, '/cfg').similarity).toMatchObject({
      hidden: 256,
      pairInput: 'features',
    });
  });

  it('refuses bad fields with one line naming them', () => {
    const bad = (raw: unknown) => () => parseTextHeadsConfig(raw, '/cfg');
    expect(bad({ foo: 1 })).toThrow(/text-heads config: unknown field 'foo'/);
    expect(bad({ tasks: ['sts'] })).toThrow(/'tasks\[0\]' must be one of similarity, nli, paraphrase, tagging/);
    expect(bad({ tasks: [] })).toThrow(/'tasks' must be a non-empty array/);
    expect(bad({ similarity: { hidden: 8 } })).toThrow(/'similarity.hidden' applies only to layout 'mlp'/);
    expect(bad({ nli: { layout: 'deep' } })).toThrow(/'nli.layout' must be one of/);
    expect(bad({ similarity: { pairInput: 'cosine' } })).toThrow(/'similarity.pairInput' must be one of/);
    expect(bad({ tagging: { testFraction: 1 } })).toThrow(/'tagging.testFraction' must be in \(0, 1\), got 1/);
    expect(bad({ tagging: { labels: 'boxes' } })).toThrow(/'tagging.labels' must be one of/);
    expect(bad({ encoder: 3 })).toThrow(/'encoder' must be a shipped model name/);
    expect(bad({ nli: { steps: 0 } })).toThrow(/'nli.steps' must be a positive integer/);
  });
});
