#!/usr/bin/env node
// Prints the README tables "David vs linear probe vs k-NN" (packages/vision/README.md) from `geolip-train run
// fmnist-david` or `coco-david` result files on the same features and rows: one GeoFractalDavid column per file, then
// the linear probe and the cosine k-NN (deterministic, so every file holds the same ones: checked), for coco-david the
// majority class and chance, then the card's numbers (GeoFractalDavid-Basin-k12, spec §11: ImageNet-1K CLIP features,
// 1,000 classes). Rows: test accuracy (measured once; for coco-david also the top-1 hit and the mAP of the per-class
// scores on the eval images), validation accuracy, the selection, parameters, per-scale accuracy, α initial → final,
// fusion weight and geo weights per scale, the Cantor prototype spread per scale, κ, training time.
//
//   node tools/vision/david-table.mjs results/vision/fmnist-david/basin-k12.json results/vision/fmnist-david/fmnist-small.json
//   node tools/vision/david-table.mjs results/vision/coco-david/basin-k12.json results/vision/coco-david/fmnist-small.json
//
// With --seeds (coco-david files of any readings and seeds): one row per file, GeoFractalDavid only: preset, labels,
// seed (a file without one ran with the default, 0), the selected epoch, validation accuracy, and on the eval images
// the dominant accuracy, top-1 hit and mAP.
import { readFileSync } from 'node:fs';

const seedsMode = process.argv[2] === '--seeds';
const files = process.argv.slice(seedsMode ? 3 : 2);
if (files.length === 0) {
  process.stderr.write(
    'usage: node tools/vision/david-table.mjs [--seeds] <fmnist-david or coco-david result.json>...\n',
  );
  process.exit(2);
}
const results = files.map((file) => {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  if (r.recipe !== 'fmnist-david' && r.recipe !== 'coco-david')
    throw new Error(`david-table: ${file} is not an fmnist-david or coco-david result`);
  return r;
});
const pct = (v) => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(2)}%`);
const f3 = (v) => v.toFixed(3);
const f4 = (v) => v.toFixed(4);
if (seedsMode) {
  process.stdout.write(
    '| preset | labels | seed | selected | validation accuracy | eval accuracy (dominant) | eval top-1 hit | eval mAP |\n' +
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n',
  );
  for (const [i, r] of results.entries()) {
    if (r.recipe !== 'coco-david') throw new Error(`david-table: --seeds takes coco-david results, not ${files[i]}`);
    const m = r.perImage.david.eval;
    process.stdout.write(
      `| ${r.preset} | ${r.labels} | ${r.seed ?? 0} | ` +
        `epoch ${r.selection.epoch} of ${r.epochs} | ${pct(r.valAccuracy)} | ${pct(m.dominantAccuracy)} | ` +
        `${pct(m.top1Hit)} | ${f3(m.map)} |\n`,
    );
  }
  process.exit(0);
}
const base = results[0];
const coco = base.recipe === 'coco-david';
for (const [i, r] of results.entries())
  if (r.recipe !== base.recipe) throw new Error(`david-table: ${files[i]} is a ${r.recipe} result, ${files[0]} not`);
for (const [i, r] of results.entries()) {
  const same = (a, b) => a?.testAccuracy === b?.testAccuracy && a?.valAccuracy === b?.valAccuracy;
  if (!same(r.baselines.linearProbe, base.baselines.linearProbe) || !same(r.baselines.knn, base.baselines.knn))
    throw new Error(`david-table: ${files[i]}'s baselines differ from ${files[0]}'s (not the same features or rows?)`);
}
const perScale = (r, fn, sep = ', ') => r.structure.selected.scales.map((s) => `${s.scale}: ${fn(s)}`).join(sep);
const { linearProbe: lp, knn } = base.baselines;
const classes = base.model.numClasses;

// coco-david: per image on the eval split (the reading's accuracy, the top-1 hit, the mAP), and two more columns.
const img = (m, key, fmt = pct) => (m ? fmt(m.eval[key]) : '–');
const cocoRows = coco
  ? [
      [
        `eval accuracy: argmax = the image's dominant category (${base.splits.eval.images} images, once)`,
        ...results.map((r) => `**${pct(r.perImage.david.eval.dominantAccuracy)}**`),
        img(base.perImage.linearProbe, 'dominantAccuracy'),
        img(base.perImage.knn, 'dominantAccuracy'),
        pct(base.perImage.majority.eval.dominantAccuracy),
        pct(base.perImage.chance.eval.dominantAccuracy),
        '71.40% top-1 (ImageNet-1K, 1,000 classes)',
      ],
      [
        "eval top-1 hit (the argmax is one of the image's categories)",
        ...results.map((r) => pct(r.perImage.david.eval.top1Hit)),
        img(base.perImage.linearProbe, 'top1Hit'),
        img(base.perImage.knn, 'top1Hit'),
        pct(base.perImage.majority.eval.top1Hit),
        pct(base.perImage.chance.eval.top1Hit),
        '–',
      ],
      [
        'eval mAP of the per-class scores (80 classes)',
        ...results.map((r) => r.perImage.david.eval.map.toFixed(3)),
        img(base.perImage.linearProbe, 'map', f3),
        img(base.perImage.knn, 'map', f3),
        `${base.perImage.majority.eval.map.toFixed(3)} (constant score)`,
        base.perImage.chance.eval.map.toFixed(3),
        '–',
      ],
    ]
  : [];
