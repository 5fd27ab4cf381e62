import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  bestThreshold,
  classificationAt,
  meanAveragePrecision,
  multiLabelF1,
  pearson,
  rank,
  recallAtK,
  rocAuc,
  spearman,
  thresholdedEvaluation,
} from '../src/index.js';
import type { ClassificationMetrics } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const fx: any = JSON.parse(readFileSync(resolve(here, 'fixtures/metrics.json'), 'utf8'));
const num = (v: number | string): number =>
  v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : (v as number);
const TOL = 1e-9;

function expectMetrics(got: ClassificationMetrics, want: Record<string, number | string>): void {
  for (const k of ['accuracy', 'precision', 'recall', 'f1', 'tp', 'fp', 'tn', 'fn']) {
    expect(Math.abs((got as unknown as Record<string, number>)[k]! - num(want[k]!)), k).toBeLessThan(TOL);
  }
}

describe('correlation vs scipy (metrics.json)', () => {
  for (const c of fx.correlation) {
    it(c.name, () => {
      const r = rank(c.x);
      c.rank_x.forEach((v: number, i: number) => expect(Math.abs(r[i]! - v)).toBeLessThan(TOL));
      expect(Math.abs(spearman(c.x, c.y) - c.spearman)).toBeLessThan(TOL);
      expect(Math.abs(pearson(c.x, c.y) - c.pearson)).toBeLessThan(TOL);
    });
  }
  it('fixture records versions and command', () => {
    expect(fx.versions.scipy).toBeTypeOf('string');
    expect(fx.command).toContain('metrics.py');
  });
});

describe('binary metrics vs scipy/numpy (metrics.json)', () => {
  for (const c of fx.binary) {
    it(c.name, () => {
      expect(Math.abs(rocAuc(c.scores, c.labels) - c.roc_auc)).toBeLessThan(TOL);
      expect(Math.abs(averagePrecision(c.scores, c.labels) - c.average_precision)).toBeLessThan(TOL);
      expectMetrics(classificationAt(c.scores, c.labels, num(c.at_median.threshold)), c.at_median);
      const bf = bestThreshold(c.scores, c.labels, { metric: 'f1' });
      expectMetrics(bf, c.best_f1);
      expect(bf.threshold).toBe(num(c.best_f1.threshold));
      const ba = bestThreshold(c.scores, c.labels, { metric: 'accuracy' });
      expectMetrics(ba, c.best_accuracy);
      expect(ba.threshold).toBe(num(c.best_accuracy.threshold));
    });
  }
  it('meanAveragePrecision', () => {
    const m = fx.map;
    const r = meanAveragePrecision(m.scores, m.targets, m.c);
    expect(r.classesUsed).toBe(m.classes_used);
    expect(Math.abs(r.map - m.map)).toBeLessThan(TOL);
    m.per_class.forEach((v: number | null, c: number) => {
      if (v === null) expect(r.perClass[c]).toBeNaN();
      else expect(Math.abs(r.perClass[c]! - v)).toBeLessThan(TOL);
    });
  });
});

