// Run 12 in fmnist-vit (issue 21, docs/gal.md): the `tower` config block and the run12 preset, where each loss's
// gradient goes (tower losses → tower only; guidance → streams only), GAL starting after the queue's warm-up, a
// checkpoint resume that reproduces the queue and the tower bit for bit, and a tiny run with the per-epoch metrics.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import { train } from '@geolip/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fmnistVitTraining, parseFmnistVitConfig } from '../src/recipes/fmnist-vit.js';
import { TOWER_DEFAULTS } from '../src/recipes/fmnist-vit-tower.js';

import { ArbitrationTower } from '@geolip/anchors';

import { expectLoadsByMetadata, runRecipe } from './helpers.js';
import { TINY_DUAL, bandImages, writeBandSplit } from './tiny-fmnist.js';

const SMALL_TOWER = {
  hidden: 16,
  queue: 32,
  refitEvery: 1,
  minClassRows: 1,
  gal: { warmup: 8, simplices: 16 },
};

/** Every stream loss off: only the tower's terms remain. */
const STREAMS_OFF = {
  bce: 0,
  ce: 0,
  infoNCE: 0,
  geoBce: 0,
  geoCe: 0,
  geoDiversity: 0,
  cv: 0,
  cvGeo: 0,
  cvStd: 0,
  anchorCv: 0,
  cm: 0,
  spread: 0,
  mastery: 0,
};
/** The cpu project: the reference for bit-exact resumes; the tiny run goes on wasm only (slower on cpu). */
const CPU = process.env.GEOLIP_BACKEND === 'cpu';

describe('fmnist-vit tower config', () => {
  it('run12: BCE on the main head, CE on the geo head, InfoNCE 0.5, and the tower with its defaults', () => {
    const cfg = parseFmnistVitConfig({ preset: 'run12' }, '/');
    expect(cfg.loss).toMatchObject({ bce: 1, ce: 0, geoBce: 0, geoCe: 1, infoNCE: 0.5, mastery: 0 });
    expect(cfg.tower).toEqual({
      ...TOWER_DEFAULTS,
      guidance: { ...TOWER_DEFAULTS.guidance, start: 'epoch', epoch: 10, weight: 0.1 },
    });
    expect(parseFmnistVitConfig({}, '/').tower).toBeNull();
  });

  it('the ablations are one field each over the preset', () => {
    const galOff = parseFmnistVitConfig({ preset: 'run12', tower: { gal: { weight: 0 } } }, '/');
    expect(galOff.tower!.gal.weight).toBe(0);
    expect(galOff.tower!.anchorInit).toBe('zero');
    const random = parseFmnistVitConfig({ preset: 'run12', tower: { anchorInit: 'random' } }, '/');
    expect(random.tower!.anchorInit).toBe('random');
    expect(random.tower!.gal.weight).toBe(1);
    const noGuide = parseFmnistVitConfig({ preset: 'run12', tower: { guidance: { start: 'off' } } }, '/');
    expect(noGuide.tower!.guidance.start).toBe('off');
  });

  it('refuses bad tower fields by their path, and a tower on the plain ViT', () => {
    expect(() => parseFmnistVitConfig({ tower: { gal: { warmpu: 3 } } }, '/')).toThrow(
      /unknown field 'tower\.gal\.warmpu'/,
    );
    expect(() => parseFmnistVitConfig({ tower: { anchorInit: 'ones' } }, '/')).toThrow(/'tower\.anchorInit'/);
    expect(() => parseFmnistVitConfig({ tower: { queue: 0 } }, '/')).toThrow(/'tower\.queue'/);
    expect(() => parseFmnistVitConfig({ model: 'vit', tower: {} }, '/')).toThrow(/'tower' needs the dual-stream/);
  });
});

/** A tiny dual-stream run with a tower; `tower` merges over SMALL_TOWER. */
function setup(tower: Record<string, unknown>, loss: Record<string, number> = STREAMS_OFF, n = 48) {
  const cfg = parseFmnistVitConfig(
    { batchSize: 8, modelConfig: TINY_DUAL, loss, valSize: 0, tower: { ...SMALL_TOWER, ...tower } },
    '/',
  );
  const t = fmnistVitTraining(cfg, bandImages(n));
  return {
    cfg,
    t,
    run: t.trainer.tower!,
    dispose: () => {
      t.trainer.disposePending();
      t.trainer.tower?.dispose();
      t.net.model.dispose();
    },
  };
}

