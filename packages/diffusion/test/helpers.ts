// Tiny configurations shared by the tests (a few thousand parameters, fast on 2 cores).
import type { GlfmConfig, GlfmVariant } from '../src/index.js';
import { glfmPreset, validateGlfmConfig } from '../src/index.js';

/**
 * Card structure at toy widths: c1 = 4, c2 = 8, Cb = 32 (2 patches of 16 on S^15), 4 anchors per patch,
 * 28×28×1 unless overridden (overrides may set any image size divisible by 4, e.g. 8 for fast training tests).
 */
export function tinyConfig(variant: GlfmVariant, overrides: Partial<GlfmConfig> = {}): GlfmConfig {
  const base = glfmPreset(variant, {
    imageSize: 28,
    levelChannels: [4, 8],
    bottleneckChannels: 32,
    groups: 4,
    condDim: 8,
    timeDim: 8,
    anchorsPerPatch: 4,
    relayHidden: 8,
    generatorDim: 16,
    generatorBlocks: 2,
    numClasses: 3,
  });
  return validateGlfmConfig({ ...base, ...overrides });
}
