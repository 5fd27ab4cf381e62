/**
 * The model types `@geolip/vision` can load by a weights file's metadata alone (`geolip.type`), and the weights it
 * ships. `fromPretrained(source)` reads the file once, builds the model its metadata names, and loads it.
 */
import { FormatError } from '@geolip/geometry';
import { ModelRegistry } from '@geolip/nn';
import type { FromPretrainedOptions, Module } from '@geolip/nn';
import type { BinarySource, WeightsFile } from '@geolip/io';

import { DualStreamViT } from '../dual-stream/dual-stream-vit.js';
import type { DualStreamViTConfig } from '../dual-stream/dual-stream-vit.js';
import { ViTClassifier, vitClassifierClasses } from '../models/vit-classifier.js';
import { ViTEncoder } from '../models/vit-encoder.js';
import type { ViTEncoderConfig } from '../models/vit-encoder.js';
import { BaseTierSoup } from '../models/base-tier-soup.js';
import type { BaseTierSoupConfig } from '../models/base-tier-soup.js';
import { GeoFractalDavid } from '../david/geo-fractal-david.js';
import type { GeoFractalDavidConfig } from '../david/geo-fractal-david.js';

/** The registry key of `ViTClassifier` (`geolip.type`; the legacy `geolip.model` = `vit`). */
export const VIT_CLASSIFIER_TYPE = 'vision/vit';

/** The registry key of `ViTEncoder` alone (the card's ViT student of `geolip-train run coco-soup`, no head). */
export const VIT_ENCODER_TYPE = 'vision/vit-encoder';

/** The registry key of {@link DualStreamViT}. */
export const DUAL_STREAM_VIT_TYPE = 'vision/dual-stream-vit';

/** The registry key of {@link GeoFractalDavid} (`geolip-train run fmnist-david` writes it). */
export const GEO_FRACTAL_DAVID_TYPE = 'vision/david';

/** The registry key of {@link BaseTierSoup} (`geolip-train run coco-soup` writes it). */
export const BASE_TIER_SOUP_TYPE = 'vision/base-tier-soup';

const isObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === 'object' && json !== null && !Array.isArray(json);

/** The object config of a file, or a FormatError naming `op` and `config`. */
function objectConfig(op: string, json: unknown): Record<string, unknown> {
  if (!isObject(json)) throw new FormatError(op, 'config', "metadata 'geolip.config' must be a JSON object");
  return json;
}

/**
 * Checks that a config read from a file is an object; the {@link DualStreamViT} constructor checks its fields.
 * @throws {FormatError} naming `parseDualStreamViTConfig` and `config` when it is not a JSON object.
 */
export function parseDualStreamViTConfig(json: unknown): DualStreamViTConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FormatError('parseDualStreamViTConfig', 'config', "metadata 'geolip.config' must be a JSON object");
  }
  return json as DualStreamViTConfig;
}

/** The models of `@geolip/vision`, by `geolip.type`; `shipped()` lists the bundled weights (`fmnist-dual-stream`). */
export const visionModels: ModelRegistry = new ModelRegistry('vision')
  .register<DualStreamViTConfig, DualStreamViT>({
    type: DUAL_STREAM_VIT_TYPE,
    description: 'DualStreamViT: a ViT with a geometric stream, a constellation and a classifier head',
    name: 'DualStreamViT',
    parseConfig: parseDualStreamViTConfig,
    create: (config) => new DualStreamViT(config),
  })
  .register<ViTEncoderConfig, ViTClassifier>({
    type: VIT_CLASSIFIER_TYPE,
    name: 'ViTClassifier',
    description:
      'ViTClassifier: a plain ViT encoder with a linear classifier (the fmnist-vit baseline, the glfm classifier)',
    parseConfig: (json) => {
      const config = objectConfig('parseViTEncoderConfig', json);
      // coco-soup students written before the metadata contract: { model: 'ViTEncoder+Linear', encoder, classes }.
      return (isObject(config.encoder) ? config.encoder : config) as unknown as ViTEncoderConfig;
    },
    create: (config, { tensors }) => new ViTClassifier(config, vitClassifierClasses(tensors)),
  })
  .register<ViTEncoderConfig, ViTEncoder>({
    type: VIT_ENCODER_TYPE,
    name: 'ViTEncoder',
    description: 'ViTEncoder: images to a unit embedding (the ViT x3 card student of coco-soup)',
    parseConfig: (json) => objectConfig('parseViTEncoderConfig', json) as unknown as ViTEncoderConfig,
    create: (config) => new ViTEncoder(config),
  })
  .register<GeoFractalDavidConfig, GeoFractalDavid>({
    type: GEO_FRACTAL_DAVID_TYPE,
    name: 'GeoFractalDavid',
    description: 'GeoFractalDavid: multi-scale simplex heads over frozen features (the fmnist-david recipe)',
    parseConfig: (json) => objectConfig('parseGeoFractalDavidConfig', json) as unknown as GeoFractalDavidConfig,
    create: (config) => new GeoFractalDavid(config),
  })
  .register<BaseTierSoupConfig, BaseTierSoup>({
    type: BASE_TIER_SOUP_TYPE,
    name: 'BaseTierSoup',
    description: 'BaseTierSoup: expert projectors, constellation, patchwork and a multi-label head (coco-soup)',
    parseConfig: (json) => {
      const config = objectConfig('parseBaseTierSoupConfig', json);
      // Files written before the metadata contract: { model: 'BaseTierSoup', config, experts }.
      return (isObject(config.config) ? config.config : config) as unknown as BaseTierSoupConfig;
    },
    // The anchors are replaced by the file's: skip the repulsion initialization.
    create: (config) => new BaseTierSoup(config, { anchorInit: 'xavier' }),
  })
  .ship('fmnist-dual-stream', {
    type: DUAL_STREAM_VIT_TYPE,
    file: 'fmnist-dual-stream.safetensors',
    description: 'The Fashion-MNIST Dual-Stream ViT bundled with @geolip/vision (fp16; 88.38% test accuracy in fp32).',
  });

/**
 * Loads any `@geolip/vision` model from a weights file by its metadata (`geolip.type`, or the legacy `geolip.model`):
 * bytes, a path (Node) or a URL. See `ModelRegistry.fromPretrained` for the options and errors.
 * @example
 * const vit = await fromPretrained<DualStreamViT>(url);
 */
export function fromPretrained<M extends Module = Module>(
  source: BinarySource | WeightsFile,
  options: FromPretrainedOptions = {},
): Promise<M> {
  return visionModels.fromPretrained<M>(source, options);
}
