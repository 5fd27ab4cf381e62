/**
 * `@geolip/vision/testing`: small model configs for tests (of this package and of the packages and apps that build
 * vision models in theirs). Not for production code.
 */
import type { DualStreamViTConfig } from '../dual-stream/dual-stream-vit.js';

export { float32StateEntries } from './state-entries.js';

/**
 * A tiny {@link DualStreamViTConfig} for 28×28 gray images (16 patches of 7, widths 8 to 16, one dual and one fused
 * block, 6 anchors in 2 compartments): a new object each call, with `classes` classes (default 3).
 */
export function tinyDualStreamViTConfig(classes = 3): DualStreamViTConfig {
  return {
    imageSize: 28,
    patchSize: 7,
    channels: 1,
    embedDim: 16,
    streamDim: 8,
    heads: 2,
    dualBlocks: 1,
    crossBlocks: 0,
    fusedBlocks: 1,
    fusedDim: 12,
    outDim: 8,
    anchors: 6,
    compartments: 2,
    compartmentDim: 4,
    classifierHidden: 12,
    classes,
  };
}
