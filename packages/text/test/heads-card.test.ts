// The card layouts of the heads (single Linear layers): parameter names and counts, outputs against the numpy
// float64 reference of test/fixtures/gen_heads_card_fixture.py (committed as heads-card.json), hand-derived cases,
// save → load round trips, and typed errors for bad options.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { NliHead, SentimentHead, SimilarityHead, TaggingHead } from '../src/index.js';

interface Affine {
  weight: number[][];
  bias: number[];
}
const ref = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'heads-card.json'), 'utf8')) as {
  D: number;
  u: number[][];
  v: number[][];
  similarity: { gold: number[] } & Record<
    'product' | 'abs-diff' | 'features',
    Affine & { score: number[]; mse: number }
  >;
  nli: Affine & { labels: number[]; logits: number[][]; ce: number; predict: number[] };
  tagging: Affine & { labels: number[][]; logits: number[][]; probabilities: number[][]; bce: number };
  sentiment: Affine & {
    labels: number[];
    logits: number[][];
    probabilities: number[][];
    ce: number;
    predict: number[];
  };
};
const { D, u: U, v: V } = ref;

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(tol);
}

function read(t: tf.Tensor): number[] {
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

function setLinear(m: { loadStateDict(d: Record<string, tf.Tensor>): void }, w: Affine): void {
  const dict = { 'linear.weight': tf.tensor2d(w.weight), 'linear.bias': tf.tensor1d(w.bias) };
  m.loadStateDict(dict);
  tf.dispose(Object.values(dict));
}

function shapes(m: { stateDict(): Record<string, tf.Tensor> }): Record<string, number[]> {
  const sd = m.stateDict();
  const out = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.shape]));
  tf.dispose(Object.values(sd));
  return out;
}

describe('card layouts: names and parameter counts', () => {
  it('NLI: Linear(3072, 3) at D = 768, 4·768·3 + 3 = 9,219 (MLP: 787,459)', () => {
    const card = new NliHead({ embedDim: 768 });
    expect(card.layout).toBe('card');
    expect(card.hidden).toBeNull();
    expect(card.paramCount()).toBe(9_219);
    expect(shapes(card)).toEqual({ 'linear.weight': [3, 3072], 'linear.bias': [3] });
    const mlp = new NliHead({ embedDim: 768, layout: 'mlp' });
    expect(mlp.paramCount()).toBe(787_459);
    expect(Object.keys(mlp.getWeights())).toEqual(['net.0.weight', 'net.0.bias', 'net.2.weight', 'net.2.bias']);
    card.dispose();
    mlp.dispose();
  });

  it('similarity: Linear(768, 1) = 769 on u ⊙ v or |u − v|; 3,073 on the 4D features; MLP 786,945', () => {
    for (const pairInput of [undefined, 'product', 'abs-diff'] as const) {
      const head = new SimilarityHead({ embedDim: 768, ...(pairInput ? { pairInput } : {}) });
      expect(head.pairInput).toBe(pairInput ?? 'product');
      expect(head.paramCount()).toBe(769);
      expect(shapes(head)).toEqual({ 'linear.weight': [1, 768], 'linear.bias': [1] });
      head.dispose();
    }
    const feats = new SimilarityHead({ embedDim: 768, pairInput: 'features' });
    expect(feats.paramCount()).toBe(3_073);
    const mlp = new SimilarityHead({ embedDim: 768, layout: 'mlp' });
    expect(mlp.pairInput).toBe('features');
    expect(mlp.paramCount()).toBe(786_945);
    feats.dispose();
    mlp.dispose();
  });

  it('tagging: Linear(768, 80) = 61,520; sentiment: Linear(768, C) = 769·C', () => {
    const tag = new TaggingHead({ embedDim: 768, classes: 80 });
    expect(tag.paramCount()).toBe(61_520);
    expect(shapes(tag)).toEqual({ 'linear.weight': [80, 768], 'linear.bias': [80] });
    const sent = new SentimentHead({ embedDim: 768, classes: 2 });
    expect(sent.paramCount()).toBe(1_538);
    expect(shapes(sent)).toEqual({ 'linear.weight': [2, 768], 'linear.bias': [2] });
    const sent5 = new SentimentHead({ embedDim: 768, classes: 5, layout: 'mlp', hidden: 16 });
    expect(sent5.paramCount()).toBe(768 * 16 + 16 + 16 * 5 + 5);
    for (const m of [tag, sent, sent5]) m.dispose();
  });
});