const extra = coco ? ['', ''] : [];

// Each row: label, one cell per result file, linear probe, k-NN, [majority, chance,] card.
const rows = [
  ...(coco
    ? cocoRows
    : [
        [
          'test accuracy (10,000 images, once)',
          ...results.map((r) => `**${pct(r.testAccuracy)}**`),
          pct(lp?.testAccuracy),
          pct(knn?.testAccuracy),
          '71.40% top-1 (ImageNet-1K, 1,000 classes)',
        ],
      ]),
  [
    coco ? `validation accuracy (the selection; ${base.valRows} rows)` : 'validation accuracy (the selection)',
    ...results.map((r) => pct(r.valAccuracy)),
    pct(lp?.valAccuracy),
    pct(knn?.valAccuracy),
    // The majority class's row accuracy is its per-image accuracy only when a row is an image ('dominant').
    ...(coco
      ? [
          base.labels === 'dominant' ? pct(base.perImage.majority.validation.dominantAccuracy) : '–',
          pct(base.perImage.chance.eval.dominantAccuracy),
        ]
      : []),
    '–',
  ],
  [
    'selected',
    ...results.map((r) => `epoch ${r.selection.epoch} of ${r.epochs}`),
    lp ? `step ${lp.step} of ${lp.steps}` : '–',
    knn ? `k = ${knn.k}` : '–',
    ...extra,
    'epoch 10 of 10',
  ],
  [
    'parameters',
    ...results.map((r) => r.params.toLocaleString('en-US')),
    lp ? (base.featureDim * classes + classes).toLocaleString('en-US') : '–',
    coco ? `0 (the ${base.trainRows} training rows)` : '0 (the training rows)',
    ...extra,
    '63,053,342 (F 512, C 1,000)',
  ],
  [
    'per-scale test accuracy',
    ...results.map((r) => r.scaleAccuracies.map((s) => `${s.scale}: ${pct(s.accuracy)}`).join(', ')),
    '',
    '',
    ...extra,
    'not in the spec',
  ],
  [
    'α initial → final',
    ...results.map((r) => `${f4(r.structure.alpha.initial)} → ${f4(r.structure.alpha.final)}`),
    '',
    '',
    ...extra,
    '0.3290 → −0.0764 ("initial": its first log)',
  ],
  [
    'fusion weight per scale',
    ...results.map((r) => perScale(r, (s) => f3(s.fusionWeight))),
    '',
    '',
    ...extra,
    'not in the spec',
  ],
  [
    'geo weights feature / cantor / crystal',
    ...results.map((r) =>
      perScale(r, (s) => [s.geoWeights.feature, s.geoWeights.cantor, s.geoWeights.crystal].map(f3).join(' / ')),
    ),
    '',
    '',
    ...extra,
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
    ...extra,
    '0.0226, 0.078 [−0.14, 0.19] at every scale',
  ],
  [
    'κ over the validation rows: mean, std',
    ...results.map((r) => `${f3(r.structure.selected.kappa.mean)}, ${f3(r.structure.selected.kappa.std)}`),
    '',
    '',
    ...extra,
    '–',
  ],
  [
    'training time (2 shared cores, wasm)',
    ...results.map((r) => `${Math.round(r.trainSeconds)} s`),
    lp ? `${Math.round(lp.seconds)} s` : '–',
    knn ? `${Math.round(knn.seconds)} s` : '–',
    ...extra,
    '18 min 45 s (hardware not in the spec)',
  ],
];
const heads = results.map(
  (r) => `David ${r.preset}${coco ? `, labels '${r.labels}'` : ''} (k = ${r.model.k}; ${r.model.scales.join(', ')})`,
);
const more = coco ? ' majority class | chance |' : '';
process.stdout.write(
  `| | ${heads.join(' | ')} | linear probe | cosine k-NN |${more} card: Basin-k12 on ImageNet CLIP features |\n` +
    `| --- |${' ---: |'.repeat(results.length + 2 + extra.length)} --- |\n`,
);
for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
