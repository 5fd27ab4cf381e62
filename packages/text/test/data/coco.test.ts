import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';
import {
  cocoRetrievalTargets,
  loadCocoCaptions,
  loadCocoInstances,
  parseCocoCaptions,
  parseCocoInstances,
} from '../../src/data/index.js';
import type { CocoCategory } from '../../src/data/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = process.env.GEOLIP_DATA
  ? resolve(process.env.GEOLIP_DATA)
  : resolve(here, '../../../..', '../shared/data');
const ANN = join(DATA, 'coco', 'coco-mini', 'annotations');
const hasData = existsSync(ANN);
if (!hasData)
  console.warn(`[text/test/data] COCO-MINI not found at ${ANN} (set GEOLIP_DATA): real-file tests are skipped`);

describe('parseCocoCaptions', () => {
  it('images and captions in file order', () => {
    const c = parseCocoCaptions(
      '{"images":[{"id":1,"file_name":"a.jpg"},{"id":2,"file_name":"b.jpg"}],"annotations":[{"image_id":2,"id":7,"caption":"A cat."},{"image_id":1,"caption":"A dog."}]}',
      'x.json',
    );
    expect(c.images).toEqual([
      { id: 1, fileName: 'a.jpg' },
      { id: 2, fileName: 'b.jpg' },
    ]);
    expect(c.captions).toEqual([
      { imageId: 2, caption: 'A cat.', id: 7 },
      { imageId: 1, caption: 'A dog.' },
    ]);
    const gt = cocoRetrievalTargets(c);
    expect(Array.from(gt.captionToImage)).toEqual([1, 0]);
    expect(gt.imageToCaptions).toEqual([[1], [0]]);
  });
  it('format errors name the file', () => {
    expect(() => parseCocoCaptions('{', '/c.json')).toThrow(/parseCocoCaptions: 'file' \/c.json: not valid JSON/);
    expect(() => parseCocoCaptions('[]', 'c')).toThrow(FormatError);
    expect(() => parseCocoCaptions('{"images":[]}', 'c')).toThrow(/'annotations'/);
    expect(() => parseCocoCaptions('{"images":[],"annotations":[{"image_id":3,"caption":"x"}]}', 'c')).toThrow(
      /unknown image 3/,
    );
    expect(() => parseCocoCaptions('{"images":[{"id":"1","file_name":"a"}],"annotations":[]}', 'c')).toThrow(
      /images\[0\].id must be an integer/,
    );
  });
});

describe('parseCocoInstances', () => {
  const text =
    '{"images":[{"id":5,"file_name":"a.jpg"},{"id":6,"file_name":"b.jpg"}],' +
    '"categories":[{"id":3,"name":"car"},{"id":1,"name":"person"}],' +
    '"annotations":[{"image_id":5,"category_id":3},{"image_id":5,"category_id":3},{"image_id":6,"category_id":1}]}';
  it('multi-label targets indexed by sorted category id', () => {
    const t = parseCocoInstances(text, 'x.json');
    expect(t.categories).toEqual([
      { id: 1, name: 'person' },
      { id: 3, name: 'car' },
    ]);
    expect(t.numClasses).toBe(2);
    expect(Array.from(t.targets)).toEqual([0, 1, 1, 0]);
    expect(Array.from(t.counts)).toEqual([0, 2, 1, 0]); // image 5 has two cars
  });
  it('external category list fixes the column order', () => {
    const cats: CocoCategory[] = [
      { id: 3, name: 'car' },
      { id: 2, name: 'bicycle' },
      { id: 1, name: 'person' },
    ];
    const t = parseCocoInstances(text, 'x.json', { categories: cats });
    expect(t.numClasses).toBe(3);
    expect(Array.from(t.targets)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(() => parseCocoInstances(text, 'x', { categories: [{ id: 1, name: 'person' }] })).toThrow(
      /unknown category 3/,
    );
    expect(() => parseCocoInstances(text, 'x', { categories: [] })).toThrow(InvalidArgumentError);
  });
  it('doc example', () => {
    const t = parseCocoInstances(
      '{"images":[{"id":5,"file_name":"a.jpg"}],"categories":[{"id":3,"name":"car"},{"id":1,"name":"person"}],"annotations":[{"image_id":5,"category_id":3}]}',
      'x.json',
    );
    expect(Array.from(t.targets)).toEqual([0, 1]);
  });
  it('missing file → InvalidArgumentError naming the path', async () => {
    await expect(loadCocoInstances('/nonexistent/instances.json')).rejects.toThrow(/\/nonexistent\/instances.json/);
    await expect(loadCocoCaptions('/nonexistent/captions.json')).rejects.toThrow(InvalidArgumentError);
  });
});

describe.skipIf(!hasData)(`COCO-MINI in ${ANN}`, () => {
  it('captions_val2017: 79 images, 395 captions, 5 per image', async () => {
    const c = await loadCocoCaptions(join(ANN, 'captions_val2017.json'));
    expect(c.images).toHaveLength(79);
    expect(c.captions).toHaveLength(395);
    expect(c.images[0]).toEqual({ id: 397133, fileName: '000000397133.jpg' });
    expect(c.captions[0]).toEqual({
      imageId: 205401,
      id: 221865,
      caption: 'A plane floating on top of a lake surrounded by mountains.',
    });
    const gt = cocoRetrievalTargets(c);
    expect(gt.imageToCaptions.every((l) => l.length === 5)).toBe(true);
  });
  it('instances_val2017: [79·80] targets matching a Python reference', async () => {
    const t = await loadCocoInstances(join(ANN, 'instances_val2017.json'));
    expect(t.images).toHaveLength(79);
    expect(t.numClasses).toBe(80);
    expect(t.targets).toHaveLength(79 * 80);
    expect(t.targets.reduce((s, v) => s + v, 0)).toBe(284); // distinct (image, category) pairs
    const first = [...t.targets.subarray(0, 80)].flatMap((v, c) => (v ? [c] : []));
    expect(first).toEqual([0, 39, 41, 43, 44, 45, 50, 51, 60, 69, 71]);
    expect(t.categories[0]).toEqual({ id: 1, name: 'person' });
    // with the shared category list the columns are the same
    const cats = JSON.parse(readFileSync(join(DATA, 'coco', 'categories.json'), 'utf8')) as CocoCategory[];
    const t2 = await loadCocoInstances(join(ANN, 'instances_val2017.json'), { categories: cats });
    expect(t2.targets).toEqual(t.targets);
  });
});
