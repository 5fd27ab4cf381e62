// The demo in a real browser: `vite build`, `vite preview` on a free local port, headless Chromium (playwright-core
// + Debian's chromium, tools/setup/chromium.sh). Two typed sentences must show the cosine that the same model
// computes in Node; a picked Fashion-MNIST image and an uploaded picture must show the class, probabilities and
// nearest anchors that the same vision model gives in Node; bad input, a non-image upload and failing weights URLs
// must show messages in the page, never a blank one.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@geolip/nn/backend';
import { loadGeolipText } from '@geolip/text';
import { fashionMnistInput, loadGeolipFashionMnist } from '@geolip/vision';
import type { FashionMnistPrediction } from '@geolip/vision';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';

import { browserSkipReason, launchChromium } from '../../../tools/vitest/chromium.js';
import samples from '../data/fmnist-samples.json';
import { decodeBase64 } from '../src/vision-view.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const skip = browserSkipReason();
if (skip !== null) console.warn(`demo.browser.test.ts skipped: ${skip}`);

const A = 'A dog runs along the beach.';
const B = 'A puppy is running by the sea.';

/** An uncompressed 24-bit BMP of RGBA pixels (alpha ignored): lossless, so the page decodes exactly these pixels. */
function bmp(rgba: Uint8Array, width: number, height: number): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const file = Buffer.alloc(54 + stride * height);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22); // positive: rows bottom-up
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(24, 28);
  file.writeUInt32LE(stride * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 54 + (height - 1 - y) * stride + x * 3;
      const i = (y * width + x) * 4;
      [file[o], file[o + 1], file[o + 2]] = [rgba[i + 2]!, rgba[i + 1]!, rgba[i]!];
    }
  }
  return file;
}

/**
 * A "photo" made from a test image: the garment dark on white (inverted), scaled 3× (nearest), a 10-pixel white margin.
 * The page must invert it back, trim the margin and fit it to 28×28, as fashionMnistInput does in Node.
 */
function uploadPicture(gray: Uint8Array, scale = 3, margin = 10): { rgba: Uint8Array; width: number; height: number } {
  const inner = 28 * scale;
  const side = inner + 2 * margin;
  const rgba = new Uint8Array(side * side * 4).fill(255);
  for (let y = 0; y < inner; y++) {
    for (let x = 0; x < inner; x++) {
      const v = 255 - gray[Math.floor(y / scale) * 28 + Math.floor(x / scale)]!;
      rgba.set([v, v, v, 255], ((y + margin) * side + x + margin) * 4);
    }
  }
  return { rgba, width: side, height: side };
}

const PICKED = 1; // the Trouser sample
const UPLOADED = 9; // the Ankle boot sample, as a picture

