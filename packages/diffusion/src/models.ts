/**
 * The model types `@geolip/diffusion` can load by a weights file's metadata alone (`geolip.type`).
 * `fromPretrained(source)` reads the file once, builds the model its metadata names, and loads it.
 */
import { ModelRegistry } from '@geolip/nn';
import type { FromPretrainedOptions, Module } from '@geolip/nn';
import type { BinarySource, WeightsFile } from '@geolip/io';

import { validateGlfmConfig } from './config.js';
import type { GlfmConfig } from './config.js';
import { GlfmModel } from './model.js';

/** The registry key of {@link GlfmModel} (what `geolip-train run glfm` writes as `geolip.type`). */
export const GLFM_TYPE = 'diffusion/glfm';

/** The models of `@geolip/diffusion`, by `geolip.type`. */
export const diffusionModels: ModelRegistry = new ModelRegistry('diffusion').register<GlfmConfig, GlfmModel>({
  type: GLFM_TYPE,
  name: 'GlfmModel',
  description: 'GLFM: the geometric latent flow-matching model (v1–v4) trained by geolip-train run glfm',
  parseConfig: (json) => validateGlfmConfig(json as GlfmConfig, 'parseGlfmConfig'),
  create: (config) => new GlfmModel(config),
});

/**
 * Loads any `@geolip/diffusion` model from a weights file by its metadata (`geolip.type`, or the legacy
 * `geolip.model`): bytes, a path (Node) or a URL. See `ModelRegistry.fromPretrained` for the options and errors.
 * @example
 * const model = await fromPretrained<GlfmModel>('runs/glfm/model.safetensors');
 */
export function fromPretrained<M extends Module = Module>(
  source: BinarySource | WeightsFile,
  options: FromPretrainedOptions = {},
): Promise<M> {
  return diffusionModels.fromPretrained<M>(source, options);
}
