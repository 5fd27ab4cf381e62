// `--model` / `--image-model` of the CLI: the spec classified once (model-spec.ts), a wrong one reported as a usage
// error, the rest loaded by `loadModel` / `loadImageModel`.
import { existsSync } from 'node:fs';

import type { UsageError } from '@geolip/cli';

import { builtinModels, loadModel, type Embedder } from './embedder.js';
import { builtinImageModels, loadImageModel } from './image-models.js';
import { classifyModelSpec } from './model-spec.js';
import { textModels } from '@geolip/text';

/**
 * Loads the text embedder named by `--model`.
 *
 * @param spec - a builtin name, a `.safetensors` student, `hf:<dir>`, `onnx:<file>`, or an ES module path.
 * @param usage - makes the command's usage error.
 * @throws {UsageError} an unknown name (lists the valid ones) or a file that does not exist.
 */
export async function resolveTextModel(
  spec: string,
  usage: (message: string) => UsageError,
  options: { tokenizer?: string; runtime?: 'tfjs' | 'ort' } = {},
): Promise<Embedder> {
  const names = Object.keys(builtinModels);
  const kind = classifyModelSpec(spec, names);
  if (kind.kind === 'unknown') {
    throw usage(
      `unknown model '${spec}'; valid models: ${names.join(', ')}, a .safetensors student, ` +
        'hf:<transformers.js folder>, onnx:<file> (with --tokenizer), or a path to an ES module exporting an Embedder',
    );
  }
  if (kind.kind !== 'builtin' && !existsSync(kind.path)) {
    const what = { safetensors: 'file', module: 'module', hf: 'folder', onnx: 'file' }[kind.kind];
    throw usage(`model ${what} not found: ${kind.path}`);
  }
  if (kind.kind === 'onnx' && options.tokenizer === undefined)
    throw usage(`--model onnx:<file> needs --tokenizer <tokenizer.json|vocab.txt>`);
  if (options.tokenizer !== undefined && !existsSync(options.tokenizer))
    throw usage(`tokenizer file not found: ${options.tokenizer}`);
  if (kind.kind === 'hf' || kind.kind === 'onnx') return loadModel(spec, { tokenizer: options.tokenizer });
  if (options.runtime === 'ort') {
    const shipped = kind.kind === 'builtin' && Object.hasOwn(textModels.shipped(), kind.name);
    if (!shipped && kind.kind !== 'safetensors')
      throw usage(
        `--runtime ort runs GeoLIP text models (${Object.keys(textModels.shipped()).join(', ')}, ` +
          `a .safetensors student) and hf:/onnx: models, not '${spec}'`,
      );
    const { loadTextModelOrt } = await import('./onnx-models.js');
    return loadTextModelOrt(
      kind.kind === 'builtin' ? kind.name : kind.path,
      kind.kind === 'builtin' ? 'builtin' : 'safetensors',
    );
  }
  return loadModel(kind.kind === 'builtin' ? kind.name : kind.path);
}

/**
 * Loads the image embedder named by `--image-model`.
 *
 * @param spec - a builtin image model name or an ES module path.
 * @param usage - makes the command's usage error.
 * @throws {UsageError} an unknown name (lists the valid ones) or a module that does not exist.
 */
export async function resolveImageModel(
  spec: string,
  usage: (message: string) => UsageError,
): Promise<Embedder<string>> {
  const names = Object.keys(builtinImageModels);
  const kind = classifyModelSpec(spec, names);
  if (kind.kind !== 'builtin' && kind.kind !== 'module') {
    throw usage(
      `unknown image model '${spec}'; valid image models: ${names.join(', ')}, ` +
        'or a path to an ES module exporting an image Embedder',
    );
  }
  if (kind.kind === 'module' && !existsSync(kind.path)) throw usage(`image model module not found: ${kind.path}`);
  return loadImageModel(kind.kind === 'builtin' ? kind.name : kind.path);
}
