// BaseTierSoup: the card's parameter count with the spec §10.3 breakdown, forward shapes and unit norms on a
// tiny config, projector initialization from consensus-style plain arrays, the state-dict round trip (per-
// compartment patchwork names), and the errors for bad configs, features and projectors.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, Matrix, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { BASE_TIER_SOUP_CONFIG, BaseTierSoup } from '../../src/index.js';
import type { BaseTierSoupConfig } from '../../src/index.js';

const TINY: BaseTierSoupConfig = {
  expertDims: [6, 10],
  embedDim: 4,
  anchors: 8,
  compartments: 2,
  compartmentDim: 3,
  hiddenDim: 5,
  classes: 3,
};

function features(batch: number, seed: number, dims: readonly number[] = TINY.expertDims): tf.Tensor2D[] {
  return dims.map((d, e) => tf.randomNormal([batch, d], 0, 1, 'float32', seed + e) as tf.Tensor2D);
}

function disposeOutput(o: ReturnType<BaseTierSoup['forward']>): void {
  tf.dispose([o.embedding, o.logits, o.triangulation, o.patchwork, ...o.expertEmbeddings]);
}

describe('BaseTierSoup', () => {
  it('has 799,952 parameters at the card config (three 768-d experts), with the spec §10.3 breakdown', () => {
    const soup = new BaseTierSoup(BASE_TIER_SOUP_CONFIG);
    expect(soup.paramCount()).toBe(799_952);
    const parts: Record<string, number> = {};
    for (const [name, v] of soup.namedParameters()) {
      const part = name.split('.')[0]!;
      parts[part] = (parts[part] ?? 0) + v.size;
    }
    expect(parts).toEqual({ projectors: 296_064, constellation: 32_768, patchwork: 100_864, classifier: 370_256 });
    const sd = soup.stateDict();
    expect(sd['classifier.0.weight']!.shape).toEqual([512, 640]);
    expect(sd['classifier.4.weight']!.shape).toEqual([80, 512]);
    expect(sd['projectors.2.0.weight']!.shape).toEqual([128, 768]);
    expect(sd['constellation.anchors']!.shape).toEqual([256, 128]);
    expect(sd['patchwork.compartments.7.0.weight']!.shape).toEqual([128, 32]);
    expect(Object.values(sd).reduce((n, t) => n + t.size, 0)).toBe(799_952);
    tf.dispose(Object.values(sd));
    soup.dispose();
  });

  it('maps E expert batches to a unit embedding, logits and the intermediate geometry; leaks nothing', () => {
    const soup = new BaseTierSoup(TINY, { seed: 1, anchorInit: 'orthogonal' });
    const x = features(5, 2);
    const before = tf.memory().numTensors;
    const out = soup.forward(x);
    expect(tf.memory().numTensors).toBe(before + 4 + TINY.expertDims.length);
    expect(out.embedding.shape).toEqual([5, 4]);
    expect(out.logits.shape).toEqual([5, 3]);
    expect(out.triangulation.shape).toEqual([5, 8]);
    expect(out.patchwork.shape).toEqual([5, 6]);
    expect(out.expertEmbeddings.map((t) => t.shape)).toEqual([
      [5, 4],
      [5, 4],
    ]);
    for (const t of [out.embedding, ...out.expertEmbeddings]) {
      for (const n of tf.norm(t, 'euclidean', 1).dataSync()) expect(n).toBeCloseTo(1, 5);
    }
    // e = normalize(mean_e z_e)
    const manual = tf.tidy(() => {
      const m = tf.div(tf.add(out.expertEmbeddings[0]!, out.expertEmbeddings[1]!), 2);
      return tf.div(m, tf.norm(m, 'euclidean', 1, true));
    });
    expect(tf.max(tf.abs(tf.sub(manual, out.embedding))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([manual, ...x]);
    disposeOutput(out);
    soup.dispose();
  });

  it('trains: gradients reach every parameter (BCE on the logits, geometric autograd on)', () => {
    const soup = new BaseTierSoup({ ...TINY, dropout: 0.1 }, { seed: 2, anchorInit: 'xavier' });
    const x = features(4, 3);
    const labels = tf.tensor2d([
      [1, 0, 1],
      [0, 1, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
    const weights = soup.getWeights();
    const { grads, value } = tf.variableGrads(() => {
      const out = soup.forward(x, { training: true, autograd: { tangential: 0.01, separation: 1 } });
      return tf.losses.sigmoidCrossEntropy(labels, out.logits) as tf.Scalar;
    }, Object.values(weights));
    // One gradient per variable (keyed by tfjs variable names), the anchors' through the triangulation.
    expect(Object.keys(grads).sort()).toEqual(
      Object.values(weights)
        .map((v) => v.name)
        .sort(),
    );
    for (const g of Object.values(grads)) expect(Number.isFinite(tf.sum(tf.abs(g)).dataSync()[0])).toBe(true);
    tf.dispose([value, labels, ...x, ...Object.values(grads)]);
    soup.dispose();
  });

  it('sets the projector Linears from consensus projectors, as weight [K, D_e] or as linear [D_e, K]', () => {
    const soup = new BaseTierSoup(TINY, { anchorInit: 'orthogonal' });
    const K = 4;
    const weights = TINY.expertDims.map((D, e) =>
      Array.from({ length: K }, (_, k) => Array.from({ length: D }, (_, d) => (e + 1) * 0.01 * (k - d))),
    );
    const biases = TINY.expertDims.map((_, e) => Array.from({ length: K }, (_, k) => 0.1 * k - e));
    soup.initProjectors(weights.map((w, e) => ({ weight: w, bias: biases[e]! })));
    const sd = soup.stateDict();
    for (let e = 0; e < 2; e++) {
      const got = sd[`projectors.${e}.0.weight`]!.arraySync() as number[][];
      for (let k = 0; k < K; k++)
        for (let d = 0; d < TINY.expertDims[e]!; d++) expect(got[k]![d]).toBeCloseTo(weights[e]![k]![d]!, 6);
      expect(Array.from(sd[`projectors.${e}.0.bias`]!.dataSync())).toEqual(Array.from(Float32Array.from(biases[e]!)));
    }
    // The same maps given as ConsensusProjector-style `linear` [D_e, K] (a float64 Matrix) give the same weights.
    const other = new BaseTierSoup(TINY, { anchorInit: 'orthogonal' });
    other.initProjectors(
      weights.map((w, e) => {
        const D = TINY.expertDims[e]!;
        const m = new Matrix(
          D,
          K,
          Float64Array.from({ length: D * K }, (_, i) => w[i % K]![Math.floor(i / K)]!),
        );
        return { linear: m, bias: Float64Array.from(biases[e]!) };
      }),
    );
    const sd2 = other.stateDict();
    for (const key of ['projectors.0.0.weight', 'projectors.1.0.weight', 'projectors.1.0.bias']) {
      expect(Array.from(sd2[key]!.dataSync())).toEqual(Array.from(sd[key]!.dataSync()));
    }
    tf.dispose([...Object.values(sd), ...Object.values(sd2)]);
    soup.dispose();
    other.dispose();
  });

  it('refuses bad projectors before changing anything, naming the entry', () => {
    const soup = new BaseTierSoup(TINY, { anchorInit: 'orthogonal' });
    const good = { weight: Array.from({ length: 4 }, () => new Array(6).fill(0.5)), bias: [0, 0, 0, 0] };
    const before = soup.stateDict();
    expect(() => soup.initProjectors([good])).toThrow(/'projectors' must be an array of 2/);
    expect(() => soup.initProjectors([good, good])).toThrow(ShapeError);
    expect(() => soup.initProjectors([good, good])).toThrow(/projectors\[1\]\.weight.*\[K=4, D_e=10\]/);
    const wide = { weight: Array.from({ length: 4 }, () => new Array(10).fill(0.5)), bias: [0, 0, 0] };
    expect(() => soup.initProjectors([good, wide])).toThrow(/projectors\[1\]\.bias/);
    expect(() => soup.initProjectors([good, { bias: [0, 0, 0, 0] }])).toThrow(/exactly one of weight/);
    const after = soup.stateDict();
    expect(Array.from(after['projectors.0.0.weight']!.dataSync())).toEqual(
      Array.from(before['projectors.0.0.weight']!.dataSync()),
    );
    tf.dispose([...Object.values(before), ...Object.values(after)]);
    soup.dispose();
  });

  it('round-trips its state dict into a fresh soup: identical outputs', () => {
    const a = new BaseTierSoup(TINY, { seed: 3 });
    const b = new BaseTierSoup(TINY, { seed: 4 });
    const x = features(3, 5);
    const ya = a.forward(x);
    const sd = a.stateDict();
    expect(Object.keys(sd).filter((k) => k.startsWith('patchwork.'))).toEqual([
      ...[0, 1].flatMap((k) =>
        ['0.weight', '0.bias', '2.weight', '2.bias', '3.weight', '3.bias'].map(
          (s) => `patchwork.compartments.${k}.${s}`,
        ),
      ),
    ]);
    b.loadStateDict(sd);
    const yb = b.forward(x);
    for (const key of ['embedding', 'logits', 'triangulation', 'patchwork'] as const) {
      expect(Array.from(yb[key].dataSync())).toEqual(Array.from(ya[key].dataSync()));
    }
    tf.dispose([...x, ...Object.values(sd)]);
    disposeOutput(ya);
    disposeOutput(yb);
    a.dispose();
    b.dispose();
  });

  it('refuses a state dict with a missing, misshapen or unexpected key, and changes nothing', () => {
    const soup = new BaseTierSoup(TINY, { anchorInit: 'orthogonal' });
    const sd = soup.stateDict();
    const missing = { ...sd };
    delete missing['patchwork.compartments.1.2.bias'];
    expect(() => soup.loadStateDict(missing)).toThrow(/has no key 'patchwork\.compartments\.1\.2\.bias'/);
    const noHead = { ...sd };
    delete noHead['classifier.4.bias'];
    expect(() => soup.loadStateDict(noHead)).toThrow(/classifier\.4\.bias/);
    const bad = tf.zeros([6, 3]); // [d_comp, 2·d_comp] = [3, 6] expected
    expect(() => soup.loadStateDict({ ...sd, 'patchwork.compartments.0.2.weight': bad })).toThrow(ShapeError);
    const extra = tf.zeros([1]);
    expect(() => soup.loadStateDict({ ...sd, 'patchwork.compartments.2.0.bias': extra })).toThrow(
      /unexpected key 'patchwork\.compartments\.2\.0\.bias'/,
    );
    soup.loadStateDict({ ...sd, junk: extra }, { strict: false });
    tf.dispose([bad, extra, ...Object.values(sd)]);
    soup.dispose();
  });

  it('throws naming the argument for bad expert features and bad configs', () => {
    const soup = new BaseTierSoup(TINY, { anchorInit: 'orthogonal' });
    const [a, b] = features(2, 1);
    const short = tf.zeros([3, 10]) as tf.Tensor2D;
    const narrow = tf.zeros([2, 9]) as tf.Tensor2D;
    const ints = tf.zeros([2, 10], 'int32') as tf.Tensor2D;
    expect(() => soup.forward([a!])).toThrow(/'expertFeatures' must be an array of 2 tensors/);
    expect(() => soup.forward([a!, narrow])).toThrow(
      /'expertFeatures\[1\]' must have shape \[B=2, D_1=10\], got \[2, 9\]/,
    );
    expect(() => soup.forward([a!, short])).toThrow(ShapeError);
    expect(() => soup.forward([a!, ints])).toThrow(InvalidArgumentError);
    tf.dispose([a!, b!, short, narrow, ints]);
    soup.dispose();
    expect(() => new BaseTierSoup({ ...TINY, anchors: 9 })).toThrow(
      /config\.anchors.*multiple of config\.compartments=2/,
    );
    expect(() => new BaseTierSoup({ ...TINY, expertDims: [] })).toThrow(/config\.expertDims/);
    expect(() => new BaseTierSoup({ ...TINY, expertDims: [6, 0] })).toThrow(/config\.expertDims\[1\]/);
    expect(() => new BaseTierSoup({ ...TINY, classes: 0 })).toThrow(/config\.classes/);
    expect(() => new BaseTierSoup({ ...TINY, dropout: 1 })).toThrow(/config\.dropout/);
  });
});

describe('BaseTierSoup.classify (the frozen soup after its projectors)', () => {
  it('gives forward’s logits from forward’s embedding, and gradients reach only the embedding it is given', () => {
    const soup = new BaseTierSoup(TINY, { seed: 3 });
    const x = features(5, 11);
    const out = soup.forward(x);
    const head = soup.classify(out.embedding);
    const a = head.logits.arraySync();
    const b = out.logits.arraySync();
    for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) expect(a[i]![j]).toBeCloseTo(b[i]![j]!, 6);
    expect(head.triangulation.shape).toEqual([5, 8]);
    expect(head.patchwork.shape).toEqual([5, 6]);
    // A student embedding e = normalize(v): the BCE through the soup has a gradient in v, none in the soup (not listed).
    const v = tf.variable(tf.randomNormal([5, 4], 0, 1, 'float32', 2));
    const before = soup.getWeights();
    const snapshot = Object.fromEntries(Object.entries(before).map(([k, w]) => [k, w.arraySync()]));
    const { grads } = tf.variableGrads(() => {
      const e = tf.div(v, tf.norm(v, 'euclidean', 1, true)) as tf.Tensor2D;
      const { logits } = soup.classify(e, { autograd: { tangential: 0.01, separation: 1 } });
      return tf.mean(tf.sigmoid(logits)) as tf.Scalar;
    }, [v]);
    expect(Object.keys(grads)).toEqual([v.name]);
    expect(tf.sum(tf.abs(grads[v.name]!)).arraySync()).toBeGreaterThan(0);
    for (const [k, w] of Object.entries(soup.getWeights())) expect(w.arraySync()).toEqual(snapshot[k]);
    tf.dispose([head.logits, head.triangulation, head.patchwork, v, ...Object.values(grads)]);
    disposeOutput(out);
    tf.dispose(x);
    soup.dispose();
  });

  it('names the argument for a bad embedding', () => {
    const soup = new BaseTierSoup(TINY);
    const wrong = tf.zeros([2, 5]) as tf.Tensor2D;
    expect(() => soup.classify(wrong)).toThrow(ShapeError);
    expect(() => soup.classify(wrong)).toThrow(/BaseTierSoup.classify: 'embedding' must have shape \[B, K=4\]/);
    expect(() => soup.classify([1, 2] as unknown as tf.Tensor2D)).toThrow(InvalidArgumentError);
    wrong.dispose();
    soup.dispose();
  });
});