const gradNorms = (s: ReturnType<typeof setup>, step = 0) => {
  const weights = s.t.trainer.getWeights();
  const batch = s.t.options.data(step, createRng(0), 0);
  const { value, grads } = tf.variableGrads(
    () => s.t.trainer.loss(batch, { step, micro: 0, training: true, rng: createRng(3) }),
    Object.values(weights),
  );
  const norms: Record<string, number> = {};
  for (const [name, v] of Object.entries(weights)) {
    const g = grads[v.name];
    norms[name] = g ? tf.norm(g).dataSync()[0]! : 0;
  }
  tf.dispose([value, ...Object.values(grads)]);
  return norms;
};

const sumOver = (norms: Record<string, number>, tower: boolean) =>
  Object.entries(norms)
    .filter(([k]) => k.startsWith('tower.') === tower)
    .reduce((a, [, v]) => a + v, 0);

describe('fmnist-vit tower gradients', () => {
  it("the tower's own losses (CE, InfoNCE) reach the tower's parameters and no stream parameter", async () => {
    const s = setup({ anchorInit: 'random', guidance: { start: 'off' } });
    const norms = gradNorms(s);
    expect(sumOver(norms, true)).toBeGreaterThan(0);
    expect(sumOver(norms, false)).toBe(0);
    s.dispose();
  });

  it('GAL is 0 until the queue holds its warm-up rows; then it reaches the tower only', async () => {
    const s = setup({ ce: 0, infoNCE: 0, guidance: { start: 'off' } });
    expect(s.run.queue.size).toBe(0);
    // Step 0: an empty queue, no GAL, no tower term at all: the loss is the zero fallback (no tower gradient).
    expect(sumOver(gradNorms(s), true)).toBe(0);
    await s.t.trainer.afterStep(); // the queue takes the step's 8 rows = the warm-up
    expect(s.run.queue.size).toBe(8);
    const norms = gradNorms(s, 1);
    expect(sumOver(norms, true)).toBeGreaterThan(0);
    expect(sumOver(norms, false)).toBe(0);
    s.dispose();
  });

  it('guidance reaches the streams only, and only once it is on', async () => {
    const s = setup({ ce: 0, infoNCE: 0, gal: { weight: 0 }, guidance: { start: 'epoch', epoch: 0, weight: 1 } });
    expect(s.run.guidanceOn).toBe(true);
    const norms = gradNorms(s);
    expect(sumOver(norms, false)).toBeGreaterThan(0);
    expect(sumOver(norms, true)).toBe(0);
    s.dispose();
    const off = setup({ gal: { weight: 0 }, guidance: { start: 'epoch', epoch: 100, weight: 1 } });
    expect(off.run.guidanceOn).toBe(false);
    off.dispose();
  });

  it("with detach false the tower's CE also reaches the streams (the Run 11 lesson as an option)", () => {
    const s = setup({ anchorInit: 'random', detach: false, infoNCE: 0, guidance: { start: 'off' } });
    expect(sumOver(gradNorms(s), false)).toBeGreaterThan(0);
    s.dispose();
  });
});

describe('fmnist-vit tower checkpoint', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'geolip-tower-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.runIf(CPU)(
    'a run resumed from a checkpoint ends with the same queue, maps, anchors and tower weights, bit for bit',
    async () => {
      const tower = { guidance: { start: 'epoch', epoch: 0.5, weight: 0.5 }, refitEvery: 2 };
      const loss = { ...STREAMS_OFF, bce: 1, geoCe: 1 };
      const go = async (s: ReturnType<typeof setup>, steps: number, ck: string, resume?: string) =>
        train({
          ...s.t.options,
          steps,
          checkpoint: { dir: ck, every: 3 },
          ...(resume ? { resumeFrom: resume } : {}),
          extraState: () => ({ tower: s.run.state() as never }),
          onResume: (e) => s.run.load((e as { tower: never }).tower),
        });
      const straight = setup(tower, loss);
      await go(straight, 6, join(dir, 'a'));
      const first = setup(tower, loss);
      await go(first, 3, join(dir, 'b'));
      first.dispose();
      const resumed = setup(tower, loss);
      await go(resumed, 6, join(dir, 'c'), join(dir, 'b'));
      const bits = async (s: ReturnType<typeof setup>) => {
        const w = s.t.trainer.getWeights();
        const out: Record<string, number[]> = {};
        for (const [k, v] of Object.entries(w))
          if (k.startsWith('tower.')) out[k] = Array.from(new Uint32Array((await v.data()).slice().buffer));
        return out;
      };
      expect(resumed.run.state()).toEqual(straight.run.state());
      expect(await bits(resumed)).toEqual(await bits(straight));
      expect(straight.run.refits).toBe(3);
      expect(straight.run.guidanceStep).toBe(3); // epoch 0.5 of 6 steps per epoch
      straight.dispose();
      resumed.dispose();
    },
  );
});

