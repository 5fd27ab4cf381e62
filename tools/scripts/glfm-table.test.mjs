// Self-test of tools/diffusion/glfm-table.mjs (node --test tools/scripts/glfm-table.test.mjs): a committed result
// file of a run before the drift statistics (missing cells print as —) and a result of today's recipe.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { CARD, glfmRow, glfmTable } from '../diffusion/glfm-table.mjs';

const old = JSON.parse(readFileSync(new URL('../../results/diffusion/glfm-2ep/v1-result.json', import.meta.url)));

test('a 2-epoch result of before the statistics: its numbers, — for the rest, the card beside', () => {
  const row = glfmRow(old);
  assert.equal(row[0], 'v1');
  assert.equal(row[1], '2,468,226');
  assert.equal(row[2], `2 (${old.steps})`);
  assert.equal(row[4], old.valFmLoss.toFixed(4));
  assert.equal(row[5], '—'); // no velocity cosine then
  assert.equal(row[6], `${(100 * old.conditionalAccuracy).toFixed(1)}%`);
  assert.equal(row[7], '—'); // no Fréchet distance then
  assert.equal(row[9], '—');
  assert.equal(row[12], '—');
  assert.equal(row[14], '6.1M / 0.1900 / 0%');
});

test("today's result: Fréchet, the near-binding curve, routing, the CV per precision; v2's card gate", () => {
  const result = {
    variant: 'v2',
    params: 159832706,
    epochs: 3,
    steps: 1404,
    trainSeconds: 600,
    valFmLoss: 0.25,
    valVelocityCosine: 0.9491,
    conditionalAccuracy: 0.8,
    frechetDistance: 1.23456,
    analysis: { nearBinding: 0.25, structuralFraction: 0.5, gate: 0.118 },
    driftCurve: { epochs: [{ nearBinding: 0 }, { nearBinding: 0.1 }, { nearBinding: 0.25 }] },
    routing: { gateMode: 'bypass', gate: 0.118, weight: 0.882, energy: 0.9 },
    quantizationCv: { cv: { fp32: 0.2, fp16: 0.2001, int8: 0.21, binary: 0.25 } },
  };
  assert.deepEqual(glfmRow(result), [
    'v2',
    '159,832,706',
    '3 (1404)',
    '10.0',
    '0.2500',
    '0.949',
    '80.0%',
    '1.235',
    '25.0%',
    '0% → 10% → 25%',
    '50.0%',
    '11.8%',
    '88.2% / 90.0%',
    '0.200 / 0.200 / 0.210 / 0.250',
    '287M / 0.1757 / 9% / gate 11.8%, routing 88%',
  ]);
  const table = glfmTable([old, result]).trim().split('\n');
  assert.equal(table.length, 4);
  assert.match(table[0], /^\| Variant \| params \|/);
  assert.equal(table[3].split(' | ').length, 15);
  assert.deepEqual(Object.keys(CARD), ['v1', 'v2', 'v3', 'v4']);
});
