// The loaders live in @geolip/text (Node-only subpath `@geolip/text/data`); re-exported here unchanged.
export type { PairDataset, PairExample, PairLoadOptions, PairParseOptions } from '@geolip/text/data';
export { parseStsb, loadStsb } from '@geolip/text/data';
export type { StsbSplit } from '@geolip/text/data';
export { parseSick, loadSick, SICK_ENTAILMENT } from '@geolip/text/data';
export type { SickSplit } from '@geolip/text/data';
export { parseMrpc, loadMrpc, mrpcDevSplit } from '@geolip/text/data';
export type { MrpcSplit, DevSplitOptions } from '@geolip/text/data';
export {
  parseCocoCaptions,
  loadCocoCaptions,
  parseCocoInstances,
  loadCocoInstances,
  cocoRetrievalTargets,
} from '@geolip/text/data';
export type {
  CocoImage,
  CocoCaption,
  CocoCaptions,
  CocoCategory,
  CocoInstances,
  CocoInstancesOptions,
  CocoRetrievalTargets,
} from '@geolip/text/data';
