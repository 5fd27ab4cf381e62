export { pentachoronCV, pentachoronCVAsync, cvMultiScale, targetCV, cvLoss } from './pentachoron-cv.js';
export type {
  PentachoronCVOptions,
  PentachoronCVResult,
  CvMultiScaleOptions,
  TargetCVOptions,
  CvLossOptions,
} from './pentachoron-cv.js';
