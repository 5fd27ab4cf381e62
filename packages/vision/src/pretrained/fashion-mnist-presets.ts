/**
 * Model presets at Fashion-MNIST's 28×28×1: the Dual-Stream ViTs (the card's v1, v5, v5-bidir and v6 topologies) and
 * the plain ViT of `geolip-train run fmnist-vit`, and the small ViT classifier that scores the glfm recipe's samples.
 * Every dual-stream preset is the card's CIFAR preset with imageSize 28 and one channel, patch 4 → 49 tokens [INFER:
 * the card trains on CIFAR-10 only].
 */
import {
  DUAL_STREAM_V1,
  DUAL_STREAM_V5,
  DUAL_STREAM_V5_BIDIR,
  DUAL_STREAM_V6,
} from '../dual-stream/dual-stream-vit.js';
import type { DualStreamViTConfig } from '../dual-stream/dual-stream-vit.js';
import type { ViTEncoderConfig } from '../models/vit-encoder.js';

const FMNIST_INPUT = { imageSize: 28, channels: 1 } as const;

/** The Dual-Stream ViT for 28×28×1 (the v1 topology at patch 4: 49 tokens), 6,369,808 parameters. */
export const FMNIST_DUAL_STREAM: Readonly<DualStreamViTConfig> = Object.freeze({ ...DUAL_STREAM_V1, ...FMNIST_INPUT });

/** v5 at 28×28×1: the v1 topology with anchor dropout 0.10, 6,369,808 parameters. */
export const FMNIST_DUAL_STREAM_V5: Readonly<DualStreamViTConfig> = Object.freeze({
  ...DUAL_STREAM_V5,
  ...FMNIST_INPUT,
});

/** v5-bidir at 28×28×1: 2 dual + 4 cross blocks, no fusion, the v1–v5 head; 7,851,280 parameters. */
export const FMNIST_DUAL_STREAM_V5_BIDIR: Readonly<DualStreamViTConfig> = Object.freeze({
  ...DUAL_STREAM_V5_BIDIR,
  ...FMNIST_INPUT,
});

/** v6 at 28×28×1: 3 dual + 6 cross blocks, 256-d embeddings, 128 anchors, patchwork 16 × 128; 14,223,822 parameters. */
export const FMNIST_DUAL_STREAM_V6: Readonly<DualStreamViTConfig> = Object.freeze({
  ...DUAL_STREAM_V6,
  ...FMNIST_INPUT,
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
