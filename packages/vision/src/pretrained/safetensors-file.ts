/** Internal: the safetensors-only entry of the vision loaders that take bytes (not exported from the package). */
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { readSafetensors } from '@geolip/io';
import type { WeightsFile } from '@geolip/io';

/**
 * Reads `bytes` as a safetensors file into the {@link WeightsFile} the vision registry loads from.
 * @throws {InvalidArgumentError} naming `op` and `'bytes'` when they are not a Uint8Array or an ArrayBuffer.
 * @throws {FormatError} naming `op` and `'bytes'` when they are not a safetensors file (the reader's error is the
 *   cause).
 */
export function readSafetensorsWeightsFile(op: string, bytes: Uint8Array | ArrayBuffer): WeightsFile {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer))
    throw new InvalidArgumentError(op, 'bytes', 'must be a Uint8Array or an ArrayBuffer');
  try {
    const { tensors, metadata } = readSafetensors(bytes);
    return { format: 'safetensors', tensors, metadata, config: undefined, byteLength: bytes.byteLength };
  } catch (cause) {
    throw new FormatError(
      op,
      'bytes',
      `is not a safetensors file: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}
