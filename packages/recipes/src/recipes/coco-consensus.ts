// Recipe `coco-consensus` (issue 20): the first two stages of coco-soup alone — the COCO splits and the consensus of
// the expert features fitted on the train rows — writing the consensus features files that coco-david reads. It
// takes a coco-soup config (the same parser; its soup, student and probe fields are read and not used), so the same
// file gives the same splits and consensus as the soup run, in seconds.
import { defineRecipe } from '@geolip/train';
import type { RecipeRun } from '@geolip/train';

import { prepareCocoConsensus, writeConsensusFeatures } from './coco-features.js';
import { parseCocoSoupConfig } from './coco-soup.js';
import type { CocoSoupConfig } from './coco-soup.js';

async function run(cfg: CocoSoupConfig, job: RecipeRun): Promise<number> {
  const t0 = Date.now();
  const prep = await prepareCocoConsensus(cfg, job);
  const files = await writeConsensusFeatures(prep, cfg, job);
  const resultFile = await job.writeResult({
    recipe: job.name,
    preset: cfg.preset,
    splits: prep.splits,
    experts: prep.rawExperts.map((e) => ({ name: e.name, file: e.file, dim: e.dim, fileRows: e.fileRows })),
    consensus: {
      ...prep.consensusModel.config,
      soupInput: cfg.consensus.soupInput,
      reduction: prep.reduction,
      diagnostics: prep.consensusModel.diagnostics,
    },
    files,
    seconds: (Date.now() - t0) / 1000,
  });
  job.say(
    `wrote ${Object.values(files)
      .map((f) => `${f.file} (${f.rows} rows)`)
      .join(', ')}, consensus.safetensors, ${resultFile}`,
  );
  return 0;
}

/** `geolip-train run coco-consensus`: coco-soup's splits and consensus alone, as coco-david's features files. */
export const cocoConsensus = defineRecipe<CocoSoupConfig>({
  name: 'coco-consensus',
  description:
    "coco-soup's first stages alone (COCO splits, expert features -> consensus on the train rows); writes " +
    'consensus-{train,val,eval}.safetensors (targets, 80-class labels, instance counts) for coco-david',
  help: `the splits and the consensus of a coco-soup config, nothing trained; config: a coco-soup config
(its "experts", "images" and "consensus" are used); writes <out>/consensus-{train,val,eval}.safetensors
(tensors embeddings [N, K], labels [N, 80] U8, instances [N, 80] U32; metadata image_ids, files,
categories), consensus.safetensors and result.json.`,
  parse: (raw, dir) => parseCocoSoupConfig(raw, dir),
  run,
});
