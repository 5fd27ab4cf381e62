// The @example blocks of constellation.ts, patchwork.ts, losses.ts, anchor-init.ts and serialization.ts, run as written.
import * as tf from '@tensorflow/tfjs-core';
import { createRng, linalg } from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';
import { describe, expect, it } from 'vitest';

import { initializeAnchors } from '../src/anchor-init.js';
import { Constellation } from '../src/constellation.js';
import { anchorCV, anchorCVLoss, spreadLoss } from '../src/losses.js';
import { Patchwork } from '../src/patchwork.js';
import { loadConstellation, loadPatchwork, saveConstellation, savePatchwork } from '../src/serialization.js';

describe('doc examples', () => {
  it('Constellation class example', () => {
    const rng = createRng(0);
    const embeddings = tf.tensor2d(
      Float32Array.from({ length: 4 * 128 }, () => rng.normal()),
      [4, 128],
    );
    const c = new Constellation({ anchors: 64, dim: 128, seed: 1 });
    const tri = c.triangulate(embeddings);
    expect(tri.shape).toEqual([4, 64]);
    const p = new Patchwork({ anchors: 64, compartments: 8, compartmentDim: 64 });
    expect(p.apply(tri).shape).toEqual([4, 512]);
    expect(c.paramCount() + p.paramCount()).toBe(84_480);
    expect(p.paramCount()).toBe(76_288);
    c.dispose();
    p.dispose();
  });

  it('fromAnchors / triangulate / nearest / softAssign examples', () => {
    const c = Constellation.fromAnchors([
      [1, 0],
      [0, 1],
    ]);
    expectTensorClose(c.triangulate(tf.tensor2d([[1, 0]])), [[0, 1]], { atol: 0 });
    expectTensorClose(
      c.triangulate(
        tf.tensor2d([
          [1, 0],
          [3, 3],
        ]),
      ),
      [
        [0, 1],
        [0.2928932, 0.2928932],
      ],
      { atol: 1e-6 },
    );
    expect(Array.from(c.nearest(tf.tensor2d([[0.2, 0.9]])).dataSync())).toEqual([1]);
    expectTensorClose(c.softAssign(tf.tensor2d([[1, 0]]), { temperature: 1 }), [[0.7310586, 0.2689414]], {
      atol: 1e-6,
    });
    const { keep, anchorIds, tri } = c.triangulateWithDropout(tf.tensor2d([[1, 0]]), { training: true, dropout: 0.5 });
    expect(keep).toEqual(new Uint8Array([1, 1])); // K = 2: both always kept
    expect(Array.from(anchorIds)).toEqual([0, 1]);
    tri.dispose();
    c.dispose();
  });

  it('spreadLoss example', () => {
    expectTensorClose(
      spreadLoss(
        tf.tensor2d([
          [1, 0],
          [1, 0],
          [0, 1],
        ]),
      ),
      0.3333333,
      { atol: 1e-6 },
    );
  });

  it('anchorCV / anchorCVLoss examples', () => {
    const c = new Constellation({ anchors: 64, dim: 16, init: 'xavier' });
    const { cv } = anchorCV(c);
    expect(cv).toBeGreaterThan(0.12);
    expect(cv).toBeLessThan(0.28);
    const g = tf.variableGrads(() => anchorCVLoss(c, 0.2, { seed: 1 }), c.trainableVariables);
    expect(g.grads[c.anchors.name]!.shape).toEqual([64, 16]);
    c.dispose();
  });

  it('Patchwork.apply example', () => {
    const p = new Patchwork({ anchors: 8, compartments: 4, compartmentDim: 3 });
    expect(p.apply(tf.ones([2, 8]) as tf.Tensor2D).shape).toEqual([2, 12]);
    p.dispose();
  });

  it('initializeAnchors example', () => {
    const v = initializeAnchors(64, 128, { seed: 1 });
    expect(v.shape).toEqual([64, 128]);
    const s = linalg.matmulTransposeB(v, v);
    let max = -Infinity;
    let min = Infinity;
    for (let i = 0; i < 64; i++)
      for (let j = 0; j < 64; j++)
        if (i !== j) ((max = Math.max(max, s.get(i, j))), (min = Math.min(min, s.get(i, j))));
    expect(min).toBeGreaterThan(-0.11);
    expect(max).toBeLessThan(0.05);
  });

  it('save / load examples', () => {
    const c = new Constellation({ anchors: 8, dim: 4, seed: 2, repulsionSteps: 10 });
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    const copy = loadConstellation(saveConstellation(c));
    expect(copy.triangulate(x).arraySync()).toEqual(c.triangulate(x).arraySync());
    const p = new Patchwork({ anchors: 8, compartments: 2, compartmentDim: 4 });
    const tri = c.triangulate(x);
    expect(loadPatchwork(savePatchwork(p)).apply(tri).arraySync()).toEqual(p.apply(tri).arraySync());
  });
});
