// The tiled webgpu matmul's tile choice (hand-derived from the H100's 132 SMs; the WGSL itself is checked against cpu
// by tools/device/gpu-suite.mjs, on the GPU machine or lavapipe).
import { describe, expect, it } from 'vitest';

import { chooseMatMulTile } from '../src/kernels/webgpu/matmul.js';

describe('chooseMatMulTile', () => {
  it('128×128 when the output has at least 264 such tiles', () => {
    // 4096×1536: 32·12 = 384 tiles of 128.
    expect(chooseMatMulTile(1, 4096, 1536)).toBe(128);
    // 8192²: 4096 tiles.
    expect(chooseMatMulTile(1, 8192, 8192)).toBe(128);
  });

  it('64×64 when 128-tiles are too few but 64-tiles are at least 256', () => {
    // 4096×384: 32·3 = 96 tiles of 128, 64·6 = 384 of 64.
    expect(chooseMatMulTile(1, 4096, 384)).toBe(64);
    // batched: 4 × 512×512 = 4·16 = 64 tiles of 128, 4·64 = 256 of 64.
    expect(chooseMatMulTile(4, 512, 512)).toBe(64);
    expect(chooseMatMulTile(1, 1024, 1024)).toBe(64); // 64 tiles of 128, 256 of 64
  });

  it("tfjs's kernel (null) for small outputs and thin shapes", () => {
    expect(chooseMatMulTile(1, 512, 512)).toBeNull(); // 64 of 64
    expect(chooseMatMulTile(768, 32, 32)).toBeNull(); // attention scores: a side below 64
    expect(chooseMatMulTile(1, 100000, 48)).toBeNull();
  });

  it('honours a forced choice', () => {
    expect(chooseMatMulTile(1, 8, 8, '64')).toBe(64);
    expect(chooseMatMulTile(1, 8192, 8192, 'off')).toBeNull();
    expect(chooseMatMulTile(1, 8, 8, '128')).toBe(128);
  });
});
