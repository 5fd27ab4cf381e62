// Task heads on frozen embeddings: hand-derived values, numpy float64 references with set weights, losses,
// gradients, state dicts, memory, and bad input. The numpy references were computed with this script
// (numpy 2.4, float64; gelu(x) = 0.5·x·(1 + erf(x/√2))):
//
//   feats = lambda u, v: np.concatenate([u, v, np.abs(u - v), u * v], 1)
//   h = gelu(feats(U, V) @ W0.T + b0)
//   similarity: score = 5 / (1 + exp(-(h @ W2.T + b2)));  mse = mean((score - [4, 1])**2)
//   nli: logits = h @ W2n.T + b2n;  ce = -mean(log_softmax(logits)[[0, 1], [0, 2]])
//   tagging: z = gelu(X @ T0.T + tb0) @ T2.T + tb2;  bce = mean(max(z, 0) - z*y + log1p(exp(-|z|)))
//
// with the U, V, W0, b0, … below.
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import {
  NLI_LABELS,
  NliHead,
  ParaphraseThreshold,
  SentimentHead,
  SimilarityHead,
  TaggingHead,
  pairFeatures,
} from '../src/index.js';

const U = [
  [1, 0],
  [0.6, 0.8],
];
const V = [
  [0, 1],
  [0.6, 0.8],
];
const W0 = [
  [0.5, -0.25, 0.1, 0.2, -0.3, 0.4, 0.05, -0.15],
  [-0.2, 0.3, 0.25, -0.1, 0.6, -0.5, 0.35, 0.45],
];
const B0 = [0.1, -0.2];

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(tol);
}

/** Loads PyTorch-layout weights given as nested arrays. */
function setWeights(
  m: { loadStateDict(d: Record<string, tf.Tensor>): void },
  w: Record<string, number[] | number[][]>,
): void {
  const dict = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, tf.tensor(v)]));
  m.loadStateDict(dict);
  tf.dispose(Object.values(dict));
}

