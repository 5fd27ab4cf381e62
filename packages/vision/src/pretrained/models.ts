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
import type { ViTEncoderConfig } from '../models/vit-encoder.js';

/** The registry key of `ViTClassifier` (`geolip.type`; the legacy `geolip.model` = `vit`). */
export const VIT_CLASSIFIER_TYPE = 'vision/vit';

/** The registry key of {@link DualStreamViT}. */
export const DUAL_STREAM_VIT_TYPE = 'vision/dual-stream-vit';

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
      if (typeof json !== 'object' || json === null || Array.isArray(json))
        throw new FormatError('parseViTEncoderConfig', 'config', "metadata 'geolip.config' must be a JSON object");
      return json as ViTEncoderConfig;
    },
    create: (config, { tensors }) => new ViTClassifier(config, vitClassifierClasses(tensors)),
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
