#!/usr/bin/env node
// The README table of GLFM runs (issue 23), read from committed `result.json` files of `geolip-train run glfm`, beside
// the card's numbers (spec §12.1; the v2 gate / routing from the card's text).
//
//   node tools/diffusion/glfm-table.mjs results/diffusion/<run>/v1-result.json … > table.md
//
// Columns: params, epochs (steps), GPU minutes (trainSeconds / 60), final val FM loss and velocity cosine, conditional
// accuracy, Fréchet
// distance, the near-0.29154 fraction at the end and per epoch (driftCurve), the structural share, gate and routing
// (weight / energy), the CV at fp32 / fp16 / int8 / 1 bit, and the card's params / loss / near 0.29. Fields a result
// file lacks (runs before these statistics existed) print as —.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The card's numbers per variant (spec §12.1): params, loss, near-0.29 share; v2's gate and routing (card text). */
export const CARD = Object.freeze({
  v1: { params: '6.1M', loss: 0.19, near: 0 },
  v2: { params: '287M', loss: 0.1757, near: 0.09, gate: 0.118, routing: 0.88 },
  v3: { params: '36.6M', loss: 0.1749, near: 0.3 },
  v4: { params: '35.2M', loss: 0.1754, near: 0.46 },
});

const NONE = '—';
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const pct = (v, digits = 1) => (isNum(v) ? `${(100 * v).toFixed(digits)}%` : NONE);
const fixed = (v, digits = 4) => (isNum(v) ? v.toFixed(digits) : NONE);

/** One result file → the cells of its row. */
export function glfmRow(result) {
  const card = CARD[result.variant] ?? {};
  const curve = result.driftCurve?.epochs ?? [];
  const routing = result.routing ?? null;
  const cv = result.quantizationCv?.cv ?? null;
  return [
    result.variant,
    isNum(result.params) ? result.params.toLocaleString('en-US') : NONE,
    `${result.epochs ?? NONE} (${result.steps ?? NONE})`,
    isNum(result.trainSeconds) ? (result.trainSeconds / 60).toFixed(1) : NONE,
    fixed(result.valFmLoss),
    fixed(result.valVelocityCosine, 3),
    pct(result.conditionalAccuracy),
    fixed(result.frechetDistance, 3),
    pct(result.analysis?.nearBinding),
    curve.length > 0 ? curve.map((p) => pct(p.nearBinding, 0)).join(' → ') : NONE,
    pct(result.analysis?.structuralFraction),
    pct(result.analysis?.gate),
    routing ? `${pct(routing.weight)} / ${pct(routing.energy)}` : NONE,
    cv ? ['fp32', 'fp16', 'int8', 'binary'].map((p) => fixed(cv[p], 3)).join(' / ') : NONE,
    `${card.params ?? NONE} / ${fixed(card.loss)} / ${pct(card.near, 0)}` +
      (card.gate !== undefined ? ` / gate ${pct(card.gate)}, routing ${pct(card.routing, 0)}` : ''),
  ];
}

const HEADER = [
  'Variant',
  'params',
  'epochs (steps)',
  'GPU min',
  'val FM loss',
  'v cos',
  'cond. acc.',
  'Fréchet',
  'near 0.29154',
  'near 0.29154 per epoch',
  'structural',
  'gate',
  'routing weight / energy',
  'CV fp32 / fp16 / int8 / 1-bit',
  'card: params / loss / near 0.29',
];

/** The markdown table of `results` (parsed result.json objects), one row each, in the order given. */
export function glfmTable(results) {
  const rows = [
    HEADER,
    HEADER.map((_, i) => (i === 0 || i === 9 || i >= 12 ? '---' : '---:')),
    ...results.map(glfmRow),
  ];
  return `${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write('usage: node tools/diffusion/glfm-table.mjs <result.json>…\n');
    process.exit(2);
  }
  process.stdout.write(glfmTable(files.map((f) => JSON.parse(readFileSync(f, 'utf8')))));
}
