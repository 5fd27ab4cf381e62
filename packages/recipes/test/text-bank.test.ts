// geolip-train run text-bank end to end on tiny files: a 60-sentence corpus file, two trigram experts (12-d, 10-d),
// a tiny random CaptionEncoder (8-d) as the frozen encoder and the held-out tasks in the formats of ../shared/data.
// Checks the subset, the bank's size, the loss going down, the diagnostics' ranges, the model files loading by their
// metadata, the A/B rows recomputed from the files (B's cosine is the mean of A's and the feature's), and --resume.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { AnchorBank } from '@geolip/anchors';
import { spearman } from '@geolip/metrics';
import { CaptionEncoder, SentenceEmbedder } from '@geolip/text';
import { readModelMetadata, readSafetensors } from '@geolip/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseTextBankConfig } from '../src/recipes/text-bank.js';
import { expectLoadsByMetadata, runRecipe } from './helpers.js';
import { TINY_ACTS, TINY_ANIMALS, TINY_STS_DEV, writeTinyPairTasks, writeTinyTextEncoder } from './tiny-text.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'experts');
const ACTS = [...TINY_ACTS, 'plays the guitar'];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-text-bank-'));
  const data = join(dir, 'data');
  await writeTinyPairTasks(data);
  // 60 distinct corpus sentences (6 subjects × 5 actions × 2 articles).
  const corpus = TINY_ANIMALS.flatMap((a) => ACTS.flatMap((act) => [`a ${a} ${act}.`, `the ${a} ${act} again.`]));
  await writeFile(join(dir, 'corpus.txt'), corpus.join('\n') + '\n');
  await writeTinyTextEncoder(join(dir, 'base.safetensors'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// 50 of the 60 sentences: 10 validation, 40 training rows; bank 6-d with 8 anchors, 2 experts.
const base = () => ({
  encoder: 'base.safetensors',
  data: 'data',
  corpus: { file: 'corpus.txt' },
  corpusSize: 50,
  experts: ['tri-a', 'tri-b'],
  expertModules: { 'tri-a': join(FIXTURES, 'trigram.mjs'), 'tri-b': join(FIXTURES, 'trigram-b.mjs') },
  bank: { bankDim: 6, anchors: 8, cvSamples: 16 },
  steps: 12,
  batchSize: 16,
  lr: 2e-2,
  warmupSteps: 1,
  valSize: 10,
  evalEvery: 4,
  checkpointEvery: 4,
  fitRows: 30,
  featureChunk: 16,
  embedBatch: 7,
});

const stepLosses = (file: string): number[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; loss?: number })
    .filter((r) => r.type === 'step')
    .map((r) => r.loss!);

const cosAt = (e: Float32Array, d: number, i: number, j: number, from = 0, width = d): number => {
  let s = 0;
  let na = 0;
  let nb = 0;
  for (let k = from; k < from + width; k++) {
    s += e[i * d + k]! * e[j * d + k]!;
    na += e[i * d + k]! ** 2;
    nb += e[j * d + k]! ** 2;
  }
  return s / Math.sqrt(na * nb);
};

const x100 = (v: number) => Math.round(v * 1e4) / 100;

describe('geolip-train run text-bank', () => {
  let result: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let first: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    first = await runRecipe('text-bank', dir, base(), 'run1');
    result = JSON.parse(await readFile(join(dir, 'run1', 'result.json'), 'utf8'));
  });

  it('takes a seeded subset, splits it, and records the command, machine, encoder and settings', () => {
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(result.command).toMatch(/^geolip-train run text-bank --config .*run1\.json --out .*run1$/);
    expect(result.machine).toMatchObject({ tfjs: '4.22.0', node: process.version });
    expect(result.corpus).toMatchObject({ corpus: 60, subset: 50 });
    const lines = readFileSync(join(dir, 'run1', 'corpus.txt'), 'utf8')
      .trim()
      .split('\n');
    expect(new Set(lines).size).toBe(50);
    expect(result.split).toMatchObject({ train: 40, validation: 10, fitRows: 30 });
    expect(result.encoder).toMatchObject({ dim: 8, frozen: true });
    expect(result.encoder.id).toMatch(/^file:[0-9a-f]{64}$/);
    expect(result.settings).toMatchObject({ steps: 12, stepsDone: 12, batchSize: 16, lr: 2e-2 });
    expect(result.features.experts.map((e: { name: string; dim: number }) => [e.name, e.dim])).toEqual([
      ['tri-a', 12],
      ['tri-b', 10],
    ]);
    expect(result.features.experts[0].frame).toBe('PCA to 6 of 12');
    expect(result.departures.join(' ')).toMatch(/2 experts .*not the card's 5/);
  });

  it("the bank's size: inputDim·D + D + E·D² + K·D", () => {
    // 8·6 + 6 + 2·36 + 8·6
    expect(result.bank.params).toBe(48 + 6 + 72 + 48);
    expect(result.bank.config).toMatchObject({ inputDim: 8, bankDim: 6, experts: 2, anchors: 8, cvTarget: 0.082 });
  });

  it('the loss goes down', () => {
    const losses = stepLosses(join(dir, 'run1', 'metrics.jsonl'));
    expect(losses).toHaveLength(12);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));
    expect(result.diagnostics.final.valLoss).toBeLessThan(result.diagnostics.initial.valLoss);
  });

  it('diagnostics: in range at every eval, Procrustes rotations orthogonal at the start', () => {
    const d = result.diagnostics;
    expect(d.evals.map((e: { step: number }) => e.step)).toEqual([4, 8, 12]);
    const { step: _s, ...last } = d.evals[2];
    expect(last).toEqual(d.final);
    for (const m of [d.initial, ...d.evals]) {
      expect(Number.isInteger(m.activeAnchors)).toBe(true);
      expect(m.activeAnchors).toBeGreaterThanOrEqual(1);
      expect(m.activeAnchors).toBeLessThanOrEqual(8);
      expect(m.featureCv).toBeGreaterThan(0);
      expect(m.anchorCv).toBeGreaterThan(0);
      expect(m.anchorMaxCos).toBeLessThanOrEqual(1.0001);
      for (const k of ['expertCos.tri-a', 'expertCos.tri-b', 'crossExpertCos']) {
        expect(m[k]).toBeGreaterThanOrEqual(-1.0001);
        expect(m[k]).toBeLessThanOrEqual(1.0001);
      }
    }
    // ‖RᵀR − I‖² of the Procrustes rotations: float32 rounding only.
    expect(d.initial.orthogonality).toBeLessThan(1e-6);
    // The "distance" agreement: (1/E) Σ_e ‖z − q_e‖² = 2 − 2·mean_e cos(z, q_e) for unit rows.
    const cosMean = (d.initial['expertCos.tri-a'] + d.initial['expertCos.tri-b']) / 2;
    expect(d.initial.expertAgreement).toBeCloseTo(2 - 2 * cosMean, 3);
  });

  it('writes the bank and the bank variant with the metadata contract; both load by metadata alone', async () => {
    const params = await expectLoadsByMetadata(
      join(dir, 'run1', 'model.safetensors'),
      'text/caption-encoder',
      CaptionEncoder,
    );
    const encoderParams = result.encoder.params;
    expect(params).toBe(encoderParams + result.bank.params);
    expect(await expectLoadsByMetadata(join(dir, 'run1', 'bank.safetensors'), 'anchors/anchor-bank', AnchorBank)).toBe(
      result.bank.params,
    );
    const meta = readModelMetadata(readSafetensors(readFileSync(join(dir, 'run1', 'model.safetensors'))).metadata);
    expect(meta.config).toMatchObject({ outDim: 8, anchorBank: { bankDim: 6, anchors: 8, experts: 2 } });
    expect(meta.extra).toMatchObject({ recipe: 'text-bank', steps: 12, experts: 'tri-a,tri-b' });
    // The bank file records how its anchors started (a seeded subset of the rotated experts' consensus).
    const bankMeta = readModelMetadata(readSafetensors(readFileSync(join(dir, 'run1', 'bank.safetensors'))).metadata);
    expect(bankMeta.config).toMatchObject({ anchorInit: 'consensus', feature: 'projection', seed: 0 });
    expect(result.bank.config.anchorInit).toBe('consensus');
  });

  it('A/B: each row recomputed from the files; B = concat(s, feature), its cosine the mean of the two', async () => {
    const a = await SentenceEmbedder.fromWeights(join(dir, 'base.safetensors'));
    const b = await SentenceEmbedder.fromWeights(join(dir, 'run1', 'model.safetensors'));
    try {
      expect(b.dim).toBe(14);
      const texts = TINY_STS_DEV.flatMap((r) => [r.s1, r.s2]);
      const ea = await a.embed(texts);
      const eb = await b.embed(texts);
      // The first 8 columns of B are the encoder's embedding.
      for (let i = 0; i < texts.length; i++)
        for (let k = 0; k < 8; k++) expect(eb[i * 14 + k]).toBeCloseTo(ea[i * 8 + k]!, 5);
      const gold = TINY_STS_DEV.map((r) => r.score);
      const rows = (f: (i: number) => number) => TINY_STS_DEV.map((_, i) => f(i));
      const cA = rows((i) => cosAt(ea, 8, 2 * i, 2 * i + 1));
      const cB = rows((i) => cosAt(eb, 14, 2 * i, 2 * i + 1));
      const cF = rows((i) => cosAt(eb, 14, 2 * i, 2 * i + 1, 8, 6));
      cB.forEach((c, i) => expect(c).toBeCloseTo((cA[i]! + cF[i]!) / 2, 5));
      const h = result.heldOut;
      expect(Object.keys(h)).toEqual(['encoder', 'encoder+bank', 'bank-feature']);
      expect(h.encoder.stsbDev.spearman).toBeCloseTo(x100(spearman(cA, gold)), 6);
      expect(h['encoder+bank'].stsbDev.spearman).toBeCloseTo(x100(spearman(cB, gold)), 6);
      expect(h['bank-feature'].stsbDev.spearman).toBeCloseTo(x100(spearman(cF, gold)), 6);
      expect(h['bank-feature'].dim).toBe(6);
      expect(h.encoder.sickTrial.pairs).toBe(6);
      expect(h.encoder.mrpcDev.pairs).toBe(2);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('--steps then --resume equals a straight run', async () => {
    const cfg = { ...base(), heldOut: false };
    const straight = await runRecipe('text-bank', dir, cfg, 'straight');
    expect(straight.code).toBe(0);
    const r = JSON.parse(await readFile(join(dir, 'straight', 'result.json'), 'utf8'));
    expect(r.heldOut).toBeUndefined();
    expect(r.lastLoss).toBe(result.lastLoss);
    const stopped = await runRecipe('text-bank', dir, cfg, 'resumed', ['--steps', '6']);
    expect(stopped.code).toBe(0);
    const resumed = await runRecipe('text-bank', dir, cfg, 'resumed', ['--resume']);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const r2 = JSON.parse(await readFile(join(dir, 'resumed', 'result.json'), 'utf8'));
    expect(r2.lastLoss).toBe(r.lastLoss);
    expect(r2.diagnostics.final).toEqual(r.diagnostics.final);
    expect(r2.diagnostics.evals).toEqual(r.diagnostics.evals);
  });

  it('config errors name the field; the defaults are the card bank on the two offline experts', () => {
    const parse = (o: object) => () => parseTextBankConfig({ ...base(), ...o }, dir);
    expect(parse({ bank: { anchors: 3 } })).toThrow(/bank\.anchors/);
    expect(parse({ bank: { width: 3 } })).toThrow(/width/);
    expect(parse({ experts: ['bert'], expertModules: {} })).toThrow(/'bert'/);
    expect(parse({ rotationInit: 'svd' })).toThrow(/rotationInit/);
    expect(parse({ lossWeights: { cv: -1 } })).toThrow(/lossWeights\.cv/);
    expect(parse({ compare: ['bert'] })).toThrow(/compare\[0\]/);
    expect(parseTextBankConfig({}, dir)).toMatchObject({
      encoder: { kind: 'shipped', name: 'geolip-text' },
      experts: ['use-lite', 'glove-avg'],
      bank: { bankDim: 128, anchors: 512, cvTarget: 0.082, feature: 'projection', expertAgreement: 'distance' },
      rotationInit: 'procrustes',
      anchorInit: 'consensus',
    });
  });
});
