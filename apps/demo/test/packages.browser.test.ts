// Every library package runs in a browser, not only bundles for one (tools/scripts/browser-bundles.test.mjs): the
// seeded computations of packages-entry.ts (geometry, nn, anchors, text, vision, diffusion) are bundled with esbuild
// for the browser, run in headless Chromium on the backend initBackend chooses there and on cpu, and compared with
// the same code run here in Node on cpu.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';
import { initBackend } from '@geolip/nn/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { browserSkipReason, launchChromium } from '../../../tools/vitest/chromium.js';
import { runPackages, type PackageResults } from './packages-entry.js';
import { pretrainedDigests, type PretrainedDigests } from './pretrained-entry.js';

const skip = browserSkipReason();
if (skip !== null) console.warn(`packages.browser.test.ts skipped: ${skip}`);

interface BrowserRun {
  backend: string;
  skipped: { name: string; reason: string }[];
  onAuto: PackageResults;
  onCpu: PackageResults;
}

function expectClose(got: PackageResults, want: PackageResults, tolerance: number): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [key, values] of Object.entries(want)) {
    expect(got[key], key).toHaveLength(values.length);
    values.forEach((v, i) =>
      expect(Math.abs(got[key]![i]! - v), `${key}[${i}]: ${got[key]![i]} vs ${v}`).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(v)),
      ),
    );
  }
}

describe.skipIf(skip !== null)('the library packages in headless Chromium', () => {
  let node: PackageResults;
  let browser: BrowserRun;
  let nodeDigests: PretrainedDigests;
  let browserDigests: PretrainedDigests;
  let close: () => Promise<void>;
  const errors: string[] = [];

  beforeAll(async () => {
    const vocabPath = createRequire(import.meta.url).resolve('@geolip/text/vocab/bert-base-uncased-vocab.txt');
    const vocab = readFileSync(vocabPath, 'utf8');
    await initBackend({ prefer: ['cpu'], log: () => {} });
    node = await runPackages(vocab);
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./packages-browser-main.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      write: false,
      logLevel: 'error',
    });
    const launched = await launchChromium();
    close = launched.close;
    const page = await launched.context.newPage();
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console error: ${m.text()}`));
    await page.setContent('<!doctype html><title>packages</title>');
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    browser = await page.evaluate(
      (text) =>
        (globalThis as unknown as { geolipRunPackages: (t: string) => Promise<BrowserRun> }).geolipRunPackages(text),
      vocab,
    );
    // The shipped weights, served to the page over HTTP (a route, no server): fromPretrained fetches them by URL.
    const require = createRequire(import.meta.url);
    const files = {
      text: require.resolve('@geolip/text/weights/geolip-text.safetensors'),
      vision: require.resolve('@geolip/vision/weights/fmnist-dual-stream.safetensors'),
    };
    await page.route('http://weights.geolip.test/**', (route) => {
      const key = new URL(route.request().url()).pathname.slice(1) as keyof typeof files;
      return route.fulfill({
        status: 200,
        body: readFileSync(files[key]),
        headers: { 'content-type': 'application/octet-stream', 'access-control-allow-origin': '*' },
      });
    });
    browserDigests = await page.evaluate(
      (s) =>
        (
          globalThis as unknown as { geolipFromPretrained: (x: typeof s) => Promise<PretrainedDigests> }
        ).geolipFromPretrained(s),
      { text: 'http://weights.geolip.test/text', vision: 'http://weights.geolip.test/vision' },
    );
    await initBackend({ prefer: ['cpu'], log: () => {} });
    nodeDigests = await pretrainedDigests(files);
  }, 180_000);

  afterAll(async () => {
    await close?.();
  });

  it('initBackend follows the browser order: without a GPU adapter, webgpu is skipped and webgl chosen', () => {
    expect(browser.backend).toBe('webgl');
    expect(browser.skipped.map((s) => s.name)).toEqual(['webgpu']);
  });

  it('on cpu, every package gives what it gives in Node (within 1e-6)', () => {
    expectClose(browser.onCpu, node, 1e-6);
    expect(browser.onCpu['text.BertTokenizer']).toEqual(node['text.BertTokenizer']);
  });

  it('on webgl, the same within float32 GPU rounding (1e-3)', () => {
    expectClose(browser.onAuto, node, 1e-3);
    expect(errors).toEqual([]);
  });

  it('fromPretrained loads every shipped model by its metadata alone, bit-identical to Node', () => {
    expect(Object.keys(nodeDigests).sort()).toEqual([
      'text.geolip-text:CaptionEncoder',
      'vision.fmnist-dual-stream:DualStreamViT',
    ]);
    expect(browserDigests).toEqual(nodeDigests);
    expect(nodeDigests['vision.fmnist-dual-stream:DualStreamViT']![0]).toBe(6_369_808);
  });

  it('the results are not trivial', () => {
    expect(node['geometry.procrustes']!.map((v) => Math.round(v) + 0)).toEqual([0, -1, 0, 1, 0, 0, 0, 0, 1]);
    expect(node['text.BertTokenizer']![0]).toBe(101); // [CLS]
    expect(node['vision.DualStreamViT']).toHaveLength(3);
    expect(node['diffusion.GlfmModel']!.some((v) => v !== 0)).toBe(true);
  });
});
