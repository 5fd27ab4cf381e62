/** Byte sources: the bytes of a file given as bytes, a path (Node), or a `file:`/`http(s):`/`blob:`/`data:` URL. */
import { InvalidArgumentError } from '@geolip/geometry';
import { importUnbundled, isNode } from '@geolip/geometry/internal';

/** Where a file's bytes come from: a path (Node), a URL (string or `URL`), or the bytes themselves. */
export type BinarySource = string | URL | Uint8Array | ArrayBuffer;

const FETCHED = /^(https?:|blob:|data:)/i;

async function fetchBytes(op: string, argument: string, url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw new InvalidArgumentError(
      op,
      argument,
      `cannot fetch ${url}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  if (!response.ok)
    throw new InvalidArgumentError(
      op,
      argument,
      `cannot fetch ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd(),
    );
  if ((response.headers.get('content-type') ?? '').startsWith('text/html')) {
    throw new InvalidArgumentError(op, argument, `cannot fetch ${url}: the server sent an HTML page, not the file`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function readPath(op: string, argument: string, path: string | URL): Promise<Uint8Array> {
  const { readFile } = await importUnbundled<typeof import('node:fs/promises')>('node:fs/promises');
  try {
    return await readFile(path);
  } catch (cause) {
    throw new InvalidArgumentError(
      op,
      argument,
      `cannot read ${String(path)}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/**
 * The bytes of `source`: a `Uint8Array` as is, an `ArrayBuffer` viewed; an `http(s):`, `blob:` or `data:` URL (string
 * or `URL`) fetched; a `file:` URL or any other string read from disk under Node, fetched (relative to the page) in a
 * browser. An HTTP error, or an HTML page where a file was expected, is an error.
 * @throws {InvalidArgumentError} naming `op` and `argument`: another type, a file that cannot be read, a fetch that
 *   fails (the message has the URL and the HTTP status).
 */
export async function readBinarySource(op: string, argument: string, source: BinarySource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const url = source instanceof URL ? source.href : source;
  if (typeof url !== 'string')
    throw new InvalidArgumentError(op, argument, 'must be a path, a URL, a Uint8Array or an ArrayBuffer');
  if (FETCHED.test(url)) return fetchBytes(op, argument, url);
  if (isNode()) return readPath(op, argument, /^file:/i.test(url) ? new URL(url) : url);
  return fetchBytes(op, argument, url);
}
