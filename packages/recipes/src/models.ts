/**
 * `allModels`: every model type a GeoLIP weights file can name, one registry merged from the model packages' own
 * (`@geolip/nn`, `@geolip/anchors`, `@geolip/text`, `@geolip/vision`, `@geolip/diffusion`). Every model file a recipe
 * writes loads through it by its metadata alone.
 */
import { anchorsModels } from '@geolip/anchors';
import { diffusionModels } from '@geolip/diffusion';
import type { BinarySource, WeightsFile } from '@geolip/io';
import { ModelRegistry, nnModels } from '@geolip/nn';
import type { FromPretrainedOptions, Module } from '@geolip/nn';
import { textModels } from '@geolip/text';
import { visionModels } from '@geolip/vision';

/** The merge of every model package's registry (`geolip.type` → config parser → constructor). */
export const allModels: ModelRegistry = ModelRegistry.merge(
  'geolip',
  nnModels,
  anchorsModels,
  textModels,
  visionModels,
  diffusionModels,
);

/**
 * Loads any GeoLIP model from a weights file by its metadata alone (`geolip.type`, or a legacy key): bytes, a path
 * (Node) or a URL. See `ModelRegistry.fromPretrained` for the options and errors.
 * @example
 * const model = await fromPretrained('runs/coco/soup.safetensors'); // a BaseTierSoup
 */
export function fromPretrained<M extends Module = Module>(
  source: BinarySource | WeightsFile,
  options: FromPretrainedOptions = {},
): Promise<M> {
  return allModels.fromPretrained<M>(source, options);
}
