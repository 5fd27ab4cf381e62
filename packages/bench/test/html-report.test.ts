// The self-contained HTML report: hand-made results (escaping, exact data-value numbers, the embedded JSON) and
// `geolip-bench run --out report.html` on the 20-row STS-B fixture. Opening it in a real browser:
// html-report.browser.test.ts.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { htmlReport, jsonReport, svgScatter } from '../src/index.js';
import type { PairTaskResult } from '../src/index.js';
import { main } from '../src/cli.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixtures = join(here, 'fixtures', 'cli');
const tmp = mkdtempSync(join(tmpdir(), 'geolip-bench-html-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const timing = { seconds: 1, embedSeconds: 0.5, uniqueSentences: 6 };
const results = [
  {
    kind: 'regression',
    task: 'stsb',
    split: 'dev',
    model: 'm<script>alert(1)</script>',
    params: 1234,
    n: 3,
    spearman: 0.5,
    pearson: 0.123456789,
    gold: [0, 1, 2],
    predicted: [0.1, 0.5, 0.4],
    ...timing,
  },
  {
    kind: 'classification',
    task: 'mrpc',
    split: 'train:dev',
    model: 'm',
    params: 1234,
    n: 4,
    f1: 0.8,
    accuracy: 0.75,
    auc: 0.875,
    threshold: 0.61234,
    trivialF1: 2 / 3,
    trivialAccuracy: 0.5,
    thresholdFittedOn: { split: 'train:train', n: 36 },
    gold: [0, 1, 1, 0],
    predicted: [0.2, 0.9, 0.7, 0.65],
    ...timing,
  },
] as unknown as PairTaskResult[];

/** The embedded report (`<script type="application/json" id="geolip-report">`), parsed. */
function embedded(html: string): Record<string, unknown> {
  const m = /<script type="application\/json" id="geolip-report">\n([\s\S]*?)\n<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!) as Record<string, unknown>;
}

describe('htmlReport', () => {
  let report: ReturnType<typeof jsonReport>;
  let html: string;
  beforeAll(() => {
    // After the setup file's beforeAll chose the backend (the report records it).
    report = jsonReport(
      results,
      { command: 'run', model: 'm', note: '</script><b>x</b>' },
      { date: new Date('2026-01-02T03:04:05Z') },
    );
    html = htmlReport(report, [{ title: 'stsb <dev>', svg: svgScatter([0, 1, 2], [0.1, 0.5, 0.4]) }]);
  });

  it('is one document with no scripts to run and no external resources', () => {
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html.match(/<script/g)).toHaveLength(1); // the JSON data block only
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('escapes every string from the results and settings', () => {
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('m&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('</script><b>x</b>');
    expect(html).toContain('<figcaption>stsb &lt;dev&gt;</figcaption>');
  });

  it('shows each metric ×100 with 2 decimals and keeps the exact value in data-value', () => {
    expect(html).toContain('<td class="num" data-metric="spearman" data-value="0.5">50.00</td>');
    expect(html).toContain('<td class="num" data-metric="pearson" data-value="0.123456789">12.35</td>');
    expect(html).toContain('<td class="num" data-metric="auc" data-value="0.875">87.50</td>');
    expect(html).toContain('<td class="num" data-metric="threshold" data-value="0.61234">0.6123</td>');
    // The MRPC row is followed by its all-paraphrase baseline row.
    expect(html).toMatch(
      /<tr class="baseline" data-task="mrpc" data-split="train:dev"><td>all-paraphrase baseline<\/td>.*data-value="0.6666666666666666">66.67<\/td>/,
    );
    expect(html.match(/<circle /g)).toHaveLength(3);
  });

  it('embeds the JSON report, equal to jsonReport after a round trip', () => {
    expect(embedded(html)).toEqual(JSON.parse(JSON.stringify(report)));
  });
});

describe('geolip-bench run --out report.html', () => {
  it('writes the HTML report (tables, one plot per task, the JSON) atomically', async () => {
    const out = join(tmp, 'run', 'report.html');
    let stdout = '';
    let stderr = '';
    const code = await main(
      [
        'run',
        '--model',
        join(fixtures, 'model.mjs'),
        '--tasks',
        'stsb',
        '--data',
        join(fixtures, 'data'),
        '--out',
        out,
        '--batch-size',
        '8',
      ],
      {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s), isTTY: false },
      },
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`report written to ${out}`);
    const html = readFileSync(out, 'utf8');
    const report = embedded(html) as { schema: string; results: { spearman: number; n: number }[] };
    expect(report.schema).toBe('geolip-bench/report@1');
    expect(report.results).toHaveLength(1);
    const rho = report.results[0]!.spearman;
    expect(html).toContain(`data-metric="spearman" data-value="${rho}">${(100 * rho).toFixed(2)}</td>`);
    expect(stdout).toContain(` ${(100 * rho).toFixed(2)} `); // the same number as the printed table
    expect(html.match(/<circle /g)).toHaveLength(20);
    expect(readdirSync(join(tmp, 'run')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
