export { normalize } from './normalize.js';
export type { NormalizeOptions } from './normalize.js';
export { geodesicDistance } from './geodesic-distance.js';
export { tangentProject } from './tangent-project.js';
export { expMap, logMap, slerp } from './exp-log.js';
export { sampleSphere } from '../random/sample-sphere.js';
export type { SampleSphereOptions } from '../random/sample-sphere.js';
export { pairwiseCosine } from './pairwise-cosine.js';
