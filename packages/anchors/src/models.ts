/**
 * The model types `@geolip/anchors` can load by a weights file's metadata alone (`geolip.type`, or the legacy
 * `geolip.module` / `geolip.class`): a saved {@link Constellation}, {@link Patchwork}, {@link AnchorBank} or
 * {@link ArbitrationTower}.
 */
import { ModelRegistry } from '@geolip/nn';
import type { FromPretrainedOptions, Module } from '@geolip/nn';
import type { BinarySource, WeightsFile } from '@geolip/io';

import { ANCHOR_BANK_TYPE, AnchorBank } from './anchor-bank.js';
import { ARBITRATION_TOWER_TYPE, ArbitrationTower } from './arbitration-tower.js';
import { Constellation } from './constellation.js';
import { Patchwork } from './patchwork.js';
import { CONSTELLATION_TYPE, PATCHWORK_TYPE, constellationConfigFrom, patchworkConfigFrom } from './serialization.js';

/** The config as the file stored it (checked against the tensors' sizes when the module is built). */
const storedConfig = (json: unknown): unknown => json;

/** The models of `@geolip/anchors`, by `geolip.type`. */
export const anchorsModels: ModelRegistry = new ModelRegistry('anchors')
  .register<unknown, Constellation>({
    type: CONSTELLATION_TYPE,
    name: 'Constellation',
    description: 'Constellation: K learned anchors on the sphere (saveConstellation)',
    parseConfig: storedConfig,
    create: (config, { tensors }) => new Constellation(constellationConfigFrom('fromPretrained', tensors, config)),
  })
  .register<unknown, Patchwork>({
    type: PATCHWORK_TYPE,
    name: 'Patchwork',
    description: 'Patchwork: per-compartment MLPs over triangulation distances (savePatchwork)',
    parseConfig: storedConfig,
    create: (config, { tensors }) => new Patchwork(patchworkConfigFrom('fromPretrained', tensors, config)),
  })
  .register<unknown, AnchorBank>({
    type: ANCHOR_BANK_TYPE,
    name: 'AnchorBank',
    description: 'AnchorBank: the CaptionBERT alignment bank (AnchorBank.toSafetensors)',
    parseConfig: storedConfig,
    create: (config) => AnchorBank.fromConfig(config, 'fromPretrained'),
  })
  .register<unknown, ArbitrationTower>({
    type: ARBITRATION_TOWER_TYPE,
    name: 'ArbitrationTower',
    description: 'ArbitrationTower: the Run 12 geometric arbitration tower over N expert embeddings (docs/gal.md)',
    parseConfig: storedConfig,
    create: (config) => ArbitrationTower.fromConfig(config),
  });

/**
 * Loads any `@geolip/anchors` module from a weights file by its metadata: bytes, a path (Node) or a URL. See
 * `ModelRegistry.fromPretrained` for the options and errors.
 * @example
 * const constellation = await fromPretrained<Constellation>(saveConstellation(c));
 */
export function fromPretrained<M extends Module = Module>(
  source: BinarySource | WeightsFile,
  options: FromPretrainedOptions = {},
): Promise<M> {
  return anchorsModels.fromPretrained<M>(source, options);
}
