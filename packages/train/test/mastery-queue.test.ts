import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { MasteryQueue } from '../src/mastery-queue.js';

const val = (t: tf.Tensor): number => t.dataSync()[0]!;

describe('MasteryQueue activation and margin', () => {
  it('doc example', () => {
    const q = new MasteryQueue({ patience: 2, capacity: 4 });
    q.update({ accuracy: 1 });
    expect(q.update({ accuracy: 1 }).activated).toBe(true);
  });

  it('activates on the step the streak reaches patience (defaults: acc == 1.0, 50 steps)', () => {
    const q = new MasteryQueue();
    // steps 1–30 perfect, step 31 breaks (0.99), steps 32–81 perfect: the streak reaches 50 at step 81.
    const script = [...Array(30).fill(1), 0.99, ...Array(60).fill(1)];
    let activatedAt = -1;
    script.forEach((acc, i) => {
      const r = q.update({ accuracy: acc });
      if (r.activated) activatedAt = i + 1;
      if (i + 1 === 31) expect(r.streak).toBe(0);
    });
    expect(activatedAt).toBe(81);
    expect(q.activationStep).toBe(81);
    expect(q.active).toBe(true);
    // It stays on after a bad step.
    expect(q.update({ accuracy: 0 }).active).toBe(true);
  });

  it('ramps the margin 0.1 → 0.3 over 5000 steps after activation', () => {
    const q = new MasteryQueue({ patience: 1 });
    expect(q.margin).toBeCloseTo(0.1, 12);
    expect(q.update({ accuracy: 1 }).margin).toBeCloseTo(0.1, 12); // activation step: stepsSinceActive = 0
    for (let i = 0; i < 2500; i++) q.update({ accuracy: 0.5 });
    expect(q.margin).toBeCloseTo(0.1 + 0.2 * 0.5, 12); // 2500/5000
    for (let i = 0; i < 4000; i++) q.update({ accuracy: 0.5 });
    expect(q.margin).toBeCloseTo(0.3, 12); // clamped
  });
});

