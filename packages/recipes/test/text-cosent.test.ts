// geolip-train run text-cosent end to end on tiny files in the formats of ../shared/data, with a tiny random
// CaptionEncoder as the base: the split, the loss going down on a fixed set, model selection on the validation slice,
// the model file loading by its metadata, held-out scores recomputed here, frozen weights, --resume and config errors;
// `train: ["stsb", "sick"]` (config, the pooled pairs by hand, a tiny mixed run).
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { spearman } from '@geolip/metrics';
import { CaptionEncoder, SentenceEmbedder } from '@geolip/text';
import { readModelMetadata, readSafetensors, toFloat32 } from '@geolip/io';
import { InvalidArgumentError } from '@geolip/geometry';
import { RecipeConfigError } from '@geolip/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { mixTrainPairs, parseTextCosentConfig, sickToStsbScale } from '../src/recipes/text-cosent.js';
import { expectLoadsByMetadata, runRecipe } from './helpers.js';
import { TINY_STS_DEV, stsCsv, tinyStsRows, writeTinyPairTasks, writeTinyTextEncoder } from './tiny-text.js';

let dir: string;
let baseFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-text-cosent-'));
  const data = join(dir, 'data');
  await writeTinyPairTasks(data);
  await writeFile(join(data, 'stsb', 'sts-train.csv'), stsCsv(tinyStsRows(24, 0)));
  // SICK train: 4 pairs (the text-cosent run with `train: ["stsb", "sick"]` pools them with STS-B train's).
  const sickTrain = [
    '1\ta dog runs on the beach\ta dog runs on the beach\t5.0\tENTAILMENT',
    '2\ta cat eats an apple\ta horse rides a bike\t1.0\tNEUTRAL',
    '3\ta man sleeps on a couch\ta man eats an apple\t3.0\tNEUTRAL',
    '4\ta bird rides a bike\ta woman rides a bike\t2.6\tNEUTRAL',
  ].join('\n');
  await writeFile(join(data, 'sick', 'SICK_train.txt'), sickTrain + '\n');
  baseFile = join(dir, 'base.safetensors');
  await writeTinyTextEncoder(baseFile);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// 24 pairs: 6 validation, 18 training pairs; batch 18 = every training pair each step (a fixed set).
const base = () => ({
  data: 'data',
  encoder: 'base.safetensors',
  valFraction: 0.25,
  epochs: 12,
  batchSize: 18,
  lr: 3e-3,
  warmupSteps: 1,
  evalEvery: 3,
  checkpointEvery: 4,
  embedBatch: 7,
});

const stepLosses = (file: string): number[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; loss?: number })
    .filter((r) => r.type === 'step')
    .map((r) => r.loss!);

function cos(e: Float32Array, d: number, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += e[i * d + k]! * e[j * d + k]!;
  return s;
}