describe('card layouts against the numpy reference', () => {
  for (const pairInput of ['product', 'abs-diff', 'features'] as const) {
    it(`SimilarityHead pairInput '${pairInput}': scores and MSE`, () => {
      const head = new SimilarityHead({ embedDim: D, pairInput });
      const r = ref.similarity[pairInput];
      setLinear(head, r);
      close(read(head.forward(U, V)), r.score);
      close(read(head.loss({ u: U, v: V, score: ref.similarity.gold })), [r.mse]);
      if (pairInput !== 'features') close(read(head.forward(V, U)), r.score); // symmetric in (u, v)
      head.dispose();
    });
  }

  it('SimilarityHead hand-derived: u ⊙ v = [1, 0], weights [2, 7], bias 0 → 5·σ(2)', () => {
    const head = new SimilarityHead({ embedDim: 2 });
    setLinear(head, { weight: [[2, 7]], bias: [0] });
    close(read(head.forward([[1, 3]], [[1, 0]])), [5 / (1 + Math.exp(-2))]);
    head.dispose();
  });

  it('NliHead: logits, cross-entropy, predicted classes', () => {
    const head = new NliHead({ embedDim: D });
    setLinear(head, ref.nli);
    close(read(head.forward(U, V)), ref.nli.logits.flat());
    close(read(head.loss({ u: U, v: V, label: ref.nli.labels })), [ref.nli.ce]);
    expect(read(head.predict(U, V))).toEqual(ref.nli.predict);
    head.dispose();
  });

  it('TaggingHead: logits, probabilities, BCE', () => {
    const head = new TaggingHead({ embedDim: D, classes: 2 });
    setLinear(head, ref.tagging);
    close(read(head.forward(U)), ref.tagging.logits.flat());
    close(read(head.probabilities(U)), ref.tagging.probabilities.flat());
    close(read(head.loss({ x: U, labels: ref.tagging.labels })), [ref.tagging.bce]);
    head.dispose();
  });

  it('SentimentHead: logits, probabilities, cross-entropy, predicted classes', () => {
    const head = new SentimentHead({ embedDim: D, classes: 3 });
    setLinear(head, ref.sentiment);
    close(read(head.forward(U)), ref.sentiment.logits.flat());
    close(read(head.probabilities(U)), ref.sentiment.probabilities.flat());
    close(read(head.loss({ x: U, label: ref.sentiment.labels })), [ref.sentiment.ce]);
    const labels = tf.tensor1d(ref.sentiment.labels, 'float32');
    close(read(head.loss({ x: U, label: labels })), [ref.sentiment.ce]);
    labels.dispose();
    const pred = head.predict(tf.tensor2d(U));
    expect(pred.dtype).toBe('int32');
    expect(read(pred)).toEqual(ref.sentiment.predict);
    head.dispose();
  });

  it('SentimentHead: uniform logits give ln C (hand-derived)', () => {
    const head = new SentimentHead({ embedDim: D, classes: 4 });
    for (const v of Object.values(head.getWeights())) v.assign(tf.zerosLike(v));
    close(read(head.loss({ x: U, label: [0, 3, 1] })), [Math.log(4)]);
    head.dispose();
  });
});

