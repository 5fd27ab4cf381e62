// Parity tests of the gpu.js kernels (@geolip/geometry/gpu) against the float64 references.
// gpu.js is an optional peer: when it cannot load, every test that needs it is skipped with a
// message saying why (STYLE §8.8). The loader's own error paths are tested either way.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';

import { BackendError, GeolipError, InvalidArgumentError, NonFiniteError, ShapeError } from '../../src/errors.js';
import { loadGpu, type GpuKernels } from '../../src/gpu/index.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { createRng, type Rng } from '../../src/random/rng.js';
import { cayleyMengerDeterminant } from '../../src/simplex/index.js';
import { pairwiseCosine as pairwiseCosineTensor } from '../../src/sphere/index.js';

const loaded: GpuKernels | Error = await loadGpu().catch((e: unknown) =>
  e instanceof Error ? e : new Error(String(e)),
);
const ok = !(loaded instanceof Error);
if (!ok) {
  console.warn(
    `[test/gpu] skipping gpu.js parity tests: loadGpu() failed (${loaded.message}). Install gpu.js to run them.`,
  );
}
const gpu = loaded as GpuKernels;
const cpuGpu: GpuKernels | null = ok ? await loadGpu({ mode: 'cpu' }) : null;

afterAll(async () => {
  if (ok) await gpu.destroy();
  await cpuGpu?.destroy();
});

function randomSimplices(rng: Rng, batch: number, vertices: number, dim: number): number[][][] {
  return Array.from({ length: batch }, () => {
    const scale = 0.5 + 2 * rng.uniform();
    return Array.from({ length: vertices }, () => Array.from({ length: dim }, () => scale * rng.normal()));
  });
}

/** (k+1)·s^k, s the mean squared edge length: |det M| of a regular simplex with that edge. */
function cmScale(simplex: readonly (readonly number[])[]): number {
  const v = simplex.length;
  const k = v - 1;
  let sum = 0;
  for (let i = 0; i < v; i++) {
    for (let j = i + 1; j < v; j++) {
      let s = 0;
      for (let t = 0; t < simplex[i]!.length; t++) s += (simplex[i]![t]! - simplex[j]![t]!) ** 2;
      sum += s;
    }
  }
  const mean = sum / ((v * (v - 1)) / 2);
  return (k + 1) * mean ** k;
}

/** Asserts |gpu − ref| ≤ tol · scale for every simplex; returns the median relative error for a sanity check. */
function expectCmClose(actual: Float32Array, simplices: number[][][], tol: number): number {
  const ref = cayleyMengerDeterminant(simplices);
  expect(actual).toBeInstanceOf(Float32Array);
  expect(actual.length).toBe(ref.length);
  const rel: number[] = [];
  for (let b = 0; b < ref.length; b++) {
    const err = Math.abs(actual[b]! - ref[b]!);
    const bound = tol * cmScale(simplices[b]!);
    if (!(err <= bound))
      throw new Error(
        `simplex ${b}: gpu ${actual[b]} vs float64 ${ref[b]} (|err| ${err.toExponential(2)} > ${bound.toExponential(2)})`,
      );
    rel.push(err / Math.abs(ref[b]!));
  }
  rel.sort((x, y) => x - y);
  return rel[rel.length >> 1]!;
}

function cosineReference(a: number[][], b: number[][]): Float64Array {
  const norm = (r: number[]): number => Math.sqrt(r.reduce((s, x) => s + x * x, 0));
  const out = new Float64Array(a.length * b.length);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      const na = norm(a[i]!);
      const nb = norm(b[j]!);
      let dot = 0;
      for (let t = 0; t < a[i]!.length; t++) dot += a[i]![t]! * b[j]![t]!;
      out[i * b.length + j] = na === 0 || nb === 0 ? 0 : dot / (na * nb);
    }
  }
  return out;
}

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= atol))
      throw new Error(`index ${i}: ${actual[i]} vs ${expected[i]} (atol ${atol})`);
  }
}

