/**
 * `@geolip/text/data` (Node only): loaders for the sentence-pair benchmarks (STS-B, SICK-R, MRPC) and
 * COCO captions/instances, in their original file formats. Errors name the file and the 1-based line.
 */
export type { PairDataset, PairExample, PairLoadOptions, PairParseOptions } from './common.js';
export { parseStsb, loadStsb } from './stsb.js';
export type { StsbSplit } from './stsb.js';
export { parseSick, loadSick, SICK_ENTAILMENT } from './sick.js';
export type { SickSplit } from './sick.js';
export { parseMrpc, loadMrpc, mrpcDevSplit } from './mrpc.js';
export type { MrpcSplit, DevSplitOptions } from './mrpc.js';
export {
  parseCocoCaptions,
  loadCocoCaptions,
  parseCocoInstances,
  loadCocoInstances,
  cocoRetrievalTargets,
} from './coco.js';
export type {
  CocoImage,
  CocoCaption,
  CocoCaptions,
  CocoCategory,
  CocoInstances,
  CocoInstancesOptions,
  CocoRetrievalTargets,
} from './coco.js';
