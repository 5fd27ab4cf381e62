import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, createRng, normalize, sampleSphere } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { geometricAutograd } from '../src/geometric-autograd.js';

type Rows = number[][];

const dot = (u: readonly number[], v: readonly number[]): number => u.reduce((s, x, i) => s + x * v[i]!, 0);
const unit = (u: readonly number[]): number[] => {
  const norm = Math.max(Math.sqrt(dot(u, u)), 1e-12);
  return u.map((x) => x / norm);
};

/** Spec §7 in float64, written independently of the implementation (plain loops). */
function reference(e: Rows, anchors: Rows, g: Rows, tang: number, sep: number): Rows {
  const hat = anchors.map(unit);
  return e.map((row, i) => {
    const gi = g[i]!;
    const radial = dot(gi, row);
    const g1 = gi.map((x, j) => x - tang * radial * row[j]!);
    if (sep <= 0) return g1;
    let best = 0;
    for (let a = 1; a < hat.length; a++) if (dot(row, hat[a]!) > dot(row, hat[best]!)) best = a;
    const n = hat[best]!;
    const t = dot(g1, n);
    return g1.map((x, j) => x - sep * Math.max(t, 0) * n[j]!);
  });
}

/** The gradient of L = Σ y ⊙ G through geometricAutograd, so ∂L/∂y = G exactly. */
function gradientOf(
  e: tf.Tensor2D,
  anchors: Parameters<typeof geometricAutograd>[1],
  g: tf.Tensor2D,
  options: Parameters<typeof geometricAutograd>[2],
): tf.Tensor2D {
  const f = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(geometricAutograd(x as tf.Tensor2D, anchors, options), g)));
  return f(e) as tf.Tensor2D;
}

function randomRows(n: number, d: number, seed: number): Rows {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

function expectRowsClose(actual: Rows, expected: Rows, atol: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) =>
    row.forEach((x, j) =>
      expect(Math.abs(x - expected[i]![j]!), `[${i}, ${j}]: ${x} vs ${expected[i]![j]}`).toBeLessThanOrEqual(atol),
    ),
  );
}

