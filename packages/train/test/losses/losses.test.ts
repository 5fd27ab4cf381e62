import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import {
  bceWithLabelSmoothing,
  cmValidityLoss,
  crossEntropy,
  cvLossTerm,
  geoDiversityLoss,
  infoNCE,
  mseLoss,
  procrustesAlignmentLoss,
  spread,
  spreadLoss,
} from '../../src/losses/index.js';

const val = (t: tf.Tensor): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

function expectFiniteGrad(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor): Float32Array {
  const g = tf.grad(f)(x);
  const data = g.dataSync() as Float32Array;
  g.dispose();
  for (const v of data) expect(Number.isFinite(v)).toBe(true);
  return data;
}

function randn(shape: [number, number], seed: number): tf.Tensor2D {
  return tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor2D;
}

describe('infoNCE', () => {
  it('doc example: identity pairs at τ = 1', () => {
    // S = I. Row i: logsumexp([1, 0]) − 1 = log(e + 1) − 1 = log(1 + e⁻¹); columns are the same.
    const { loss, accuracy } = infoNCE(tf.eye(2) as tf.Tensor2D, tf.eye(2) as tf.Tensor2D, { temperature: 1 });
    expect(val(loss)).toBeCloseTo(Math.log(1 + Math.exp(-1)), 5);
    expect(val(accuracy)).toBe(1);
  });

  it('one-directional vs symmetric on a hand case', () => {
    // z1 = [[1,0],[0,1]], z2 = [[1,0],[1,0]] (normalize off, τ = 1): S = [[1,1],[0,0]].
    // rows: row0 logsumexp(1,1) − 1 = log 2; row1 logsumexp(0,0) − 0 = log 2 → CE(S) = log 2.
    // cols: col0 logsumexp(1,0) − 1 = log(1 + e⁻¹); col1 logsumexp(1,0) − 0 = log(1 + e) → mean.
    // accuracy: argmax row0 = 0 (tie → first) ✓, row1 = 0 (tie) ✗ → 0.5.
    const z1 = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const z2 = tf.tensor2d([
      [1, 0],
      [1, 0],
    ]);
    const one = infoNCE(z1, z2, { temperature: 1, normalize: false, symmetric: false });
    expect(val(one.loss)).toBeCloseTo(Math.log(2), 5);
    expect(val(one.accuracy)).toBe(0.5);
    const sym = infoNCE(z1, z2, { temperature: 1, normalize: false });
    const cols = (Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.E)) / 2;
    expect(val(sym.loss)).toBeCloseTo((Math.log(2) + cols) / 2, 5);
    sym.accuracy.dispose();
  });

  it('normalizes by default and uses τ = 0.07', () => {
    // z1 = 2·I, z2 = 3·I → unit: S = I/0.07. CE row = log(1 + e^{−1/0.07}).
    const { loss, accuracy } = infoNCE(tf.mul(tf.eye(2), 2) as tf.Tensor2D, tf.mul(tf.eye(2), 3) as tf.Tensor2D);
    expect(val(loss)).toBeCloseTo(Math.log(1 + Math.exp(-1 / 0.07)), 6);
    accuracy.dispose();
  });

  it('has finite gradients in both inputs', () => {
    const a = randn([6, 4], 1);
    const b = randn([6, 4], 2);
    expectFiniteGrad((x) => infoNCE(x as tf.Tensor2D, b).loss, a);
    expectFiniteGrad((x) => infoNCE(a, x as tf.Tensor2D, { symmetric: false }).loss, b);
  });

  it('rejects bad input with typed errors', () => {
    expect(() => infoNCE(tf.zeros([3, 4]), tf.zeros([3, 5]))).toThrow(ShapeError);
    expect(() => infoNCE(tf.zeros([3, 4]), tf.zeros([2, 4]))).toThrow(
      "infoNCE: 'z2' must have shape [B=3, D=4], got [2, 4]",
    );
    expect(() => infoNCE(tf.zeros([3, 4]), tf.zeros([3, 4]), { temperature: 0 })).toThrow(InvalidArgumentError);
    expect(() => infoNCE(tf.zeros([3]) as unknown as tf.Tensor2D, tf.zeros([3, 4]))).toThrow(/'z1'/);
  });
});

