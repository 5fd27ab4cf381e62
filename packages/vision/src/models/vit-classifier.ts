/**
 * A ViT encoder with a linear classifier on its unit embedding: the plain-ViT baseline of the Fashion-MNIST recipes
 * and the COCO soup's student (multi-label logits). Parameters `encoder.*` and `classifier.{weight,bias}` (PyTorch
 * layout), so a file written from `stateDict()` loads back with {@link vitClassifierFromSafetensors}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, readSafetensors } from '@geolip/geometry';
import { Linear, Module } from '@geolip/nn';

import { ViTEncoder } from './vit-encoder.js';
import type { ViTEncoderConfig } from './vit-encoder.js';

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
    if (!Number.isInteger(classes) || classes < 1) throw new InvalidArgumentError('ViTClassifier', 'classes', `must be a positive integer, got ${String(classes)}`);
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
 * Builds a {@link ViTClassifier} from a safetensors file with metadata `geolip.model` = `vit` and `geolip.config` (the
 * encoder config as JSON), as `geolip-train run fmnist-vit` (`"model": "vit"`) and the glfm recipe's classifier
 * write. The class count comes from `classifier.weight`. Disposes the model if the weights do not load.
 * @throws {FormatError} If the bytes are not such a file (names the metadata key or the tensor).
 */
export function vitClassifierFromSafetensors(bytes: Uint8Array | ArrayBuffer): ViTClassifier {
  const op = 'vitClassifierFromSafetensors';
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) throw new InvalidArgumentError(op, 'bytes', 'must be a Uint8Array or an ArrayBuffer');
  let file;
  try {
    file = readSafetensors(bytes);
  } catch (cause) {
    throw new FormatError(op, 'bytes', `is not a safetensors file: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const meta = file.metadata ?? {};
  if (meta['geolip.model'] !== 'vit' || meta['geolip.config'] === undefined) {
    throw new FormatError(op, 'bytes', `is not a plain-ViT model file (metadata geolip.model = ${JSON.stringify(meta['geolip.model'])})`);
  }
  let config: ViTEncoderConfig;
  try {
    config = JSON.parse(meta['geolip.config']) as ViTEncoderConfig;
  } catch (cause) {
    throw new FormatError(op, 'bytes', "metadata 'geolip.config' is not JSON", { cause });
  }
  const weight = file.tensors['classifier.weight'];
  if (weight === undefined || weight.shape.length !== 2) throw new FormatError(op, 'bytes', "has no 2-D tensor 'classifier.weight'");
  const net = new ViTClassifier(config, weight.shape[0]!);
  try {
    net.loadSafetensorEntries(file.tensors);
  } catch (error) {
    net.dispose();
    throw error;
  }
  return net;
}
