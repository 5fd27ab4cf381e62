// The HTML report in a real browser: `geolip-bench run --out report.html` on the STS-B fixture, opened from the file
// in headless Chromium (playwright-core + Debian's chromium, tools/setup/chromium.sh). The numbers the page shows must
// be the JSON report's; the page must load nothing else and log no errors. Runs once (the wasm project).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { browserSkipReason, launchChromium } from '../../../tools/vitest/chromium.js';
import { main } from '../src/cli.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixtures = join(here, 'fixtures', 'cli');
const tmp = mkdtempSync(join(tmpdir(), 'geolip-bench-browser-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const skip = process.env.GEOLIP_BACKEND !== 'wasm' ? 'runs on the wasm project only' : browserSkipReason();
if (skip !== null && process.env.GEOLIP_BACKEND === 'wasm')
  console.warn(`html-report.browser.test.ts skipped: ${skip}`);

describe.skipIf(skip !== null)('the HTML report in headless Chromium', () => {
  it("shows the JSON report's numbers, one plot with a point per pair, and loads nothing else", async () => {
    const json = join(tmp, 'report.json');
    const html = join(tmp, 'report.html');
    const args = [
      'run',
      '--model',
      join(fixtures, 'model.mjs'),
      '--tasks',
      'stsb',
      '--data',
      join(fixtures, 'data'),
      '--batch-size',
      '8',
    ];
    const io = { stdout: { write: () => {} }, stderr: { write: () => {}, isTTY: false } };
    expect(await main([...args, '--out', json], io)).toBe(0);
    expect(await main([...args, '--out', html], io)).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      results: { spearman: number; pearson: number; n: number }[];
    };
    const expected = report.results[0]!;

    const { context, close } = await launchChromium();
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on(
        'console',
        (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(`console ${m.type()}: ${m.text()}`),
      );
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(html).href;
      await page.goto(url);
      expect(await page.title()).toBe('GeoLIP bench: fixture-trigram');
      const row = page.locator('#pair-results tr.result[data-task="stsb"]');
      expect(await row.count()).toBe(1);
      const cell = (metric: string) => row.locator(`td[data-metric="${metric}"]`);
      // What a reader sees (×100, 2 decimals) and the exact value, against the separately written JSON report.
      expect(await cell('spearman').innerText()).toBe((100 * expected.spearman).toFixed(2));
      expect(Number(await cell('spearman').getAttribute('data-value'))).toBe(expected.spearman);
      expect(await cell('pearson').innerText()).toBe((100 * expected.pearson).toFixed(2));
      expect(await cell('n').innerText()).toBe(String(expected.n));
      // The JSON embedded in the page, parsed by the browser.
      const embedded = await page.evaluate(
        () => JSON.parse(document.getElementById('geolip-report')!.textContent!) as { results: { spearman: number }[] },
      );
      expect(embedded.results[0]!.spearman).toBe(expected.spearman);
      // The plot: rendered, with one point per pair.
      expect(await page.locator('.plots svg').count()).toBe(1);
      expect(await page.locator('.plots svg circle').count()).toBe(expected.n);
      const box = await page.locator('.plots svg').boundingBox();
      expect(box!.width).toBeGreaterThan(100);
      expect(requests).toEqual([url]); // self-contained
      expect(problems).toEqual([]);
      const shots = resolve(process.env.GEOLIP_SCREENSHOTS ?? join(tmp, 'screenshots'));
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'bench-report.png'), fullPage: true });
    } finally {
      await close();
    }
  });
});
