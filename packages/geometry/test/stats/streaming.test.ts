import { describe, expect, it } from 'vitest';

import fixture from '../fixtures/alignment.json';
import { FormatError, InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { createRng } from '../../src/random/rng.js';
import { RunningCrossMoments, RunningMoments } from '../../src/stats/index.js';
import { expectTensorClose } from '../../src/testing/index.js';

function randomMatrix(rows: number, cols: number, seed: number, offset = 0): Matrix {
  const rng = createRng(seed);
  const m = new Matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = offset + rng.normal() * (1 + (i % cols));
  return m;
}

function sliceRows(m: Matrix, start: number, end: number): Matrix {
  return new Matrix(end - start, m.cols, m.data.slice(start * m.cols, end * m.cols));
}

/** Relative Frobenius distance. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

describe('RunningMoments', () => {
  const { moments } = fixture;
  const x = Matrix.fromArray(moments.x);

  it('matches numpy.mean and numpy.cov (ddof 1 and 0) on offset data', () => {
    const m = new RunningMoments(5).update(x);
    expect(m.count).toBe(50);
    expectTensorClose(m.mean(), moments.mean, { rtol: 1e-14, atol: 0 });
    expectTensorClose(m.covariance(), moments.cov, { rtol: 1e-11, atol: 1e-12 });
    expectTensorClose(m.covariance({ ddof: 0 }), moments.cov_ddof0, { rtol: 1e-11, atol: 1e-12 });
  });

  it('gives the same answer shard by shard, merged in any order, as all at once (and as numpy)', () => {
    const cuts = [0, 7, 8, 21, 33, 50];
    const shards = cuts.slice(1).map((end, i) => new RunningMoments(5).update(sliceRows(x, cuts[i]!, end)));
    const forward = shards.reduce((acc, s) => acc.merge(s), new RunningMoments(5));
    const backward = [...shards].reverse().reduce((acc, s) => acc.merge(s), new RunningMoments(5));
    // Tree: ((0,1),(2,(3,4)))
    const tree = shards[0]!
      .clone()
      .merge(shards[1]!)
      .merge(shards[2]!.clone().merge(shards[3]!.clone().merge(shards[4]!)));
    // Streaming: one accumulator, batch after batch.
    const streaming = new RunningMoments(5);
    cuts.slice(1).forEach((end, i) => streaming.update(sliceRows(x, cuts[i]!, end)));
    const all = new RunningMoments(5).update(x);
    for (const m of [forward, backward, tree, streaming]) {
      expect(m.count).toBe(50);
      expect(relDiff(m.mean(), all.mean())).toBeLessThan(1e-14);
      expect(relDiff(m.covariance().data, all.covariance().data)).toBeLessThan(1e-12);
      expect(relDiff(m.covariance().data, new Matrix(5, 5, Float64Array.from(moments.cov.flat())).data)).toBeLessThan(
        1e-12,
      );
    }
  });

  it('stays accurate where raw sums cancel (mean 1e8, unit variance)', () => {
    const big = randomMatrix(400, 3, 7, 1e8);
    const shards = [0, 100, 250, 400]
      .slice(1)
      .map((end, i, a) => new RunningMoments(3).update(sliceRows(big, i === 0 ? 0 : a[i - 1]!, end)));
    const merged = shards.reduce((acc, s) => acc.merge(s), new RunningMoments(3));
    const all = new RunningMoments(3).update(big);
    // The inputs themselves are quantized at ulp(1e8) ≈ 1.5e-8, so agreement is limited to ~1e-9.
    expect(relDiff(merged.covariance().data, all.covariance().data)).toBeLessThan(1e-8);
    // Raw sums (ΣxᵀX/n − μμᵀ) lose everything here: Σx² ≈ 4e18 has an ulp of 512.
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < 400; r++) {
      const v = big.data[r * 3]!;
      s += v;
      s2 += v * v;
    }
    const naive = (s2 - (s * s) / 400) / 399;
    const twoPass = all.covariance().data[0]!;
    expect(Math.abs(naive - twoPass)).toBeGreaterThan(0.1);
    expect(twoPass).toBeGreaterThan(0.7);
    expect(twoPass).toBeLessThan(1.3);
  });

  it('round-trips through JSON exactly, so shard jobs can write and a reducer can merge', () => {
    const a = new RunningMoments(5).update(sliceRows(x, 0, 20));
    const b = new RunningMoments(5).update(sliceRows(x, 20, 50));
    const restored = RunningMoments.fromJSON(JSON.parse(JSON.stringify(a)));
    expect(restored.count).toBe(20);
    expect(Array.from(restored.mean())).toEqual(Array.from(a.mean()));
    expect(Array.from(restored.comoment().data)).toEqual(Array.from(a.comoment().data));
    const merged = restored.merge(RunningMoments.fromJSON(JSON.parse(JSON.stringify(b))));
    expect(Array.from(merged.covariance().data)).toEqual(Array.from(a.clone().merge(b).covariance().data));
  });

  it('treats empty batches and empty accumulators as no-ops, and reports NaN when undefined', () => {
    const m = new RunningMoments(2);
    expect(Array.from(m.mean()).every(Number.isNaN)).toBe(true);
    m.update(new Matrix(0, 2)).merge(new RunningMoments(2));
    expect(m.count).toBe(0);
    m.update([[1, 2]]);
    expect(Array.from(m.covariance().data).every(Number.isNaN)).toBe(true); // count 1, ddof 1
    expect(Array.from(m.covariance({ ddof: 0 }).data)).toEqual([0, 0, 0, 0]);
  });

  it('accepts a tf.Tensor2D batch', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    const t = tf.tensor2d([
      [1, 2],
      [3, 5],
      [5, 4],
    ]);
    const m = new RunningMoments(2).update(t);
    t.dispose();
    expectTensorClose(
      m.covariance(),
      [
        [4, 2],
        [2, 7 / 3],
      ],
      { rtol: 1e-12 },
    );
  });

  it('doc example', () => {
    const all = new RunningMoments(2).update([
      [1, 2],
      [3, 5],
      [5, 4],
    ]);
    const shardA = new RunningMoments(2).update([[1, 2]]);
    const shardB = RunningMoments.fromJSON(
      JSON.parse(
        JSON.stringify(
          new RunningMoments(2).update([
            [3, 5],
            [5, 4],
          ]),
        ),
      ),
    );
    const merged = shardA.merge(shardB).covariance().toArray();
    expectTensorClose(
      merged,
      [
        [4, 2],
        [2, 2.3333333333333335],
      ],
      { rtol: 1e-14 },
    );
    expectTensorClose(merged, all.covariance(), { rtol: 1e-14 });
  });

  it('throws typed errors naming the op and argument', () => {
    expect(() => new RunningMoments(0)).toThrow(InvalidArgumentError);
    expect(() => new RunningMoments(0)).toThrow(/RunningMoments: 'dim' must be an integer >= 1, got 0/);
    expect(() => new RunningMoments(3).update([[1, 2]])).toThrow(ShapeError);
    expect(() => new RunningMoments(3).update([[1, 2]])).toThrow(
      /RunningMoments.update: 'batch' must have shape \[n, 3\], got \[1, 2\]/,
    );
    expect(() => new RunningMoments(2).update([[1, NaN]])).toThrow(NonFiniteError);
    expect(() => new RunningMoments(2).update([[1, NaN]])).toThrow(/RunningMoments.update: 'batch' has 1 non-finite/);
    expect(() => new RunningMoments(3).merge(new RunningMoments(2))).toThrow(
      /RunningMoments.merge: 'other' must have shape \[3\], got \[2\]/,
    );
    expect(() => new RunningMoments(2).covariance({ ddof: -1 })).toThrow(
      /RunningMoments.covariance: 'ddof' must be a finite number >= 0/,
    );
    expect(() => RunningMoments.fromJSON({ kind: 'Other' })).toThrow(FormatError);
    expect(() =>
      RunningMoments.fromJSON({
        kind: 'RunningMoments',
        version: 1,
        dim: 2,
        count: 1,
        mean: [0],
        comoment: [0, 0, 0, 0],
      }),
    ).toThrow(/RunningMoments.fromJSON: 'json' field 'mean' must be an array of 2 numbers, got length 1/);
  });
});

describe('RunningCrossMoments', () => {
  const { moments } = fixture;
  const x = Matrix.fromArray(moments.x);
  const y = Matrix.fromArray(moments.y);

  it('matches numpy cross-covariance and means', () => {
    const m = new RunningCrossMoments(5, 3).update(x, y);
    expectTensorClose(m.meanX(), moments.mean, { rtol: 1e-14, atol: 0 });
    expectTensorClose(m.meanY(), moments.meanY, { rtol: 1e-14, atol: 0 });
    expectTensorClose(m.crossCovariance(), moments.crossCov, { rtol: 1e-11, atol: 1e-12 });
  });

  it('merges shards in any order to the all-at-once answer', () => {
    const cuts = [0, 13, 14, 40, 50];
    const shards = cuts
      .slice(1)
      .map((end, i) => new RunningCrossMoments(5, 3).update(sliceRows(x, cuts[i]!, end), sliceRows(y, cuts[i]!, end)));
    const all = new RunningCrossMoments(5, 3).update(x, y);
    const forward = shards.reduce((acc, s) => acc.merge(s), new RunningCrossMoments(5, 3));
    const backward = [...shards].reverse().reduce((acc, s) => acc.merge(s), new RunningCrossMoments(5, 3));
    const viaJson = shards
      .map((s) => RunningCrossMoments.fromJSON(JSON.parse(JSON.stringify(s))))
      .reduce((acc, s) => acc.merge(s));
    for (const m of [forward, backward, viaJson]) {
      expect(m.count).toBe(50);
      expect(relDiff(m.crossCovariance().data, all.crossCovariance().data)).toBeLessThan(1e-12);
      expect(relDiff(m.meanY(), all.meanY())).toBeLessThan(1e-14);
    }
  });

  it('doc example', () => {
    const m = new RunningCrossMoments(1, 2).update(
      [[1], [2], [3]],
      [
        [2, 0],
        [4, 1],
        [6, -1],
      ],
    );
    expectTensorClose(m.crossCovariance().toArray(), [[2, -0.5]], { rtol: 1e-14 });
  });

  it('throws typed errors naming the op and argument', () => {
    expect(() =>
      new RunningCrossMoments(2, 3).update(
        [[1, 2]],
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ),
    ).toThrow(/RunningCrossMoments.update: 'y' must have shape \[n=1, 3\], got \[2, 3\]/);
    expect(() => new RunningCrossMoments(2, 0)).toThrow(/RunningCrossMoments: 'dimY' must be an integer >= 1/);
    expect(() => new RunningCrossMoments(2, 3).merge(new RunningCrossMoments(3, 2))).toThrow(ShapeError);
    expect(() => RunningCrossMoments.fromJSON(null)).toThrow(/RunningCrossMoments.fromJSON: 'json' must be an object/);
  });
});
