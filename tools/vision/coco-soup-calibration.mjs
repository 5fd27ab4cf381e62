#!/usr/bin/env node
// Writes the soup calibration ablation of a `geolip-train run coco-soup` run (card preset, `soup.ablation`) as its own
// results file: the soup trained with the whitened-Procrustes projector initialization and without it, same seed,
// same steps, same validation selection; eval mAP and active anchors (of the soup's anchors, counted as the nearest
// anchor of at least one fused embedding) at init and after training, on the train, validation and eval splits.
//
// Usage: node tools/vision/coco-soup-calibration.mjs <run>/result.json <out.json> [command that made the run]
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output, ...command] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node tools/vision/coco-soup-calibration.mjs <run>/result.json <out.json> [command]\n');
  process.exit(2);
}
const r = JSON.parse(readFileSync(input, 'utf8'));
if (!r.calibrationAblation) {
  process.stderr.write(
    `coco-soup-calibration: ${input} has no calibrationAblation (run with "soup": {"ablation": true})\n`,
  );
  process.exit(1);
}
const side = ({ perClassAp: _perClass, ...rest }) => rest;
const out = {
  what:
    'coco-soup calibration ablation: BaseTierSoup trained with and without the whitened-Procrustes projector ' +
    "initialization (the card: 'without calibration the constellation collapses to 1/256 active anchors')",
  command: command.length > 0 ? command.join(' ') : null,
  source: input,
  preset: r.preset,
  note: r.note,
  splits: {
    train: r.splits.train.images,
    validation: r.splits.validation?.images ?? 0,
    eval: r.splits.eval.images,
    evalConstantScoreMap: r.splits.eval.constantScoreMap,
  },
  consensus: {
    width: r.consensus.width,
    targetDim: r.consensus.targetDim,
    soupInput: r.consensus.soupInput,
    reduction: r.consensus.reduction,
    consensusCV: r.consensus.diagnostics.consensusCV,
    cosineToConsensus: r.consensus.diagnostics.cosineToConsensus,
  },
  soupConfig: r.soup.config,
  calibrated: side(r.calibrationAblation.calibrated),
  uncalibrated: side(r.calibrationAblation.uncalibrated),
  backend: r.backend,
};
writeFileSync(output, `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(
  `calibrated: eval mAP ${out.calibrated.evalMap.toFixed(4)}, active anchors eval ${out.calibrated.activeAnchors.eval}/` +
    `${out.calibrated.activeAnchors.of}; uncalibrated: eval mAP ${out.uncalibrated.evalMap.toFixed(4)}, active anchors ` +
    `eval ${out.uncalibrated.activeAnchors.eval}/${out.uncalibrated.activeAnchors.of}\n`,
);