describe('hand-derived cases', () => {
  it('perfect ranking → AUC 1, AP 1; reversed → AUC 0', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(averagePrecision([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });
  it('all-equal scores → AUC 0.5, AP = prevalence', () => {
    expect(rocAuc([3, 3, 3, 3, 3], [0, 1, 1, 0, 1])).toBe(0.5);
    expect(averagePrecision([3, 3, 3, 3, 3], [0, 1, 1, 0, 1])).toBeCloseTo(0.6, 15);
  });
  it('MRPC trivial baseline: predict 1 for all of 1147/578 → F1 = 2·1147/(2·1147+578)', () => {
    const labels = [...Array<number>(1147).fill(1), ...Array<number>(578).fill(0)];
    const m = classificationAt(
      labels.map(() => 0.5),
      labels,
      -Infinity,
    );
    expect(m.f1).toBeCloseTo((2 * 1147) / (2 * 1147 + 578), 15);
    expect(m.f1).toBeCloseTo(0.79875, 5);
    expect(m.accuracy).toBeCloseTo(1147 / 1725, 15);
    // constant scores: best F1 is predicting all positive
    const b = bestThreshold(
      labels.map(() => 0.5),
      labels,
    );
    expect(b.threshold).toBe(-Infinity);
    expect(b.f1).toBeCloseTo(0.79875, 5);
  });
  it('spearman of a monotone transform is 1; constant input → NaN', () => {
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 15);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(Array.from(rank([10, 20, 10, 30]))).toEqual([1.5, 3, 1.5, 4]);
  });
  it('bestThreshold: ties broken towards the highest threshold; midpoints', () => {
    expect(bestThreshold([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], { metric: 'accuracy' }).threshold).toBeCloseTo(0.5, 15);
    // all negatives: every cut has F1 0 → +∞ (predict none) wins the tie
    expect(bestThreshold([0.1, 0.2], [0, 0]).threshold).toBe(Infinity);
    // adjacent floats: the cut still separates them
    const a = 1;
    const b = 1 + Number.EPSILON;
    const r = bestThreshold([a, b], [0, 1], { metric: 'accuracy' });
    expect(r.accuracy).toBe(1);
  });
  it('thresholdedEvaluation picks on fit, applies on eval, labels the oracle', () => {
    const r = thresholdedEvaluation({
      fitScores: [0.1, 0.2, 0.6, 0.9],
      fitLabels: [0, 0, 1, 1],
      evalScores: [0.3, 0.35, 0.5, 0.7],
      evalLabels: [0, 1, 1, 1],
      metric: 'accuracy',
    });
    expect(r.fit.threshold).toBeCloseTo(0.4, 15);
    expect(r.fit.accuracy).toBe(1);
    expect(r.chosen.threshold).toBe(r.fit.threshold);
    expect(r.chosen.accuracy).toBe(0.75);
    expect(r.oracle.oracle).toBe(true);
    expect(r.oracle.accuracy).toBe(1);
    expect(r.oracle.threshold).toBeCloseTo(0.325, 15);
  });
  it('doc examples', () => {
    expect(pearson([1, 2, 3], [2, 4, 6.5])).toBeCloseTo(0.9979, 4);
    expect(spearman([0.1, 0.4, 0.3], [1, 5, 2])).toBeCloseTo(1, 15);
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.8333333333, 9);
    expect(meanAveragePrecision([0.9, 0.1, 0.2, 0.8], [1, 0, 0, 1], 2).map).toBe(1);
    expect(recallAtK([0.9, 0.1, 0.2, 0.3, 0.1, 0.2], 2, 3, Int32Array.from([0, 2]), [1, 2]).recall).toEqual({
      1: 0.5,
      2: 1,
    });
  });
});

describe('recallAtK', () => {
  it('text→image (one relevant) and image→text (several relevant)', () => {
    // 2 images × 4 captions; captions 0,1 → image 0; 2,3 → image 1
    const capToImg = Int32Array.from([0, 0, 1, 1]);
    // image→text similarity [2·4]
    const i2t = [0.1, 0.9, 0.5, 0.2, 0.8, 0.3, 0.7, 0.6];
    const r = recallAtK(i2t, 2, 4, (q) => [0, 1, 2, 3].filter((c) => capToImg[c] === q), [1, 2]);
    expect(Array.from(r.ranks)).toEqual([1, 2]);
    expect(r.recall).toEqual({ 1: 0.5, 2: 1 });
    expect(r.medianRank).toBe(1.5);
    // text→image [4·2]
    const t2i = [0.9, 0.1, 0.2, 0.3, 0.1, 0.7, 0.8, 0.9];
    const s = recallAtK(t2i, 4, 2, capToImg, [1]);
    expect(Array.from(s.ranks)).toEqual([1, 2, 1, 1]);
    expect(s.recall[1]).toBe(0.75);
    expect(s.meanRank).toBe(1.25);
  });
  it('ties are pessimistic: constant similarity earns no R@1', () => {
    const r = recallAtK(new Float64Array(9).fill(0.5), 3, 3, Int32Array.from([0, 1, 2]), [1, 3]);
    expect(r.recall).toEqual({ 1: 0, 3: 1 });
  });
  it('input checks', () => {
    expect(() => recallAtK([1, 2, 3], 2, 2, [0, 1])).toThrow(ShapeError);
    expect(() => recallAtK([1, 2, 3, 4], 2, 2, [0])).toThrow(ShapeError);
    expect(() => recallAtK([1, 2, 3, 4], 2, 2, [0, 5])).toThrow(InvalidArgumentError);
    expect(() => recallAtK([1, 2, 3, 4], 2, 2, () => [])).toThrow(InvalidArgumentError);
    expect(() => recallAtK([1, NaN, 3, 4], 2, 2, [0, 1])).toThrow(NonFiniteError);
  });
});

