// readBinarySource: bytes pass through, paths and file: URLs are read (Node), http: and data: URLs are fetched (a
// local server); HTTP errors, HTML pages, unreadable paths and other types are errors naming the function and argument.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '@geolip/geometry';
import { isNode } from '@geolip/geometry/internal';
import { readBinarySource } from '../src/source.js';

const BYTES = Uint8Array.from([0, 1, 2, 250, 255]);

describe('readBinarySource', () => {
  let dir: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'geolip-read-source-'));
    writeFileSync(join(dir, 'w.bin'), BYTES);
    server = createServer((req, res) => {
      if (req.url === '/w.bin') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from(BYTES));
      } else if (req.url === '/page') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html>');
      } else {
        res.writeHead(404, 'Not Found');
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((resolve) => server.close(resolve));
  });

  it('is under Node here', () => expect(isNode()).toBe(true));

  it('passes bytes through and views an ArrayBuffer', async () => {
    expect(await readBinarySource('op', 'source', BYTES)).toBe(BYTES);
    const buffer = BYTES.slice().buffer;
    expect(Array.from(await readBinarySource('op', 'source', buffer))).toEqual(Array.from(BYTES));
  });

  it('reads a path, a file: URL string and a URL object', async () => {
    const path = join(dir, 'w.bin');
    for (const source of [path, pathToFileURL(path).href, pathToFileURL(path)]) {
      expect(Array.from(await readBinarySource('op', 'source', source))).toEqual(Array.from(BYTES));
    }
  });

  it('fetches http: and data: URLs', async () => {
    expect(Array.from(await readBinarySource('op', 'source', `${base}/w.bin`))).toEqual(Array.from(BYTES));
    expect(Array.from(await readBinarySource('op', 'source', new URL(`${base}/w.bin`)))).toEqual(Array.from(BYTES));
    expect(Array.from(await readBinarySource('op', 'source', 'data:application/octet-stream;base64,AAEC+v8='))).toEqual(
      Array.from(BYTES),
    );
  });

  const bad: [string, () => unknown, RegExp][] = [
    [
      'an HTTP 404',
      () => `${base}/missing.bin`,
      /^Load: 'weights' cannot fetch http:\/\/127\.0\.0\.1:\d+\/missing\.bin: HTTP 404 Not Found$/,
    ],
    ['an HTML page', () => `${base}/page`, /the server sent an HTML page, not the file$/],
    [
      'a missing path',
      () => '/nonexistent/geolip/w.bin',
      /^Load: 'weights' cannot read \/nonexistent\/geolip\/w\.bin: .*ENOENT/,
    ],
    ['another type', () => 42, /^Load: 'weights' must be a path, a URL, a Uint8Array or an ArrayBuffer$/],
    [
      'an unreachable host',
      () => 'http://127.0.0.1:1/w.bin',
      /^Load: 'weights' cannot fetch http:\/\/127\.0\.0\.1:1\/w\.bin: /,
    ],
  ];
  for (const [name, source, message] of bad) {
    it(`rejects ${name}`, async () => {
      const e = await readBinarySource('Load', 'weights', source() as never).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).argument).toBe('weights');
      expect((e as Error).message).toMatch(message);
    });
  }
});