describe.skipIf(skip !== null)('the demo page in headless Chromium', () => {
  let server: PreviewServer;
  let base: string;
  let context: BrowserContext;
  let close: () => Promise<void>;
  let nodeCosine: number;
  let nodePicked: FashionMnistPrediction;
  let nodeUploaded: FashionMnistPrediction;
  let picture: Buffer;
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
    // The same vision model in Node, on the picked sample and on the uploaded picture.
    const clf = await loadGeolipFashionMnist();
    const up = uploadPicture(decodeBase64(samples.samples[UPLOADED]!.pixels));
    picture = bmp(up.rgba, up.width, up.height);
    [nodePicked] = (await clf.classify(decodeBase64(samples.samples[PICKED]!.pixels))) as [FashionMnistPrediction];
    [nodeUploaded] = (await clf.classify(fashionMnistInput({ data: up.rgba, width: up.width, height: up.height }))) as [
      FashionMnistPrediction,
    ];
    clf.dispose();
    expect(tf.getBackend()).toBe('cpu');
    ({ page, problems } = await open());
    await page
      .locator('#status')
      .filter({ hasText: /^ready/ })
      .waitFor({ timeout: 150_000 });
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
    expect(
      Number(await page.locator('#heatmap g.cell[data-i="0"][data-j="0"]').getAttribute('data-value')),
    ).toBeCloseTo(1, 4);
    expect(await page.locator('#count').textContent()).toBe('2');
    expect(await page.locator('#cv').textContent()).toBe('needs ≥ 6 sentences');
    expect(await page.locator('#projection g.point').count()).toBe(2);
    expect(await page.locator('#projection g.anchor').count()).toBe(16);
    expect(await page.locator('#active').textContent()).toMatch(/^[12] \/ 16$/);
    expect(await page.locator('#backend').textContent()).toMatch(/^(webgpu|webgl|wasm|cpu)$/);
    expect(problems).toEqual([]);
  });

  /** The panel's prediction equals Node's: label, probabilities and the nearest anchors (webgl in the page, cpu in Node). */
  async function expectSameAsNode(node: FashionMnistPrediction): Promise<void> {
    expect(Number(await page.locator('#prediction').getAttribute('data-label'))).toBe(node.label);
    expect(await page.locator('#prediction').textContent()).toBe(node.className);
    for (const [c, p] of node.probabilities.entries()) {
      const shown = Number(await page.locator(`#probabilities .prob[data-class="${c}"]`).getAttribute('data-value'));
      expect(Math.abs(shown - p)).toBeLessThan(1e-3);
    }
    const rows = page.locator('#anchors tbody tr');
    expect(await rows.count()).toBe(5);
    const first = node.nearestAnchors[0]!;
    expect(Number(await rows.first().getAttribute('data-anchor'))).toBe(first.anchor);
    expect(Math.abs(Number(await rows.first().getAttribute('data-cos')) - first.cos)).toBeLessThan(1e-3);
  }

  it('pick a Fashion-MNIST image: the class, probabilities and nearest anchor that Node computes', async () => {
    await page
      .locator('#vision-status')
      .filter({ hasText: /^ready/ })
      .waitFor({ timeout: 120_000 });
    expect(await page.locator('#samples button.sample').count()).toBe(10);
    expect(await page.locator('#vision-model').textContent()).toBe(
      'Dual-Stream ViT, 6,369,808 parameters, 64 anchors, 88.38% test accuracy',
    );
    await page.click(`#samples button.sample[data-index="${PICKED}"]`);
    await page
      .locator('#vision-what')
      .filter({ hasText: `test image ${samples.samples[PICKED]!.index}` })
      .waitFor();
    await expectSameAsNode(nodePicked);
    expect(await page.locator('#truth').textContent()).toBe('true class: Trouser');
    expect(problems).toEqual([]);
  });

  it('upload a picture (dark garment on white, with a margin): the same as fashionMnistInput + classify in Node', async () => {
    await page.setInputFiles('#upload', { name: 'boot.bmp', mimeType: 'image/bmp', buffer: picture });
    await page.locator('#vision-what').filter({ hasText: '“boot.bmp”' }).waitFor();
    await expectSameAsNode(nodeUploaded);
    expect(await page.locator('#truth').textContent()).toBe('');
    expect(await page.locator('#vision-error').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('a large picture (1,040 × 1,040) is drawn at 512 pixels first, and still classified', async () => {
    const big = uploadPicture(decodeBase64(samples.samples[PICKED]!.pixels), 30, 100);
    await page.setInputFiles('#upload', {
      name: 'trousers.bmp',
      mimeType: 'image/bmp',
      buffer: bmp(big.rgba, big.width, big.height),
    });
    await page.locator('#vision-what').filter({ hasText: '“trousers.bmp”' }).waitFor();
    expect(await page.locator('#prediction').textContent()).toBe(nodePicked.className); // Trouser (the browser's own downscaling: no exact Node twin)
    expect(problems).toEqual([]);
  });

  it('a non-image upload and an undecodable "image": a message in the panel, the last result kept', async () => {
    await page.setInputFiles('#upload', {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('not a picture'),
    });
    await expect
      .poll(() => page.locator('#vision-error').textContent())
      .toBe('“notes.txt” is not an image (text/plain). Upload a PNG, JPEG, GIF, WebP or BMP picture.');
    expect(await page.locator('#vision-error').isVisible()).toBe(true);
    await page.setInputFiles('#upload', {
      name: 'broken.png',
      mimeType: 'image/png',
      buffer: Buffer.from('\x89PNG but not really'),
    });
    await expect
      .poll(() => page.locator('#vision-error').textContent())
      .toMatch(/^“broken\.png” could not be read as an image/);
    expect(await page.locator('#vision-result').isVisible()).toBe(true);
    expect(await page.locator('#vision-what').textContent()).toBe('“trousers.bmp”');
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
    await page.click('#samples button.sample[data-index="9"]');
    await page
      .locator('#vision-what')
      .filter({ hasText: `test image ${samples.samples[9]!.index}` })
      .waitFor();
    await page.locator('#vision-error').evaluate((el) => ((el as HTMLElement).hidden = true)); // the previous test's message
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
    await expect
      .poll(() => page.locator('#error').textContent())
      .toBe('Sentence 1 is 2,001 characters long; the limit is 2,000.');
    await page.fill('#sentences', Array.from({ length: 65 }, (_, i) => `sentence ${i}`).join('\n'));
    await page.click('#embed');
    await expect.poll(() => page.locator('#error').textContent()).toMatch(/^Too many sentences: 65;/);
  });

  it('weights URLs that fail: a message in each panel naming the URL', async () => {
    const bad = await open('?weights=/missing.safetensors&visionWeights=/missing-vision.safetensors');
    await bad.page.locator('#error:not([hidden])').waitFor({ timeout: 90_000 });
    expect(await bad.page.locator('#error').textContent()).toBe(
      "the text model did not load: SentenceEmbedder.fromWeights: 'source' cannot fetch /missing.safetensors: HTTP 404 Not Found",
    );
    expect(await bad.page.locator('#status').textContent()).toBe('the model did not load');
    expect(await bad.page.locator('#embed').isDisabled()).toBe(true);
    await bad.page.locator('#vision-error:not([hidden])').waitFor({ timeout: 30_000 });
    expect(await bad.page.locator('#vision-error').textContent()).toBe(
      "the vision model did not load: FashionMnistClassifier.fromWeights: 'source' cannot fetch /missing-vision.safetensors: HTTP 404 Not Found",
    );
    expect(await bad.page.locator('#vision-status').textContent()).toBe('the model did not load');
    expect(await bad.page.locator('#upload').isDisabled()).toBe(true);
    await bad.page.close();
  });
});
