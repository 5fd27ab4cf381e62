export {
  cayleyMengerDeterminant,
  cayleyMengerPrefactor,
  simplexVolume,
  simplexVolumeSquared,
  simplexValidity,
  CM_VALID_THRESHOLD,
} from './cayley-menger.js';
export type { SimplexPoints, SimplexBatch, SimplexVolumeOptions, SimplexValidityResult } from './cayley-menger.js';