describe('geometricAutograd', () => {
  it('is the identity in the forward pass, bit for bit, and returns one new tensor', () => {
    const e = tf.tensor2d(randomRows(6, 5, 1));
    const anchors = tf.tensor2d(randomRows(4, 5, 2));
    const before = tf.memory().numTensors;
    const y = geometricAutograd(e, anchors, { tangential: 1, separation: 1 });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(y).not.toBe(e);
    expect(y.shape).toEqual([6, 5]);
    expect(y.dtype).toBe('float32');
    const a = e.dataSync();
    const b = y.dataSync();
    expect(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
    ).toBe(true);
    tf.dispose([e, anchors, y]);
  });

  it('matches the exact formula on hand-made vectors (D = 3)', () => {
    // Row 0: t > 0, the anchor step applies. Row 1: t < 0, it does not. Row 2: e not unit (used as is).
    const e: Rows = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 2],
    ];
    const anchors: Rows = [
      [0.8, 0.6, 0],
      [0, 0, 3], // raw (norm 3): normalized inside
      [-1, 0, 0],
    ];
    const g: Rows = [
      [0.5, 1, -2],
      [0.3, 2, 0.5],
      [1, -1, 0.25],
    ];
    // Worked by hand for row 0 (tang = 1, sep = 1): g₁ = [0, 1, −2]; nearest anchor [0.8, 0.6, 0];
    // t = 0.6; g₂ = g₁ − 0.6·[0.8, 0.6, 0] = [−0.48, 0.64, −2].
    const cases: [number, number][] = [
      [1, 1],
      [1, 0.1],
      [0.5, 0.1],
      [0.01, 1],
      [0, 0.7],
      [1, 0],
    ];
    for (const [tangential, separation] of cases) {
      const grad = gradientOf(tf.tensor2d(e), tf.tensor2d(anchors), tf.tensor2d(g), { tangential, separation });
      expectRowsClose(grad.arraySync(), reference(e, anchors, g, tangential, separation), 1e-6);
      grad.dispose();
    }
    const grad = gradientOf(tf.tensor2d(e), tf.tensor2d(anchors), tf.tensor2d(g), { tangential: 1, separation: 1 });
    expectRowsClose(grad.arraySync().slice(0, 1), [[-0.48, 0.64, -2]], 1e-6);
    // Row 1: g₁ = [0.3, 0, 0.5] (radial part removed); nearest is [0.8, 0.6, 0], t = 0.24 > 0.
    // Row 2: e = [0, 0, 2], ⟨g, e⟩ = 0.5, g₁ = g − 0.5·e = [1, −1, −0.75]; nearest [0, 0, 1]; t = −0.75 < 0: unchanged.
    expectRowsClose(grad.arraySync().slice(2), [[1, -1, -0.75]], 1e-6);
    grad.dispose();
  });

  it('matches the float64 reference on random data, for the card settings', () => {
    const eRows = sampleSphere(32, 16, { seed: 3 }).arraySync() as Rows;
    const aRows = randomRows(10, 16, 4);
    const gRows = randomRows(32, 16, 5);
    for (const [tangential, separation] of [
      [1, 0.1],
      [0.5, 0.1],
      [0.01, 1],
    ] as const) {
      const grad = gradientOf(tf.tensor2d(eRows), tf.tensor2d(aRows), tf.tensor2d(gRows), { tangential, separation });
      expectRowsClose(grad.arraySync(), reference(eRows, aRows, gRows, tangential, separation), 2e-5);
      grad.dispose();
    }
  });

  it('uses tangential = 1, separation = 0.1 by default', () => {
    const e = sampleSphere(8, 6, { seed: 6 });
    const eRows = e.arraySync() as Rows;
    const aRows = randomRows(5, 6, 7);
    const gRows = randomRows(8, 6, 8);
    const grad = gradientOf(e, tf.tensor2d(aRows), tf.tensor2d(gRows), undefined);
    expectRowsClose(grad.arraySync(), reference(eRows, aRows, gRows, 1, 0.1), 1e-5);
  });

  it('removes the radial component when tangential = 1 (⟨g₂, e⟩ ≈ 0 with separation = 0)', () => {
    const e = sampleSphere(64, 16, { seed: 9 });
    const anchors = tf.tensor2d(randomRows(8, 16, 10));
    const g = tf.tensor2d(randomRows(64, 16, 11));
    const grad = gradientOf(e, anchors, g, { tangential: 1, separation: 0 });
    const radial = tf.sum(tf.mul(grad, e), 1).arraySync() as number[];
    const incoming = tf.sum(tf.mul(g, e), 1).arraySync() as number[];
    expect(Math.max(...incoming.map(Math.abs))).toBeGreaterThan(0.5); // the incoming gradient did have a radial part
    for (const r of radial) expect(Math.abs(r)).toBeLessThan(1e-5);
  });

  it('with separation > 0 the anchor step adds −sep·max(t, 0)·⟨n, e⟩ radially (literal formula)', () => {
    const e = sampleSphere(64, 16, { seed: 12 });
    const aRows = randomRows(8, 16, 13);
    const g = tf.tensor2d(randomRows(64, 16, 14));
    const sep = 0.1;
    const grad = gradientOf(e, tf.tensor2d(aRows), g, { tangential: 1, separation: sep });
    const g1 = gradientOf(e, tf.tensor2d(aRows), g, { tangential: 1, separation: 0 }).arraySync() as Rows;
    const eRows = e.arraySync() as Rows;
    const hat = aRows.map(unit);
    const radial = tf.sum(tf.mul(grad, e), 1).arraySync() as number[];
    eRows.forEach((row, i) => {
      const scores = hat.map((h) => dot(row, h));
      const n = hat[scores.indexOf(Math.max(...scores))]!;
      expect(radial[i]!).toBeCloseTo(-sep * Math.max(dot(g1[i]!, n), 0) * dot(n, row), 5);
    });
  });

  it('leaves no positive component toward the nearest anchor when separation = 1 (⟨g₂, n⟩ ≤ 0)', () => {
    for (const tangential of [1, 0.01, 0]) {
      const e = sampleSphere(128, 8, { seed: 15 });
      const aRows = randomRows(6, 8, 16);
      const g = tf.tensor2d(randomRows(128, 8, 17));
      const grad = gradientOf(e, tf.tensor2d(aRows), g, { tangential, separation: 1 }).arraySync() as Rows;
      const hat = aRows.map(unit);
      let positiveBefore = 0;
      (e.arraySync() as Rows).forEach((row, i) => {
        const scores = hat.map((h) => dot(row, h));
        const n = hat[scores.indexOf(Math.max(...scores))]!;
        expect(dot(grad[i]!, n)).toBeLessThanOrEqual(1e-5);
        const gi = (g.arraySync() as Rows)[i]!;
        const g1 = gi.map((x, j) => x - tangential * dot(gi, row) * row[j]!);
        if (dot(g1, n) > 0.1) positiveBefore++;
      });
      expect(positiveBefore).toBeGreaterThan(20); // the property is not vacuous
    }
  });

  it('returns the incoming gradient unchanged, bit for bit, when tangential = 0 and separation = 0', () => {
    const e = sampleSphere(16, 8, { seed: 18 });
    const anchors = tf.tensor2d(randomRows(4, 8, 19));
    const g = tf.tensor2d(randomRows(16, 8, 20));
    const grad = gradientOf(e, anchors, g, { tangential: 0, separation: 0 });
    expect(Array.from(grad.dataSync())).toEqual(Array.from(g.dataSync()));
  });

  it('gives the anchors no gradient (tf.variableGrads), for a tensor and for a normalizedAnchors() source', () => {
    const e = tf.variable(sampleSphere(16, 8, { seed: 21 }), true, 'gaEmbedding');
    const anchors = tf.variable(tf.tensor2d(randomRows(5, 8, 22)), true, 'gaAnchors');
    const g = tf.tensor2d(randomRows(16, 8, 23));
    const source = { normalizedAnchors: () => normalize(anchors) as tf.Tensor2D };
    for (const a of [anchors, source]) {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(geometricAutograd(e, a, { tangential: 1, separation: 1 }), g)) as tf.Scalar,
      );
      expect(Object.keys(grads)).toEqual(['gaEmbedding']);
      const expected = reference(e.arraySync() as Rows, anchors.arraySync() as Rows, g.arraySync() as Rows, 1, 1);
      expectRowsClose(grads.gaEmbedding!.arraySync() as Rows, expected, 1e-5);
      tf.dispose([value, ...Object.values(grads)]);
    }
    // tf.grads with respect to the anchors finds no path through the op, and says so.
    const both = tf.grads((x: tf.Tensor, a: tf.Tensor) =>
      tf.sum(tf.mul(geometricAutograd(x as tf.Tensor2D, a as tf.Tensor2D), g)),
    );
    expect(() => both([e, anchors])).toThrow(/Cannot compute gradient of y=f\(x\) with respect to x/);
    const [ge] = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(geometricAutograd(x as tf.Tensor2D, anchors), g)))([e]);
    expect(ge!.shape).toEqual([16, 8]);
    tf.dispose([ge!, e, anchors, g]);
  });

  it('leaves the anchors untouched by an optimizer step that moves the embedding', () => {
    const e = tf.variable(sampleSphere(8, 4, { seed: 33 }), true, 'gaStepEmbedding');
    const anchors = tf.variable(tf.tensor2d(randomRows(3, 4, 34)), true, 'gaStepAnchors');
    const target = tf.tensor2d(randomRows(8, 4, 35));
    const anchorsBefore = anchors.arraySync();
    const eBefore = e.arraySync();
    const sgd = tf.train.sgd(0.1);
    const loss = sgd.minimize(
      () =>
        tf.sum(tf.square(tf.sub(geometricAutograd(e, anchors, { tangential: 1, separation: 1 }), target))) as tf.Scalar,
      true,
    );
    expect(loss!.dataSync()[0]).toBeGreaterThan(0);
    expect(anchors.arraySync()).toEqual(anchorsBefore);
    expect(e.arraySync()).not.toEqual(eBefore);
    tf.dispose([loss!, e, anchors, target]);
    sgd.dispose();
  });

  it('composes with the ops around it (chain rule through normalize)', () => {
    const h = tf.tensor2d(randomRows(12, 6, 24)); // raw features
    const aRows = randomRows(4, 6, 25);
    const G = tf.tensor2d(randomRows(12, 6, 26));
    const composed = tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.mul(
          geometricAutograd(normalize(x) as tf.Tensor2D, tf.tensor2d(aRows), { tangential: 1, separation: 0.5 }),
          G,
        ),
      ),
    )(h);
    const eRows = (normalize(h) as tf.Tensor2D).arraySync();
    const g2 = tf.tensor2d(reference(eRows, aRows, G.arraySync(), 1, 0.5));
    const manual = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(normalize(x), g2)))(h);
    expectRowsClose(composed.arraySync() as Rows, manual.arraySync() as Rows, 1e-5);
  });

  it('works with a single anchor (A = 1)', () => {
    const e: Rows = [
      [0, 1, 0],
      [1, 0, 0],
    ];
    const anchors: Rows = [[0, 2, 0]];
    const g: Rows = [
      [1, 1, 1],
      [0, 3, -1],
    ];
    const grad = gradientOf(tf.tensor2d(e), tf.tensor2d(anchors), tf.tensor2d(g), { tangential: 1, separation: 1 });
    expectRowsClose(grad.arraySync(), reference(e, anchors, g, 1, 1), 1e-6);
    expectRowsClose(
      grad.arraySync(),
      [
        [1, 0, 1],
        [0, 0, -1],
      ],
      1e-6,
    );
  });

  it('confines a NaN row of the embedding to its own gradient row', () => {
    const rows = sampleSphere(6, 4, { seed: 27 }).arraySync() as Rows;
    const aRows = randomRows(3, 4, 28);
    const gRows = randomRows(6, 4, 29);
    const clean = gradientOf(tf.tensor2d(rows), tf.tensor2d(aRows), tf.tensor2d(gRows), {
      tangential: 1,
      separation: 1,
    }).arraySync();
    const poisoned = rows.map((r) => [...r]);
    poisoned[2]![1] = NaN;
    const grad = gradientOf(tf.tensor2d(poisoned), tf.tensor2d(aRows), tf.tensor2d(gRows), {
      tangential: 1,
      separation: 1,
    }).arraySync();
    expect(grad[2]!.some(Number.isNaN)).toBe(true);
    for (const i of [0, 1, 3, 4, 5]) expect(grad[i]).toEqual(clean[i]);
  });

  it('leaks no tensors through a full gradient computation', () => {
    const e = sampleSphere(8, 4, { seed: 30 });
    const anchors = tf.tensor2d(randomRows(3, 4, 31));
    const g = tf.tensor2d(randomRows(8, 4, 32));
    const source = { normalizedAnchors: () => normalize(anchors) as tf.Tensor2D };
    for (const a of [anchors, source]) {
      const before = tf.memory().numTensors;
      const grad = gradientOf(e, a, g, { tangential: 1, separation: 1 });
      expect(tf.memory().numTensors).toBe(before + 1);
      grad.dispose();
      const y = tf.tidy(() => geometricAutograd(e, a)); // no tape: nothing saved
      expect(tf.memory().numTensors).toBe(before + 1);
      y.dispose();
    }
  });

  it('validates the options, naming tangential and separation', () => {
    const e = tf.tensor2d([[1, 0]]);
    const a = tf.tensor2d([[1, 0]]);
    for (const bad of [-0.1, NaN, Infinity, '1']) {
      expect(() => geometricAutograd(e, a, { tangential: bad as number })).toThrow(InvalidArgumentError);
      expect(() => geometricAutograd(e, a, { tangential: bad as number })).toThrow(
        /geometricAutograd: 'tangential' must be a finite number >= 0/,
      );
      expect(() => geometricAutograd(e, a, { separation: bad as number })).toThrow(
        /geometricAutograd: 'separation' must be a finite number >= 0/,
      );
    }
    expect(() => geometricAutograd(e, a, 3 as never)).toThrow(/geometricAutograd: 'options' must be an object/);
  });

  it('checks shapes, naming embedding and anchors', () => {
    const e = tf.tensor2d([[1, 0, 0]]);
    expect(() => geometricAutograd(tf.tensor1d([1, 0, 0]) as never, tf.tensor2d([[1, 0, 0]]))).toThrow(ShapeError);
    expect(() => geometricAutograd(tf.tensor1d([1, 0, 0]) as never, tf.tensor2d([[1, 0, 0]]))).toThrow(
      /geometricAutograd: 'embedding' must have shape \[B, D\], got \[3\]/,
    );
    expect(() => geometricAutograd(e, tf.tensor2d([[1, 0, 0, 0]]))).toThrow(
      /geometricAutograd: 'anchors' must have shape \[A, D=3\], got \[1, 4\]/,
    );
    expect(() => geometricAutograd(e, tf.tensor1d([1, 0, 0]) as never)).toThrow(
      /geometricAutograd: 'anchors' must have shape \[A, D=3\], got \[3\]/,
    );
    // An anchor source is resolved in the forward pass; its shape is checked there, with the same message.
    const wrong = { normalizedAnchors: () => tf.tensor2d([[1, 0]]) };
    expect(() => geometricAutograd(e, wrong)).toThrow(
      /geometricAutograd: 'anchors' must have shape \[A, D=3\], got \[1, 2\]/,
    );
    expect(() => geometricAutograd(e, [[1, 0, 0]] as never)).toThrow(
      /geometricAutograd: 'anchors' must be a tf.Tensor2D \[A, D\] or an object with normalizedAnchors\(\)/,
    );
    expect(() => geometricAutograd([[1, 0, 0]] as never, tf.tensor2d([[1, 0, 0]]))).toThrow(
      /geometricAutograd: 'embedding' must be a tf.Tensor2D/,
    );
    expect(() => geometricAutograd(tf.tensor2d([[1, 0, 0]], undefined, 'int32'), tf.tensor2d([[1, 0, 0]]))).toThrow(
      /'embedding' must have dtype float32, got int32/,
    );
  });

  it('doc example', () => {
    const e = tf.tensor2d([[1, 0, 0]]);
    const anchors = tf.tensor2d([
      [0.8, 0.6, 0],
      [0, 0, 1],
    ]);
    const g = tf.tensor2d([[0.5, 1, -2]]);
    const grad = tf.grad((x: tf.Tensor) =>
      tf.sum(tf.mul(geometricAutograd(x as tf.Tensor2D, anchors, { tangential: 1, separation: 1 }), g)),
    );
    expectRowsClose(grad(e).arraySync() as Rows, [[-0.48, 0.64, -2]], 1e-6);
  });
});