describe('loadGpu', () => {
  it.skipIf(!ok)('reports the mode gpu.js runs in', () => {
    expect(typeof gpu.mode).toBe('string');
    expect(gpu.requestedMode).toBe('gpu');
    console.info(`[test/gpu] gpu.js mode: ${gpu.mode}`);
    expect(cpuGpu!.mode).toBe('cpu');
  });

  it.skipIf(!ok)('falls back to an available mode and records why', async () => {
    const g = await loadGpu({ mode: 'headlessgl' });
    try {
      if (g.mode !== 'headlessgl') {
        expect(g.attempts[0]?.name).toBe('headlessgl');
        expect(g.attempts[0]?.reason.length).toBeGreaterThan(0);
      }
      expect(
        g.cayleyMengerDeterminants([
          [
            [0, 0],
            [1, 0],
            [0, 1],
          ],
        ])[0],
      ).toBeCloseTo(-4, 5);
    } finally {
      await g.destroy();
    }
  });

  it("throws BackendError 'X is not installed: npm install X' for a module that is not there", async () => {
    const e = await loadGpu({ moduleId: 'gpu.js-not-installed-for-test' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendError);
    expect(GeolipError.isInstance(e)).toBe(true);
    expect((e as BackendError).message).toBe(
      'loadGpu: gpu.js-not-installed-for-test is not installed: npm install gpu.js-not-installed-for-test',
    );
    expect((e as BackendError).attempts[0]?.name).toBe('gpu.js-not-installed-for-test');
  });

  it('throws BackendError for a module without a GPU export', async () => {
    await expect(loadGpu({ moduleId: 'node:path' })).rejects.toThrow(
      /loadGpu: 'node:path' loaded but exports no GPU class/,
    );
  });

  it('throws InvalidArgumentError for an unknown mode or an empty moduleId', async () => {
    // @ts-expect-error not a GpuMode
    await expect(loadGpu({ mode: 'cuda' })).rejects.toThrow(InvalidArgumentError);
    // @ts-expect-error not a GpuMode
    await expect(loadGpu({ mode: 'cuda' })).rejects.toThrow(/loadGpu: 'mode' must be one of 'gpu', 'cpu'.*got "cuda"/);
    await expect(loadGpu({ moduleId: '' })).rejects.toThrow(/loadGpu: 'moduleId' must be a non-empty string/);
  });
});

describe('cayleyMengerDeterminants', () => {
  it.skipIf(!ok)('matches hand-derived values (right triangle −4, regular 4-simplex −5)', () => {
    expect(
      gpu.cayleyMengerDeterminants([
        [
          [0, 0],
          [1, 0],
          [0, 1],
        ],
      ])[0],
    ).toBeCloseTo(-4, 5);
    // unit-edge regular 4-simplex: V² = 5/9216 and prefactor −1/9216, so det(M) = −5
    const regular = [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? Math.SQRT1_2 : 0)));
    expect(gpu.cayleyMengerDeterminants([regular])[0]).toBeCloseTo(-5, 4);
    expect(gpu.cayleyMengerDeterminants([regular], undefined, { method: 'gram' })[0]).toBeCloseTo(-5, 4);
  });

  for (const method of ['bordered', 'gram'] as const) {
    it.skipIf(!ok)(`matches the float64 reference for random simplices, V = 2..8 (${method})`, () => {
      const rng = createRng(11);
      for (let v = 2; v <= 8; v++) {
        const simplices = randomSimplices(rng, 48, v, v + 1 + rng.int(4));
        // float32: |err| ≤ 1e-5 · (k+1)·s^k (observed ≤ 1.1e-6); median relative error well below 1e-4
        const median = expectCmClose(gpu.cayleyMengerDeterminants(simplices, undefined, { method }), simplices, 1e-5);
        expect(median).toBeLessThan(1e-4);
      }
    });
  }

  it.skipIf(!ok)("matches the reference to float32 rounding in gpu.js's 'cpu' mode (float64 arithmetic)", () => {
    const rng = createRng(12);
    for (const v of [2, 4, 6]) {
      const simplices = randomSimplices(rng, 16, v, 7);
      expectCmClose(cpuGpu!.cayleyMengerDeterminants(simplices), simplices, 1e-6);
    }
  });

  it.skipIf(!ok)('accepts Float32Array and Float64Array with a shape, equal to nested input', () => {
    const simplices = randomSimplices(createRng(13), 20, 5, 6);
    const flat = simplices.flat(2);
    const nested = gpu.cayleyMengerDeterminants(simplices);
    expect(gpu.cayleyMengerDeterminants(Float64Array.from(flat), [20, 5, 6])).toEqual(nested);
    // Float32Array input is rounded before the host-side translation, so it can differ in the last bits
    expectCmClose(gpu.cayleyMengerDeterminants(Float32Array.from(flat), [20, 5, 6]), simplices, 1e-5);
    expect(gpu.cayleyMengerDeterminants(simplices, [20, 5, 6])).toEqual(nested);
  });

  it.skipIf(!ok)('gives the same result batched as one simplex at a time', () => {
    const simplices = randomSimplices(createRng(14), 9, 4, 5);
    const batched = gpu.cayleyMengerDeterminants(simplices);
    const single = simplices.map((s) => gpu.cayleyMengerDeterminants([s])[0]!);
    expect(Array.from(batched)).toEqual(single);
  });

  it.skipIf(!ok)('is unaffected by a large common offset (simplices are translated to p₀ = 0 on the host)', () => {
    const simplices = randomSimplices(createRng(15), 16, 5, 5);
    const shifted = simplices.map((s) => s.map((p) => p.map((x, t) => x + 1e4 * (t + 1))));
    expectCmClose(gpu.cayleyMengerDeterminants(shifted), simplices, 1e-5);
  });

  it.skipIf(!ok)('gives ≈ 0 for a repeated point, and an empty result for an empty batch', () => {
    const p = [
      [1, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 1, 0],
      [0, 0, 0, 1, 0],
    ];
    expect(Math.abs(gpu.cayleyMengerDeterminants([p])[0]!)).toBeLessThan(1e-5 * cmScale(p));
    expect(Math.abs(gpu.cayleyMengerDeterminants([p], undefined, { method: 'gram' })[0]!)).toBeLessThan(
      1e-5 * cmScale(p),
    );
    expect(gpu.cayleyMengerDeterminants([])).toEqual(new Float32Array(0));
    expect(gpu.cayleyMengerDeterminants(new Float32Array(0), [0, 5, 3])).toEqual(new Float32Array(0));
  });

  it.skipIf(!ok)("runs in gpu.js's 'dev' mock", async () => {
    const dev = await loadGpu({ mode: 'dev' });
    try {
      expect(dev.mode).toBe('dev');
      const simplices = randomSimplices(createRng(16), 3, 4, 3);
      expectCmClose(dev.cayleyMengerDeterminants(simplices), simplices, 1e-6);
      const c = dev.pairwiseCosine(
        [
          [1, 0],
          [0, 3],
        ],
        [[2, 0]],
      );
      expect(Array.from(c.data)).toEqual([1, 0]);
    } finally {
      await dev.destroy();
    }
  });

  describe.skipIf(!ok)('errors', () => {
    const op = 'cayleyMengerDeterminants';
    it('ShapeError for V > 8 or V < 2, naming the op and the argument', () => {
      const nine = [Array.from({ length: 9 }, () => [0, 0])];
      expect(() => gpu.cayleyMengerDeterminants(nine)).toThrow(ShapeError);
      expect(() => gpu.cayleyMengerDeterminants(nine)).toThrow(
        `${op}: 'points' must have shape [B, V, D] with 2 <= V <= 8, got [1, 9, 2] (the gpu.js kernel is unrolled for at most 8 vertices)`,
      );
      expect(() => gpu.cayleyMengerDeterminants([[[0, 0]]])).toThrow(
        /'points' must have shape \[B, V, D\] with 2 <= V <= 8, got \[1, 1, 2\] \(too few points/,
      );
      expect(() => gpu.cayleyMengerDeterminants([[[], []]])).toThrow(
        `${op}: 'points' must have shape [B, V, D] with D >= 1, got [1, 2, 0]`,
      );
    });
    it('ShapeError for ragged nested arrays, a rank-2 array, a length mismatch or a shape mismatch', () => {
      expect(() =>
        gpu.cayleyMengerDeterminants([
          [
            [0, 0],
            [1, 0],
          ],
          [[0, 0]],
        ]),
      ).toThrow(/cayleyMengerDeterminants: 'points' .*simplex 1 differs/);
      expect(() => gpu.cayleyMengerDeterminants([[[0, 0], [1]]])).toThrow(/point 1 of simplex 0 differs/);
      const single = [
        [0, 0],
        [1, 0],
      ];
      // @ts-expect-error a single simplex must be wrapped in a batch
      expect(() => gpu.cayleyMengerDeterminants(single)).toThrow(
        /'points' must have shape \[B, V, D\] \(nested arrays of rank 3\)/,
      );
      expect(() => gpu.cayleyMengerDeterminants(new Float32Array(7), [1, 3, 2])).toThrow(
        `${op}: 'points' must have shape [B·V·D = 6] for shape [1, 3, 2], got [7]`,
      );
      expect(() =>
        gpu.cayleyMengerDeterminants(
          [
            [
              [0, 0],
              [1, 0],
            ],
          ],
          [1, 2, 3],
        ),
      ).toThrow(/'points' must have shape \[B=1, V=2, D=3\] \(from 'shape'\), got \[1, 2, 2\]/);
    });
    it('InvalidArgumentError for a missing or malformed shape, a bad input type or method', () => {
      expect(() => gpu.cayleyMengerDeterminants(new Float32Array(6))).toThrow(InvalidArgumentError);
      expect(() => gpu.cayleyMengerDeterminants(new Float32Array(6))).toThrow(
        `${op}: 'shape' must be given as [B, V, D] when points is a flat typed array`,
      );
      // @ts-expect-error wrong rank
      expect(() => gpu.cayleyMengerDeterminants(new Float32Array(6), [3, 2])).toThrow(
        /'shape' must be \[B, V, D\] \(three non-negative integers\), got \[3, 2\]/,
      );
      // @ts-expect-error not an accepted input type
      expect(() => gpu.cayleyMengerDeterminants(new Int32Array(6), [1, 3, 2])).toThrow(
        /'points' must be nested arrays \[B\]\[V\]\[D\], a Float32Array or a Float64Array/,
      );
      // @ts-expect-error not a method
      expect(() => gpu.cayleyMengerDeterminants([[[0], [1]]], undefined, { method: 'qr' })).toThrow(
        `${op}: 'method' must be 'bordered' or 'gram', got "qr"`,
      );
      expect(() => gpu.cayleyMengerDeterminants(new Float64Array([0, 0, 1e39, 0]), [1, 2, 2])).toThrow(
        /'points' exceeds the float32 range/,
      );
    });
    it('NonFiniteError for NaN or Infinity, with the flat index', () => {
      const e = (() => {
        try {
          gpu.cayleyMengerDeterminants([
            [
              [0, 0],
              [1, NaN],
              [0, Infinity],
            ],
          ]);
        } catch (x) {
          return x;
        }
      })();
      expect(e).toBeInstanceOf(NonFiniteError);
      expect((e as NonFiniteError).message).toBe(`${op}: 'points' has 2 non-finite value(s) (first at flat index 3)`);
    });
  });
});

