// The demo in a real browser: `vite build`, `vite preview` on a free local port, headless Chromium (playwright-core
// + Debian's chromium, tools/setup/chromium.sh). Two typed sentences must show the cosine that the same model
// computes in Node; bad input and a failing weights URL must show messages in the page, never a blank one.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@geolip/nn/backend';
import { loadGeolipText } from '@geolip/text';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';

import { browserSkipReason, launchChromium } from '../../../tools/vitest/chromium.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const skip = browserSkipReason();
if (skip !== null) console.warn(`demo.browser.test.ts skipped: ${skip}`);

const A = 'A dog runs along the beach.';
const B = 'A puppy is running by the sea.';

describe.skipIf(skip !== null)('the demo page in headless Chromium', () => {
  let server: PreviewServer;
  let base: string;
  let context: BrowserContext;
  let close: () => Promise<void>;
  let nodeCosine: number;
  // One page for the tests that type into a loaded model (loading embeds the 96 reference sentences: seconds on
  // SwiftShader's webgl), opened in beforeAll; the failing-URL test opens its own.
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    await build({ root, logLevel: 'warn' });
    server = await preview({ root, preview: { port: 0, host: '127.0.0.1', strictPort: false }, logLevel: 'warn' });
    base = server.resolvedUrls!.local[0]!;
    ({ context, close } = await launchChromium());
    // The same model in Node.
    await initBackend({ prefer: ['cpu'] });
    const model = await loadGeolipText();
    const rows = await model.embed([A, B]);
    model.dispose();
    nodeCosine = 0;
    for (let k = 0; k < model.dim; k++) nodeCosine += rows[k]! * rows[model.dim + k]!;
    expect(tf.getBackend()).toBe('cpu');
    ({ page, problems } = await open());
    await page.locator('#status').filter({ hasText: /^ready/ }).waitFor({ timeout: 150_000 });
  });

  afterAll(async () => {
    await page?.close();
    await close?.();
    await server?.close();
  });

  async function open(query = ''): Promise<{ page: Page; problems: string[] }> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
    page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} ${r.url()}`));
    await page.goto(`${base}${query}`);
    return { page, problems };
  }

  it('two typed sentences: the heatmap shows the cosine computed in Node for the same model', async () => {
    await page.fill('#sentences', `${A}\n${B}`);
    await page.click('#embed');
    const cell = page.locator('#heatmap g.cell[data-i="0"][data-j="1"]');
    await cell.waitFor();
    const value = Number(await cell.getAttribute('data-value'));
    expect(Math.abs(value - nodeCosine)).toBeLessThan(1e-4);
    expect(Math.abs(Number(await cell.locator('text').textContent()) - nodeCosine)).toBeLessThanOrEqual(1e-4 + 5e-5);
    expect(Number(await page.locator('#heatmap g.cell[data-i="0"][data-j="0"]').getAttribute('data-value'))).toBeCloseTo(1, 4);
    expect(await page.locator('#count').textContent()).toBe('2');
    expect(await page.locator('#cv').textContent()).toBe('needs ≥ 6 sentences');
    expect(await page.locator('#projection g.point').count()).toBe(2);
    expect(await page.locator('#projection g.anchor').count()).toBe(16);
    expect(await page.locator('#active').textContent()).toMatch(/^[12] \/ 16$/);
    expect(await page.locator('#backend').textContent()).toMatch(/^(webgpu|webgl|wasm|cpu)$/);
    expect(problems).toEqual([]);
  });

  it('the default eight sentences: geometry numbers and a screenshot', async () => {
    await page.locator('#sentences').evaluate((el) => {
      const area = el as HTMLTextAreaElement;
      area.value = area.defaultValue; // the page's own eight sentences
    });
    await page.click('#embed');
    await page.locator('#count').filter({ hasText: '8' }).waitFor();
    await page.locator('#results:not([hidden])').waitFor();
    expect(await page.locator('#heatmap g.cell').count()).toBe(64);
    expect(Number(await page.locator('#cv').textContent())).toBeGreaterThan(0);
    const effdim = Number(await page.locator('#effdim').textContent());
    expect(effdim).toBeGreaterThanOrEqual(1);
    expect(effdim).toBeLessThanOrEqual(8);
    const shots = resolve(process.env.GEOLIP_SCREENSHOTS ?? join(root, 'test-output'));
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'demo.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('empty, too long and too many sentences: a message in the page', async () => {
    await page.fill('#sentences', '   \n  ');
    await page.click('#embed');
    await expect.poll(() => page.locator('#error').textContent()).toBe('Type at least one sentence (one per line).');
    expect(await page.locator('#error').isVisible()).toBe(true);
    await page.fill('#sentences', 'x'.repeat(2001));
    await page.click('#embed');
    await expect.poll(() => page.locator('#error').textContent()).toBe('Sentence 1 is 2,001 characters long; the limit is 2,000.');
    await page.fill('#sentences', Array.from({ length: 65 }, (_, i) => `sentence ${i}`).join('\n'));
    await page.click('#embed');
    await expect.poll(() => page.locator('#error').textContent()).toMatch(/^Too many sentences: 65;/);
  });

  it('a weights URL that fails: a message in the page naming the URL', async () => {
    const bad = await open('?weights=/missing.safetensors');
    await bad.page.locator('#error:not([hidden])').waitFor({ timeout: 90_000 });
    expect(await bad.page.locator('#error').textContent()).toMatch(/could not load the model weights from \/missing\.safetensors: HTTP 404/);
    expect(await bad.page.locator('#status').textContent()).toBe('the model did not load');
    expect(await bad.page.locator('#embed').isDisabled()).toBe(true);
    await bad.page.close();
  });
});
