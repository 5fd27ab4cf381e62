export { RunningCrossMoments, RunningMoments } from './streaming.js';
export type { CovarianceOptions, RunningCrossMomentsJSON, RunningMomentsJSON } from './streaming.js';
