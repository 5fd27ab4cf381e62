// What the bench commands share: the embedded data directory, backend selection and the `--model` help.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BACKEND_OPTION, createProgress, startBackend, type CliIo, type OptionSpec } from '@geolip/cli';
import { initBackend, type BackendName } from '@geolip/nn/backend';

import { builtinModels } from '../embedder.js';

/** Names of the builtin text models (`--model`). */
export function builtinModelNames(): string[] {
  return Object.keys(builtinModels);
}

declare const __dirname: string | undefined;

/** Directory of the data embedded in the package (works from src/, src/commands/ and dist/). */
export function embeddedDataDir(): string {
  const candidates: string[] = [];
  try {
    const url = import.meta.url as string | undefined;
    if (typeof url === 'string')
      candidates.push(fileURLToPath(new URL('../data/', url)), fileURLToPath(new URL('../../data/', url)));
  } catch {
    // CJS build: no import.meta
  }
  if (typeof __dirname === 'string') candidates.push(join(__dirname, '..', 'data'));
  for (const c of candidates) if (existsSync(join(c, 'stsb', 'sts-dev.csv'))) return c;
  return candidates[0] ?? join(process.cwd(), 'data');
}

/**
 * Starts the tfjs backend through `@geolip/nn/backend` (so nn's kernels register too), by @geolip/cli's
 * `startBackend` (logs with GEOLIP_DEBUG=1, a note when GEOLIP_BACKEND overrides the request).
 *
 * @returns the active backend's name.
 */
export function selectBackend(name: BackendName | undefined, io: CliIo): Promise<string> {
  return startBackend(initBackend, name, io);
}

/** A progress report on the command's stderr. */
export function progressOn(io: CliIo) {
  return (label: string, unit = 'sentences') => createProgress(io.stderr, label, { unit });
}

/** The options several commands share. */
export const COMMON = {
  model: {
    type: 'string',
    value: '<name|path>',
    description:
      `a builtin model (${builtinModelNames().join(', ')}), a .safetensors student written by ` +
      "'geolip-train run text-consensus', hf:<dir> (a transformers.js folder: tokenizer.json + onnx/model.onnx), " +
      'onnx:<file> (with --tokenizer; both run by onnxruntime-node), ' +
      'or a path to an ES module whose default export is an Embedder ' +
      '({ name, dim, params?, embed(texts) }). Default: glove-avg.',
  },
  data: {
    type: 'string',
    value: '<dir>',
    description:
      "directory holding stsb/, sick/, mrpc/, coco/ (see 'geolip-bench data'). " +
      'Default: the STS-B dev split embedded in this package.',
  },
  backend: BACKEND_OPTION,
  'batch-size': { type: 'string', value: '<N>', description: 'inputs per embed call. Default: 64.' },
} as const satisfies Record<string, OptionSpec>;