describe('input checks', () => {
  it('length mismatch → ShapeError naming the argument', () => {
    expect(() => spearman([1, 2, 3], [1, 2])).toThrow(/spearman: 'y' must have shape \[N=3\]/);
    expect(() => rocAuc([1, 2], [0, 1, 1])).toThrow(ShapeError);
    expect(() => rocAuc([1, 2], [0, 1, 1])).toThrow(/'labels'/);
    expect(() =>
      thresholdedEvaluation({ fitScores: [1], fitLabels: [1], evalScores: [1, 2], evalLabels: [1] }),
    ).toThrow(/'evalLabels'/);
    expect(() => meanAveragePrecision([1, 2, 3], [0, 1, 0], 2)).toThrow(ShapeError);
  });
  it('non-finite → NonFiniteError naming the argument', () => {
    expect(() => pearson([1, NaN, 3], [1, 2, 3])).toThrow(NonFiniteError);
    expect(() => pearson([1, 2, 3], [1, Infinity, 3])).toThrow(/'y' has 1 non-finite/);
    expect(() => rocAuc([1, NaN], [0, 1])).toThrow(/'scores'/);
    expect(() => averagePrecision([NaN], [1])).toThrow(NonFiniteError);
  });
  it('labels must be 0/1 → InvalidArgumentError', () => {
    expect(() => rocAuc([1, 2], [0, 2])).toThrow(InvalidArgumentError);
    expect(() => classificationAt([1, 2], [0, -1], 0)).toThrow(/'labels' must contain only 0 and 1/);
    expect(() => bestThreshold([1, 2], [0, 0.5])).toThrow(InvalidArgumentError);
    expect(() => meanAveragePrecision([1, 2], [0, 3], 1)).toThrow(InvalidArgumentError);
  });
  it('degenerate inputs', () => {
    expect(() => rocAuc([1, 2], [1, 1])).toThrow(/both classes/);
    expect(() => averagePrecision([1, 2], [0, 0])).toThrow(/at least one positive/);
    expect(() => spearman([1], [1])).toThrow(InvalidArgumentError);
    expect(() => bestThreshold([1], [1], { metric: 'auc' as 'f1' })).toThrow(InvalidArgumentError);
    expect(meanAveragePrecision([1, 2], [0, 0], 1).map).toBeNaN();
  });
});

describe('multiLabelF1 (moved from @geolip/bench coco-task)', () => {
  it('hand case: micro over cells, macro over classes with positives', () => {
    // 2 images × 3 classes; class 2 has no positive and no prediction.
    const probs = [0.9, 0.2, 0.1, 0.6, 0.7, 0.4];
    const targets = [1, 1, 0, 0, 1, 0];
    // TP: (0,0), (1,1); FP: (1,0); FN: (0,1).  micro = 2·2/(2·2 + 1 + 1) = 2/3.
    // class 0: tp 1, fp 1 → 2/3; class 1: tp 1, fn 1 → 2/3; macro = 2/3.
    const f = multiLabelF1(probs, targets, 3);
    expect(f.micro).toBeCloseTo(2 / 3, 12);
    expect(f.macro).toBeCloseTo(2 / 3, 12);
  });
  it('refuses a bad class count or a ragged length, naming the argument', () => {
    expect(() => multiLabelF1([0.5, 0.5], [1, 0], 0)).toThrow(/multiLabelF1: 'numClasses'/);
    expect(() => multiLabelF1([0.5, 0.5, 0.5], [1, 0, 1], 2)).toThrow(ShapeError);
  });
});