function read(t: tf.Tensor): number[] {
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

describe('pairFeatures', () => {
  it('is [u, v, |u − v|, u ⊙ v] (hand-derived)', () => {
    expect(read(pairFeatures([[1, 2]], [[3, 0]]))).toEqual([1, 2, 3, 0, 2, 2, 3, 0]);
    const u = tf.tensor2d([[-1, 0.5]]);
    const v = tf.tensor2d([[2, 0.5]]);
    close(read(pairFeatures(u, v)), [-1, 0.5, 2, 0.5, 3, 0, -2, 0.25]);
    tf.dispose([u, v]);
  });
  it('names the function and the argument on bad shapes', () => {
    expect(() => pairFeatures([[1, 2]], [[1, 2, 3]])).toThrow(
      /pairFeatures: 'v' must have shape \[B=1, D=2\], got \[1, 3\]/,
    );
    expect(() => pairFeatures([[1, 2], [3]], [[1, 2]])).toThrow(ShapeError);
  });
});

describe('SimilarityHead', () => {
  it('has PyTorch names, shapes and the documented parameter count', () => {
    const head = new SimilarityHead({ embedDim: 768, layout: 'mlp' });
    expect(head.paramCount()).toBe(786_945); // 4·768·256 + 256 + 256 + 1
    const sd = head.stateDict();
    expect(Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.shape]))).toEqual({
      'net.0.weight': [256, 3072],
      'net.0.bias': [256],
      'net.2.weight': [1, 256],
      'net.2.bias': [1],
    });
    tf.dispose(Object.values(sd));
    head.dispose();
  });

  it('hand-derived: D = 1, h = 1, weights picking u, gives 5·σ(gelu(1))', () => {
    const head = new SimilarityHead({ embedDim: 1, hidden: 1, layout: 'mlp' });
    setWeights(head, { 'net.0.weight': [[1, 0, 0, 0]], 'net.0.bias': [0], 'net.2.weight': [[1]], 'net.2.bias': [0] });
    const gelu1 = 0.8413447460685429; // Φ(1)
    close(read(head.forward([[1]], [[0]])), [5 / (1 + Math.exp(-gelu1))]); // 3.4937…
    head.dispose();
  });

  it('zero weights predict the middle of the range; the MSE is then hand-derived', () => {
    const head = new SimilarityHead({ embedDim: 2, hidden: 3, range: [1, 5], layout: 'mlp' });
    for (const v of Object.values(head.getWeights())) v.assign(tf.zerosLike(v));
    close(read(head.forward(U, V)), [3, 3]);
    close(read(head.loss({ u: U, v: V, score: [1, 5] })), [4]); // ((3−1)² + (3−5)²)/2
    head.dispose();
  });

  it('matches the numpy reference with set weights (scores and MSE)', () => {
    const head = new SimilarityHead({ embedDim: 2, hidden: 2, layout: 'mlp' });
    setWeights(head, { 'net.0.weight': W0, 'net.0.bias': B0, 'net.2.weight': [[1.5, -0.75]], 'net.2.bias': [0.25] });
    close(read(head.forward(U, V)), [4.053751116564074, 2.964676593108912]);
    close(read(head.predict(tf.tensor2d(U), tf.tensor2d(V))), [4.053751116564074, 2.964676593108912]);
    close(read(head.loss({ u: U, v: V, score: [4, 1] })), [1.9314216490209632]);
    const u = tf.tensor2d(U);
    const v = tf.tensor2d(V);
    const score = tf.tensor1d([4, 1]);
    close(read(head.loss({ u, v, score })), [1.9314216490209632]);
    tf.dispose([u, v, score]);
    head.dispose();
  });

  it('loss is differentiable w.r.t. every parameter; a save → load round trip reproduces the outputs', () => {
    const a = new SimilarityHead({ embedDim: 2, hidden: 4, seed: 1, layout: 'mlp' });
    const weights = a.getWeights();
    const { value, grads } = tf.variableGrads(() => a.loss({ u: U, v: V, score: [4, 1] }), Object.values(weights));
    for (const v of Object.values(weights)) expect(grads[v.name]).toBeDefined();
    expect(
      Math.max(...Object.values(grads).map((g) => Math.max(...Array.from(g.dataSync()).map(Math.abs)))),
    ).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    const b = new SimilarityHead({ embedDim: 2, hidden: 4, seed: 2, layout: 'mlp' });
    const sd = a.stateDict();
    b.loadStateDict(sd);
    tf.dispose(Object.values(sd));
    expect(read(b.forward(U, V))).toEqual(read(a.forward(U, V)));
    a.dispose();
    b.dispose();
  });

  it('forward returns one tensor and leaks none (tensor and array inputs)', () => {
    const head = new SimilarityHead({ embedDim: 2, hidden: 4, layout: 'mlp' });
    const u = tf.tensor2d(U);
    const before = tf.memory().numTensors;
    const out = head.forward(u, V);
    expect(tf.memory().numTensors).toBe(before + 1);
    out.dispose();
    const loss = head.loss({ u, v: V, score: [1, 2] });
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([loss, u]);
    head.dispose();
  });

  it('refuses bad options and inputs with typed errors naming the method and argument', () => {
    expect(() => new SimilarityHead({ embedDim: 0, layout: 'mlp' })).toThrow(
      /SimilarityHead: 'options.embedDim' must be a positive integer/,
    );
    expect(() => new SimilarityHead({ embedDim: 2, range: [5, 0], layout: 'mlp' })).toThrow(
      /SimilarityHead: 'options.range'/,
    );
    expect(() => new SimilarityHead({ embedDim: 2, foo: 1 } as never)).toThrow(/'options.foo' is not an option/);
    const head = new SimilarityHead({ embedDim: 2, hidden: 2, layout: 'mlp' });
    expect(() => head.forward([[1, 2, 3]], [[1, 2, 3]])).toThrow(
      /SimilarityHead.forward: 'u' must have shape \[B, 2\], got \[1, 3\]/,
    );
    expect(() =>
      head.forward(U, [
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    ).toThrow(/SimilarityHead.forward: 'v' must have shape \[B=2, 2\], got \[3, 2\]/);
    const ints = tf.tensor2d(U, [2, 2], 'int32');
    expect(() => head.forward(ints, V)).toThrow(/'u' must have dtype float32, got int32/);
    ints.dispose();
    expect(() => head.forward('text' as never, V)).toThrow(InvalidArgumentError);
    expect(() => head.loss({ u: U, v: V, score: [6, 1] })).toThrow(
      /SimilarityHead.loss: 'batch.score\[0\]' must be in \[0, 5\], got 6/,
    );
    expect(() => head.loss({ u: U, v: V, score: [1] })).toThrow(/'batch.score' must have shape \[B=2\], got \[1\]/);
    expect(() =>
      head.loss({
        u: [
          [1, NaN],
          [0, 1],
        ],
        v: V,
        score: [1, 1],
      }),
    ).toThrow(NonFiniteError);
    expect(() => head.loss(null as never)).toThrow(/SimilarityHead.loss: 'batch' must be an object/);
    const empty = tf.zeros([0, 2]) as tf.Tensor2D;
    expect(() => head.loss({ u: empty, v: empty, score: [] })).toThrow(/'batch' must hold at least one pair/);
    empty.dispose();
    head.dispose();
    expect(() => head.forward(U, V)).toThrow(/SimilarityHead.forward: 'this'/);
  });
});

