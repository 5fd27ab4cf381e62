/**
 * A ViT encoder with a linear classifier on its unit embedding: the plain-ViT baseline of the Fashion-MNIST recipes
 * and the COCO soup's student (multi-label logits). Parameters `encoder.*` and `classifier.{weight,bias}` (PyTorch
 * layout), so a file written from `stateDict()` loads back with {@link vitClassifierFromSafetensors}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { Linear, Module } from '@geolip/nn';
import { readSafetensors } from '@geolip/io';
import type { SafetensorEntry, WeightsFile } from '@geolip/io';

import { ViTEncoder } from './vit-encoder.js';
import type { ViTEncoderConfig } from './vit-encoder.js';
import { VIT_CLASSIFIER_TYPE, visionModels } from '../pretrained/models.js';

/** Options of {@link ViTClassifier}. */
export interface ViTClassifierOptions {
  /** Seed of the encoder's init; the classifier uses `seed + 1`. Default 0. */
  seed?: number;
}

/** `ViTEncoder(config)` → unit `[B, outDim]` embedding → `Linear(outDim → classes)` logits. */
export class ViTClassifier extends Module {
  readonly encoder: ViTEncoder;
  readonly classifier: Linear;
  /** Number of output logits. */
  readonly classes: number;

  /**
   * @param config - the encoder's config (its `outDim` is the embedding width).
   * @param classes - number of logits, a positive integer.
   * @param options - `seed`.
   * @throws {InvalidArgumentError} If `classes` is not a positive integer (the encoder checks `config`).
   */
  constructor(config: ViTEncoderConfig, classes: number, options: ViTClassifierOptions = {}) {
    super();
    if (!Number.isInteger(classes) || classes < 1)
      throw new InvalidArgumentError('ViTClassifier', 'classes', `must be a positive integer, got ${String(classes)}`);
    const seed = options.seed ?? 0;
    this.classes = classes;
    this.encoder = this.addModule('encoder', new ViTEncoder(config, { seed }));
    this.classifier = this.addModule('classifier', new Linear(config.outDim, classes, { seed: seed + 1 }));
  }

  /** `[B, H, W, C]` images → `{ embedding: [B, outDim] unit rows, logits: [B, classes] }`. */
  forward(images: tf.Tensor4D): { embedding: tf.Tensor2D; logits: tf.Tensor2D } {
    return tf.tidy(() => {
      const embedding = this.encoder.forward(images) as tf.Tensor2D;
      return { embedding, logits: this.classifier.forward(embedding) } as never;
    });
  }
}

/**
 * Builds a {@link ViTClassifier} from a safetensors file with metadata `geolip.type` = `vision/vit` (or the legacy
 * `geolip.model` = `vit`) and `geolip.config` (the encoder config as JSON), as `geolip-train run fmnist-vit`
 * (`"model": "vit"`) and the glfm recipe's classifier write. The class count comes from `classifier.weight`.
 * Disposes the model if the weights do not load.
 * @throws {FormatError} If the bytes are not such a file (names the metadata key or the tensor).
 */
export function vitClassifierFromSafetensors(bytes: Uint8Array | ArrayBuffer): ViTClassifier {
  const op = 'vitClassifierFromSafetensors';
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer))
    throw new InvalidArgumentError(op, 'bytes', 'must be a Uint8Array or an ArrayBuffer');
  let file: WeightsFile;
  try {
    const { tensors, metadata } = readSafetensors(bytes);
    file = { format: 'safetensors', tensors, metadata, config: undefined, byteLength: bytes.byteLength };
  } catch (cause) {
    throw new FormatError(
      op,
      'bytes',
      `is not a safetensors file: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  // The one loading path: the vision registry reads the metadata (geolip.type, or the legacy geolip.model = vit).
  try {
    return visionModels.loadPretrainedFile<ViTClassifier>(file, { type: VIT_CLASSIFIER_TYPE, op }).model;
  } catch (e) {
    if (e instanceof FormatError && e.op === op)
      throw new FormatError(op, 'bytes', e.message.slice(`${op}: 'source' `.length), { cause: e });
    throw e;
  }
}

/**
 * The class count of a {@link ViTClassifier} file: the rows of its 2-D `classifier.weight`.
 * @throws {FormatError} naming `vitClassifierClasses` and `'tensors'` when there is no such tensor.
 */
export function vitClassifierClasses(tensors: Record<string, SafetensorEntry>): number {
  const weight = tensors['classifier.weight'];
  if (weight === undefined || weight.shape.length !== 2)
    throw new FormatError('vitClassifierClasses', 'tensors', "has no 2-D tensor 'classifier.weight'");
  return weight.shape[0]!;
}
