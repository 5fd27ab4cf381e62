/**
 * @geolip/recipes — GeoLIP's training recipes on the `@geolip/train` engine (mlp-student, text-consensus,
 * text-heads, text-cosent, text-bank, fmnist-vit, fmnist-export, fmnist-embed, fmnist-david, coco-soup,
 * coco-consensus, coco-david, glfm), their registry, and the `geolip-train` CLI (`@geolip/recipes/cli`, bin
 * `geolip-train`). The model packages are real dependencies: every recipe runs after a plain install.
 */
export { allModels, fromPretrained } from './models.js';
export { BUILTIN_RECIPES, RECIPES, getRecipe, recipeNames, registerRecipe } from './registry.js';
export { mlpStudent, parseMlpStudentConfig } from './recipes/mlp-student.js';
export type { MlpStudentConfig } from './recipes/mlp-student.js';
export {
  textConsensus,
  parseTextConsensusConfig,
  liftTargets,
  TEXT_CONSENSUS_STAGES,
} from './recipes/text-consensus.js';
export type { TextConsensusConfig } from './recipes/text-consensus.js';
export { textHeads, parseTextHeadsConfig, SENTIMENT_UNAVAILABLE, TEXT_HEADS_TASKS } from './recipes/text-heads.js';
export type { HeadTraining, TextHeadsConfig, TextHeadsTask } from './recipes/text-heads.js';
export {
  textCosent,
  parseTextCosentConfig,
  mixTrainPairs,
  sickToStsbScale,
  TEXT_COSENT_BASELINES,
  TEXT_COSENT_TRAIN_SETS,
} from './recipes/text-cosent.js';
export type { TextCosentConfig, TextCosentTrainSet } from './recipes/text-cosent.js';
export {
  textBank,
  parseTextBankConfig,
  TEXT_BANK_ANCHOR_INITS,
  TEXT_BANK_BASELINES,
  TEXT_BANK_ROTATION_INITS,
} from './recipes/text-bank.js';
export type { TextBankConfig } from './recipes/text-bank.js';
export { fmnistVit, parseFmnistVitConfig, FMNIST_DUAL_STREAM, FMNIST_PLAIN_VIT } from './recipes/fmnist-vit.js';
export type { FmnistAugment, FmnistLossWeights, FmnistVitConfig } from './recipes/fmnist-vit.js';
export { FMNIST_VIT_PRESETS, FMNIST_VIT_PRESET_NAMES } from './recipes/fmnist-vit-presets.js';
export type { FmnistVitPreset, FmnistVitPresetName } from './recipes/fmnist-vit-presets.js';
export { fmnistExport, parseFmnistExportConfig, exportFashionMnist } from './recipes/fmnist-export.js';
export type { FmnistExportConfig, FmnistExportSummary } from './recipes/fmnist-export.js';
export { fmnistEmbed, parseFmnistEmbedConfig, embedFashionMnist } from './recipes/fmnist-embed.js';
export type { FmnistEmbedConfig, FmnistEmbedFile } from './recipes/fmnist-embed.js';
export {
  fmnistDavid,
  parseFmnistDavidConfig,
  FMNIST_DAVID_MODEL,
  FMNIST_DAVID_PRESETS,
} from './recipes/fmnist-david.js';
export type { FmnistDavidConfig } from './recipes/fmnist-david.js';
export { cocoSoup, parseCocoSoupConfig, COCO_SOUP_PRESETS, COCO_SOUP_SPLITS } from './recipes/coco-soup.js';
export type { CocoSoupConfig, CocoSoupPreset, CocoSoupStudentConfig } from './recipes/coco-soup.js';
export { cocoConsensus } from './recipes/coco-consensus.js';
export { CONSENSUS_FEATURES_FORMAT } from './recipes/coco-features.js';
export {
  cocoDavid,
  parseCocoDavidConfig,
  dominantLabels,
  imageMetrics,
  labelRows,
  readConsensusFeatures,
} from './recipes/coco-david.js';
export type { CocoDavidConfig, CocoLabelReading, ImageMetrics } from './recipes/coco-david.js';
export { glfm, parseGlfmConfig, GLFM_CLASSIFIER_VIT } from './recipes/glfm.js';
export type { GlfmRecipeConfig } from './recipes/glfm.js';
export { recipeStep, RECIPE_STEP_RECIPES } from './steps.js';
export type { RecipeStep, RecipeStepOptions } from './steps.js';
