#!/usr/bin/env node
// Prints the README table "David vs linear probe vs k-NN" (packages/vision/README.md) from `geolip-train run
// fmnist-david` result files on the same features and rows: one GeoFractalDavid column per file, then the linear probe
// and the cosine k-NN (deterministic, so every file holds the same ones: checked), then the card's numbers
// (GeoFractalDavid-Basin-k12, spec §11: ImageNet-1K CLIP features, 1,000 classes). Rows: test accuracy (measured
// once), validation accuracy, the selection, parameters, per-scale accuracy, α initial → final, fusion weight and geo
// weights per scale, the Cantor prototype spread per scale, κ, training time.
//
//   node tools/vision/david-table.mjs results/vision/fmnist-david/basin-k12.json results/vision/fmnist-david/fmnist-small.json
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node tools/vision/david-table.mjs <fmnist-david result.json>...\n');
  process.exit(2);
}
const results = files.map((file) => {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  if (r.recipe !== 'fmnist-david') throw new Error(`david-table: ${file} is not an fmnist-david result`);
  return r;
});
const base = results[0];
for (const [i, r] of results.entries()) {
  const same = (a, b) => a?.testAccuracy === b?.testAccuracy && a?.valAccuracy === b?.valAccuracy;
  if (!same(r.baselines.linearProbe, base.baselines.linearProbe) || !same(r.baselines.knn, base.baselines.knn))
    throw new Error(`david-table: ${files[i]}'s baselines differ from ${files[0]}'s (not the same features or rows?)`);
}
const pct = (v) => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(2)}%`);
const f3 = (v) => v.toFixed(3);
const f4 = (v) => v.toFixed(4);
const perScale = (r, fn, sep = ', ') => r.structure.selected.scales.map((s) => `${s.scale}: ${fn(s)}`).join(sep);
const { linearProbe: lp, knn } = base.baselines;

// Each row: label, one cell per result file, linear probe, k-NN, card.
const rows = [
  [
    'test accuracy (10,000 images, once)',
    ...results.map((r) => `**${pct(r.testAccuracy)}**`),
    pct(lp?.testAccuracy),
    pct(knn?.testAccuracy),
    '71.40% top-1 (ImageNet-1K, 1,000 classes)',
  ],
  [
    'validation accuracy (the selection)',
    ...results.map((r) => pct(r.valAccuracy)),
    pct(lp?.valAccuracy),
    pct(knn?.valAccuracy),
    '–',
  ],
  [
    'selected',
    ...results.map((r) => `epoch ${r.selection.epoch} of ${r.epochs}`),
    lp ? `step ${lp.step} of ${lp.steps}` : '–',
    knn ? `k = ${knn.k}` : '–',
    'epoch 10 of 10',
  ],
  [
    'parameters',
    ...results.map((r) => r.params.toLocaleString('en-US')),
    lp ? (base.featureDim * 10 + 10).toLocaleString('en-US') : '–',
    '0 (the training rows)',
    '63,053,342 (F 512, C 1,000)',
  ],
  [
    'per-scale test accuracy',
    ...results.map((r) => r.scaleAccuracies.map((s) => `${s.scale}: ${pct(s.accuracy)}`).join(', ')),
    '',
    '',
    'not in the spec',
  ],
  [
    'α initial → final',
    ...results.map((r) => `${f4(r.structure.alpha.initial)} → ${f4(r.structure.alpha.final)}`),
    '',
    '',
    '0.3290 → −0.0764 ("initial": its first log)',
  ],
  ['fusion weight per scale', ...results.map((r) => perScale(r, (s) => f3(s.fusionWeight))), '', '', 'not in the spec'],
  [
    'geo weights feature / cantor / crystal',
    ...results.map((r) =>
      perScale(r, (s) => [s.geoWeights.feature, s.geoWeights.cantor, s.geoWeights.crystal].map(f3).join(' / ')),
    ),
    '',
    '',
    '768: 0.996 / 0.001 / 0.003; 1280: crystal 0.587',
  ],
  [
    'Cantor prototypes π: mean, std [min, max]',
    ...results.map((r) =>
      perScale(
        r,
        (s) => {
          const p = s.cantorPrototypes;
          return `${f3(p.mean)}, ${f3(p.std)} [${f3(p.min)}, ${f3(p.max)}]`;
        },
        '; ',
      ),
    ),
    '',
    '',
    '0.0226, 0.078 [−0.14, 0.19] at every scale',
  ],
  [
    'κ over the validation rows: mean, std',
    ...results.map((r) => `${f3(r.structure.selected.kappa.mean)}, ${f3(r.structure.selected.kappa.std)}`),
    '',
    '',
    '–',
  ],
  [
    'training time (2 shared cores, wasm)',
    ...results.map((r) => `${Math.round(r.trainSeconds)} s`),
    lp ? `${Math.round(lp.seconds)} s` : '–',
    knn ? `${Math.round(knn.seconds)} s` : '–',
    '18 min 45 s (hardware not in the spec)',
  ],
];
const heads = results.map((r) => `David ${r.preset} (k = ${r.model.k}; ${r.model.scales.join(', ')})`);
process.stdout.write(
  `| | ${heads.join(' | ')} | linear probe | cosine k-NN | card: Basin-k12 on ImageNet CLIP features |\n` +
    `| --- |${' ---: |'.repeat(results.length + 2)} --- |\n`,
);
for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