describe('geolip-train run text-cosent', () => {
  let result: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let first: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    first = await runRecipe('text-cosent', dir, base(), 'run1');
    result = JSON.parse(await readFile(join(dir, 'run1', 'result.json'), 'utf8'));
  });

  it('splits STS-B train, trains 12 steps and records the command, machine and settings', () => {
    expect(first.code).toBe(0);
    expect(result.recipe).toBe('text-cosent');
    expect(result.command).toMatch(/^geolip-train run text-cosent --config .*run1\.json --out .*run1$/);
    expect(result.machine).toMatchObject({ tfjs: '4.22.0', node: process.version });
    expect(result.data.train).toBe('STS-B train: 18 pairs');
    expect(result.data.mixing).toBeUndefined();
    expect(result.data.validation).toMatch(/^STS-B train: 6 pairs \(seeded shuffle, seed 0, fraction 0.25\)$/);
    expect(result.settings).toMatchObject({
      steps: 12,
      stepsDone: 12,
      batchSize: 18,
      lr: 3e-3,
      trainedParams: result.base.params,
    });
    expect(result.loss).toBe('CoSENT (Su 2022), λ 20');
    expect(result.departure).toMatch(/not fine-tuned on STS/);
  });

  it('records how far the chosen model moved: mean cosine to the base and the CV of both', () => {
    const g = result.geometry;
    expect(g.sentences).toBe('the 10 sentences of the validation pairs'); // 12 texts, 2 repeated;
    expect(g.meanCosineToBase).toBeGreaterThan(-1);
    expect(g.meanCosineToBase).toBeLessThanOrEqual(1);
    if (result.selection.chosen.step === 0) expect(g.meanCosineToBase).toBeCloseTo(1, 4);
    expect(g.cv).toBeGreaterThan(0);
    expect(g.baseCv).toBeGreaterThan(0);
  });

  it('the CoSENT loss goes down on the fixed training set', () => {
    const losses = stepLosses(join(dir, 'run1', 'metrics.jsonl'));
    expect(losses).toHaveLength(12);
    expect(losses[11]!).toBeLessThan(losses[0]! * 0.9);
  });

  it('selects on the validation slice: the chosen step has the best validation score', () => {
    const { base: b, evals, chosen } = result.selection;
    expect(evals.map((e: { step: number }) => e.step)).toEqual([3, 6, 9, 12]);
    const best = Math.max(b, ...evals.map((e: { valSpearman: number }) => e.valSpearman));
    expect(chosen.valSpearman).toBe(best);
    if (chosen.step > 0) expect(evals.find((e: { step: number }) => e.step === chosen.step).valSpearman).toBe(best);
  });

  it('writes the chosen model with the metadata contract; fromPretrained loads it by its metadata alone', async () => {
    const file = join(dir, 'run1', 'cosent.safetensors');
    const params = await expectLoadsByMetadata(file, 'text/caption-encoder', CaptionEncoder);
    expect(params).toBe(result.base.params);
    const meta = readModelMetadata(readSafetensors(readFileSync(file)).metadata);
    expect(meta.extra).toMatchObject({ recipe: 'text-cosent', step: result.selection.chosen.step, maxLength: 16 });
  });

  it('held-out STS-B dev Spearman of the chosen model equals one recomputed from its file', async () => {
    const model = await SentenceEmbedder.fromWeights(join(dir, 'run1', 'cosent.safetensors'));
    try {
      const texts = TINY_STS_DEV.flatMap((r) => [r.s1, r.s2]);
      const e = await model.embed(texts);
      const c = TINY_STS_DEV.map((_, i) => cos(e, model.dim, 2 * i, 2 * i + 1));
      const want =
        Math.round(
          spearman(
            c,
            TINY_STS_DEV.map((r) => r.score),
          ) * 1e4,
        ) / 100;
      expect(result.heldOut['text-cosent'].stsbDev.spearman).toBeCloseTo(want, 6);
    } finally {
      model.dispose();
    }
    expect(Object.keys(result.heldOut)).toEqual(['text-cosent', 'base']);
    expect(result.heldOut.base.sickTrial.pairs).toBe(6);
    expect(result.heldOut.base.mrpcDev.pairs).toBe(2);
    for (const m of Object.values(result.heldOut) as Record<string, Record<string, number>>[])
      for (const v of [m.stsbDev!.spearman, m.sickTrial!.spearman, m.mrpcDev!.f1])
        expect(Number.isFinite(v)).toBe(true);
  });

  it('freezeEmbeddings and freezeLayers keep those weights; --steps then --resume equals a straight run', async () => {
    const cfg = { ...base(), epochs: 4, heldOut: false, freezeEmbeddings: true, freezeLayers: 1, evalEvery: 1 };
    const straight = await runRecipe('text-cosent', dir, cfg, 'frozen');
    expect(straight.code).toBe(0);
    const r = JSON.parse(await readFile(join(dir, 'frozen', 'result.json'), 'utf8'));
    expect(r.heldOut).toBeUndefined();
    const after = readSafetensors(readFileSync(join(dir, 'frozen', 'cosent.safetensors'))).tensors;
    const before = readSafetensors(readFileSync(baseFile)).tensors;
    const same = (k: string) =>
      Buffer.from(toFloat32(after[k]!).buffer).equals(Buffer.from(toFloat32(before[k]!).buffer));
    if (r.selection.chosen.step > 0) {
      expect(same('encoder.token_emb.weight')).toBe(true);
      expect(same('encoder.pos_emb.weight')).toBe(true);
      expect(same('encoder.layers.0.linear1.weight')).toBe(true);
      expect(same('encoder.layers.1.linear1.weight')).toBe(false);
    }
    // Frozen: the token and position embeddings and layer 0 (in_proj 16·48 + 48, out_proj 16·16 + 16,
    // linear1 16·32 + 32, linear2 32·16 + 16, two LayerNorms 2·32 = 2,224 parameters).
    expect(r.settings.trainedParams).toBe(r.base.params - 30522 * 16 - 16 * 16 - 2224);
    const stopped = await runRecipe('text-cosent', dir, cfg, 'resumed', ['--steps', '2']);
    expect(stopped.code).toBe(0);
    const resumed = await runRecipe('text-cosent', dir, cfg, 'resumed', ['--resume']);
    expect(resumed.code).toBe(0);
    const r2 = JSON.parse(await readFile(join(dir, 'resumed', 'result.json'), 'utf8'));
    expect(r2.lastLoss).toBe(r.lastLoss);
    expect(r2.selection.chosen).toEqual(r.selection.chosen);
  });

  it('config errors name the field', () => {
    const parse = (o: object) => () => parseTextCosentConfig({ ...base(), ...o }, dir);
    expect(parse({ valFraction: 1 })).toThrow(/valFraction/);
    expect(parse({ batchSize: 1 })).toThrow(/batchSize/);
    expect(parse({ compare: ['bert'] })).toThrow(/compare\[0\]/);
    expect(parse({ freezeEmbeddings: 'yes' })).toThrow(/freezeEmbeddings/);
    expect(parse({ lambda: 20 })).toThrow(/lambda/);
    expect(parseTextCosentConfig({}, dir)).toMatchObject({
      encoder: { kind: 'shipped', name: 'geolip-text' },
      train: ['stsb'],
      scale: 20,
      valFraction: 0.1,
      batchSize: 32,
      cvTarget: 0.084,
    });
  });
});

