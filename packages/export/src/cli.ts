// geolip-export: writes GeoLIP models as ONNX in the folder layout transformers.js loads. `main` runs in-process
// (tests call it directly); bin/geolip-export.mjs calls it with process.argv.
import {
  EXIT,
  PROCESS_IO,
  defineCommand,
  runProgram,
  startBackend,
  versionOf,
  type CliIo,
  type Program,
} from '@geolip/cli';
import { UsageError } from '@geolip/geometry';

import { DEFAULT_VARIANTS, EXPORT_VARIANTS, formatBytes } from './layout.js';
import type { ExportVariant } from './layout.js';
import { exportTextModel } from './text.js';
import { exportVisionModel } from './vision.js';

declare const __GEOLIP_EXPORT_VERSION__: string | undefined;

function moduleUrl(): string | undefined {
  try {
    return import.meta.url as string | undefined;
  } catch {
    return undefined;
  }
}

function parseVariants(
  cmd: string,
  value: string | undefined,
  allowed: readonly ExportVariant[] = EXPORT_VARIANTS,
): ExportVariant[] {
  if (value === undefined) return [...DEFAULT_VARIANTS];
  const list = value.split(',').map((s) => s.trim());
  for (const v of list)
    if (!allowed.includes(v as ExportVariant))
      throw new UsageError(`geolip-export ${cmd}`, `--variants: unknown variant '${v}' (use ${allowed.join(',')})`, {
        argument: '--variants',
      });
  if (new Set(list).size !== list.length)
    throw new UsageError(`geolip-export ${cmd}`, '--variants names a variant twice', { argument: '--variants' });
  return list as ExportVariant[];
}

const textCommand = defineCommand({
  name: 'text',
  summary: 'export a text model (shipped or a weights file) as a transformers.js folder',
  usage: '--out <dir> [--weights <file.safetensors> | --shipped <name>] [--variants fp32,fp16,q8]',
  options: {
    out: { type: 'string', value: '<dir>', description: 'the folder to write (required).' },
    weights: { type: 'string', value: '<file>', description: 'a text/caption-encoder weights file.' },
    shipped: { type: 'string', value: '<name>', description: 'shipped weights to export. Default: geolip-text.' },
    variants: {
      type: 'string',
      value: '<list>',
      description: 'weight variants: fp32,fp16,q8 (default fp32,fp16; q8 = int8 matrices, dtype q8).',
    },
  },
  async run({ values }, ctx) {
    if (values.out === undefined)
      throw new UsageError('geolip-export text', '--out <dir> is required', { argument: '--out' });
    if (values.weights !== undefined && values.shipped !== undefined)
      throw new UsageError('geolip-export text', 'give --weights or --shipped, not both', { argument: '--shipped' });
    const t0 = performance.now();
    const r = await exportTextModel({
      outDir: values.out,
      weights: values.weights,
      shipped: values.shipped,
      variants: parseVariants('text', values.variants),
      onProgress: (line) => ctx.io.stderr.write(`geolip-export: ${line}\n`),
    });
    const total = r.files.reduce((n, f) => n + f.bytes, 0);
    ctx.io.stdout.write(
      `${r.outDir}: ${r.files.length} files, ${formatBytes(total)}; ` +
        `${r.dim}-d embeddings, max ${r.maxLength} tokens, ` +
        `${r.params.toLocaleString('en-US')} parameters (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
    );
    return EXIT.ok;
  },
});

const visionCommand = defineCommand({
  name: 'vision',
  summary: 'export a ViT classifier (vision/vit weights) as an ONNX folder',
  usage: '--weights <file.safetensors> --out <dir> [--variants fp32,fp16]',
  options: {
    out: { type: 'string', value: '<dir>', description: 'the folder to write (required).' },
    weights: { type: 'string', value: '<file>', description: 'a vision/vit safetensors file (required).' },
    variants: { type: 'string', value: '<list>', description: 'weight variants: fp32,fp16 (default both).' },
  },
  async run({ values }, ctx) {
    if (values.out === undefined)
      throw new UsageError('geolip-export vision', '--out <dir> is required', { argument: '--out' });
    if (values.weights === undefined)
      throw new UsageError('geolip-export vision', '--weights <file> is required', { argument: '--weights' });
    const variants = parseVariants('vision', values.variants, DEFAULT_VARIANTS);
    const { initBackend } = await import('@geolip/nn/backend');
    await startBackend(initBackend, 'cpu', ctx.io);
    const t0 = performance.now();
    const r = await exportVisionModel({
      outDir: values.out,
      weights: values.weights,
      variants,
      onProgress: (line) => ctx.io.stderr.write(`geolip-export: ${line}\n`),
    });
    const total = r.files.reduce((n, f) => n + f.bytes, 0);
    ctx.io.stdout.write(
      `${r.outDir}: ${r.files.length} files, ${formatBytes(total)}; ${r.dim}-d embeddings, ${r.classes} classes ` +
        `(${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
    );
    return EXIT.ok;
  },
});

/** The `geolip-export` program. */
export const program: Program = {
  name: 'geolip-export',
  summary: 'write GeoLIP models as ONNX in the folder layout transformers.js loads',
  version: versionOf(
    typeof __GEOLIP_EXPORT_VERSION__ === 'string' ? __GEOLIP_EXPORT_VERSION__ : undefined,
    moduleUrl(),
  ),
  commands: [textCommand, visionCommand],
  epilogue: `Exit status: ${EXIT.ok} on success, ${EXIT.usage} on a usage error, ${EXIT.error} on any other error.`,
};

/** Runs the CLI with `argv` (without the node and script paths); returns the exit status. Never throws. */
export async function main(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runProgram(program, argv, io);
}
