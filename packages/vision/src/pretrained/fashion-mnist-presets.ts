/**
 * Model presets at Fashion-MNIST's 28×28×1: the Dual-Stream ViT and the plain ViT of `geolip-train run fmnist-vit`,
 * and the small ViT classifier that scores the glfm recipe's samples.
 */
import { DUAL_STREAM_V1 } from '../dual-stream/dual-stream-vit.js';
import type { DualStreamViTConfig } from '../dual-stream/dual-stream-vit.js';
import type { ViTEncoderConfig } from '../models/vit-encoder.js';

/** The Dual-Stream ViT for 28×28×1 (the v1 topology at patch 4: 49 tokens). */
export const FMNIST_DUAL_STREAM: Readonly<DualStreamViTConfig> = Object.freeze({
  ...DUAL_STREAM_V1,
  imageSize: 28,
  channels: 1,
});

/** The plain ViT beside it: 8 pre-norm layers at 256 (close to the dual-stream's parameter count), 128-d output. */
export const FMNIST_PLAIN_VIT: Readonly<ViTEncoderConfig> = Object.freeze({
  imageSize: 28,
  patchSize: 4,
  channels: 1,
  dModel: 256,
  heads: 8,
  ffDim: 1024,
  layers: 8,
  outDim: 128,
} as ViTEncoderConfig);

/** A small ViT (2 layers at 64) for a quick Fashion-MNIST classifier (the glfm recipe's sample scorer) [INFER]. */
export const FMNIST_SMALL_VIT: Readonly<ViTEncoderConfig> = Object.freeze({
  imageSize: 28,
  patchSize: 4,
  channels: 1,
  dModel: 64,
  heads: 4,
  ffDim: 128,
  layers: 2,
  outDim: 64,
} as ViTEncoderConfig);