describe('NliHead', () => {
  it('documents the class order and has PyTorch names', () => {
    expect(NLI_LABELS).toEqual(['entailment', 'neutral', 'contradiction']);
    const head = new NliHead({ embedDim: 4, hidden: 8, layout: 'mlp' });
    expect(Object.keys(head.getWeights())).toEqual(['net.0.weight', 'net.0.bias', 'net.2.weight', 'net.2.bias']);
    expect(head.paramCount()).toBe(16 * 8 + 8 + 8 * 3 + 3);
    head.dispose();
  });

  it('uniform logits give ln 3 (hand-derived)', () => {
    const head = new NliHead({ embedDim: 2, hidden: 2, layout: 'mlp' });
    for (const v of Object.values(head.getWeights())) v.assign(tf.zerosLike(v));
    close(read(head.loss({ u: U, v: V, label: [0, 2] })), [Math.log(3)]);
    close(read(head.probabilities(U, V)), [1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3]);
    head.dispose();
  });

  it('matches the numpy reference with set weights (logits, cross-entropy, predicted classes)', () => {
    const head = new NliHead({ embedDim: 2, hidden: 2, layout: 'mlp' });
    setWeights(head, {
      'net.0.weight': W0,
      'net.0.bias': B0,
      'net.2.weight': [
        [1, -0.5],
        [0.2, 0.3],
        [-0.7, 1.1],
      ],
      'net.2.bias': [0.1, 0, -0.1],
    });
    const logits = head.forward(U, V);
    expect(logits.shape).toEqual([2, 3]);
    close(
      read(logits),
      [
        0.9032615388658517, 0.10551978643082219, -0.765656554722999, 0.18407548206057, 0.12296910870267012,
        0.04018593560239375,
      ],
    );
    close(read(head.loss({ u: U, v: V, label: [0, 2] })), [0.8349314555431246]);
    const labels = tf.tensor1d([0, 2], 'float32'); // a float tensor of indices is cast
    close(read(head.loss({ u: U, v: V, label: labels })), [0.8349314555431246]);
    labels.dispose();
    const pred = head.predict(U, V);
    expect(pred.dtype).toBe('int32');
    expect(read(pred)).toEqual([0, 0]);
    head.dispose();
  });

  it('refuses bad labels and shapes', () => {
    const head = new NliHead({ embedDim: 2, hidden: 2, layout: 'mlp' });
    expect(() => head.loss({ u: U, v: V, label: [0, 3] })).toThrow(
      /NliHead.loss: 'batch.label\[1\]' must be a class index 0, 1 or 2/,
    );
    expect(() => head.loss({ u: U, v: V, label: [0, 0.5] })).toThrow(InvalidArgumentError);
    expect(() => head.loss({ u: U, v: [[1, 0]], label: [0, 1] })).toThrow(
      /NliHead.loss: 'batch.v' must have shape \[B=2, 2\], got \[1, 2\]/,
    );
    expect(() =>
      head.forward(
        U,
        V.map((r) => [...r, 0]),
      ),
    ).toThrow(ShapeError);
    expect(() => new NliHead({ embedDim: 2, hidden: 1.5, layout: 'mlp' })).toThrow(/NliHead: 'options.hidden'/);
    head.dispose();
  });
});

