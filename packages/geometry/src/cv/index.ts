export {
  pentachoronCV,
  pentachoronCVAsync,
  cvMultiScale,
  targetCV,
  cvLoss,
  sampleSimplexIndices,
  cvFromSquaredVolumes,
} from './pentachoron-cv.js';
export type {
  PentachoronCVOptions,
  PentachoronCVResult,
  CvMultiScaleOptions,
  TargetCVOptions,
  CvLossOptions,
} from './pentachoron-cv.js';
