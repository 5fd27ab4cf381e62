import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, sampleSphere } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { ArbitrationTower } from '../src/arbitration-tower.js';

const unitRows = (n: number, d: number, seed: number): Float32Array =>
  Float32Array.from(sampleSphere(n, d, { seed }).dataSync());
const t2 = (a: Float32Array, n: number, d: number) => tf.tensor2d(a, [n, d]);
const norm = (t: tf.Tensor | undefined) => (t ? tf.norm(t).dataSync()[0]! : 0);

describe('ArbitrationTower', () => {
  it('doc example: the constellation starts from 0', () => {
    const tower = new ArbitrationTower({ experts: [8, 8], dim: 8, hidden: 16, classes: 3 }, { seed: 1 });
    expect(tower.activeAnchors).toBe(0);
    expect(Array.from(tower.constellation.anchors.dataSync()).every((v) => v === 0)).toBe(true);
  });

  it('starts with identity maps, unit embeddings, a gate on the simplex and fixed logits for zero anchors', () => {
    const tower = new ArbitrationTower({ experts: [6, 4], dim: 4, hidden: 8, classes: 3 }, { seed: 2 });
    const e0 = t2(unitRows(5, 6, 1), 5, 6);
    const e1 = t2(unitRows(5, 4, 2), 5, 4);
    const out = tower.forward([e0, e1]);
    // identity map of a wider expert = its first 4 columns, normalized
    const first4 = tf.slice(e0, [0, 0], [5, 4]);
    const expected = tf.div(first4, tf.norm(first4, 'euclidean', 1, true));
    expect(Math.max(...tf.abs(tf.sub(out.aligned[0]!, expected)).dataSync())).toBeLessThan(1e-6);
    expect(Math.max(...tf.abs(tf.sub(out.aligned[1]!, e1)).dataSync())).toBeLessThan(1e-6);
    tf.sum(out.gate, 1)
      .dataSync()
      .forEach((s) => expect(s).toBeCloseTo(1, 6));
    tf.norm(out.emb, 'euclidean', 1)
      .dataSync()
      .forEach((s) => expect(s).toBeCloseTo(1, 5));
    expect(Array.from(out.logits.dataSync()).every((v) => v === -30)).toBe(true);
  });

  it("fills anchors from the queue's class means once, then keeps them ('zero')", async () => {
    const tower = new ArbitrationTower({ experts: [3], dim: 3, hidden: 4, classes: 3 });
    const emb = [1, 0, 0, 3, 0, 0, 0, 2, 0];
    expect(tower.fillAnchors(emb, [0, 0, 1], 2)).toBe(1); // class 1 has 1 row < 2
    expect(tower.activeAnchors).toBe(1);
    expect(Array.from(tower.constellation.anchors.dataSync()).slice(0, 3)).toEqual([1, 0, 0]);
    expect(tower.fillAnchors([0, 1, 0, 0, 1, 0, 0, 1, 0], [0, 1, 1], 2)).toBe(1); // class 0 is already active
    expect(Array.from(tower.constellation.anchors.dataSync())).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(tower.activeMask()).toEqual(Uint8Array.from([1, 1, 0]));
    // After loading the weights elsewhere, syncActive reads the mask back from the anchors.
    const copy = new ArbitrationTower({ experts: [3], dim: 3, hidden: 4, classes: 3 });
    copy.loadStateDict(tower.stateDict());
    expect(await copy.syncActive()).toBe(2);
    // The maps travel the same way (a checkpoint's extra state).
    const maps = await tower.alignment();
    expect(maps[0]!.linear).toEqual(Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]));
    copy.setAlignment(0, Float32Array.from([0, 1, 0, 1, 0, 0, 0, 0, 1]), [0, 0, 0]);
    expect(Array.from((await copy.alignment())[0]!.linear)).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 1]);
    const out = tower.forward([tf.tensor2d([[0, 1, 0]])]);
    const l = out.logits.dataSync();
    expect(l[1]).toBeCloseTo(tf.sum(tf.mul(out.emb, tf.tensor2d([[0, 1, 0]]))).dataSync()[0]! / 0.1, 4);
    expect(l[2]).toBe(-30);
  });

  it("'zero-running' resets active anchors at every fill; 'random' starts with all anchors active", () => {
    const running = new ArbitrationTower({ experts: [2], dim: 2, hidden: 4, classes: 2, anchorInit: 'zero-running' });
    running.fillAnchors([1, 0, 0, 1], [0, 1]);
    expect(running.fillAnchors([0, 1, 1, 0], [0, 1])).toBe(2);
    expect(Array.from(running.constellation.anchors.dataSync())).toEqual([0, 1, 1, 0]);
    expect(running.anchorsTrainable).toBe(false);
    const random = new ArbitrationTower({ experts: [2], dim: 2, hidden: 4, classes: 2, anchorInit: 'random' });
    expect(random.activeAnchors).toBe(2);
    expect(random.fillAnchors([1, 0], [0])).toBe(0);
  });

  it('sends the gradients of its own outputs to the tower only (detach), and guidance to the experts only', () => {
    const tower = new ArbitrationTower({ experts: [4, 4], dim: 4, hidden: 8, classes: 2 }, { seed: 3 });
    tower.fillAnchors([1, 0, 0, 0, 0, 1, 0, 0], [0, 1]);
    const e0 = tf.variable(t2(unitRows(6, 4, 4), 6, 4));
    const e1 = tf.variable(t2(unitRows(6, 4, 5), 6, 4));
    const experts = [e0, e1] as unknown as tf.Tensor2D[];
    const towerVars = Object.values(tower.getWeights());
    const all = [...towerVars, e0, e1];
    const own = tf.variableGrads(() => tf.sum(tower.forward(experts).logits) as tf.Scalar, all);
    expect(norm(own.grads[e0.name])).toBe(0);
    expect(norm(own.grads[e1.name])).toBe(0);
    expect(norm(own.grads[tower.constellation.anchors.name])).toBeGreaterThan(0);
    for (const key of ['gate.weight', 'mix_in.weight', 'mix_out.weight'])
      expect(norm(own.grads[tower.getWeights()[key]!.name])).toBeGreaterThan(0);
    const target = tower.forward(experts).emb;
    const guide = tf.variableGrads(() => tower.guidanceLoss(experts, target), all);
    expect(norm(guide.grads[e0.name])).toBeGreaterThan(0);
    expect(norm(guide.grads[e1.name])).toBeGreaterThan(0);
    for (const v of towerVars) expect(norm(guide.grads[v.name])).toBe(0);
  });

  it('gives a zero anchor no gradient while it is inactive', () => {
    const tower = new ArbitrationTower({ experts: [3], dim: 3, hidden: 4, classes: 3 });
    tower.fillAnchors([1, 0, 0], [0]);
    const x = tf.tensor2d([[0.2, 0.9, 0.1]]);
    const { grads } = tf.variableGrads(
      () => tf.sum(tower.forward([x]).logits) as tf.Scalar,
      [tower.constellation.anchors],
    );
    const g = grads[tower.constellation.anchors.name]!.dataSync();
    expect(Math.abs(g[0]!) + Math.abs(g[1]!) + Math.abs(g[2]!)).toBeGreaterThan(0);
    expect(Array.from(g.slice(3)).every((v) => v === 0)).toBe(true);
  });

  it('refits each expert onto the target frame: a rotated copy aligns back with cosine ≈ 1', async () => {
    const n = 200;
    const d = 4;
    const target = unitRows(n, d, 6);
    // expert 1 = target rotated by a fixed orthogonal matrix (a permutation with a sign)
    const rotated = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      rotated[i * d + 0] = target[i * d + 2]!;
      rotated[i * d + 1] = -target[i * d + 0]!;
      rotated[i * d + 2] = target[i * d + 3]!;
      rotated[i * d + 3] = target[i * d + 1]!;
    }
    const tower = new ArbitrationTower({ experts: [d, d], dim: d, hidden: 4, classes: 2 });
    const { cosines } = tower.refit([target, rotated], target);
    expect(cosines[0]).toBeGreaterThan(0.999);
    expect(cosines[1]).toBeGreaterThan(0.999);
    const a = tower.align([t2(target, n, d), t2(rotated, n, d)]);
    // Refitting only expert 1 leaves expert 0's map as it is (here: the identity of a fresh tower).
    const fresh = new ArbitrationTower({ experts: [d, d], dim: d, hidden: 4, classes: 2 });
    const partial = fresh.refit([target, rotated], target, { only: [1] });
    expect(partial.cosines[0]).toBeNaN();
    expect(partial.cosines[1]).toBeGreaterThan(0.999);
    expect(Array.from((await fresh.alignment())[0]!.linear)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    expect(tf.mean(tf.sum(tf.mul(a[1]!, t2(target, n, d)), 1)).dataSync()[0]).toBeGreaterThan(0.999);
  });

  it('round-trips through toConfig / fromConfig and its state dict (maps, anchors and the active mask)', async () => {
    const tower = new ArbitrationTower({ experts: [4, 4], dim: 4, hidden: 8, classes: 3 }, { seed: 5 });
    const rows = unitRows(40, 4, 9);
    tower.refit([rows, rows], unitRows(40, 4, 10));
    tower.fillAnchors([1, 0, 0, 0, 0, 0, 1, 0], [0, 2]);
    const copy = ArbitrationTower.fromConfig(JSON.parse(JSON.stringify(tower.toConfig())));
    expect(copy.activeAnchors).toBe(2);
    copy.loadStateDict(tower.stateDict());
    const x = [t2(unitRows(3, 4, 11), 3, 4), t2(unitRows(3, 4, 12), 3, 4)];
    expect(Array.from(copy.forward(x).logits.dataSync())).toEqual(Array.from(tower.forward(x).logits.dataSync()));
    expect(() => ArbitrationTower.fromConfig(null)).toThrow(/ArbitrationTower\.fromConfig: 'config'/);
  });

  it('rejects bad configs and inputs by name', () => {
    expect(() => new ArbitrationTower({ experts: [2], dim: 4, hidden: 4, classes: 2 })).toThrow(
      /ArbitrationTower: 'config\.experts\[0\]'/,
    );
    expect(
      () => new ArbitrationTower({ experts: [4], dim: 4, hidden: 4, classes: 2, anchorInit: 'ones' as 'zero' }),
    ).toThrow(/'config\.anchorInit'/);
    const tower = new ArbitrationTower({ experts: [4, 4], dim: 4, hidden: 4, classes: 2 });
    expect(() => tower.forward([tf.zeros([2, 4]) as tf.Tensor2D])).toThrow(ShapeError);
    expect(() => tower.forward([tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([3, 4]) as tf.Tensor2D])).toThrow(
      /ArbitrationTower\.forward: 'experts\[1\]'/,
    );
    expect(() => tower.fillAnchors([1, 0, 0, 0], [5])).toThrow(/'labels'/);
  });
});