describe('TaggingHead', () => {
  const X = [
    [1, -1, 0.5],
    [0, 2, -0.5],
  ];
  const weights = {
    'net.0.weight': [
      [0.3, -0.2, 0.5],
      [-0.4, 0.1, 0.6],
    ],
    'net.0.bias': [0.05, -0.05],
    'net.2.weight': [
      [1.2, -0.8],
      [-0.6, 0.9],
    ],
    'net.2.bias': [0.1, -0.3],
  };

  it('has PyTorch names and C logits per row', () => {
    const head = new TaggingHead({ embedDim: 768, classes: 80, layout: 'mlp' });
    expect(head.paramCount()).toBe(768 * 256 + 256 + 256 * 80 + 80);
    const sd = head.stateDict();
    expect(sd['net.2.weight']!.shape).toEqual([80, 256]);
    tf.dispose(Object.values(sd));
    const x = tf.randomNormal([5, 768]) as tf.Tensor2D;
    const logits = head.forward(x);
    expect(logits.shape).toEqual([5, 80]);
    tf.dispose([x, logits]);
    head.dispose();
  });

  it('zero logits give ln 2 (hand-derived)', () => {
    const head = new TaggingHead({ embedDim: 3, classes: 2, hidden: 2, layout: 'mlp' });
    for (const v of Object.values(head.getWeights())) v.assign(tf.zerosLike(v));
    close(
      read(
        head.loss({
          x: X,
          labels: [
            [1, 0],
            [0, 1],
          ],
        }),
      ),
      [Math.LN2],
    );
    head.dispose();
  });

  it('matches the numpy reference with set weights (logits, BCE with logits, thresholded predictions)', () => {
    const head = new TaggingHead({ embedDim: 3, classes: 2, hidden: 2, layout: 'mlp' });
    setWeights(head, weights);
    close(read(head.forward(X)), [0.9368775522233544, -0.7686004854013118, -0.04461636786448209, -0.26072048913999074]);
    close(
      read(head.probabilities(X)),
      [0.7184685062408163, 0.31678192710294956, 0.48884775796243723, 0.43518660426303035],
    );
    close(
      read(
        head.loss({
          x: X,
          labels: [
            [1, 0],
            [0, 1],
          ],
        }),
      ),
      [0.5536606896787397],
    );
    const x = tf.tensor2d(X);
    const y = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    close(read(head.loss({ x, labels: y })), [0.5536606896787397]);
    tf.dispose([x, y]);
    const p = head.predict(X);
    expect(p.dtype).toBe('int32');
    expect(read(p)).toEqual([1, 0, 0, 0]);
    expect(read(head.predict(X, 0.4))).toEqual([1, 0, 1, 1]);
    expect(read(head.predict(X, 0))).toEqual([1, 1, 1, 1]);
    expect(read(head.predict(X, 1))).toEqual([0, 0, 0, 0]);
    head.dispose();
  });

  it('refuses bad thresholds, labels and shapes', () => {
    const head = new TaggingHead({ embedDim: 3, classes: 2, hidden: 2, layout: 'mlp' });
    expect(() => head.predict(X, 1.5)).toThrow(
      /TaggingHead.predict: 'threshold' must be a probability in \[0, 1\], got 1.5/,
    );
    expect(() => head.predict(X, NaN)).toThrow(InvalidArgumentError);
    expect(() =>
      head.loss({
        x: X,
        labels: [
          [1, 2],
          [0, 1],
        ],
      }),
    ).toThrow(/TaggingHead.loss: 'batch.labels\[0\]\[1\]' must be in \[0, 1\], got 2/);
    expect(() =>
      head.loss({
        x: X,
        labels: [
          [1, 0, 1],
          [0, 1, 0],
        ],
      }),
    ).toThrow(/'batch.labels' must have shape \[B=2, 2\], got \[2, 3\]/);
    expect(() => head.forward([[1, 2]])).toThrow(/TaggingHead.forward: 'x' must have shape \[B, 3\], got \[1, 2\]/);
    expect(() => new TaggingHead({ embedDim: 3 } as never)).toThrow(/TaggingHead: 'options.classes'/);
    head.dispose();
  });
});

