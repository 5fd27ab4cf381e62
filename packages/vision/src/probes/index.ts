// Baselines on frozen features (src/probes/): a linear probe and a cosine k-NN, each chosen on a validation split.
export { fitLinearProbe } from './linear-probe.js';
export type { LinearProbe, LinearProbeOptions } from './linear-probe.js';
export { cosineNeighbors, fitKnnClassifier, knnVote } from './knn.js';
export type { KnnClassifier, KnnOptions, Neighbors } from './knn.js';
export type { LabeledFeatures } from './features.js';
