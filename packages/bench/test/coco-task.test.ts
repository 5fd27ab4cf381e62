import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { InvalidArgumentError } from '@geolip/geometry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../src/cli.js';
import { evaluateCocoTask } from '../src/coco-task.js';
import { createPixelsEmbedder, loadImageModel } from '../src/image-models.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/coco/${name}`, import.meta.url));
const CATS = [1, 2, 3, 4].map((id) => ({ id, name: `c${id}`, supercategory: 's' }));

/** A COCO directory whose image names encode their categories (see fixtures/coco/label-image-model.mjs). */
async function makeCoco(dir: string): Promise<void> {
  const split = async (name: string, images: [number, number[]][]) => {
    await mkdir(join(dir, name), { recursive: true });
    const imgs = images.map(([id, cats]) => ({ id, file_name: `${id}-${cats.join('_')}.jpg`, width: 1, height: 1 }));
    for (const im of imgs) await writeFile(join(dir, name, im.file_name), '');
    const anns = images.flatMap(([id, cats], i) =>
      cats.map((c, j) => ({ id: 1000 * i + j, image_id: id, category_id: c, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0 })),
    );
    await writeFile(
      join(dir, 'annotations', `instances_${name}.json`),
      JSON.stringify({ images: imgs, annotations: anns, categories: CATS }),
    );
    const caps = images.map(([id, cats], i) => ({ id: i, image_id: id, caption: `cats ${cats.join(' ')}` }));
    await writeFile(
      join(dir, 'annotations', `captions_${name}.json`),
      JSON.stringify({ images: imgs, annotations: caps }),
    );
  };
  await mkdir(join(dir, 'annotations'), { recursive: true });
  await split('train2017', [
    [1, [1]],
    [2, [2]],
    [3, [3]],
    [4, [4]],
    [5, [1, 2]],
    [6, [3, 4]],
    [7, [1, 3]],
    [8, [2, 4]],
  ]);
  await split('val2017', [
    [11, [1]],
    [12, [2, 3]],
    [13, [4]],
    [14, [1, 4]],
  ]);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geolip-coco-'));
  await makeCoco(dir);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// multiLabelF1's hand case moved with the function to @geolip/metrics (test/metrics.test.ts).

describe('evaluateCocoTask', () => {
  it('a probe on separable features reaches mAP 1; retrieval with a same-space text model finds every pair', async () => {
    const image = await loadImageModel(fixture('label-image-model.mjs'));
    const text = await loadImageModel(fixture('label-text-model.mjs'));
    const r = await evaluateCocoTask(image, { dir, textModel: text, probe: { steps: 400, lr: 0.05 } });
    expect(r.nTrain).toBe(8);
    expect(r.nEval).toBe(4);
    expect(r.classesUsed).toBe(4);
    expect(r.map).toBe(1);
    expect(r.f1Micro).toBe(1);
    expect(r.retrieval!.captions).toBe(4);
    expect(r.retrieval!.textToImage[1]).toBe(1);
    expect(r.retrieval!.imageToText[1]).toBe(1);
  });

  it('names a missing annotation file or image, and refuses a text model of another width', async () => {
    const image = await loadImageModel(fixture('label-image-model.mjs'));
    await expect(evaluateCocoTask(image, { dir: join(dir, 'nope') })).rejects.toThrow(/instances_train2017.json/);
    await rm(join(dir, 'val2017', '13-4.jpg'));
    await expect(evaluateCocoTask(image, { dir })).rejects.toThrow(
      /13-4.jpg listed in instances_val2017.json does not exist/,
    );
    await writeFile(join(dir, 'val2017', '13-4.jpg'), '');
    const wide = { name: 'wide', dim: 5, embed: async (t: readonly string[]) => new Float32Array(t.length * 5) };
    await expect(evaluateCocoTask(image, { dir, textModel: wide })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('geolip-bench run --tasks coco', () => {
  it('prints the COCO table and writes it into the JSON report', async () => {
    let stdout = '';
    let stderr = '';
    const out = join(dir, 'report.json');
    const code = await main(
      [
        'run',
        '--tasks',
        'coco',
        '--coco',
        dir,
        '--image-model',
        fixture('label-image-model.mjs'),
        '--model',
        fixture('label-text-model.mjs'),
        '--retrieval',
        '--out',
        out,
      ],
      {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
      },
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('| label-image | COCO multi-label (linear probe) | 8 / 4 | 4 |');
    expect(stdout).toContain('| label-image | label-text | 4 / 4 | 100.00 / 100.00 / 100.00 |');
    const report = JSON.parse(await readFile(out, 'utf8'));
    expect(report.settings.coco.nEval).toBe(4);
  });

  it('refuses an unknown image model and --retrieval without coco', async () => {
    let stderr = '';
    const io = { stdout: { write: () => 0 }, stderr: { write: (s: string) => (stderr += s) } };
    expect(await main(['run', '--tasks', 'coco', '--coco', dir, '--image-model', 'resnet-9000'], io)).toBe(1);
    expect(stderr).toMatch(/unknown image model 'resnet-9000'; valid image models: pixels/);
    expect(await main(['run', '--tasks', 'stsb', '--retrieval'], io)).toBe(1);
    expect(stderr).toMatch(/--retrieval is part of task coco/);
  });
});

const SAMPLE = fileURLToPath(new URL('../../../../shared/data/coco/coco-mini/val2017', import.meta.url));
describe.skipIf(!existsSync(SAMPLE))('pixels baseline on real COCO images', () => {
  it('gives 768-d unit rows, the same on every call', async () => {
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(SAMPLE))
      .filter((f) => f.endsWith('.jpg'))
      .slice(0, 2)
      .map((f) => join(SAMPLE, f));
    const px = createPixelsEmbedder();
    const a = (await px.embed(files)) as Float32Array;
    const b = (await px.embed(files)) as Float32Array;
    expect(a.length).toBe(2 * 768);
    expect(Array.from(a)).toEqual(Array.from(b));
    for (let i = 0; i < 2; i++) {
      let n = 0;
      for (let j = 0; j < 768; j++) n += a[i * 768 + j]! ** 2;
      expect(Math.sqrt(n)).toBeCloseTo(1, 5);
    }
  });
});
