#!/usr/bin/env node
// Writes the soup calibration ablation of `geolip-train run coco-soup` runs (card preset, `soup.ablation`) as one
// results file: per run (seed), the soup trained with the whitened-Procrustes projector initialization and without
// it (same seed, same steps, same validation selection): eval mAP and active anchors (soup anchors that are the nearest
// anchor of at least one fused embedding) at init and after training, on the train, validation and eval splits; and
// the mean and the per-seed differences over the runs.
//
// Usage: node tools/vision/coco-soup-calibration.mjs --out <file.json> <run>/result.json [<run>/result.json ...]
import { readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const at = args.indexOf('--out');
const output = at >= 0 ? args[at + 1] : undefined;
const inputs = args.filter((_, i) => at < 0 || (i !== at && i !== at + 1));
if (!output || inputs.length === 0) {
  process.stderr.write('usage: node tools/vision/coco-soup-calibration.mjs --out <file.json> <run>/result.json...\n');
  process.exit(2);
}
const side = ({ perClassAp: _perClass, curve: _curve, ...rest }) => rest;
const runs = inputs.map((input) => {
  const r = JSON.parse(readFileSync(input, 'utf8'));
  if (!r.calibrationAblation) {
    process.stderr.write(
      `coco-soup-calibration: ${input} has no calibrationAblation (needs "soup": {"ablation": true})\n`,
    );
    process.exit(1);
  }
  return { source: input, r };
});
const first = runs[0].r;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pick = (which, f) => runs.map(({ r }) => f(r.calibrationAblation[which]));
const summary = (f) => ({
  calibrated: mean(pick('calibrated', f)),
  uncalibrated: mean(pick('uncalibrated', f)),
  differences: runs.map((_, i) => pick('calibrated', f)[i] - pick('uncalibrated', f)[i]),
});
const out = {
  what:
    'coco-soup calibration ablation: BaseTierSoup trained with and without the whitened-Procrustes projector ' +
    "initialization (the card: 'without calibration the constellation collapses to 1/256 active anchors')",
  preset: first.preset,
  note: first.note,
  splits: {
    train: first.splits.train.images,
    validation: first.splits.validation?.images ?? 0,
    eval: first.splits.eval.images,
    evalConstantScoreMap: first.splits.eval.constantScoreMap,
  },
  consensus: {
    width: first.consensus.width,
    targetDim: first.consensus.targetDim,
    soupInput: first.consensus.soupInput,
    reduction: first.consensus.reduction,
    consensusCV: first.consensus.diagnostics.consensusCV,
    cosineToConsensus: first.consensus.diagnostics.cosineToConsensus,
  },
  soupConfig: first.soup.config,
  mean: {
    runs: runs.length,
    evalMap: summary((a) => a.evalMap),
    valMap: summary((a) => a.valMap),
    evalMapAtInit: summary((a) => a.evalMapAtInit),
    activeAnchorsEval: summary((a) => a.activeAnchors.eval),
    activeAnchorsTrain: summary((a) => a.activeAnchors.train),
    activeAnchorsEvalAtInit: summary((a) => a.activeAnchorsAtInit),
  },
  runs: runs.map(({ source, r }) => ({
    source,
    seed: r.seed ?? null,
    calibrated: side(r.calibrationAblation.calibrated),
    uncalibrated: side(r.calibrationAblation.uncalibrated),
    backend: r.backend,
  })),
};
writeFileSync(output, `${JSON.stringify(out, null, 2)}\n`);
const m = out.mean;
process.stdout.write(
  `${runs.length} run(s): eval mAP calibrated ${m.evalMap.calibrated.toFixed(4)} / uncalibrated ` +
    `${m.evalMap.uncalibrated.toFixed(4)}; active anchors (eval) ${m.activeAnchorsEval.calibrated.toFixed(1)} / ` +
    `${m.activeAnchorsEval.uncalibrated.toFixed(1)} of ${first.soup.config.anchors}\n`,
);