describe('pairwiseCosine', () => {
  it.skipIf(!ok)('matches a float64 loop, including a zero row (cosine 0)', () => {
    const rng = createRng(21);
    const d = 19;
    const a = Array.from({ length: 37 }, () => Array.from({ length: d }, () => rng.normal()));
    const b = Array.from({ length: 23 }, () => Array.from({ length: d }, () => 3 * rng.normal() + 1));
    a[5] = new Array<number>(d).fill(0);
    const c = gpu.pairwiseCosine(a, b);
    expect([c.rows, c.cols]).toEqual([37, 23]);
    expect(c.data).toBeInstanceOf(Float32Array);
    expectAllClose(c.data, cosineReference(a, b), 2e-6); // float32 dot of unit rows: ≲ D·6e-8
    for (let j = 0; j < 23; j++) expect(c.data[5 * 23 + j]).toBe(0);
  });

  it.skipIf(!ok)('matches the main-entry tensor reference pairwiseCosine', () => {
    const rng = createRng(23);
    const a = Array.from({ length: 12 }, () => Array.from({ length: 16 }, () => rng.normal()));
    const b = Array.from({ length: 9 }, () => Array.from({ length: 16 }, () => rng.normal()));
    const ref = pairwiseCosineTensor(tf.tensor2d(a), tf.tensor2d(b));
    expectAllClose(gpu.pairwiseCosine(a, b).data, ref.dataSync(), 2e-6);
    ref.dispose();
  });

  it.skipIf(!ok)('accepts a Matrix and { data, rows, cols } with typed arrays, equal to nested input', () => {
    const rng = createRng(22);
    const a = Array.from({ length: 6 }, () => Array.from({ length: 4 }, () => rng.normal()));
    const b = Array.from({ length: 5 }, () => Array.from({ length: 4 }, () => rng.normal()));
    const nested = gpu.pairwiseCosine(a, b);
    expect(gpu.pairwiseCosine(Matrix.fromArray(a), { data: Float64Array.from(b.flat()), rows: 5, cols: 4 })).toEqual(
      nested,
    );
    expect(gpu.pairwiseCosine({ data: a.flat(), rows: 6, cols: 4 }, Matrix.fromArray(b))).toEqual(nested);
    const c32 = gpu.pairwiseCosine({ data: Float32Array.from(a.flat()), rows: 6, cols: 4 }, b);
    expectAllClose(c32.data, nested.data, 1e-6);
  });

  it.skipIf(!ok)('stays in [−1, 1], handles huge rows, and gives an empty result for N = 0', () => {
    const c = gpu.pairwiseCosine(
      [
        [1e200, 1e200],
        [3, 4],
      ],
      [
        [1, 1],
        [-3, -4],
      ],
    );
    expectAllClose(c.data, [1, -0.9899495, 0.9899495, -1], 1e-6);
    for (const x of c.data) expect(Math.abs(x)).toBeLessThanOrEqual(1);
    expect(gpu.pairwiseCosine({ data: [], rows: 0, cols: 3 }, [[1, 2, 3]])).toEqual({
      data: new Float32Array(0),
      rows: 0,
      cols: 1,
    });
  });

  it.skipIf(!ok)("matches the loop in gpu.js's 'cpu' mode", () => {
    const rng = createRng(23);
    const a = Array.from({ length: 8 }, () => Array.from({ length: 16 }, () => rng.normal()));
    expectAllClose(cpuGpu!.pairwiseCosine(a, a).data, cosineReference(a, a), 1e-7);
  });

  describe.skipIf(!ok)('errors', () => {
    it("ShapeError naming 'b' and the bound D", () => {
      expect(() =>
        gpu.pairwiseCosine(
          [[1, 2, 3]],
          [
            [1, 2],
            [3, 4],
            [5, 6],
            [7, 8],
          ],
        ),
      ).toThrow(ShapeError);
      expect(() =>
        gpu.pairwiseCosine(
          [[1, 2, 3]],
          [
            [1, 2],
            [3, 4],
            [5, 6],
            [7, 8],
          ],
        ),
      ).toThrow("pairwiseCosine: 'b' must have shape [M, D=3], got [4, 2]");
    });
    it('ShapeError for ragged rows, a data length mismatch or D = 0', () => {
      expect(() => gpu.pairwiseCosine([[1, 2], [3]], [[1, 2]])).toThrow(
        /pairwiseCosine: 'a' must have shape \[2, 2\] \(rectangular\), got \[2, 1\] \(row 1 differs\)/,
      );
      expect(() => gpu.pairwiseCosine([[1, 2]], { data: [1, 2, 3], rows: 2, cols: 2 })).toThrow(
        "pairwiseCosine: 'b' must have shape [rows·cols = 4] for 2×2, got [3]",
      );
      expect(() => gpu.pairwiseCosine([[], []], [[]])).toThrow(
        "pairwiseCosine: 'a' must have shape [N, D] with D >= 1, got [2, 0]",
      );
    });
    it('InvalidArgumentError for a bad input type or rows/cols', () => {
      // @ts-expect-error not an accepted input
      expect(() => gpu.pairwiseCosine('x', [[1]])).toThrow(
        /pairwiseCosine: 'a' must be nested arrays \[rows\]\[cols\] or \{ data, rows, cols \}, got string/,
      );
      expect(() => gpu.pairwiseCosine([[1]], { data: [1], rows: 1.5, cols: 1 })).toThrow(
        /pairwiseCosine: 'b' must have non-negative integer rows and cols/,
      );
    });
    it('NonFiniteError naming the argument', () => {
      expect(() =>
        gpu.pairwiseCosine(
          [[1, 2]],
          [
            [0, 1],
            [NaN, 1],
          ],
        ),
      ).toThrow(NonFiniteError);
      expect(() =>
        gpu.pairwiseCosine(
          [[1, 2]],
          [
            [0, 1],
            [NaN, 1],
          ],
        ),
      ).toThrow("pairwiseCosine: 'b' has 1 non-finite value(s) (first at flat index 2)");
    });
  });
});

