// Forward AND gradient parity of the conv blocks against PyTorch (CPU float32).
// Fixture: test/fixtures/conv.safetensors, written by test/fixtures/gen_conv_fixtures.py on a machine
// with torch + safetensors (`python3 test/fixtures/gen_conv_fixtures.py --out test/fixtures`).
// Parameters are in PyTorch layout (loaded with loadStateDict); images were transposed to NHWC by the script.
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorClose } from '@geolip/geometry/testing';
import { describe, expect, it } from 'vitest';

import { blockGrads, buildBlock, disposeCase, loadCase, readConvFixture, runBlock } from './conv-fixture-helpers.js';

const FIXTURE = new URL('./fixtures/conv.safetensors', import.meta.url);
const fixture = readConvFixture(FIXTURE);
const configs = fixture?.configs ?? [];

describe.skipIf(fixture === null)('conv blocks vs PyTorch (conv.safetensors)', () => {
  it('records its provenance', () => {
    expect(fixture!.metadata.source).toMatch(/gen_conv_fixtures\.py/);
    expect(fixture!.metadata.torch).toBeDefined();
    expect(configs.length).toBeGreaterThanOrEqual(14);
  });

  it.each(configs.map(([name]) => name))('%s: same parameter names, forward and gradients match', (name) => {
    const c = loadCase(fixture!, name);
    const block = buildBlock(c.config);
    try {
      // strict: the PyTorch module has exactly our parameter names and (converted) shapes.
      block.loadStateDict(c.params);
      expect(
        block
          .namedParameters()
          .map(([n]) => n)
          .sort(),
      ).toEqual(Object.keys(c.params).sort());

      const y = runBlock(block, c.inputs);
      expect(y.shape).toEqual(c.output.shape);
      // Two float32 implementations with different summation orders.
      expectTensorClose(y, c.output, { atol: 1e-5, rtol: 1e-4 });
      y.dispose();

      const g = blockGrads(block, c.inputs, c.probe!);
      expect(Object.keys(g.inputs).sort()).toEqual(Object.keys(c.gradInputs).sort());
      expect(Object.keys(g.params).sort()).toEqual(Object.keys(c.gradParams).sort());
      const pairs: [string, tf.Tensor, tf.Tensor][] = [
        ...Object.entries(g.inputs).map(
          ([k, v]) => [`input ${k}`, v, c.gradInputs[k]!] as [string, tf.Tensor, tf.Tensor],
        ),
        ...Object.entries(g.params).map(
          ([k, v]) => [`param ${k}`, v, c.gradParams[k]!] as [string, tf.Tensor, tf.Tensor],
        ),
      ];
      for (const [label, actual, expected] of pairs) {
        // Gradients sum up to B·H·W = 128 float32 products: 3e-5 absolute (vs numpy float64 our own
        // error is < 1e-5 + 1e-5·|e|, see parity-conv-numpy.test.ts; PyTorch's adds as much again).
        try {
          expectTensorClose(actual, expected, { atol: 3e-5, rtol: 1e-4 });
        } catch (e) {
          throw new Error(`${name} ${label}: ${(e as Error).message}`);
        }
      }
      tf.dispose([...Object.values(g.inputs), ...Object.values(g.params)]);
    } finally {
      block.dispose();
      disposeCase(c);
    }
  });
});

if (fixture === null) {
  const message = `${FIXTURE.pathname} does not exist yet: PyTorch forward/gradient parity is NOT checked. Generate it on a machine with torch + safetensors: python3 test/fixtures/gen_conv_fixtures.py --out test/fixtures`;
  console.warn(`[parity-conv] ${message}`);
  it.skip(`SKIPPED: ${message}`, () => {});
}
