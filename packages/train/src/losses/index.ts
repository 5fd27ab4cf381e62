/** Training losses (spec §8). Each is a pure function of tensors returning a scalar tensor. */
export { infoNCE } from './info-nce.js';
export type { InfoNCEOptions, InfoNCEResult } from './info-nce.js';
export { bceWithLabelSmoothing, crossEntropy } from './classification.js';
export type { BceOptions, CrossEntropyOptions } from './classification.js';
export { mseLoss, procrustesAlignmentLoss } from './regression.js';
export type { ProcrustesAlignmentOptions } from './regression.js';
export { cmValidityLoss, cvLossTerm, geoDiversityLoss, spread, spreadLoss } from './geometric.js';
export type { CmValidityOptions, GeoDiversityOptions, SpreadLossOptions } from './geometric.js';
export type { LabelsLike } from './checks.js';
export { galLoss } from './gal.js';
export type { GalOptions, GalResult } from './gal.js';
export { cosentLoss } from './cosent.js';
export type { CosentOptions, ScoresLike } from './cosent.js';
