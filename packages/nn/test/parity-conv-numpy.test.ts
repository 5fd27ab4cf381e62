// Forward parity of the conv blocks against an independent numpy float64 reference
// (test/fixtures/gen_conv_numpy.py → test/fixtures/conv-numpy.safetensors; weights in PyTorch layout,
// images NHWC). Gradients are checked against PyTorch in parity-conv.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorClose } from '@geolip/geometry/testing';
import { describe, expect, it } from 'vitest';

import { blockGrads, buildBlock, disposeCase, loadCase, readConvFixture, runBlock } from './conv-fixture-helpers.js';

const fixture = readConvFixture(new URL('./fixtures/conv-numpy.safetensors', import.meta.url));

describe.skipIf(fixture === null)('conv blocks vs numpy float64 (conv-numpy.safetensors)', () => {
  const configs = fixture?.configs ?? [];
  const metadata = fixture?.metadata ?? {};

  it('has every case and its provenance', () => {
    expect(metadata.source).toMatch(/gen_conv_numpy\.py/);
    expect(configs.map(([name]) => name)).toEqual([
      'conv_k3_s1_p1',
      'conv_k3_s2_p1',
      'conv_k3_s2_p0',
      'conv_k3_same',
      'conv_k4_same',
      'conv_k1_nobias',
      'groupnorm',
      'resblock_add',
      'resblock_scale_shift',
      'resblock_nocond',
      'downsample',
      'upsample',
      'time_embedding',
      'class_embedding',
    ]);
  });

  it.each(configs.map(([name]) => name))(
    '%s gradients match finite differences at sampled coordinates (atol 1e-5, rtol 1e-4)',
    (name) => {
      const c = loadCase(fixture!, name);
      const block = buildBlock(c.config);
      try {
        block.loadStateDict(c.params);
        const g = blockGrads(block, c.inputs, c.probe!);
        const all = {
          ...Object.fromEntries(Object.entries(g.inputs).map(([k, v]) => [`input/${k}`, v])),
          ...Object.fromEntries(Object.entries(g.params).map(([k, v]) => [`param/${k}`, v])),
        };
        // Every float input and every parameter has a finite-difference sample, and nothing else does.
        expect(Object.keys(all).sort()).toEqual(Object.keys(c.fdGrads).sort());
        for (const [key, { index, value }] of Object.entries(c.fdGrads)) {
          const data = all[key]!.dataSync();
          const picked = Array.from(index, (i) => data[i]!);
          // float32 backprop vs float64 central differences (error ~1e-9). Observed: everything within
          // 1e-5 + 1e-5·|e| except dL/dt of the time embedding (|e| ≈ 320 because t is scaled by 1000;
          // relative error 2e-5).
          try {
            expectTensorClose(picked, Array.from(value), { atol: 1e-5, rtol: 1e-4 });
          } catch (e) {
            throw new Error(`${name} ${key}: ${(e as Error).message}`);
          }
        }
        tf.dispose([...Object.values(g.inputs), ...Object.values(g.params)]);
      } finally {
        block.dispose();
        disposeCase(c);
      }
    },
  );

  it.each(configs.map(([name]) => name))('%s forward matches (atol 1e-5, rtol 1e-4)', (name) => {
    const c = loadCase(fixture!, name);
    const block = buildBlock(c.config);
    try {
      block.loadStateDict(c.params);
      const y = runBlock(block, c.inputs);
      expect(y.shape).toEqual(c.output.shape);
      // float32 forward vs float64 reference on float32-exact weights and inputs. Observed worst |diff|
      // (cpu and wasm): < 1e-6 + 1e-4·|e| everywhere except time_embedding, 1.5e-6 (sin/cos of
      // arguments up to 987 rad, whose float32 rounding is ~3e-5 rad).
      expectTensorClose(y, c.output, { atol: 1e-5, rtol: 1e-4 });
      y.dispose();
    } finally {
      block.dispose();
      disposeCase(c);
    }
  });
});

it.runIf(fixture === null)('conv-numpy.safetensors is missing: run python3 test/fixtures/gen_conv_numpy.py', () => {
  expect(tf.getBackend()).toBeDefined();
});