describe('ParaphraseThreshold', () => {
  it('hand-derived: the F1-best midpoint', () => {
    // cuts (t: tp, fp → F1 = 2tp/(tp + fp + 3)): 0.85: 1,0 → 1/2; 0.75: 2,0 → 4/5; 0.65: 2,1 → 2/3;
    // 0.55: 3,1 → 6/7 (best); 0.45: 3,2 → 3/4; 0.4 (all): 3,3 → 2/3.
    const pt = new ParaphraseThreshold();
    const fit = pt.fit([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0]);
    expect(fit.threshold).toBeCloseTo(0.55, 12);
    expect(pt.threshold).toBe(fit.threshold);
    expect(fit.f1).toBeCloseTo(6 / 7, 12);
    expect(fit.precision).toBeCloseTo(3 / 4, 12);
    expect(fit.recall).toBe(1);
    expect(fit.accuracy).toBeCloseTo(5 / 6, 12);
    expect([fit.tp, fit.fp, fit.tn, fit.fn]).toEqual([3, 1, 2, 0]);
    expect(Array.from(pt.predict([0.95, 0.55, 0.549, 0.1]))).toEqual([1, 1, 0, 0]);
  });

  it('ties go to the highest threshold', () => {
    // 0.85: tp 1, fp 0 → 2/3; 0.75 → 1/2; 0.65 → 2/5; 0.6 (all): tp 2, fp 2 → 4/6 = 2/3 (tie) → 0.85 wins.
    const fit = new ParaphraseThreshold().fit([0.9, 0.8, 0.7, 0.6], [1, 0, 0, 1]);
    expect(fit.f1).toBeCloseTo(2 / 3, 12);
    expect(fit.threshold).toBeCloseTo(0.85, 12);
  });

  it('groups equal cosines, and the all-positive cut is the smallest cosine (finite)', () => {
    const same = new ParaphraseThreshold().fit([0.5, 0.5, 0.5], [1, 0, 1]);
    expect(same.threshold).toBe(0.5);
    expect(same.f1).toBeCloseTo(4 / 5, 12);
    const all = new ParaphraseThreshold().fit([0.3, 0.2], [1, 1]);
    expect(all.threshold).toBe(0.2);
    expect(all.f1).toBe(1);
  });

  it('is invariant to the order of the pairs and never beaten by a grid threshold', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    const n = 300;
    const labels = Array.from({ length: n }, () => (rand() < 0.6 ? 1 : 0));
    // Rounded to 2 decimals so there are many ties in cosine.
    const cosines = labels.map((y) => Math.round((0.55 + 0.25 * y + 0.3 * (rand() - 0.5)) * 100) / 100);
    const reference = new ParaphraseThreshold().fit(cosines, labels);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let trial = 0; trial < 10; trial++) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
      const fit = new ParaphraseThreshold().fit(
        idx.map((i) => cosines[i]!),
        Float64Array.from(idx.map((i) => labels[i]!)),
      );
      expect(fit).toEqual(reference);
    }
    const pos = labels.reduce<number>((a, b) => a + b, 0);
    for (let t = -1; t <= 1.0001; t += 0.01) {
      let tp = 0;
      let fp = 0;
      cosines.forEach((c, i) => {
        if (c >= t) labels[i] === 1 ? tp++ : fp++;
      });
      expect((2 * tp) / (tp + fp + pos)).toBeLessThanOrEqual(reference.f1 + 1e-15);
    }
  });

  it('toJSON / fromJSON round trip; a known threshold from the constructor', () => {
    const pt = new ParaphraseThreshold();
    pt.fit([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0]);
    const text = JSON.stringify(pt);
    const back = ParaphraseThreshold.fromJSON(JSON.parse(text));
    expect(back.threshold).toBe(pt.threshold);
    expect(back.fitResult).toEqual(pt.fitResult);
    expect(ParaphraseThreshold.fromJSON(text).threshold).toBe(pt.threshold);
    const card = new ParaphraseThreshold(0.71);
    expect(Array.from(card.predict([0.71, 0.7099]))).toEqual([1, 0]);
    expect(ParaphraseThreshold.fromJSON(JSON.stringify(card)).toJSON()).toEqual({
      type: 'ParaphraseThreshold',
      version: 1,
      threshold: 0.71,
      fit: null,
    });
    expect(ParaphraseThreshold.fromJSON(JSON.stringify(new ParaphraseThreshold())).threshold).toBeNull();
  });

  it('refuses bad input with typed errors', () => {
    const pt = new ParaphraseThreshold();
    expect(() => pt.predict([0.5])).toThrow(/ParaphraseThreshold.predict: 'this' has no threshold/);
    expect(() => pt.fit([0.1, 0.2, 0.3], [1, 0])).toThrow(/ParaphraseThreshold.fit: 'labels' must have shape \[N=3\]/);
    expect(() => pt.fit([0.1, 0.2], [1, 2])).toThrow(/'labels\[1\]' must be 0 or 1, got 2/);
    expect(() => pt.fit([0.1, NaN], [1, 0])).toThrow(NonFiniteError);
    expect(() => pt.fit([0.1, 0.2], [0, 0])).toThrow(/'labels' must hold at least one positive/);
    expect(() => pt.fit([], [])).toThrow(InvalidArgumentError);
    expect(() => pt.fit('0.5' as never, [1])).toThrow(/'cosines' must be an array of numbers/);
    expect(() => new ParaphraseThreshold(0.5).predict([0.1, Infinity])).toThrow(NonFiniteError);
    expect(() => new ParaphraseThreshold(NaN)).toThrow(/ParaphraseThreshold: 'threshold'/);
    expect(() =>
      ParaphraseThreshold.fromJSON({ type: 'Other', version: 1, threshold: 0.5, fit: null } as never),
    ).toThrow(FormatError);
    expect(() =>
      ParaphraseThreshold.fromJSON({ type: 'ParaphraseThreshold', version: 2, threshold: 0.5, fit: null } as never),
    ).toThrow(/version 2/);
    expect(() => ParaphraseThreshold.fromJSON('{"type":"ParaphraseThreshold","version":1,"threshold":"x"}')).toThrow(
      /threshold "x"/,
    );
    expect(() => ParaphraseThreshold.fromJSON('not json')).toThrow(
      /ParaphraseThreshold.fromJSON: 'json' is not valid JSON/,
    );
  });
});

