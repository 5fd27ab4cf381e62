export {
  GEO_FRACTAL_DAVID_BASIN_K12,
  GEO_FRACTAL_DAVID_CONFIG,
  GeoFractalDavid,
  basinLoss,
  randomSimplex,
} from './geo-fractal-david.js';
export type {
  BasinLossOptions,
  CantorMode,
  GeoFractalDavidConfig,
  GeoFractalDavidOutput,
} from './geo-fractal-david.js';
export type {
  CantorPrototypeSummary,
  GeoFractalDavidScaleStructure,
  GeoFractalDavidStructure,
  PrototypeHistogram,
  StructureOptions,
} from './structure.js';
