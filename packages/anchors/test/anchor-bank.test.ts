import * as tf from '@tensorflow/tfjs-core';
import {
  FormatError,
  GeolipError,
  InvalidArgumentError,
  Matrix,
  ShapeError,
  createRng,
  linalg,
  normalize,
  pentachoronCV,
  procrustes,
} from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';
import { readSafetensors, type SafetensorEntry, writeSafetensors } from '@geolip/io';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { AnchorBank, type AnchorBankConfig } from '../src/anchor-bank.js';

const SMALL = { inputDim: 32, bankDim: 8, experts: 3, anchors: 16 } as const;

function randomTensor(rows: number, cols: number, seed: number): tf.Tensor2D {
  const rng = createRng(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return tf.tensor2d(data, [rows, cols]);
}

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = createRng(seed);
  const m = new Matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

function randomOrthogonal(n: number, seed: number): Matrix {
  return linalg.qr(randomMatrix(n, n, seed)).q;
}

/** expectTensorClose on a tensor made for the comparison, which is then disposed. */
function expectFresh(
  actual: () => tf.Tensor,
  expected: Parameters<typeof expectTensorClose>[1],
  options: Parameters<typeof expectTensorClose>[2],
): void {
  const tensor = tf.tidy(actual);
  try {
    expectTensorClose(tensor, expected, options);
  } finally {
    tensor.dispose();
  }
}

function assignAndDispose(variable: tf.Variable, make: () => tf.Tensor): void {
  const v = tf.tidy(make);
  variable.assign(v);
  v.dispose();
}

function value(x: tf.Tensor): number {
  return x.dataSync()[0]!;
}

let banks: AnchorBank[] = [];
function bank(config: AnchorBankConfig = {}): AnchorBank {
  const b = new AnchorBank({ ...SMALL, seed: 1, ...config });
  banks.push(b);
  return b;
}

let startTensors = 0;
beforeEach(() => {
  banks = [];
  startTensors = tf.memory().numTensors;
});
afterEach(() => {
  for (const b of banks) b.dispose();
  // Every test disposes what it creates: nothing may leak.
  expect(tf.memory().numTensors).toBe(startTensors);
});

describe('AnchorBank: forward', () => {
  it('appends a 128-d feature to a 768-d input at the defaults (896 wide)', () => {
    const b = new AnchorBank();
    banks.push(b);
    expect(b.config).toMatchObject({
      inputDim: 768,
      bankDim: 128,
      experts: 5,
      anchors: 512,
      cvTarget: 0.082,
      feature: 'projection',
    });
    expect(b.paramCount()).toBe(768 * 128 + 128 + 5 * 128 * 128 + 512 * 128);
    expect(b.paramCount()).toBe(245_888);
    const s = randomTensor(2, 768, 3);
    const out = b.apply(s);
    expect(out.z.shape).toEqual([2, 128]);
    expect(out.feature.shape).toEqual([2, 128]);
    expect(out.output.shape).toEqual([2, 896]);
    expect(out.triangulation.shape).toEqual([2, 512]);
    tf.dispose([s, out]);
  });

  it('projects onto the unit sphere and triangulates as 1 − z·Âᵀ', () => {
    const b = bank();
    const s = randomTensor(5, 32, 2);
    const out = b.apply(s);
    expectFresh(() => tf.norm(out.z, 'euclidean', 1), [1, 1, 1, 1, 1], { atol: 1e-5 });
    expectTensorClose(out.feature, out.z, { atol: 0, rtol: 0 });
    const expected = tf.tidy(() => {
      const w = b.getWeights();
      const z = normalize(tf.add(tf.matMul(s, w['projection.weight']!, false, true), w['projection.bias']!));
      return { z, tri: tf.sub(1, tf.matMul(z, normalize(w.anchors!), false, true)) };
    });
    expectTensorClose(out.z, expected.z, { atol: 1e-6 });
    expectTensorClose(out.triangulation, expected.tri, { atol: 1e-6 });
    const tri = out.triangulation.dataSync();
    expect(Math.min(...tri)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...tri)).toBeLessThanOrEqual(2);
    expectFresh(() => tf.slice(out.output, [0, 0], [5, 32]), s, { atol: 0, rtol: 0 });
    expectFresh(() => tf.slice(out.output, [0, 32], [5, 8]), out.feature, { atol: 0, rtol: 0 });
    tf.dispose([s, out, expected]);
  });

  it("feature 'triangulation' is a unit Linear(K → D) summary of tri, with its own parameters", () => {
    const b = bank({ feature: 'triangulation' });
    expect(b.paramCount()).toBe(32 * 8 + 8 + 3 * 64 + 16 * 8 + 16 * 8 + 8);
    expect(Object.keys(b.getWeights())).toEqual([
      'projection.weight',
      'projection.bias',
      'rotations.0',
      'rotations.1',
      'rotations.2',
      'anchors',
      'feature_head.weight',
      'feature_head.bias',
    ]);
    expect(b.getWeights()['feature_head.weight']!.shape).toEqual([8, 16]);
    const s = randomTensor(4, 32, 5);
    const out = b.apply(s);
    expect(out.output.shape).toEqual([4, 40]);
    expectFresh(() => tf.norm(out.feature, 'euclidean', 1), [1, 1, 1, 1], { atol: 1e-5 });
    const expected = tf.tidy(() => {
      const w = b.getWeights();
      return normalize(
        tf.add(tf.matMul(out.triangulation, w['feature_head.weight']!, false, true), w['feature_head.bias']!),
      );
    });
    expectTensorClose(out.feature, expected, { atol: 1e-6 });
    tf.dispose([s, out, expected]);
  });

  it('is seeded: PyTorch-style Linear init bounds, identity rotations, unit anchors', () => {
    const a = bank({ seed: 7 });
    const b = bank({ seed: 7 });
    const c = bank({ seed: 8 });
    const wa = a.getWeights();
    expectTensorClose(wa['projection.weight']!, b.getWeights()['projection.weight']!, { atol: 0, rtol: 0 });
    expectTensorClose(wa.anchors!, b.getWeights().anchors!, { atol: 0, rtol: 0 });
    expect(Array.from(wa.anchors!.dataSync())).not.toEqual(Array.from(c.getWeights().anchors!.dataSync()));
    const bound = 1 / Math.sqrt(32);
    const weight = wa['projection.weight']!.dataSync();
    expect(Math.max(...weight.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...weight.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expectFresh(() => tf.eye(8), wa['rotations.1']!, { atol: 0, rtol: 0 });
    expectFresh(() => tf.norm(wa.anchors!, 'euclidean', 1), new Array(16).fill(1), { atol: 1e-6 });
    expect(a.trainableVariables).toHaveLength(6);
    expect(a.trainableVariables.every((v) => v.trainable)).toBe(true);
  });

  it('initializes anchors from a seeded subset of consensus rows, normalized', () => {
    const consensus = randomMatrix(40, 8, 11);
    const b = bank({ anchorInit: consensus, seed: 4 });
    expect(b.config.anchorInit).toBe('consensus');
    const anchors = b.getWeights().anchors!.arraySync() as number[][];
    const rows = consensus.toArray().map((r) => {
      const n = Math.hypot(...r);
      return r.map((x) => x / n);
    });
    const used = new Set<number>();
    for (const anchor of anchors) {
      const match = rows.findIndex((r) => r.every((x, j) => Math.abs(x - anchor[j]!) < 1e-6));
      expect(match).toBeGreaterThanOrEqual(0);
      used.add(match);
    }
    expect(used.size).toBe(16); // distinct rows
    const again = bank({ anchorInit: consensus, seed: 4 });
    expectTensorClose(again.getWeights().anchors!, b.getWeights().anchors!, { atol: 0, rtol: 0 });
  });

  it('uses every non-zero consensus row and fills the rest with normalized Gaussians when N < K', () => {
    const small = randomMatrix(6, 8, 12);
    for (let j = 0; j < 8; j++) small.set(2, j, 0); // a zero row is skipped
    const b = bank({ anchorInit: small.toArray() });
    const anchors = b.getWeights().anchors!.arraySync() as number[][];
    const fromConsensus = anchors.filter((a) =>
      small.toArray().some((r) => {
        const n = Math.hypot(...r);
        return n > 0 && r.every((x, j) => Math.abs(x / n - a[j]!) < 1e-6);
      }),
    );
    expect(fromConsensus).toHaveLength(5);
    for (const a of anchors) expect(Math.hypot(...a)).toBeCloseTo(1, 5);
  });
});

describe('AnchorBank: losses', () => {
  it('orthogonality is 0 for identity rotations, ≈ 0 for random orthogonal ones, > 0 otherwise', () => {
    const b = bank();
    const l0 = b.orthogonalityLoss();
    expect(value(l0)).toBe(0);
    b.setExpertRotations([randomOrthogonal(8, 1), randomOrthogonal(8, 2), randomOrthogonal(8, 3)]);
    const l1 = b.orthogonalityLoss();
    expect(value(l1)).toBeLessThan(1e-10 + 1e-5);
    // R_e = 2I: ‖4I − I‖²_F = 9·D for each expert, so the mean over experts is 72.
    const twice = tf.tidy(() => tf.mul(tf.eye(8), 2) as tf.Tensor2D);
    b.setExpertRotations([twice, twice, twice]);
    const l2 = b.orthogonalityLoss();
    expect(value(l2)).toBeCloseTo(72, 4);
    tf.dispose([l0, l1, l2, twice]);
  });

  it('loads rotations from procrustes (Matrix) and tensors, refusing wrong shapes and counts', () => {
    const b = bank();
    const consensus = randomMatrix(20, 8, 21);
    const truth = randomOrthogonal(8, 22);
    const expert = linalg.matmul(consensus, truth.transpose()); // expert·truth = consensus
    const { rotation } = procrustes(expert, consensus);
    const asTensor = rotation.toTensor();
    b.setExpertRotations([rotation, asTensor, Matrix.identity(8)]);
    expectTensorClose(b.getWeights()['rotations.0']!, truth, { atol: 1e-5 });
    expectTensorClose(b.getWeights()['rotations.1']!, truth, { atol: 1e-5 });
    expect(() => b.setExpertRotations([rotation, rotation])).toThrow(InvalidArgumentError);
    expect(() => b.setExpertRotations([rotation, rotation])).toThrow(
      /AnchorBank.setExpertRotations: 'rotations' must hold one rotation per expert \(E=3\), got 2/,
    );
    expect(() => b.setExpertRotations([rotation, Matrix.identity(7), rotation])).toThrow(ShapeError);
    expect(() => b.setExpertRotations([rotation, Matrix.identity(7), rotation])).toThrow(
      /'rotations\[1\]' must have shape/,
    );
    const bad = tf.zeros([8, 9]) as tf.Tensor2D;
    expect(() => b.setExpertRotations([rotation, rotation, bad])).toThrow(
      /'rotations\[2\]' must have shape \[D=8, D=8\], got \[8, 9\]/,
    );
    tf.dispose([asTensor, bad]);
  });

  it('expert agreement (distance) is 0 when every rotated expert target equals z', () => {
    const b = bank();
    const rotations = [randomOrthogonal(8, 31), randomOrthogonal(8, 32), randomOrthogonal(8, 33)];
    b.setExpertRotations(rotations);
    const s = randomTensor(6, 32, 34);
    const { z, ...rest } = b.apply(s);
    // t_e = z·R_eᵀ (scaled: targets need not be unit) ⇒ normalize(t_e·R_e) = z.
    const targets = rotations.map((r, e) =>
      tf.tidy(() => tf.mul(tf.matMul(z, r.toTensor(), false, true), e + 1) as tf.Tensor2D),
    );
    const loss = b.expertAgreementLoss(z, targets);
    expect(value(loss)).toBeLessThan(1e-6);
    tf.dispose([s, z, rest, targets, loss]);
  });

  it("expert agreement ('variance') is 0 when all experts agree, whatever z is", () => {
    const b = bank({ expertAgreement: 'variance' });
    const s = randomTensor(6, 32, 35);
    const common = randomTensor(6, 8, 36);
    const { z, ...rest } = b.apply(s);
    const loss = b.expertAgreementLoss(z, [common, common, common]);
    expect(value(loss)).toBeLessThan(1e-10);
    const distance = bank({ expertAgreement: 'distance' });
    const loss2 = distance.expertAgreementLoss(z, [common, common, common]);
    expect(value(loss2)).toBeGreaterThan(0.1);
    tf.dispose([s, common, z, rest, loss, loss2]);
  });

  it('matches the documented formulas, and distance = ‖z − q̄‖² + variance', () => {
    const cfg = { rotations: [randomOrthogonal(8, 41), randomOrthogonal(8, 42), randomOrthogonal(8, 43)] };
    const dist = bank({ expertAgreement: 'distance' });
    const vari = bank({ expertAgreement: 'variance' });
    dist.setExpertRotations(cfg.rotations);
    vari.setExpertRotations(cfg.rotations);
    const z = tf.tidy(() => normalize(randomTensor(5, 8, 44)));
    const targets = [45, 46, 47].map((seed) => randomTensor(5, 8, seed));
    // float64 reference
    const zs = z.arraySync() as number[][];
    const q = targets.map((t, e) => {
      const rotated = linalg.matmul(Matrix.fromArray(t.arraySync() as number[][]), cfg.rotations[e]!).toArray();
      return rotated.map((r) => {
        const n = Math.hypot(...r);
        return r.map((x) => x / n);
      });
    });
    let distance = 0;
    let variance = 0;
    let toMean = 0;
    for (let b = 0; b < 5; b++) {
      const mean = new Array(8).fill(0).map((_, j) => (q[0]![b]![j]! + q[1]![b]![j]! + q[2]![b]![j]!) / 3);
      for (let e = 0; e < 3; e++) {
        for (let j = 0; j < 8; j++) {
          distance += (zs[b]![j]! - q[e]![b]![j]!) ** 2 / 15;
          variance += (mean[j]! - q[e]![b]![j]!) ** 2 / 15;
        }
      }
      for (let j = 0; j < 8; j++) toMean += (zs[b]![j]! - mean[j]!) ** 2 / 5;
    }
    const ld = dist.expertAgreementLoss(z, targets);
    const lv = vari.expertAgreementLoss(z, targets);
    expect(value(ld)).toBeCloseTo(distance, 5);
    expect(value(lv)).toBeCloseTo(variance, 5);
    expect(distance).toBeCloseTo(toMean + variance, 10);
    tf.dispose([z, targets, ld, lv]);
  });

  it('spread is the mean off-diagonal ReLU(cos − target_cos) of the normalized anchors (§8.6)', () => {
    const b = bank({ anchors: 4, bankDim: 3 });
    // Unnormalized anchors: e1, 2·e1, e2, (e1 + e2)·3 → cosines 1, 0, 1/√2 …
    const raw = [
      [1, 0, 0],
      [2, 0, 0],
      [0, 1, 0],
      [3, 3, 0],
    ];
    assignAndDispose(b.getWeights().anchors!, () => tf.tensor2d(raw));
    const unit = raw.map((r) => r.map((x) => x / Math.hypot(...r)));
    const reference = (target: number): number => {
      let sum = 0;
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 4; j++) {
          if (i === j) continue;
          const c = unit[i]!.reduce((acc, x, k) => acc + x * unit[j]![k]!, 0);
          sum += Math.max(0, c - target);
        }
      return sum / 12;
    };
    const l = b.spreadLoss();
    expect(value(l)).toBeCloseTo(reference(0), 6);
    const b2 = bank({ anchors: 4, bankDim: 3, spreadTargetCos: 0.5 });
    assignAndDispose(b2.getWeights().anchors!, () => tf.tensor2d(raw));
    const l2 = b2.spreadLoss();
    expect(value(l2)).toBeCloseTo(reference(0.5), 6);
    // Orthonormal anchors: no pair above 0.
    const b3 = bank({ anchors: 3, bankDim: 3 });
    assignAndDispose(b3.getWeights().anchors!, () => tf.eye(3));
    const l3 = b3.spreadLoss();
    expect(value(l3)).toBe(0);
    tf.dispose([l, l2, l3]);
  });

  it('cv equals (pentachoronCV of the normalized anchors − cvTarget)² on the same simplices', () => {
    const b = bank({ anchors: 64, bankDim: 8, cvTarget: 0.1 });
    for (const seed of [3, 9]) {
      const loss = b.cvLoss({ seed, samples: 64 });
      const unit = normalize(b.getWeights().anchors! as tf.Tensor2D);
      const { cv } = pentachoronCV(unit, { seed, samples: 64, pool: 64, minValid: 5 });
      expect(value(loss)).toBeCloseTo((cv - 0.1) ** 2, 5);
      expect(Math.abs(value(loss) - (cv - 0.1) ** 2)).toBeLessThan(1e-3 * (cv - 0.1) ** 2 + 1e-7);
      tf.dispose([loss, unit]);
    }
    // Without a seed: the bank's own stream, reproducible across identically seeded banks.
    const c = bank({ anchors: 64, bankDim: 8, cvTarget: 0.1 });
    const [x1, x2, y1] = [b.cvLoss(), b.cvLoss(), c.cvLoss()];
    expect(value(x1)).not.toBe(value(x2));
    const d = bank({ anchors: 64, bankDim: 8, cvTarget: 0.1 });
    const z1 = d.cvLoss();
    expect(value(z1)).toBe(value(y1));
    // Fewer than 5 anchors: no pentachoron, so 0.
    const tiny = bank({ anchors: 4 });
    const t = tiny.cvLoss();
    expect(value(t)).toBe(0);
    tf.dispose([x1, x2, y1, z1, t]);
  });

  it('losses() returns every term and their weighted total', () => {
    const b = bank();
    b.setExpertRotations([randomOrthogonal(8, 51), Matrix.identity(8), Matrix.identity(8)]);
    const s = randomTensor(6, 32, 52);
    const targets = [53, 54, 55].map((seed) => randomTensor(6, 8, seed));
    const l = b.losses(s, targets, { spread: 0.5, cv: 2 }, { cvSeed: 5 });
    const { z, ...rest } = b.apply(s);
    const agreement = b.expertAgreementLoss(z, targets);
    const cv = b.cvLoss({ seed: 5 });
    expect(value(l.expertAgreement)).toBeCloseTo(value(agreement), 6);
    expect(value(l.cv)).toBeCloseTo(value(cv), 6);
    const expected = value(l.expertAgreement) + value(l.orthogonality) + 0.5 * value(l.spread) + 2 * value(l.cv);
    expect(value(l.total)).toBeCloseTo(expected, 5);
    expect(Object.keys(l)).toEqual(['expertAgreement', 'orthogonality', 'spread', 'cv', 'total']);
    tf.dispose([s, targets, l, z, rest, agreement, cv]);
  });
});

describe('AnchorBank: training', () => {
  it('gradients reach every trainable variable', () => {
    const b = bank({ feature: 'triangulation' });
    b.setExpertRotations([randomOrthogonal(8, 61), randomOrthogonal(8, 62), randomOrthogonal(8, 63)]);
    const s = randomTensor(8, 32, 64);
    const targets = [65, 66, 67].map((seed) => randomTensor(8, 8, seed));
    const direction = randomTensor(8, 8, 68);
    const { value: loss, grads } = tf.variableGrads(() => {
      const { total } = b.losses(s, targets, {}, { cvSeed: 1 });
      // A downstream use of the feature, so the triangulation head is trained too.
      const { feature } = b.apply(s);
      return tf.add(total, tf.mean(tf.mul(feature, direction))) as tf.Scalar;
    }, b.trainableVariables);
    expect(Number.isFinite(value(loss))).toBe(true);
    expect(Object.keys(grads).sort()).toEqual(b.trainableVariables.map((v) => v.name).sort());
    for (const variable of b.trainableVariables) {
      const g = grads[variable.name]!;
      expect(g.shape).toEqual(variable.shape);
      const data = g.dataSync();
      expect(data.every(Number.isFinite)).toBe(true);
      expect(Math.max(...data.map(Math.abs))).toBeGreaterThan(0);
    }
    tf.dispose([s, targets, direction, loss, grads]);
  });

  it('a few Adam steps reduce the total loss on a toy problem', () => {
    const b = bank({ cvTarget: 0.3 });
    const teacher = randomTensor(32, 8, 71);
    const s = randomTensor(24, 32, 72);
    const consensus = tf.tidy(() => normalize(tf.matMul(s, teacher)));
    const rotations = [randomOrthogonal(8, 73), randomOrthogonal(8, 74), randomOrthogonal(8, 75)];
    // Each expert sees the consensus in its own frame (t_e = c·R_eᵀ) plus a little noise.
    const targets = rotations.map((r, e) =>
      tf.tidy(
        () =>
          tf.add(
            tf.matMul(consensus, r.toTensor(), false, true),
            tf.mul(randomTensor(24, 8, 80 + e), 0.05),
          ) as tf.Tensor2D,
      ),
    );
    b.setExpertRotations(rotations.map((r) => linalg.matmul(r, randomOrthogonal(8, 90)).clone())); // start misaligned
    const totalOf = (): number => tf.tidy(() => value(b.losses(s, targets, {}, { cvSeed: 2 }).total));
    const before = totalOf();
    const optimizer = tf.train.adam(0.02);
    for (let step = 0; step < 20; step++) {
      const cost = optimizer.minimize(() => b.losses(s, targets).total, true, b.trainableVariables);
      cost?.dispose();
    }
    const after = totalOf();
    expect(after).toBeLessThan(0.7 * before);
    optimizer.dispose();
    tf.dispose([teacher, s, consensus, targets]);
  });
});

describe('AnchorBank: doc example', () => {
  it('runs the class example (small sizes)', () => {
    const bank = new AnchorBank({ inputDim: 32, bankDim: 8, experts: 3, anchors: 16 });
    banks.push(bank);
    const s = randomTensor(4, 32, 1);
    const expertTargets = [2, 3, 4].map((seed) => randomTensor(4, 8, seed));
    const { output, ...rest } = bank.apply(s);
    expect(output.shape).toEqual([4, 40]);
    const optimizer = tf.train.adam(1e-3);
    optimizer.minimize(() => bank.losses(s, expertTargets).total, false, bank.trainableVariables);
    optimizer.dispose();
    tf.dispose([s, expertTargets, output, rest]);
  });
});

describe('AnchorBank: serialization', () => {
  for (const feature of ['projection', 'triangulation'] as const) {
    it(`save → load reproduces apply exactly (feature '${feature}')`, () => {
      const b = bank({
        feature,
        anchorInit: randomMatrix(30, 8, 99),
        cvTarget: 0.2,
        spreadTargetCos: 0.1,
        expertAgreement: 'variance',
        seed: 5,
      });
      b.setExpertRotations([randomOrthogonal(8, 1), randomOrthogonal(8, 2), randomOrthogonal(8, 3)]);
      const bytes = b.toSafetensors();
      const { tensors, metadata } = readSafetensors(bytes);
      expect(Object.keys(tensors).sort()).toEqual(Object.keys(b.getWeights()).sort());
      expect(tensors['projection.weight']!.shape).toEqual([8, 32]);
      expect(metadata['geolip.type']).toBe('anchors/anchor-bank');
      expect(metadata['geolip.format']).toBe('1');
      const loaded = AnchorBank.fromSafetensors(bytes);
      banks.push(loaded);
      expect(loaded.config).toEqual(b.config);
      expect(loaded.config.anchorInit).toBe('consensus');
      const s = randomTensor(7, 32, 100);
      const x = b.apply(s);
      const y = loaded.apply(s);
      for (const key of ['z', 'feature', 'output', 'triangulation'] as const) {
        expect(Array.from(y[key].dataSync())).toEqual(Array.from(x[key].dataSync()));
      }
      tf.dispose([s, x, y]);
    });
  }

  it("refuses bad files with a FormatError naming 'AnchorBank.fromSafetensors' and 'bytes'", () => {
    const b = bank();
    const bytes = b.toSafetensors();
    const { tensors, metadata } = readSafetensors(bytes, { copy: true });
    const rewrite = (t: Record<string, SafetensorEntry>, m: Record<string, string>) => writeSafetensors(t, m);
    const check = (input: Uint8Array, pattern: RegExp) => {
      let caught: unknown;
      try {
        banks.push(AnchorBank.fromSafetensors(input));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(FormatError);
      expect((caught as FormatError).op).toBe('AnchorBank.fromSafetensors');
      expect((caught as FormatError).argument).toBe('bytes');
      expect((caught as Error).message).toMatch(pattern);
    };
    check(bytes.slice(0, 20), /not a valid safetensors file/);
    check(rewrite(tensors, {}), /no "config"/);
    check(rewrite(tensors, { config: '{nope' }), /not JSON/);
    check(rewrite(tensors, { config: JSON.stringify({ ...b.config, anchors: 1 }) }), /invalid config.*'anchors'/);
    check(rewrite(tensors, { config: JSON.stringify({ ...b.config, anchorInit: 'zeros' }) }), /'anchorInit'/);
    check(rewrite(tensors, { ...metadata, 'geolip.type': 'anchors/constellation' }), /not an AnchorBank/);
    check(rewrite(tensors, { config: JSON.stringify(b.config), 'geolip.class': 'Constellation' }), /not an AnchorBank/);
    check(rewrite(tensors, { ...metadata, 'geolip.version': '2' }), /checkpoint version '2'/);
    const { anchors: _dropped, ...missing } = tensors;
    check(rewrite(missing, metadata), /lacks the tensor 'anchors'/);
    check(
      rewrite({ ...tensors, extra: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, metadata),
      /unexpected tensor 'extra'/,
    );
    check(
      rewrite({ ...tensors, anchors: { dtype: 'F32', shape: [8, 16], data: new Float32Array(128) } }, metadata),
      /'anchors' of shape \[8, 16\]; expected \[16, 8\]/,
    );
    check(
      rewrite({ ...tensors, anchors: { dtype: 'I32', shape: [16, 8], data: new Int32Array(128) } }, metadata),
      /dtype I32/,
    );
    const nan = new Float32Array(128).fill(0.5);
    nan[3] = NaN;
    check(
      rewrite({ ...tensors, anchors: { dtype: 'F32', shape: [16, 8], data: nan } }, metadata),
      /non-finite value in tensor 'anchors' \(flat index 3\)/,
    );
  });
});

describe('AnchorBank: argument checks', () => {
  it('refuses bad configurations, naming the option', () => {
    const cases: [AnchorBankConfig, RegExp][] = [
      [{ inputDim: 0 }, /AnchorBank: 'inputDim' must be an integer ≥ 1, got 0/],
      [{ bankDim: 2.5 }, /'bankDim' must be an integer/],
      [{ experts: -1 }, /'experts' must be an integer ≥ 1/],
      [{ anchors: 1 }, /'anchors' must be an integer ≥ 2, got 1/],
      [{ cvTarget: Number.NaN }, /'cvTarget' must be a finite number/],
      [{ feature: 'mean' as never }, /'feature' must be 'projection' or 'triangulation'/],
      [{ expertAgreement: 'cosine' as never }, /'expertAgreement' must be 'distance' or 'variance'/],
      [{ anchorInit: 'xavier' as never }, /'anchorInit' must be 'random' or an \[N, 8\] matrix/],
      [{ spreadTargetCos: 2 }, /'spreadTargetCos' must be in \[-1, 1\]/],
      [{ anchor: 3 } as never, /'anchor' is not an AnchorBank option/],
    ];
    for (const [config, pattern] of cases) {
      expect(() => new AnchorBank({ ...SMALL, ...config })).toThrow(InvalidArgumentError);
      expect(() => new AnchorBank({ ...SMALL, ...config })).toThrow(pattern);
    }
    expect(() => new AnchorBank({ ...SMALL, anchorInit: randomMatrix(20, 7, 1) })).toThrow(ShapeError);
    expect(() => new AnchorBank({ ...SMALL, anchorInit: randomMatrix(20, 7, 1) })).toThrow(
      /AnchorBank: 'anchorInit' must have shape \[N, 8\]/,
    );
    expect(() => new AnchorBank({ ...SMALL, anchorInit: [[1, 2, 3, 4, 5, 6, 7, NaN]] })).toThrow(GeolipError);
  });

  it('checks the shapes of s and the expert targets', () => {
    const b = bank();
    const s = tf.zeros([4, 31]) as tf.Tensor2D;
    const good = tf.zeros([4, 32]) as tf.Tensor2D;
    const t = tf.zeros([4, 8]) as tf.Tensor2D;
    const tWrong = tf.zeros([5, 8]) as tf.Tensor2D;
    const ints = tf.zeros([4, 32], 'int32') as tf.Tensor2D;
    expect(() => b.apply(s)).toThrow(ShapeError);
    expect(() => b.apply(s)).toThrow(/AnchorBank.apply: 's' must have shape \[B, inputDim=32\], got \[4, 31\]/);
    expect(() => b.apply(ints)).toThrow(/AnchorBank.apply: 's' must have dtype float32, got int32/);
    expect(() => b.losses(good, [t, t])).toThrow(InvalidArgumentError);
    expect(() => b.losses(good, [t, t])).toThrow(
      /AnchorBank.losses: 'expertTargets' must hold one tensor per expert \(E=3\), got 2/,
    );
    expect(() => b.losses(good, [t, tWrong, t])).toThrow(ShapeError);
    expect(() => b.losses(good, [t, tWrong, t])).toThrow(
      /'expertTargets\[1\]' must have shape \[B=4, D=8\], got \[5, 8\]/,
    );
    expect(() => b.expertAgreementLoss(t, [t, t, good])).toThrow(
      /AnchorBank.expertAgreementLoss: 'expertTargets\[2\]' must have shape \[B=4, D=8\], got \[4, 32\]/,
    );
    expect(() => b.expertAgreementLoss(good, [t, t, t])).toThrow(/'z' must have shape \[B, D=8\], got \[4, 32\]/);
    expect(() => b.losses(good, [t, t, t], { spred: 1 } as never)).toThrow(/'weights' has an unknown term 'spred'/);
    expect(() => b.losses(good, [t, t, t], { cv: -1 })).toThrow(/'weights' 'cv' must be a finite number ≥ 0/);
    expect(() => b.cvLoss({ samples: 1 })).toThrow(/AnchorBank.cvLoss: 'samples'/);
    tf.dispose([s, good, t, tWrong, ints]);
  });

  it('apply and losses create exactly their outputs; dispose frees the variables', () => {
    const before = tf.memory().numTensors;
    const b = new AnchorBank({ ...SMALL, feature: 'triangulation' });
    expect(tf.memory().numTensors).toBe(before + 8);
    const s = randomTensor(3, 32, 1);
    const targets = [2, 3, 4].map((seed) => randomTensor(3, 8, seed));
    const mark = tf.memory().numTensors;
    const out = b.apply(s);
    expect(tf.memory().numTensors).toBe(mark + 4);
    const l = b.losses(s, targets);
    expect(tf.memory().numTensors).toBe(mark + 9);
    tf.dispose([out, l, s, targets]);
    b.dispose();
    b.dispose();
    expect(b.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => b.apply(s)).toThrow(/AnchorBank.apply: this AnchorBank has been disposed/);
  });
});