describe('mseLoss', () => {
  it('doc example', () => {
    // ((1−3)² + (2−5)²)/2 = (4 + 9)/2 = 6.5
    expect(val(mseLoss(tf.tensor1d([1, 2]), tf.tensor1d([3, 5])))).toBeCloseTo(6.5, 6);
  });
  it('gradient is 2(p − t)/n', () => {
    const g = expectFiniteGrad((x) => mseLoss(x, tf.tensor1d([3, 5])), tf.tensor1d([1, 2]));
    expect(Array.from(g)).toEqual([-2, -3]);
  });
  it('rejects mismatched shapes', () => {
    expect(() => mseLoss(tf.zeros([2, 3]), tf.zeros([3, 2]))).toThrow(/mseLoss: 'target' must have shape \[2, 3\]/);
    expect(() => mseLoss(tf.zeros([2], 'int32'), tf.zeros([2]))).toThrow(InvalidArgumentError);
  });
});

describe('bceWithLabelSmoothing', () => {
  it('doc example: zero logits give log 2', () => {
    expect(val(bceWithLabelSmoothing(tf.tensor2d([[0, 0]]), tf.tensor2d([[1, 0]]), { smoothing: 0 }))).toBeCloseTo(
      Math.log(2),
      6,
    );
  });
  it('smoothing y(1 − ε) + ε/C on a hand case', () => {
    // logits [[2, −1]], y = [[1, 0]], ε = 0.1, C = 2: y_s = [0.95, 0.05].
    // entry(x, y) = max(x,0) − x·y + log(1 + e^{−|x|})
    const e = (x: number, y: number) => Math.max(x, 0) - x * y + Math.log(1 + Math.exp(-Math.abs(x)));
    const expected = (e(2, 0.95) + e(-1, 0.05)) / 2;
    expect(val(bceWithLabelSmoothing(tf.tensor2d([[2, -1]]), tf.tensor2d([[1, 0]])))).toBeCloseTo(expected, 6);
  });
  it('is stable for large logits and has finite gradients', () => {
    expect(val(bceWithLabelSmoothing(tf.tensor2d([[100, -100]]), tf.tensor2d([[1, 0]]), { smoothing: 0 }))).toBeCloseTo(
      0,
      6,
    );
    expectFiniteGrad(
      (x) =>
        bceWithLabelSmoothing(
          x as tf.Tensor2D,
          tf.tensor2d([
            [1, 0, 0],
            [0, 0, 1],
          ]),
        ),
      randn([2, 3], 3),
    );
  });
  it('rejects bad input', () => {
    expect(() => bceWithLabelSmoothing(tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(
      "bceWithLabelSmoothing: 'targets' must have shape [B=2, C=3], got [2, 4]",
    );
    expect(() => bceWithLabelSmoothing(tf.zeros([2, 3]), tf.zeros([2, 3]), { smoothing: 1 })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('crossEntropy', () => {
  it('doc example: log 2', () => {
    expect(val(crossEntropy(tf.tensor2d([[0, 0]]), [1]))).toBeCloseTo(Math.log(2), 6);
  });
  it('hand case with label smoothing', () => {
    // logits [0, ln 3] → softmax [1/4, 3/4]; label 1, ε = 0.2, C = 2: t = [0.1, 0.9].
    // L = −(0.1·ln(1/4) + 0.9·ln(3/4))
    const x = tf.tensor2d([[0, Math.log(3)]]);
    expect(val(crossEntropy(x, tf.tensor1d([1], 'int32'), { labelSmoothing: 0.2 }))).toBeCloseTo(
      -(0.1 * Math.log(0.25) + 0.9 * Math.log(0.75)),
      5,
    );
    expect(val(crossEntropy(x, new Int32Array([1])))).toBeCloseTo(-Math.log(0.75), 5);
  });
  it('gradient is (softmax − onehot)/B', () => {
    const g = expectFiniteGrad((x) => crossEntropy(x as tf.Tensor2D, [1]), tf.tensor2d([[0, Math.log(3)]]));
    expect(g[0]).toBeCloseTo(0.25, 5);
    expect(g[1]).toBeCloseTo(-0.25, 5);
  });
  it('rejects bad labels', () => {
    expect(() => crossEntropy(tf.zeros([2, 3]), [0, 3])).toThrow(
      "crossEntropy: 'labels' must hold integers in [0, 3), got 3 at index 1",
    );
    expect(() => crossEntropy(tf.zeros([2, 3]), [0])).toThrow(ShapeError);
    expect(() => crossEntropy(tf.zeros([2, 3]), [0, 1.5])).toThrow(InvalidArgumentError);
  });
});

describe('cvLossTerm', () => {
  it('doc example: five points give CV 0, so L = target²', () => {
    expect(val(cvLossTerm(tf.eye(5) as tf.Tensor2D, 0.22, { seed: 1 }))).toBeCloseTo(0.0484, 5);
  });
  it('has finite gradients', () => {
    expectFiniteGrad((x) => cvLossTerm(x as tf.Tensor2D, 0.1, { seed: 2 }), randn([32, 8], 4));
  });
  it('rejects fewer than 5 rows', () => {
    expect(() => cvLossTerm(tf.zeros([4, 3]))).toThrow(ShapeError);
  });
});

describe('cmValidityLoss', () => {
  it('doc example and margin 0', () => {
    // Right triangle with unit legs: V² = (area)² = 0.25 → ReLU(0.3 − 0.25) = 0.05, ReLU(−0.25) = 0.
    const tri = tf.tensor2d([
      [0, 0],
      [1, 0],
      [0, 1],
    ]);
    expect(val(cmValidityLoss(tri, { margin: 0.3 }))).toBeCloseTo(0.05, 5);
    expect(val(cmValidityLoss(tri))).toBe(0);
  });
  it('averages over a batch of simplices', () => {
    // [valid right triangle (V² = 0.25), collinear (V² = 0)], margin 0.1: (0 + 0.1)/2 = 0.05.
    const pts = tf.tensor3d([
      [
        [0, 0],
        [1, 0],
        [0, 1],
      ],
      [
        [0, 0],
        [1, 0],
        [2, 0],
      ],
    ]);
    expect(val(cmValidityLoss(pts, { margin: 0.1 }))).toBeCloseTo(0.05, 5);
  });
  it('has finite gradients (pushes a small simplex up)', () => {
    const g = expectFiniteGrad(
      (x) => cmValidityLoss(x, { margin: 1 }),
      tf.tensor3d([
        [
          [0, 0, 0],
          [0.5, 0, 0],
          [0, 0.5, 0],
          [0, 0, 0.5],
        ],
      ]),
    );
    expect(g.some((v) => v !== 0)).toBe(true);
  });
  it('rejects bad input', () => {
    expect(() => cmValidityLoss(tf.zeros([3]))).toThrow(ShapeError);
    expect(() => cmValidityLoss(tf.zeros([1, 3]))).toThrow(/V >= 2/);
    expect(() => cmValidityLoss(tf.zeros([3, 2]), { margin: -1 })).toThrow(InvalidArgumentError);
  });
});

describe('geoDiversityLoss', () => {
  it('doc example', () => {
    // cos = 0.5, margin 0.3: both ordered pairs give 0.2; 1/(2·1) · 0.4 = 0.2.
    expect(
      val(
        geoDiversityLoss(
          tf.tensor2d([
            [1, 0],
            [0.5, Math.sqrt(3) / 2],
          ]),
          [0, 0],
          { margin: 0.3 },
        ),
      ),
    ).toBeCloseTo(0.2, 5);
  });
  it('weights classes equally and skips singletons', () => {
    // class 0: rows 0,1 identical (cos 1) → 1 − 0.9 = 0.1 per pair → class mean 0.1.
    // class 1: rows 2,3 orthogonal (cos 0) → 0.  class 2: row 4 alone → skipped.
    // L = (0.1 + 0)/2 = 0.05.
    const g = tf.tensor2d([
      [1, 0],
      [2, 0],
      [0, 1],
      [1, 0],
      [0, 1],
    ]);
    expect(val(geoDiversityLoss(g, tf.tensor1d([0, 0, 1, 1, 2], 'int32')))).toBeCloseTo(0.05, 5);
    expect(val(geoDiversityLoss(g, [0, 1, 2, 3, 4]))).toBe(0);
  });
  it('has finite gradients', () => {
    expectFiniteGrad((x) => geoDiversityLoss(x as tf.Tensor2D, [0, 0, 0, 1, 1, 1], { margin: -1 }), randn([6, 4], 5));
  });
  it('rejects bad input', () => {
    expect(() => geoDiversityLoss(tf.zeros([3, 2]), [0, 1])).toThrow(
      "geoDiversityLoss: 'labels' must have shape [B=3], got [2]",
    );
    expect(() => geoDiversityLoss(tf.zeros([3, 2]), [0, 1, -1])).toThrow(InvalidArgumentError);
    expect(() => geoDiversityLoss(tf.zeros([3, 2]), [0, 1, 1], { margin: 2 })).toThrow(InvalidArgumentError);
  });
});

describe('procrustesAlignmentLoss', () => {
  it('doc example: a rotation is undone', () => {
    expect(
      val(
        procrustesAlignmentLoss(
          tf.tensor2d([
            [0, 1],
            [-1, 0],
          ]),
          tf.tensor2d([
            [1, 0],
            [0, 1],
          ]),
        ),
      ),
    ).toBeCloseTo(0, 5);
  });
  it('hand case: best rotation leaves 45° per row', () => {
    // S = I, T = [[1,0],[1,0]]: SᵀT = T = u s vᵀ with u₁ = [1,1]/√2, v₁ = [1,0]; R = u₁v₁ᵀ ± u₂v₂ᵀ,
    // rows of S·R = rows of R = [1/√2, ±1/√2]: each has cos 1/√2 with [1, 0]. L = 1 − 1/√2.
    expect(
      val(
        procrustesAlignmentLoss(
          tf.eye(2) as tf.Tensor2D,
          tf.tensor2d([
            [1, 0],
            [1, 0],
          ]),
        ),
      ),
    ).toBeCloseTo(1 - Math.SQRT1_2, 5);
    // 'mse': rows [1/√2, ±1/√2] − [1, 0] → (1 − 1/√2)² + 1/2 per row, /2 entries → (1.5 − √2 + 0.5)/2 … = (2 − √2)/2.
    expect(
      val(
        procrustesAlignmentLoss(
          tf.eye(2) as tf.Tensor2D,
          tf.tensor2d([
            [1, 0],
            [1, 0],
          ]),
          { reduction: 'mse' },
        ),
      ),
    ).toBeCloseTo((2 - Math.SQRT2) / 2, 5);
  });
  it('has finite gradients (rotation detached) in both modes', () => {
    const s = randn([16, 4], 6);
    const t = randn([16, 4], 7);
    expectFiniteGrad((x) => procrustesAlignmentLoss(x as tf.Tensor2D, t), s);
    expectFiniteGrad((x) => procrustesAlignmentLoss(x as tf.Tensor2D, t, { whitened: true, reduction: 'mse' }), s);
    // whitened affine map reproduces an affine copy exactly
    const affine = tf.add(
      tf.matMul(
        s,
        tf.tensor2d([
          [2, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 1, 1],
          [0, 0, 0, 1],
        ]),
      ),
      0.5,
    ) as tf.Tensor2D;
    expect(val(procrustesAlignmentLoss(s, affine, { whitened: true, shrinkage: 0 }))).toBeLessThan(1e-3);
  });
  it('rejects bad input', () => {
    expect(() => procrustesAlignmentLoss(tf.zeros([3, 2]), tf.zeros([3, 3]))).toThrow(
      "procrustesAlignmentLoss: 'target' must have shape [B=3, D=2], got [3, 3]",
    );
    expect(() => procrustesAlignmentLoss(tf.zeros([3, 2]), tf.zeros([3, 2]), { reduction: 'l1' as 'mse' })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('spread', () => {
  it('is anchors spreadLoss', () => {
    expect(spread).toBe(spreadLoss);
    // one identical pair counted twice over K(K−1) = 6 ordered pairs: 2/6.
    expect(
      val(
        spread(
          tf.tensor2d([
            [1, 0],
            [1, 0],
            [0, 1],
          ]),
        ),
      ),
    ).toBeCloseTo(1 / 3, 5);
  });
});
