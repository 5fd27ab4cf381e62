/** One weights file, whatever its format: safetensors or a PyTorch `.pt` (flat state dict or nested checkpoint). */
import { InvalidArgumentError } from '@geolip/geometry';

import { readSafetensors } from './safetensors/read.js';
import type { SafetensorEntry } from './safetensors/types.js';
import { readBinarySource } from './source.js';
import type { BinarySource } from './source.js';
import { readTorchCheckpoint } from './torch/read-torch.js';

/** Options of {@link readWeightsFile}. */
export interface ReadWeightsFileOptions {
  /** For `.pt` checkpoints: the key of the state dict (see `readTorchCheckpoint`). */
  stateDictKey?: string | undefined;
  /** For `.pt` files: the most bytes of tensors the reader builds (see `ReadTorchOptions.maxOutputBytes`). */
  maxOutputBytes?: number | undefined;
  /** The function named in errors (default `readWeightsFile`); loaders pass their own name. */
  op?: string | undefined;
}

/** What {@link readWeightsFile} returns: the tensors and what the file says about them, parsed once. */
export interface WeightsFile {
  /** `'safetensors'` or `'pt'` (found from the bytes, not the name). */
  format: 'safetensors' | 'pt';
  /** The tensors by name. */
  tensors: Record<string, SafetensorEntry>;
  /** The safetensors `__metadata__` (`{}` for `.pt` files). */
  metadata: Record<string, string>;
  /** A `.pt` checkpoint's config (see `readTorchCheckpoint`), else `undefined`. */
  config: unknown;
  /** The file's size in bytes. */
  byteLength: number;
}

const isZip = (u8: Uint8Array): boolean =>
  u8.length >= 4 && u8[0] === 0x50 && u8[1] === 0x4b && u8[2] === 0x03 && u8[3] === 0x04;

/**
 * Reads a weights file once: its bytes from `source` (see `readBinarySource`), then its tensors and metadata, as
 * safetensors or, when the bytes are a zip, as a PyTorch `.pt` file.
 *
 * @example
 * const { tensors, metadata } = await readWeightsFile('https://example.com/model.safetensors');
 * @throws {InvalidArgumentError} naming the function and `'source'` for a source that cannot be read or options that
 *   are not an object; {@link FormatError} from the format's reader when the bytes are not a valid file.
 */
export async function readWeightsFile(
  source: BinarySource,
  options: ReadWeightsFileOptions = {},
): Promise<WeightsFile> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('readWeightsFile', 'options', 'must be an object');
  const op = options.op ?? 'readWeightsFile';
  const bytes = await readBinarySource(op, 'source', source);
  return parseWeightsFile(bytes, options);
}

/**
 * The synchronous core of {@link readWeightsFile}, for bytes already in memory: safetensors, or a PyTorch `.pt` zip.
 * @throws {InvalidArgumentError} naming the function (`options.op`, default `parseWeightsFile`) and `'bytes'` when
 *   they are not a Uint8Array or ArrayBuffer; {@link FormatError} from the format's reader.
 */
export function parseWeightsFile(bytes: Uint8Array | ArrayBuffer, options: ReadWeightsFileOptions = {}): WeightsFile {
  const op = options.op ?? 'parseWeightsFile';
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer))
    throw new InvalidArgumentError(op, 'bytes', 'must be a Uint8Array or an ArrayBuffer');
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (isZip(u8)) {
    const ckpt = readTorchCheckpoint(u8, {
      stateDictKey: options.stateDictKey,
      maxOutputBytes: options.maxOutputBytes,
    });
    return { format: 'pt', tensors: ckpt.stateDict, metadata: {}, config: ckpt.config, byteLength: u8.byteLength };
  }
  const { tensors, metadata } = readSafetensors(u8);
  return { format: 'safetensors', tensors, metadata, config: undefined, byteLength: u8.byteLength };
}
