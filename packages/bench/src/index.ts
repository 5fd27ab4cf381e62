/**
 * @geolip/bench — how users and CI judge an embedding model on real data.
 *
 * - data: STS-B / SICK / MRPC / COCO loaders for the original file formats (errors name file and line)
 * - metrics: in @geolip/metrics (Spearman, Pearson, threshold search, ROC-AUC, AP / mAP, recall@K)
 * - Embedder: the interface any model implements; `embedAll` batches and validates
 * - baselines: `glove-avg` and `use-lite` (optional peers, offline)
 * - evaluate / report / plot: pair-task evaluation, Markdown + JSON reports, SVG scatter plots
 * - COCO: multi-label linear-probe mAP and caption ↔ image retrieval for image embedders (`pixels` baseline)
 * - the `geolip-bench` CLI (bin) wraps all of it
 */
// The dataset loaders are @geolip/text's (`@geolip/text/data`), re-exported unchanged (bench's README documents them).
export * from '@geolip/text/data';
export { embedAll, cosineRows, builtinModels, loadModel } from './embedder.js';
export type { Embedder, EmbedAllOptions, BuiltinModel } from './embedder.js';
export * from './baselines/index.js';
export { evaluatePairTask, PAIR_TASKS, REGRESSION_TASKS, CLASSIFICATION_TASKS } from './evaluate.js';
export type { ClassificationResult, EvaluateOptions, PairTask, PairTaskResult, RegressionResult } from './evaluate.js';
export {
  markdownTable,
  jsonReport,
  writeJsonReport,
  writeFileAtomic,
  formatParams,
  packageVersions,
} from './report.js';
export type { JsonReport, ReportSettings } from './report.js';
export { svgScatter, niceTicks } from './plot.js';
export { htmlReport } from './html-report.js';
export type { HtmlReportPlot } from './html-report.js';
export type { ScatterOptions } from './plot.js';
export { cocoMarkdownTable, evaluateCocoTask } from './coco-task.js';
export type { CocoTaskOptions, CocoTaskResult } from './coco-task.js';
export { PIXELS_SIDE, builtinImageModels, createPixelsEmbedder, loadImageModel } from './image-models.js';
export { classifyModelSpec } from './model-spec.js';
export { MTEB_SCHEMA_VERSION, MTEB_TASK_NAMES, mtebResultFiles } from './mteb.js';
export type { MtebFile } from './mteb.js';
export { loadHfFolder, loadOnnxFile, readTokenizerFile } from './onnx-models.js';
export type { ModelSpec } from './model-spec.js';
export { TASKS } from './tasks/index.js';
export type { Task, TaskEnv, TaskOptions, TaskOutcome } from './tasks/index.js';