describe('MasteryQueue adaptive size', () => {
  it('grows and shrinks on Δgap with a 5-epoch cooldown (policy a)', () => {
    const q = new MasteryQueue({ patience: 1 });
    // Epoch 1 before activation: gap recorded (5.0), no resize.
    expect(q.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.85 })).toBeNull();
    q.update({ accuracy: 1 }); // activates
    // Epoch 2: gap 8.2 → Δ = +3.2 > 3 → grow 4096 → 6144, cooldown 5.
    const grow = q.endEpoch({ trainAccuracy: 0.932, valAccuracy: 0.85 })!;
    expect(grow.from).toBe(4096);
    expect(grow.to).toBe(6144);
    expect(grow.message).toBe('Queue 4096→6144 (gap 5.0→8.2, Δ=+3.2)');
    expect(q.cooldown).toBe(5);
    // Epochs 3–7: large swings, but cooldown blocks every resize.
    const swings = [0.99, 0.85, 0.99, 0.85, 0.99];
    for (const t of swings) expect(q.endEpoch({ trainAccuracy: t, valAccuracy: 0.85 })).toBeNull();
    expect(q.cooldown).toBe(0);
    expect(q.capacity).toBe(6144);
    // Epoch 8: gap 14 → 0 (Δ = −14) → shrink to 4096.
    const shrink = q.endEpoch({ trainAccuracy: 0.85, valAccuracy: 0.85 })!;
    expect([shrink.from, shrink.to, shrink.epoch]).toEqual([6144, 4096, 8]);
    expect(shrink.delta).toBeCloseTo(-14, 6);
    // Small changes (|Δ| ≤ 3) after the cooldown never resize.
    for (let i = 0; i < 5; i++) q.endEpoch({ trainAccuracy: 0.85, valAccuracy: 0.85 });
    expect(q.endEpoch({ trainAccuracy: 0.87, valAccuracy: 0.85 })).toBeNull();
    expect(q.capacity).toBe(4096);
    expect(q.resizes.length).toBe(2);
  });

  it('clamps to [1024, 16384] and does not resize before activation', () => {
    const q = new MasteryQueue({ patience: 1, capacity: 16384, cooldownEpochs: 0 });
    q.endEpoch({ trainAccuracy: 0.5, valAccuracy: 0.5 });
    expect(q.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.5 })).toBeNull(); // inactive
    q.update({ accuracy: 1 });
    q.endEpoch({ trainAccuracy: 0.5, valAccuracy: 0.5 }); // Δ = −40 → 14336
    expect(q.capacity).toBe(14336);
    expect(q.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.5 })!.to).toBe(16384); // +40
    expect(q.endEpoch({ trainAccuracy: 1, valAccuracy: 0.5 })).toBeNull(); // already at max
    const small = new MasteryQueue({ patience: 1, capacity: 2048, cooldownEpochs: 0 });
    small.update({ accuracy: 1 });
    small.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.5 });
    expect(small.endEpoch({ trainAccuracy: 0.5, valAccuracy: 0.5 })!.to).toBe(1024);
  });

  it("'absolute' policy: gap > 9 grows, gap < 3 shrinks", () => {
    const q = new MasteryQueue({ patience: 1, resizePolicy: 'absolute', cooldownEpochs: 1 });
    q.update({ accuracy: 1 });
    expect(q.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.8 })!.to).toBe(6144); // gap 10
    expect(q.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.8 })).toBeNull(); // cooldown 1
    expect(q.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.85 })).toBeNull(); // gap 5: in band
    expect(q.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.89 })!.to).toBe(4096); // gap 1
  });

  it('one hand-made gap sequence under both policies (activation rule: 50 steps of nce_acc == 1.0)', () => {
    // The gap train − val in points at each epoch end (no change lands on a threshold: float rounding).
    const gaps = [5, 6, 10, 12, 4, 5, 2.5, 2, 6, 6, 8.5, 9.5, 9.5, 9.5, 9.5];
    const run = (policy: 'delta' | 'absolute') => {
      const q = new MasteryQueue({ resizePolicy: policy, cooldownEpochs: 1 });
      // 49 steps at 1.0, one at 0.99 (resets), then 50 at 1.0: active on the 100th step.
      for (let i = 0; i < 100; i++) q.update({ accuracy: i === 49 ? 0.99 : 1 });
      expect([q.active, q.activationStep]).toEqual([true, 100]);
      const log: string[] = [];
      for (const g of gaps) {
        const r = q.endEpoch({ trainAccuracy: 0.5 + g / 100, valAccuracy: 0.5 });
        log.push(r ? `${r.from}→${r.to} ${r.reason}` : '·');
      }
      return log;
    };
    // (a) Δ: —, +1, +4 grow, (cooldown), −8 shrink, (cooldown), −2.5, −0.5, +4 grow, (cooldown), +2.5, +1, 0, 0, 0.
    expect(run('delta')).toEqual([
      '·',
      '·',
      '4096→6144 delta',
      '·',
      '6144→4096 delta',
      '·',
      '·',
      '·',
      '4096→6144 delta',
      '·',
      '·',
      '·',
      '·',
      '·',
      '·',
    ]);
    // (b) 5, 6 in [3, 9] (no drift before 5 earlier gaps); 10 > 9 grow; (cooldown); 4: no drift yet; 5: drift
    //     5 − 5 = 0; 2.5 < 3 shrink; (cooldown); 6: drift 6 − 12 = −6 < −3 shrink; (cooldown); 8.5: drift 8.5 − 5
    //     = +3.5 > 3 grow; (cooldown); 9.5 > 9 grow; (cooldown); 9.5 grow.
    expect(run('absolute')).toEqual([
      '·',
      '·',
      '4096→6144 gap',
      '·',
      '·',
      '·',
      '6144→4096 gap',
      '·',
      '4096→2048 drift',
      '·',
      '2048→4096 drift',
      '·',
      '4096→6144 gap',
      '·',
      '6144→8192 gap',
    ]);
  });

  it("'absolute' drift: the message names the window; its state round-trips the gap history", () => {
    const q = new MasteryQueue({ patience: 1, resizePolicy: 'absolute', driftWindow: 2, cooldownEpochs: 0 });
    q.update({ accuracy: 1 });
    for (const g of [3.5, 4]) expect(q.endEpoch({ trainAccuracy: 0.5 + g / 100, valAccuracy: 0.5 })).toBeNull();
    const copy = MasteryQueue.fromState(JSON.parse(JSON.stringify(q.state())));
    for (const x of [q, copy]) {
      const r = x.endEpoch({ trainAccuracy: 0.5 + 8 / 100, valAccuracy: 0.5 })!; // drift 8 − 3.5 = +4.5 over 2
      expect(r.message).toBe('Queue 4096→6144 (gap 4.0→8.0, Δ=+4.0, drift +4.5 over 2 epochs)');
    }
    expect(copy.state()).toEqual(q.state());
    // A state written before the gap history existed still loads (its history starts at lastGap).
    const { gaps: _gaps, ...old } = q.state();
    const gapsNow = MasteryQueue.fromState(old).state().gaps!;
    expect(gapsNow.length).toBe(1);
    expect(gapsNow[0]).toBeCloseTo(8, 10);
    expect(() => MasteryQueue.fromState({ ...q.state(), gaps: [1, NaN] })).toThrow(/'state\.gaps'/);
  });

  it('shrinking drops the oldest entries; enqueue is FIFO', () => {
    const q = new MasteryQueue({ capacity: 3, minCapacity: 1, resizeStep: 1, patience: 1, cooldownEpochs: 0 });
    q.enqueue(
      tf.tensor2d([
        [1, 0],
        [0, 2],
        [3, 0],
        [0, 4],
      ]),
      [0, 1, 2, 3],
    );
    expect(q.size).toBe(3);
    expect(q.state().labels).toEqual([1, 2, 3]);
    expect(q.state().embeddings).toEqual([0, 1, 1, 0, 0, 1]); // normalized rows
    q.update({ accuracy: 1 });
    expect(q.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.5 })).toBeNull(); // first gap (40): no Δ yet
    q.endEpoch({ trainAccuracy: 0.5, valAccuracy: 0.5 }); // Δ = −40 → shrink 3 → 2
    expect(q.capacity).toBe(2);
    expect(q.state().labels).toEqual([2, 3]);
  });
});

