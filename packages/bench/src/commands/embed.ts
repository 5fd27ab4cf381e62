// geolip-bench embed: embed a text file (one text per line) into a safetensors file, in shards.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { EXIT, backendOption, defineCommand, positiveInt } from '@geolip/cli';
import { writeSafetensors } from '@geolip/io';
import { parseShardSpec, shardRange, type ShardSpec } from '@geolip/io/node';

import { embedAll } from '../embedder.js';
import { writeFileAtomic } from '../report.js';
import { resolveTextModel } from '../resolve.js';
import { COMMON, progressOn, selectBackend } from './shared.js';

export const embedCommand = defineCommand({
  name: 'embed',
  summary: 'embed a text file into a .safetensors file (one shard of N)',
  usage: '--input <texts.txt> --out <file.safetensors> [--shard i/N] [options]',
  description:
    "Writes tensor 'embeddings' [rows, dim] with the model, input, shard and line range as metadata. " +
    'With --shard i/N\n' +
    'the output is <out>.shard-i-of-N.safetensors; a shard whose file exists is skipped, so a rerun resumes.',
  options: {
    model: COMMON.model,
    input: { type: 'string', value: '<texts.txt>', description: 'the texts, one per line (required).' },
    out: { type: 'string', value: '<file.safetensors>', description: 'the output file (required).' },
    shard: {
      type: 'string',
      value: '<i/N>',
      description: 'embed the i-th of N equal slices of the lines (0 <= i < N). Default: 0/1.',
    },
    backend: COMMON.backend,
    'batch-size': COMMON['batch-size'],
  },
  async run({ values: v }, ctx) {
    const { io } = ctx;
    if (v.input === undefined) throw ctx.usage('embed needs --input <texts.txt> (one text per line)', '--input');
    if (v.out === undefined) throw ctx.usage('embed needs --out <file.safetensors>', '--out');
    const shardArg = v.shard ?? '0/1';
    let spec: ShardSpec;
    try {
      spec = parseShardSpec('geolip-bench embed', '--shard', shardArg);
    } catch {
      throw ctx.usage(`--shard must be i/N with 0 <= i < N, got '${shardArg}'`, '--shard');
    }
    const { index: shard, count: shards } = spec;
    const batchSize = positiveInt(ctx, '--batch-size', v['batch-size'], 64);
    const backend = backendOption(ctx, v.backend);
    const inputPath = resolve(v.input);
    if (!existsSync(inputPath)) throw ctx.usage(`input file not found: ${inputPath}`, '--input');
    const outPath = resolve(
      shards > 1 ? v.out.replace(/(\.safetensors)?$/, `.shard-${shard}-of-${shards}.safetensors`) : v.out,
    );
    if (existsSync(outPath)) {
      io.stderr.write(`${outPath} exists; shard ${shard}/${shards} already done, skipping\n`);
      return EXIT.ok;
    }
    const texts = (await readFile(inputPath, 'utf8')).replace(/^\uFEFF/, '').split(/\r?\n/);
    if (texts.length > 0 && texts[texts.length - 1] === '') texts.pop();
    const { start, end } = shardRange(texts.length, spec);
    const slice = texts.slice(start, end);

    await selectBackend(backend, io);
    const embedder = await resolveTextModel(v.model ?? 'glove-avg', (message) => ctx.usage(message, '--model'));
    const bar = progressOn(io)(`embed shard ${shard}/${shards}`);
    const data =
      slice.length > 0 ? await embedAll(embedder, slice, { batchSize, onProgress: bar.update }) : new Float32Array(0);
    bar.end();
    const bytes = writeSafetensors(
      { embeddings: { dtype: 'F32', shape: [slice.length, embedder.dim], data } },
      {
        model: embedder.name,
        input: inputPath,
        shard: `${shard}/${shards}`,
        first_line: String(start + 1),
        rows: String(slice.length),
        // The rows' content hash: a rerun or a duplicate job writes the same bytes, and a merge can check them.
        content_sha256: createHash('sha256')
          .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
          .digest('hex'),
      },
    );
    await writeFileAtomic(outPath, bytes);
    io.stdout.write(`${outPath}: ${slice.length} x ${embedder.dim} (lines ${start + 1}-${end} of ${inputPath})\n`);
    return EXIT.ok;
  },
});
