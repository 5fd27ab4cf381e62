/**
 * The model types `@geolip/text` can load by a weights file's metadata alone (`geolip.type`), and the weights it
 * ships. `fromPretrained(source)` reads the file once, builds the model its metadata names, and loads it.
 */
import { FormatError } from '@geolip/geometry';
import { ModelRegistry } from '@geolip/nn';
import type { FromPretrainedOptions, Module } from '@geolip/nn';
import type { BinarySource, WeightsFile } from '@geolip/io';

import { CaptionEncoder } from './caption-encoder.js';
import type { CaptionEncoderConfig } from './caption-encoder.js';

/** The registry key of {@link CaptionEncoder}. */
export const CAPTION_ENCODER_TYPE = 'text/caption-encoder';

const SIZES = ['vocabSize', 'maxPositions', 'dModel', 'heads', 'ffDim', 'layers', 'outDim'] as const;

/**
 * Checks a {@link CaptionEncoderConfig} read from a file.
 * @throws {FormatError} naming `parseCaptionEncoderConfig` and `config`: not an object, a size that is not a positive
 *   integer (the message names it).
 */
export function parseCaptionEncoderConfig(json: unknown): CaptionEncoderConfig {
  const op = 'parseCaptionEncoderConfig';
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new FormatError(op, 'config', "metadata 'geolip.config' must be a JSON object");
  const c = json as Record<string, unknown>;
  for (const k of SIZES) {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new FormatError(op, `config.${k}`, `must be a positive integer, got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  return c as unknown as CaptionEncoderConfig;
}

/** The models of `@geolip/text`, by `geolip.type`; `shipped()` lists the bundled weights (`geolip-text`). */
export const textModels: ModelRegistry = new ModelRegistry('text')
  .register<CaptionEncoderConfig, CaptionEncoder>({
    type: CAPTION_ENCODER_TYPE,
    description: 'CaptionEncoder: a BERT-style sentence encoder with a projection head (and an optional anchor bank)',
    name: 'CaptionEncoder',
    parseConfig: parseCaptionEncoderConfig,
    create: (config) => new CaptionEncoder(config),
    load: (model, { tensors, strict, configFromFile }) => {
      // A strict load takes every parameter from the file: a bank the file's own config declares must be in it (an
      // encoder-only file would otherwise load a random bank, as `"anchorBank": {}` did). A config the caller passes
      // may add a bank to an encoder-only file (it keeps its initialization; see the README).
      if (
        strict &&
        configFromFile &&
        model.anchorBank !== null &&
        !Object.keys(tensors).some((k) => k.startsWith('bank.'))
      )
        throw new FormatError(
          'CaptionEncoder.loadEntries',
          'entries',
          "has no 'bank.' tensors, but the config declares an anchor bank (config.anchorBank)",
        );
      model.loadEntries(tensors, { strict });
    },
  })
  .ship('geolip-text', {
    type: CAPTION_ENCODER_TYPE,
    file: 'geolip-text.safetensors',
    description:
      'GeoLIP text model bundled with @geolip/text: a CaptionEncoder distilled from the consensus of ' +
      'use-lite and glove-avg (geolip-train run text-consensus), then fine-tuned with CoSENT on STS-B train and ' +
      'SICK train (geolip-train run text-cosent).',
  });

/**
 * Loads any `@geolip/text` model from a weights file by its metadata (`geolip.type`, or the legacy `geolip.model`):
 * bytes, a path (Node) or a URL. See `ModelRegistry.fromPretrained` for the options and errors.
 * @example
 * const encoder = await fromPretrained<CaptionEncoder>('weights/geolip-text.safetensors');
 */
export function fromPretrained<M extends Module = Module>(
  source: BinarySource | WeightsFile,
  options: FromPretrainedOptions = {},
): Promise<M> {
  return textModels.fromPretrained<M>(source, options);
}
