// The fmnist-vit recipe end to end on a synthetic Fashion-MNIST directory (four gzip IDX files written here: class c is
// a bright horizontal band at row 2c), with tiny models, plus config validation.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RECIPES } from '../src/cli.js';
import { parseFmnistVitConfig } from '../src/recipes/fmnist-vit.js';
import { DualStreamViT, ViTClassifier } from '@geolip/vision';

import { expectLoadsByMetadata, writeFashionMnistSplit, runRecipe } from './helpers.js';
import { TINY_DUAL } from './tiny-fmnist.js';

// outDim 24, not the presets' 128: the embeddings files and the scan must follow the model's width. Patches of 7
// (16 tokens instead of the presets' 49): a step costs a quarter, and the recipe runs the same code.
const TINY_VIT = { patchSize: 7, dModel: 16, heads: 2, ffDim: 32, layers: 1 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-fmnist-'));
  await writeFashionMnistSplit(dir, 'train', 160);
  await writeFashionMnistSplit(dir, 't10k', 40);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const run = (config: unknown, out: string, extra: string[] = []) => runRecipe('fmnist-vit', dir, config, out, extra);

describe('geolip-train run fmnist-vit', () => {
  it('is registered', () => expect(Object.keys(RECIPES)).toContain('fmnist-vit'));

  it("leaves modelConfig to the model's own checks: fusedBlocks 0 is accepted, a bad size is the model's error", async () => {
    expect(parseFmnistVitConfig({ modelConfig: { fusedBlocks: 0 } }, '/').modelConfig).toEqual({ fusedBlocks: 0 });
    const r = await run(
      { data: dir, epochs: 1, batchSize: 32, valSize: 32, modelConfig: { ...TINY_DUAL, heads: 3 } },
      'run-bad-model',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^geolip-train: error: fmnist-vit config: 'modelConfig' is invalid: DualStreamViT: /);
  });

  it.each([
    ['dual-stream', TINY_DUAL],
    ['vit', TINY_VIT],
  ] as const)('trains the %s, writes result.json with test accuracy and the scan', async (model, modelConfig) => {
    const cfg = {
      model,
      data: dir,
      epochs: 2,
      batchSize: 32,
      lr: 3e-3,
      warmupSteps: 2,
      valSize: 32,
      checkpointEvery: 100,
      masteryQueue: { patience: 1, capacity: 64, minCapacity: 32 },
      modelConfig,
    };
    const r = await run(cfg, `run-${model}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`fmnist-vit: ${model} test accuracy \\d+\\.\\d\\d%`));
    expect(r.stdout).toContain('128 train / 32 val / 40 test images');
    const out = join(dir, `run-${model}`);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
    expect(result.steps).toBe(8); // 2 epochs × floor(128/32)
    expect(result.valImages).toBe(32);
    // One validation per epoch, with the training accuracy since the last one and the queue's state.
    const evals = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((x) => x.type === 'eval');
    expect(evals.map((e) => e.step)).toEqual([4, 8]);
    for (const e of evals) {
      expect(e.metrics.val_acc).toBeGreaterThanOrEqual(0);
      expect(e.metrics.train_acc).toBeGreaterThanOrEqual(0);
      expect(e.metrics.mastery_capacity).toBe(64);
    }
    // With patience 1 the queue activates once a batch's view-vs-view InfoNCE accuracy is 1.
    expect(result.mastery.capacity).toBe(64);
    expect(typeof result.mastery.active).toBe('boolean');
    // The weights and the embeddings of every train (incl. val) and test image.
    const { readSafetensors } = await import('@geolip/io');
    const train = readSafetensors(new Uint8Array(await readFile(join(out, 'embeddings-train.safetensors'))));
    const dim = model === 'dual-stream' ? 24 : 128;
    expect(train.tensors.embeddings!.shape).toEqual([160, dim]);
    expect(train.tensors.embeddings!.dtype).toBe('F16');
    const test = readSafetensors(new Uint8Array(await readFile(join(out, 'embeddings-test.safetensors'))));
    expect(test.tensors.embeddings!.shape).toEqual([40, dim]);
    const weights = readSafetensors(new Uint8Array(await readFile(join(out, 'model.safetensors'))));
    expect(Object.keys(weights.tensors).length).toBeGreaterThan(4);
    // It loads by its metadata alone, bit-identical to the file.
    if (model === 'dual-stream')
      await expectLoadsByMetadata(join(out, 'model.safetensors'), 'vision/dual-stream-vit', DualStreamViT);
    else await expectLoadsByMetadata(join(out, 'model.safetensors'), 'vision/vit', ViTClassifier);
    expect(result.testImages).toBe(40);
    expect(result.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(result.scan.n).toBe(40);
    if (model === 'dual-stream') {
      expect(result.geoAccuracy).toBeGreaterThanOrEqual(0);
      expect(result.scan.anchors).not.toBeNull();
    }
  });

  it('--time-limit stops with a checkpoint and exit status 75; --resume finishes the run', async () => {
    // Patches of 4 here (49 tokens): steps slow enough that the 0.2 s limit falls inside the 8 steps on a fast machine too.
    const cfg = {
      model: 'vit',
      data: dir,
      epochs: 2,
      batchSize: 32,
      lr: 3e-3,
      warmupSteps: 2,
      valSize: 32,
      checkpointEvery: 100,
      masteryQueue: { patience: 1, capacity: 64 },
      modelConfig: { ...TINY_VIT, patchSize: 4 },
    };
    const first = await run(cfg, 'run-limited', ['--time-limit', '0.2']);
    expect(first.code, first.stderr).toBe(75);
    expect(first.stderr).toMatch(/stopped \(time-limit\); continue with the same command plus --resume/);
    const stoppedAt = Number(/stopped at step (\d+) of 8/.exec(first.stdout)?.[1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(1);
    expect(stoppedAt).toBeLessThan(8);
    await expect(readFile(join(dir, 'run-limited', 'result.json'))).rejects.toThrow(/ENOENT/);
    const again = await run(cfg, 'run-limited');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a checkpoint; pass --resume/);
    const second = await run(cfg, 'run-limited', ['--resume']);
    expect(second.code, second.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(dir, 'run-limited', 'result.json'), 'utf8'));
    expect(result.steps).toBe(8);
    // Training seconds add up over both calls; the training accuracy is counted with or without the queue.
    const steps = (await readFile(join(dir, 'run-limited', 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const firstCallMs = steps.filter((x) => x.type === 'step' && x.step <= stoppedAt).at(-1).elapsedMs;
    expect(result.trainSeconds).toBeGreaterThan(firstCallMs / 1000);
    const small = { ...cfg, modelConfig: TINY_VIT }; // the runs below need no time limit: the small patches' speed
    const noQueue = await run({ ...small, loss: { mastery: 0 } }, 'run-no-queue');
    expect(noQueue.code, noQueue.stderr).toBe(0);
    const nq = JSON.parse(await readFile(join(dir, 'run-no-queue', 'result.json'), 'utf8'));
    expect(nq.mastery).toBeUndefined();
    expect(nq.lastVal.train_acc).toBeGreaterThanOrEqual(0);
    expect(nq.lastVal.train_acc).toBeLessThanOrEqual(1);
    // Without InfoNCE and without the queue no second view is needed: still trains and reports train accuracy.
    const plain = await run({ ...small, loss: { mastery: 0, infoNCE: 0 } }, 'run-no-nce');
    expect(plain.code, plain.stderr).toBe(0);
    const pr = JSON.parse(await readFile(join(dir, 'run-no-nce', 'result.json'), 'utf8'));
    expect(pr.steps).toBe(8);
    expect(pr.lastVal.train_acc).toBeGreaterThanOrEqual(0);
    const bad = await run(cfg, 'run-bad', ['--time-limit', '-3']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--time-limit must be a positive number of seconds, got '-3'/);
  });

  it('refuses bad configs naming the field', () => {
    expect(() => parseFmnistVitConfig({ model: 'resnet' }, '/')).toThrow(/'model' must be one of 'dual-stream', 'vit'/);
    expect(() => parseFmnistVitConfig({ loss: { bce: -1 } }, '/')).toThrow(/'loss.bce' must be a non-negative number/);
    expect(() => parseFmnistVitConfig({ loss: { masteryy: 1 } }, '/')).toThrow(/unknown field 'loss.masteryy'/);
    expect(() => parseFmnistVitConfig({ valSize: -1 }, '/')).toThrow(/'valSize'/);
    expect(() => parseFmnistVitConfig({ masteryQueue: { patience: 0 } }, '/')).toThrow(/'masteryQueue.patience'/);
    expect(() => parseFmnistVitConfig({ epoch: 3 }, '/')).toThrow(/unknown field 'epoch'/);
    expect(parseFmnistVitConfig({}, '/')).toMatchObject({
      model: 'dual-stream',
      epochs: 10,
      batchSize: 256,
      loss: { bce: 1, infoNCE: 0.1, geoBce: 0.3, mastery: 1 },
      views: 'two',
      valSize: 5000,
      evalEvery: 0,
    });
  });
});