describe("geometricAutograd, separationDirection: 'tangent'", () => {
  it('gives zero radial component AND a non-positive component toward the nearest anchor (tang = 1, sep = 1)', () => {
    const e = sampleSphere(64, 12, { seed: 31 });
    const anchors = sampleSphere(16, 12, { seed: 32 });
    const upstream = tf.randomNormal([64, 12], 0, 1, 'float32', 33);
    const grad = tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.mul(
          geometricAutograd(x as tf.Tensor2D, anchors, {
            tangential: 1,
            separation: 1,
            separationDirection: 'tangent',
          }),
          upstream,
        ),
      ),
    )(e);
    const g = grad.arraySync() as number[][];
    const ev = e.arraySync() as number[][];
    const av = anchors.arraySync() as number[][];
    let positiveBefore = 0;
    const up = upstream.arraySync() as number[][];
    for (let i = 0; i < 64; i++) {
      const dot = (a: number[], b: number[]) => a.reduce((s, v, j) => s + v * b[j]!, 0);
      const n = av.reduce((best, a) => (dot(ev[i]!, a) > dot(ev[i]!, best) ? a : best), av[0]!);
      expect(Math.abs(dot(g[i]!, ev[i]!))).toBeLessThan(1e-5); // radial ≈ 0
      expect(dot(g[i]!, n)).toBeLessThanOrEqual(1e-5); // nothing pulls toward the nearest anchor
      const g1 = up[i]!.map((v, j) => v - dot(up[i]!, ev[i]!) * ev[i]![j]!);
      if (dot(g1, n) > 0.1) positiveBefore++;
    }
    expect(positiveBefore).toBeGreaterThan(5); // the check is not vacuous
    tf.dispose([e, anchors, upstream, grad]);
  });

  it("equals 'anchor' when the nearest anchor is already tangent at e, and rejects unknown directions", () => {
    const e = tf.tensor2d([[1, 0, 0]]);
    const anchors = tf.tensor2d([[0, 1, 0]]);
    const g = tf.tensor2d([[0.5, 1, -2]]);
    const run = (direction: 'anchor' | 'tangent') =>
      tf
        .grad((x: tf.Tensor) =>
          tf.sum(
            tf.mul(geometricAutograd(x as tf.Tensor2D, anchors, { separation: 1, separationDirection: direction }), g),
          ),
        )(e)
        .arraySync();
    expect(run('tangent')).toEqual(run('anchor'));
    expect(() => geometricAutograd(e, anchors, { separationDirection: 'radial' as never })).toThrow(
      /geometricAutograd: 'separationDirection' must be 'anchor' or 'tangent'/,
    );
    tf.dispose([e, anchors, g]);
  });
});
