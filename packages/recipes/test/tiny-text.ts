// Tiny text-task files in the formats of ../shared/data and a tiny random CaptionEncoder file, shared by the
// text-cosent, text-bank and text-heads recipe tests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { CaptionEncoder } from '@geolip/text';
import type { CaptionEncoderConfig } from '@geolip/text';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { readWeightsAsync } from '@geolip/train';

export const TINY_ANIMALS = ['dog', 'cat', 'horse', 'bird', 'man', 'woman'];
export const TINY_ACTS = ['runs on the beach', 'sleeps on a couch', 'eats an apple', 'rides a bike'];

/** The tiny CaptionEncoder of the tests (8-d output, 16 positions). */
export const TINY_TEXT_CONFIG: CaptionEncoderConfig = {
  vocabSize: 30522,
  maxPositions: 16,
  dModel: 16,
  heads: 2,
  ffDim: 32,
  layers: 2,
  outDim: 8,
};

/** STS-B rows: the score grows with the words the two sentences share (0–5). */
export const tinyStsRows = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => {
    const a = TINY_ANIMALS[(i + offset) % 6]!;
    const b = TINY_ANIMALS[(i + offset + (i % 3)) % 6]!;
    const act = TINY_ACTS[i % 4]!;
    const act2 = TINY_ACTS[(i + (i % 2)) % 4]!;
    return { s1: `a ${a} ${act}.`, s2: `the ${b} ${act2}.`, score: (a === b ? 2.5 : 0) + (act === act2 ? 2.5 : 0) };
  });

/** The STS-B dev rows {@link writeTinyPairTasks} writes. */
export const TINY_STS_DEV = tinyStsRows(8, 3);

/** Rows in the layout of STS-B's csv files. */
export const stsCsv = (rows: ReturnType<typeof tinyStsRows>): string =>
  rows.map((r, i) => `main-captions\tMSRvid\t2012test\t${i}\t${r.score.toFixed(3)}\t${r.s1}\t${r.s2}`).join('\n') +
  '\n';

/**
 * Writes the held-out tasks under `data` (stsb/, sick/, mrpc/): STS-B dev ({@link TINY_STS_DEV}), SICK trial (6 pairs)
 * and MRPC train (20 pairs, every other one a paraphrase).
 */
export async function writeTinyPairTasks(data: string): Promise<void> {
  for (const d of ['stsb', 'sick', 'mrpc']) await mkdir(join(data, d), { recursive: true });
  await writeFile(join(data, 'stsb', 'sts-dev.csv'), stsCsv(TINY_STS_DEV));
  const A = TINY_ANIMALS;
  const C = TINY_ACTS;
  const sick = Array.from(
    { length: 6 },
    (_, i) => `${i + 1}\ta ${A[i % 6]} ${C[i % 4]}\ta ${A[(i + 2) % 6]} ${C[(i + 2) % 4]}\t${1 + (i % 5)}.0\tNEUTRAL`,
  ).join('\n');
  await writeFile(join(data, 'sick', 'SICK_trial.txt'), sick + '\n');
  await writeTinyMrpc(data);
}

/** MRPC train (`<data>/mrpc/msr_paraphrase_train.txt`, the folder must exist): 20 pairs, every other one a paraphrase. */
export async function writeTinyMrpc(data: string): Promise<void> {
  const A = TINY_ANIMALS;
  const C = TINY_ACTS;
  const mrpc = Array.from({ length: 20 }, (_, i) => {
    const a = A[i % 6]!;
    const same = i % 2 === 0;
    return `${same ? 1 : 0}\t${i}\t${100 + i}\tthe ${a} ${C[i % 4]} today.\t${same ? `a ${a} ${C[i % 4]}.` : `nothing about ${A[(i + 3) % 6]} here.`}`;
  });
  await writeFile(
    join(data, 'mrpc', 'msr_paraphrase_train.txt'),
    ['Quality\t#1 ID\t#2 ID\t#1 String\t#2 String', ...mrpc].join('\n') + '\n',
  );
}

/** A random tiny CaptionEncoder (seed 5) in the file format SentenceEmbedder reads. */
export async function writeTinyTextEncoder(file: string): Promise<void> {
  const enc = new CaptionEncoder(TINY_TEXT_CONFIG, { seed: 5 });
  const state = enc.stateDict();
  const weights = await readWeightsAsync(state);
  tf.dispose(Object.values(state));
  enc.dispose();
  await writeFile(
    file,
    writeSafetensors(
      weights,
      writeModelMetadata({
        type: 'text/caption-encoder',
        config: TINY_TEXT_CONFIG,
        extra: { tokenizer: 'bert-base-uncased', maxLength: 16 },
      }),
    ),
  );
}
