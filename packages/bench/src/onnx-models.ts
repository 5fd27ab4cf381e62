// `--model hf:<dir>` and `--model onnx:<file> --tokenizer <file>`: third-party or exported ONNX sentence encoders run
// by onnxruntime-node (an optional peer of @geolip/text, loaded at run time) behind the Embedder interface.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import {
  BertTokenizer,
  bertTokenizerFromJson,
  captionEncoderOnnxFromFile,
  loadBertUncasedTokenizer,
  loadGeolipText,
  textModels,
} from '@geolip/text';
import { OrtSentenceEmbedder } from '@geolip/text/ort';

import type { Embedder } from './embedder.js';

/** Reads a `tokenizer.json` (WordPiece, lower-casing) or a BERT `vocab.txt`. */
export function readTokenizerFile(op: string, path: string): BertTokenizer {
  if (!existsSync(path)) throw new InvalidArgumentError(op, 'tokenizer', `file '${path}' does not exist`);
  const text = readFileSync(path, 'utf8');
  return path.toLowerCase().endsWith('.json') ? bertTokenizerFromJson(text) : BertTokenizer.fromVocabText(text);
}

/** A finite positive integer from a JSON field, else undefined. */
const intField = (v: unknown, max = 1 << 20): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= 3 && v <= max ? v : undefined;

/**
 * A transformers.js folder as an Embedder: `tokenizer.json`, `onnx/model.onnx` (or `onnx/model_fp16.onnx` with
 * `variant: 'fp16'`), and the token limit from `config.json` (`geolip.max_length`, else
 * `tokenizer_config.json`'s `model_max_length`, else `max_position_embeddings`, else 512). A per-token output is
 * mean-pooled over the attention mask; rows are L2-normalized.
 * @throws {InvalidArgumentError} naming the missing file; {@link FormatError} from the tokenizer reader.
 */
export async function loadHfFolder(dir: string, options: { variant?: 'fp32' | 'fp16' } = {}): Promise<Embedder> {
  const op = 'loadModel';
  const model = join(dir, 'onnx', options.variant === 'fp16' ? 'model_fp16.onnx' : 'model.onnx');
  for (const f of [model, join(dir, 'tokenizer.json')])
    if (!existsSync(f)) throw new InvalidArgumentError(op, 'nameOrPath', `hf:${dir} has no ${basename(f)} (${f})`);
  const json = (name: string): Record<string, unknown> => {
    const p = join(dir, name);
    if (!existsSync(p)) return {};
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new FormatError(op, 'nameOrPath', `${p} is not JSON (${(e as Error).message})`);
    }
  };
  const config = json('config.json');
  const geolip = (config.geolip ?? {}) as Record<string, unknown>;
  const maxLength =
    intField(geolip.max_length) ??
    intField(json('tokenizer_config.json').model_max_length) ??
    intField(config.max_position_embeddings) ??
    512;
  const tokenizer = readTokenizerFile(op, join(dir, 'tokenizer.json'));
  return OrtSentenceEmbedder.fromOnnx(model, tokenizer, {
    maxLength,
    name: `hf:${basename(dir)}`,
    ...(intField(geolip.params, Number.MAX_SAFE_INTEGER) !== undefined ? { params: geolip.params as number } : {}),
  });
}

/**
 * A bare ONNX sentence encoder with its tokenizer (`tokenizer.json` or `vocab.txt`) as an Embedder.
 * @throws {InvalidArgumentError} when `tokenizer` is missing or a file does not exist.
 */
export async function loadOnnxFile(file: string, tokenizer: string | undefined, maxLength = 512): Promise<Embedder> {
  const op = 'loadModel';
  if (tokenizer === undefined)
    throw new InvalidArgumentError(op, 'tokenizer', `onnx:${file} needs a tokenizer (tokenizer.json or vocab.txt)`);
  if (!existsSync(file)) throw new InvalidArgumentError(op, 'nameOrPath', `file '${file}' does not exist`);
  return OrtSentenceEmbedder.fromOnnx(file, readTokenizerFile(op, tokenizer), {
    maxLength,
    name: `onnx:${basename(file)}`,
  });
}

/**
 * A GeoLIP text model on onnxruntime-node (`--runtime ort`): shipped weights by name (`loadGeolipText({ runtime:
 * 'ort' })`) or a `text/caption-encoder` `.safetensors` file (its ONNX graph built in memory).
 * @throws {InvalidArgumentError} naming `nameOrPath` for anything else (a baseline or a module has no ONNX graph).
 */
export async function loadTextModelOrt(nameOrPath: string, kind: 'builtin' | 'safetensors'): Promise<Embedder> {
  if (kind === 'builtin') {
    if (!Object.hasOwn(textModels.shipped(), nameOrPath))
      throw new InvalidArgumentError(
        'loadModel',
        'nameOrPath',
        `'${nameOrPath}' has no onnxruntime path (--runtime ort)`,
      );
    return loadGeolipText({ runtime: 'ort', weights: nameOrPath });
  }
  const m = await captionEncoderOnnxFromFile(nameOrPath, { op: 'loadModel' });
  return OrtSentenceEmbedder.fromOnnx(m.onnx, await loadBertUncasedTokenizer(), {
    maxLength: m.maxLength,
    params: m.params,
    name: basename(nameOrPath).replace(/\.safetensors$/i, ''),
    normalize: false,
  });
}