it('README example (Heads)', () => {
  const u = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
  ];
  const v = [
    [0.9, 0.1, 0, 0],
    [0, 0, 1, 0],
  ];
  const sim = new SimilarityHead({ embedDim: 4 });
  const scores = read(sim.forward(u, v));
  expect(scores.length).toBe(2);
  for (const x of scores) expect(x > 0 && x < 5).toBe(true);
  expect(Number.isFinite(read(sim.loss({ u, v, score: [4.8, 0.4] }))[0]!)).toBe(true);
  const nli = new NliHead({ embedDim: 4 });
  const classes = read(nli.predict(u, v));
  for (const c of classes) expect(NLI_LABELS[c]).toBeDefined();
  expect(read(nli.loss({ u, v, label: [0, 2] }))[0]).toBeGreaterThan(0);
  const tagger = new TaggingHead({ embedDim: 4, classes: 3 });
  const tags = tagger.predict(u, 0.5);
  expect(tags.shape).toEqual([2, 3]);
  tags.dispose();
  expect(
    read(
      tagger.loss({
        x: u,
        labels: [
          [1, 0, 1],
          [0, 1, 0],
        ],
      }),
    )[0],
  ).toBeGreaterThan(0);
  const senti = new SentimentHead({ embedDim: 4, classes: 2 });
  const sentiment = read(senti.predict(u));
  for (const c of sentiment) expect([0, 1]).toContain(c);
  expect(read(senti.loss({ x: u, label: [1, 0] }))[0]).toBeGreaterThan(0);
  expect([sim, nli, tagger, senti].map((m) => m.layout)).toEqual(['card', 'card', 'card', 'card']);
  const pt = new ParaphraseThreshold();
  const fit = pt.fit([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0]);
  expect(fit).toMatchObject({ precision: 0.75, recall: 1 });
  expect(fit.threshold).toBeCloseTo(0.55, 12);
  expect(fit.f1).toBeCloseTo(6 / 7, 12);
  expect(Array.from(pt.predict([0.95, 0.3]))).toEqual([1, 0]);
  expect(ParaphraseThreshold.fromJSON(JSON.stringify(pt)).threshold).toBeCloseTo(0.55, 12);
  for (const m of [sim, nli, tagger, senti]) m.dispose();
});
