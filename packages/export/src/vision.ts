/** `exportVisionModel`: a GeoLIP ViT classifier (a `vision/vit` weights file, or a live model) as an ONNX folder. */
import { readFile } from 'node:fs/promises';

import { InvalidArgumentError } from '@geolip/geometry';
import { VISION_ONNX_NAMES, ViTClassifier, vitClassifierFromSafetensors, vitClassifierToOnnx } from '@geolip/vision';

import { json, readCommonOptions, variantFile, variantWeightType, writeOne } from './layout.js';
import type { ExportProgress, ExportVariant, ExportedFile } from './layout.js';

/** Options of {@link exportVisionModel}: exactly one of `weights` and `model`. */
export interface ExportVisionOptions {
  outDir: string;
  /** A `vision/vit` safetensors file (as `geolip-train run fmnist-vit` writes). Needs a tfjs backend (any). */
  weights?: string;
  /** A live classifier instead of a file (not disposed). */
  model?: ViTClassifier;
  /** Variants to write. Default both, `['fp32', 'fp16']`. */
  variants?: readonly ExportVariant[];
  onProgress?: ExportProgress;
}

/** What {@link exportVisionModel} wrote. */
export interface ExportVisionResult {
  outDir: string;
  files: ExportedFile[];
  dim: number;
  classes: number;
}

const OP = 'exportVisionModel';

/**
 * Writes `config.json`, `onnx/model.onnx` and `onnx/model_fp16.onnx` of a ViT classifier. The graph takes
 * `pixel_values` float32 `[batch, H, W, C]` (NHWC, normalized as for the tfjs model) and returns `embedding` (unit
 * rows) and `logits`.
 * @throws {InvalidArgumentError} naming the option at fault; {@link FormatError} for a file that is not a ViT.
 */
export async function exportVisionModel(options: ExportVisionOptions): Promise<ExportVisionResult> {
  const { outDir, variants, onProgress } = readCommonOptions(OP, options);
  if (variants.includes('q8'))
    throw new InvalidArgumentError(OP, 'options.variants', "names 'q8', which is written for text models only");
  if ((options.weights === undefined) === (options.model === undefined))
    throw new InvalidArgumentError(OP, 'options', 'must give exactly one of weights and model');
  let model: ViTClassifier;
  let owned = false;
  if (options.model !== undefined) {
    if (!(options.model instanceof ViTClassifier))
      throw new InvalidArgumentError(OP, 'options.model', 'must be a ViTClassifier');
    model = options.model;
  } else {
    if (typeof options.weights !== 'string' || options.weights.length === 0)
      throw new InvalidArgumentError(OP, 'options.weights', 'must be a path to a vision/vit safetensors file');
    onProgress(`reading ${options.weights}`);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(options.weights);
    } catch (e) {
      throw new InvalidArgumentError(OP, 'options.weights', `cannot be read: ${(e as Error).message}`);
    }
    model = vitClassifierFromSafetensors(bytes);
    owned = true;
  }
  try {
    const files: ExportedFile[] = [];
    for (const v of variants) {
      onProgress(`building the ${v} graph`);
      const onnx = vitClassifierToOnnx(model, { weightType: variantWeightType(v) });
      await writeOne(outDir, variantFile(v), onnx, files, onProgress);
    }
    const cfg = model.encoder.config;
    const config = {
      model_type: 'geolip-vit',
      image_size: cfg.imageSize,
      num_channels: cfg.channels,
      patch_size: cfg.patchSize,
      hidden_size: cfg.dModel,
      num_hidden_layers: cfg.layers,
      num_attention_heads: cfg.heads,
      intermediate_size: cfg.ffDim,
      num_labels: model.classes,
      geolip: {
        type: 'vision/vit',
        input: {
          name: VISION_ONNX_NAMES.pixels,
          layout: 'NHWC',
          shape: ['batch', cfg.imageSize, cfg.imageSize, cfg.channels],
        },
        outputs: { embedding: cfg.outDim, logits: model.classes },
        params: model.paramCount(),
        config: cfg,
      },
    };
    await writeOne(outDir, 'config.json', json(config), files, onProgress);
    return { outDir, files, dim: cfg.outDim, classes: model.classes };
  } finally {
    if (owned) model.dispose();
  }
}