describe('MasteryQueue loss', () => {
  it('is zero while inactive, then hand-computed hard negatives/positives', () => {
    const q = new MasteryQueue({ patience: 1 });
    // Queue: class 0 at [1,0] and [0.6,0.8]; class 1 at [0,1] and [0.8,0.6].
    q.enqueue(
      tf.tensor2d([
        [1, 0],
        [0.6, 0.8],
        [0, 1],
        [0.8, 0.6],
      ]),
      [0, 0, 1, 1],
    );
    const e = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    expect(val(q.loss(e, [0, 1, 0]).loss)).toBe(0);
    q.update({ accuracy: 1 });
    const r = q.loss(e, [0, 1, 7]);
    // Row 0 ([1,0], class 0): neg max(0, 0.8) = 0.8; pos min(1, 0.6) = 0.6 → ReLU(0.8 − 0.6 + 0.1) = 0.3.
    // Row 1 ([0,1], class 1): neg max(0, 0.8) = 0.8; pos min(1, 0.6) = 0.6 → 0.3.
    // Row 2 (class 7): no positive → skipped. L = 0.3, hard_neg 0.8, hard_pos 0.6, gap 0.2.
    expect(r.counted).toBe(2);
    expect(val(r.loss)).toBeCloseTo(0.3, 5);
    expect(val(r.hardNegative)).toBeCloseTo(0.8, 5);
    expect(val(r.hardPositive)).toBeCloseTo(0.6, 5);
    expect(val(r.gap)).toBeCloseTo(0.2, 5);
    // Margin 0, row 2 = [1,1]/√2 of class 0: cosines 1/√2, 1.4/√2 (class 0) and 1/√2, 1.4/√2 (class 1):
    // neg 1.4/√2, pos 1/√2 → 0.4/√2. L = (0.2 + 0.2 + 0.4/√2)/3.
    expect(val(q.loss(e, [0, 1, 0], { margin: 0 }).loss)).toBeCloseTo((0.4 + 0.4 / Math.SQRT2) / 3, 5);
  });

  it('has finite gradients', () => {
    const q = new MasteryQueue({ patience: 1 });
    q.update({ accuracy: 1 });
    q.enqueue(
      tf.randomNormal([16, 4], 0, 1, 'float32', 1) as tf.Tensor2D,
      Array.from({ length: 16 }, (_, i) => i % 3),
    );
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const g = tf.grad((z) => q.loss(z as tf.Tensor2D, [0, 1, 2, 0, 1, 2], { margin: 2 }).loss)(x);
    const data = g.dataSync();
    expect(Array.from(data).every(Number.isFinite)).toBe(true);
    expect(Array.from(data).some((v) => v !== 0)).toBe(true);
  });

  it('rejects bad input', () => {
    const q = new MasteryQueue();
    q.enqueue(tf.zeros([2, 3]), [0, 1]);
    expect(() => q.enqueue(tf.zeros([2, 4]), [0, 1])).toThrow(
      "MasteryQueue.enqueue: 'embeddings' must have shape [B, D=3], got [2, 4]",
    );
    expect(() => q.loss(tf.zeros([2, 3]), [0])).toThrow(ShapeError);
    expect(() => q.update({ accuracy: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new MasteryQueue({ patience: 0 })).toThrow(InvalidArgumentError);
    expect(() => new MasteryQueue({ resizePolicy: 'x' as 'delta' })).toThrow(InvalidArgumentError);
  });
});

describe('MasteryQueue state', () => {
  it('round-trips through JSON and continues identically', () => {
    const a = new MasteryQueue({ patience: 3, cooldownEpochs: 2 });
    for (const acc of [1, 1, 0, 1, 1, 1, 1]) a.update({ accuracy: acc });
    a.enqueue(
      tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      [0, 1, 0],
    );
    a.endEpoch({ trainAccuracy: 0.8, valAccuracy: 0.8 });
    a.endEpoch({ trainAccuracy: 0.9, valAccuracy: 0.8 }); // Δ = +10 → grow
    const json = JSON.stringify(a.state());
    const b = MasteryQueue.fromState(JSON.parse(json));
    expect(b.state()).toEqual(a.state());
    expect(b.activationStep).toBe(6);
    expect(b.capacity).toBe(6144);
    expect(b.cooldown).toBe(2);
    for (const q of [a, b]) {
      q.update({ accuracy: 0.3 });
      q.endEpoch({ trainAccuracy: 0.8, valAccuracy: 0.8 });
    }
    expect(b.state()).toEqual(a.state());
    expect(() => MasteryQueue.fromState({ ...a.state(), embeddings: [1] })).toThrow(InvalidArgumentError);
  });
});

describe('MasteryQueue.loss while inactive', () => {
  it('is exactly 0 with a zero gradient, even for a batch holding NaN', () => {
    const q = new MasteryQueue({ patience: 2 });
    const emb = tf.tensor2d([
      [1, 0],
      [NaN, 1],
    ]);
    const r = q.loss(emb, [0, 1]);
    expect(r.loss.dataSync()[0]).toBe(0);
    const g = tf.grad((x: tf.Tensor) => q.loss(x as tf.Tensor2D, [0, 1]).loss)(
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
    );
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0]);
  });
});
