export { GEO_FRACTAL_DAVID_CONFIG, GeoFractalDavid, basinLoss, randomSimplex } from './geo-fractal-david.js';
export type {
  BasinLossOptions,
  CantorMode,
  GeoFractalDavidConfig,
  GeoFractalDavidOutput,
} from './geo-fractal-david.js';