describe('destroy', () => {
  it.skipIf(!ok)('releases the instance; later calls throw BackendError; a second destroy is a no-op', async () => {
    const g = await loadGpu();
    g.cayleyMengerDeterminants([
      [
        [0, 0],
        [1, 0],
        [0, 1],
      ],
    ]);
    await g.destroy();
    await g.destroy();
    expect(() =>
      g.cayleyMengerDeterminants([
        [
          [0, 0],
          [1, 0],
          [0, 1],
        ],
      ]),
    ).toThrow(BackendError);
    expect(() => g.pairwiseCosine([[1]], [[1]])).toThrow(/pairwiseCosine: this GpuKernels instance was destroyed/);
  });
});

describe.skipIf(!ok)('doc examples', () => {
  it('cayleyMengerDeterminants', () => {
    expect(
      Array.from(
        gpu.cayleyMengerDeterminants([
          [
            [0, 0],
            [1, 0],
            [0, 1],
          ],
        ]),
      ),
    ).toEqual([-4]);
    expect(Array.from(gpu.cayleyMengerDeterminants(new Float32Array([0, 0, 1, 0, 0, 1]), [1, 3, 2]))).toEqual([-4]);
  });
  it('pairwiseCosine', () => {
    const c = gpu.pairwiseCosine(
      [
        [1, 0],
        [1, 1],
      ],
      [
        [1, 0],
        [0, 2],
        [-3, 0],
      ],
    );
    expect([c.rows, c.cols]).toEqual([2, 3]);
    expectAllClose(c.data, [1, 0, -1, Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2], 1e-6);
  });
});