describe('geolip-train run fmnist-vit with preset run12 (tiny)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'geolip-run12-'));
    await writeBandSplit(dir, 'train', 128);
    await writeBandSplit(dir, 't10k', 20);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(CPU)(
    'logs GAL, queue fill, active anchors, CV, CM validity and stream cosines per epoch; result.json has each accuracy',
    async () => {
      const cfg = {
        preset: 'run12',
        data: dir,
        epochs: 2,
        batchSize: 16,
        warmupSteps: 1,
        valSize: 32,
        checkpointEvery: 100,
        modelConfig: TINY_DUAL,
        tower: { ...SMALL_TOWER, gal: { warmup: 16, simplices: 16 }, guidance: { start: 'mastery', margin: 1 } },
      };
      const r = await runRecipe('fmnist-vit', dir, cfg, 'run12');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('arbitration tower');
      const out = join(dir, 'run12');
      const evals = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((x) => x.type === 'eval');
      expect(evals.map((e) => e.step)).toEqual([6, 12]);
      const [e1, e2] = evals.map((e) => e.metrics);
      expect(e1.queue_fill).toBe(1); // 6 steps × 16 rows > 32
      expect(e1.gal).toBeGreaterThanOrEqual(0);
      expect(e1.gal_cm_valid).toBeGreaterThan(0);
      expect(e1.gal_cm_valid).toBeLessThanOrEqual(1);
      expect(e1.tower_active_anchors).toBeGreaterThanOrEqual(1);
      expect(e1.tower_active_anchors).toBeLessThanOrEqual(10);
      expect(e1.tower_val_cv).toBeGreaterThan(0);
      for (const k of ['stream0_cos_to_tower', 'stream1_cos_to_tower', 'stream1_refit_cos'])
        expect(Math.abs(e1[k]), k).toBeLessThanOrEqual(1 + 1e-5);
      // alignTo 'expert0': stream 0 is the frame, so it keeps the identity and is not refitted
      expect(e1.stream0_refit_cos).toBeUndefined();
      for (const k of ['val_acc', 'val_geo_acc', 'val_tower_acc', 'val_combined_acc']) {
        expect(e1[k], k).toBeGreaterThanOrEqual(0);
        expect(e1[k], k).toBeLessThanOrEqual(1);
      }
      // margin 1: the mastery signal switches guidance on at the first evaluation
      expect(e1.guidance_on).toBe(1);
      expect(e2.guidance_on).toBe(1);
      const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
      expect(result.preset).toBe('run12');
      expect(result.tower).toMatchObject({ split: 'test', guidanceStep: 6, queueFill: 1 });
      for (const k of ['towerAccuracy', 'combinedAccuracy']) expect(result.tower[k]).toBeGreaterThanOrEqual(0);
      expect(result.tower.streamAccuracy.bce).toBe(result.testAccuracy);
      expect(result.tower.streamAccuracy.ce).toBe(result.geoAccuracy);
      // The tower's own file loads by its metadata, its anchors' active mask included.
      expect(r.stdout).toContain('tower.safetensors');
      await expectLoadsByMetadata(join(out, 'tower.safetensors'), 'anchors/arbitration-tower', ArbitrationTower);
      const { fromPretrained } = await import('../src/index.js');
      const loaded = await fromPretrained<ArbitrationTower>(join(out, 'tower.safetensors'));
      expect(loaded.activeAnchors).toBe(result.tower.activeAnchors);
      loaded.dispose();
    },
  );
});