describe('text-cosent train: ["stsb", "sick"]', () => {
  it('parses train (fixed order, duplicates dropped); an unknown or empty list is a RecipeConfigError naming it', () => {
    const parse = (train: unknown) => parseTextCosentConfig({ ...base(), train }, dir);
    expect(parse(['sick', 'stsb', 'sick']).train).toEqual(['stsb', 'sick']);
    expect(parse(['sick']).train).toEqual(['sick']);
    const fails = (train: unknown, path: string) => {
      let error: unknown;
      try {
        parse(train);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RecipeConfigError);
      expect((error as RecipeConfigError).path).toBe(path);
      expect((error as Error).message).toMatch(/text-cosent config/);
    };
    fails(['stsb', 'mrpc'], 'train[1]');
    fails([], 'train');
    fails('stsb', 'train');
  });

  it('sickToStsbScale maps SICK 1–5 onto 0–5', () => {
    expect([1, 3, 5, 2.6].map(sickToStsbScale)).toEqual([0, 2.5, 5, 2]);
  });

  it('mixTrainPairs concatenates the parts in order and rescales only the SICK scores', () => {
    const sts = [
      { a: 's1', b: 's2', score: 4.2, line: 1 },
      { a: 's3', b: 's4', score: 0, line: 2 },
    ];
    const sick = [
      { a: 'k1', b: 'k2', score: 5, line: 1 },
      { a: 'k3', b: 'k4', score: 1.8, line: 2 },
    ];
    const mixed = mixTrainPairs([
      { task: 'stsb', pairs: sts },
      { task: 'sick', pairs: sick },
    ]);
    expect(mixed.map((p) => [p.a, p.score])).toEqual([
      ['s1', 4.2],
      ['s3', 0],
      ['k1', 5],
      ['k3', 1],
    ]);
    expect(sick[1]!.score).toBe(1.8); // the input is not changed
    expect(() => mixTrainPairs([{ task: 'mrpc', pairs: [] }])).toThrow(InvalidArgumentError);
    expect(() => mixTrainPairs([{ task: 'mrpc', pairs: [] }])).toThrow(/mixTrainPairs: 'parts\[0\]\.task'/);
    expect(() => mixTrainPairs([{ task: 'sick', pairs: [{ a: 'x', b: 'y', line: 1 }] }])).toThrow(
      /mixTrainPairs: 'parts\[0\]\.pairs\[0\]\.score'/,
    );
  });

  it('a tiny run pools the 18 STS-B train pairs and the 4 SICK train pairs; the validation slice is unchanged', async () => {
    const cfg = { ...base(), train: ['stsb', 'sick'], epochs: 2, batchSize: 11, heldOut: false, evalEvery: 2 };
    const res = await runRecipe('text-cosent', dir, cfg, 'mixed');
    expect(res.code).toBe(0);
    const r = JSON.parse(await readFile(join(dir, 'mixed', 'result.json'), 'utf8'));
    expect(r.data.train).toBe(
      'STS-B train: 18 pairs + SICK train (relatedness): 4 pairs, scores 1–5 rescaled to 0–5 as (s − 1) · 5 / 4',
    );
    expect(r.data.mixing).toMatch(/one seeded permutation of the pool/);
    expect(r.data.validation).toMatch(/^STS-B train: 6 pairs \(seeded shuffle, seed 0, fraction 0.25\)$/);
    const run1 = JSON.parse(await readFile(join(dir, 'run1', 'result.json'), 'utf8'));
    expect(r.selection.base).toBe(run1.selection.base); // same base, same validation pairs
    expect(r.settings.steps).toBe(4); // ceil(2 · 22 / 11)
    expect(stepLosses(join(dir, 'mixed', 'metrics.jsonl'))).toHaveLength(4);
    expect(r.departure).toMatch(/on STS-B train \+ SICK train \(relatedness\)$/);
  });
});
