import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { cocoMarkdownTable, evaluateCocoTask } from '../coco-task.js';
import { resolveImageModel } from '../resolve.js';
import type { Task } from './types.js';

/**
 * COCO: a linear probe on `--image-model` features (mAP, F1 on val2017), and with `--retrieval` caption ↔ image
 * recall@K with `--model` as the text side.
 */
export const coco: Task<{ dir: string }> = {
  name: 'coco',
  description: 'COCO: linear probe on --image-model features (mAP, F1); --retrieval: recall@K',
  usesTextModel: (o) => o.retrieval,
  async load(o) {
    if (o.coco === undefined && !o.dataGiven)
      throw o.usage('task coco needs --coco <dir> or --data <dir> (with coco/coco-mini/ inside)');
    const dir = o.coco ?? join(o.dataDir, 'coco', 'coco-mini');
    if (!existsSync(join(dir, 'annotations', 'instances_val2017.json')))
      throw o.usage(`COCO directory ${dir} has no annotations/instances_val2017.json`);
    return { dir };
  },
  async evaluate({ dir }, o, env) {
    const imageModel = await resolveImageModel(o.imageModel, o.usage);
    let stage = '';
    let bar = env.progress('coco', 'items');
    const result = await evaluateCocoTask(imageModel, {
      dir,
      ...(o.retrieval && env.textModel ? { textModel: env.textModel } : {}),
      onProgress: (name, done, total) => {
        if (name !== stage) {
          if (stage !== '') bar.end();
          stage = name;
          bar = env.progress(name, name.endsWith('captions') ? 'captions' : 'images');
        }
        bar.update(done, total);
      },
    });
    bar.end();
    imageModel.dispose?.();
    return {
      markdown: cocoMarkdownTable(result),
      settings: { imageModel: o.imageModel, cocoDir: dir, coco: result as unknown as Record<string, unknown> },
    };
  },
};
