import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { InvalidArgumentError } from '@geolip/geometry';

/**
 * Writes `path` via a temporary file in the same directory and a rename (parents are created), so a reader never sees
 * a half-written file. The temporary file is removed when the write fails.
 * @throws {InvalidArgumentError} naming `writeFileAtomic` and the argument: `path` not a non-empty string, `data` not
 *   a string or Uint8Array.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  if (typeof path !== 'string' || path.length === 0)
    throw new InvalidArgumentError('writeFileAtomic', 'path', 'must be a non-empty string');
  if (typeof data !== 'string' && !(data instanceof Uint8Array))
    throw new InvalidArgumentError('writeFileAtomic', 'data', 'must be a string or a Uint8Array');
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
