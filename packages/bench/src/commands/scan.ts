// geolip-bench scan: the geometry report of @geolip/anchors' scan on a seeded sample of STS-B dev sentences.
import { resolve } from 'node:path';

import { formatScan, scanAsync } from '@geolip/anchors';
import { EXIT, backendOption, defineCommand, integer, positiveInt } from '@geolip/cli';
import { createRng } from '@geolip/geometry';
import * as tf from '@tensorflow/tfjs-core';

import { loadStsb } from '../data/index.js';
import { embedAll } from '../embedder.js';
import { resolveTextModel } from '../resolve.js';
import { COMMON, embeddedDataDir, progressOn, selectBackend } from './shared.js';

export const scanCommand = defineCommand({
  name: 'scan',
  summary: "print the geometry of a model's embeddings of STS-B dev sentences",
  usage: '[--model <name|path>] [--data <dir>] [--sample N] [--seed S] [options]',
  description:
    'Embeds --sample distinct sentences, drawn uniformly (seeded), of the STS-B dev split ' +
    '(embedded, or from --data) and\n' +
    "prints the geometry report of @geolip/anchors' scan: norms, self-similarity, effective dimension, " +
    'pentachoron CV\n' +
    'with the 0.20–0.23 band, and, with the STS-B genres as labels, per-genre CV, 1-NN accuracy ' +
    'and the same/diff gap.',
  options: {
    model: COMMON.model,
    data: COMMON.data,
    sample: { type: 'string', value: '<N>', description: 'sentences to embed. Default: 1000.' },
    seed: { type: 'string', value: '<S>', description: 'seed of the sample and of the scan. Default: 0.' },
    backend: COMMON.backend,
    'batch-size': COMMON['batch-size'],
  },
  async run({ values: v }, ctx) {
    const { io } = ctx;
    const sample = positiveInt(ctx, '--sample', v.sample, 1000);
    const batchSize = positiveInt(ctx, '--batch-size', v['batch-size'], 64);
    const seed = integer(ctx, '--seed', v.seed, 0);
    const backend = backendOption(ctx, v.backend);
    const dataDir = v.data !== undefined ? resolve(v.data) : embeddedDataDir();
    const dataset = await loadStsb(dataDir, 'dev');
    // Distinct sentences in file order, each labelled with its pair's genre.
    const genreOf = new Map<string, string>();
    for (const p of dataset.pairs) {
      for (const s of [p.a, p.b]) if (!genreOf.has(s)) genreOf.set(s, p.genre ?? 'unknown');
    }
    const all = [...genreOf.keys()];
    // A seeded uniform sample (file order kept): the file is sorted by genre.
    const picked = Array.from(createRng(seed).choose(all.length, Math.min(sample, all.length))).sort((i, j) => i - j);
    const sentences = picked.map((i) => all[i]!);
    const genres = [...new Set(sentences.map((s) => genreOf.get(s)!))].sort();
    const labels = sentences.map((s) => genres.indexOf(genreOf.get(s)!));

    await selectBackend(backend, io);
    const embedder = await resolveTextModel(v.model ?? 'glove-avg', (message) => ctx.usage(message, '--model'));
    const bar = progressOn(io)('scan: embed');
    const data = await embedAll(embedder, sentences, { batchSize, onProgress: bar.update });
    bar.end();
    const x = tf.tensor2d(data, [sentences.length, embedder.dim]);
    try {
      const report = await scanAsync(x, {
        labels,
        name: `${embedder.name} on ${sentences.length} STS-B dev sentences (labels: ${genres.join(', ')})`,
        seed,
      });
      io.stdout.write(`${formatScan(report)}\n`);
    } finally {
      x.dispose();
    }
    return EXIT.ok;
  },
});