describe('card layouts: training and saving', () => {
  it('losses are differentiable w.r.t. every parameter; a save → load round trip reproduces the outputs', () => {
    const make = (seed: number) => [
      new SimilarityHead({ embedDim: D, seed }),
      new NliHead({ embedDim: D, seed }),
      new TaggingHead({ embedDim: D, classes: 2, seed }),
      new SentimentHead({ embedDim: D, classes: 3, seed }),
    ];
    const a = make(1);
    const b = make(2);
    const losses = [
      () => (a[0] as SimilarityHead).loss({ u: U, v: V, score: ref.similarity.gold }),
      () => (a[1] as NliHead).loss({ u: U, v: V, label: ref.nli.labels }),
      () => (a[2] as TaggingHead).loss({ x: U, labels: ref.tagging.labels }),
      () => (a[3] as SentimentHead).loss({ x: U, label: ref.sentiment.labels }),
    ];
    const outputs = (m: SimilarityHead | NliHead | TaggingHead | SentimentHead) =>
      m instanceof SimilarityHead || m instanceof NliHead ? read(m.forward(U, V)) : read(m.forward(U));
    a.forEach((m, i) => {
      const weights = Object.values(m.getWeights());
      const { value, grads } = tf.variableGrads(losses[i]!, weights);
      expect(Object.keys(grads).sort()).toEqual(weights.map((w) => w.name).sort());
      tf.dispose([value, ...Object.values(grads)]);
      expect(outputs(b[i]!)).not.toEqual(outputs(m));
      const sd = m.stateDict();
      b[i]!.loadStateDict(sd);
      tf.dispose(Object.values(sd));
      expect(outputs(b[i]!)).toEqual(outputs(m));
    });
    for (const m of [...a, ...b]) m.dispose();
  });

  it('a card state dict does not load into the MLP layout (names differ), naming the key', () => {
    const card = new NliHead({ embedDim: D });
    const mlp = new NliHead({ embedDim: D, layout: 'mlp', hidden: 4 });
    const sd = card.stateDict();
    expect(() => mlp.loadStateDict(sd)).toThrow(/net\.0\.weight|linear\.weight/);
    tf.dispose(Object.values(sd));
    card.dispose();
    mlp.dispose();
  });

  it('forward returns one tensor and leaks none', () => {
    const head = new SentimentHead({ embedDim: D, classes: 3 });
    const before = tf.memory().numTensors;
    const out = head.forward(U);
    expect(tf.memory().numTensors).toBe(before + 1);
    out.dispose();
    const loss = head.loss({ x: U, label: [0, 1, 2] });
    expect(tf.memory().numTensors).toBe(before + 1);
    loss.dispose();
    head.dispose();
  });
});

describe('layout options: typed errors naming the head and the option', () => {
  it('refuses a bad layout, hidden with the card layout, a bad pairInput, and bad sentiment classes', () => {
    for (const [make, name] of [
      [(o: object) => new SimilarityHead({ embedDim: 2, ...o }), 'SimilarityHead'],
      [(o: object) => new NliHead({ embedDim: 2, ...o }), 'NliHead'],
      [(o: object) => new TaggingHead({ embedDim: 2, classes: 2, ...o }), 'TaggingHead'],
      [(o: object) => new SentimentHead({ embedDim: 2, classes: 2, ...o }), 'SentimentHead'],
    ] as const) {
      expect(() => make({ layout: 'deep' })).toThrow(
        new RegExp(`${name}: 'options.layout' must be 'card' or 'mlp', got "deep"`),
      );
      expect(() => make({ hidden: 8 })).toThrow(new RegExp(`${name}: 'options.hidden' applies only to layout 'mlp'`));
      expect(() => make({ layout: 'card', hidden: 8 })).toThrow(InvalidArgumentError);
      expect(() => make({ layout: 'mlp', hidden: 0 })).toThrow(
        new RegExp(`${name}: 'options.hidden' must be a positive integer, got 0`),
      );
    }
    expect(() => new SimilarityHead({ embedDim: 2, pairInput: 'cosine' as never })).toThrow(
      /SimilarityHead: 'options.pairInput' must be 'product', 'abs-diff' or 'features', got "cosine"/,
    );
    expect(() => new SentimentHead({ embedDim: 2, classes: 1 })).toThrow(
      /SentimentHead: 'options.classes' must be at least 2, got 1/,
    );
    expect(() => new SentimentHead({ embedDim: 2 } as never)).toThrow(/SentimentHead: 'options.classes'/);
    const head = new SentimentHead({ embedDim: 2, classes: 3 });
    expect(() => head.loss({ x: [[1, 0]], label: [3] })).toThrow(
      /SentimentHead.loss: 'batch.label\[0\]' must be a class index in \[0, 3\), got 3/,
    );
    expect(() => head.forward([[1, 2, 3]])).toThrow(
      /SentimentHead.forward: 'x' must have shape \[B, 2\], got \[1, 3\]/,
    );
    expect(() => head.loss({ x: tf.zeros([0, 2]) as tf.Tensor2D, label: [] })).toThrow(
      /'batch' must hold at least one row/,
    );
    head.dispose();
    expect(() => head.predict([[1, 0]])).toThrow(/SentimentHead.forward|SentimentHead.predict/);
  });
});
