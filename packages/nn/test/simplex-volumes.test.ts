// simplexVolumes / pentachoronCVOnDevice: hand-derived volumes, the reference kernel (the WGSL program step for step
// in float32) and the composed ops against @geolip/geometry's float64 Cayley–Menger path on the same simplices, and
// the error bound the README states. tools/device/gpu-suite.mjs checks the WGSL program against cpu on the GPU.
import * as tf from '@tensorflow/tfjs-core';
import {
  createRng,
  pentachoronCVAsync,
  sampleSimplexIndices,
  sampleSphere,
  simplexVolumeSquared as volumeSquared64,
} from '@geolip/geometry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  KERNELS,
  composedSimplexVolumeSquared,
  hasKernel,
  pentachoronCVOnDevice,
  registerReferenceKernels,
  simplexVolumes,
  unregisterReferenceKernels,
} from '../src/index.js';

/** Runs `fn` once on the composed ops and once through the reference kernel. */
const PATHS = [
  ['composed ops', false],
  ['reference kernel', true],
] as const;
function withPath<T>(kernel: boolean, fn: () => T): T {
  if (kernel) registerReferenceKernels();
  try {
    expect(hasKernel(KERNELS.simplexVolumeSquared)).toBe(kernel);
    return fn();
  } finally {
    if (kernel) unregisterReferenceKernels();
  }
}
async function withPathAsync<T>(kernel: boolean, fn: () => Promise<T>): Promise<T> {
  if (kernel) registerReferenceKernels();
  try {
    return await fn();
  } finally {
    if (kernel) unregisterReferenceKernels();
  }
}

/** The regular k-simplex with edge a: a/√2 times the k+1 standard basis vectors of R^(k+1). */
function regular(k: number, a: number): number[][] {
  return Array.from({ length: k + 1 }, (_, i) =>
    Array.from({ length: k + 1 }, (_, j) => (i === j ? a / Math.SQRT2 : 0)),
  );
}

/** Relative error of float32 V² against geometry's float64 Cayley–Menger V² for each simplex. */
function relErrors(points: Float32Array, dim: number, idx: Int32Array, vertices: number, v2: ArrayLike<number>) {
  const out: number[] = [];
  for (let s = 0; s < v2.length; s++) {
    const simplex = Array.from(idx.subarray(s * vertices, (s + 1) * vertices), (r) =>
      Array.from(points.subarray(r * dim, (r + 1) * dim)),
    );
    const ref = volumeSquared64(simplex);
    out.push(Math.abs(v2[s]! - ref) / Math.abs(ref));
  }
  return out;
}

describe('simplexVolumes: hand-derived volumes on both paths', () => {
  for (const [name, kernel] of PATHS) {
    it(`${name}: regular 4-simplex of edge a has volume a⁴·√5/96`, () => {
      withPath(kernel, () => {
        for (const a of [1, 2, 0.5]) {
          const v = simplexVolumes(tf.tensor2d(regular(4, a)), [[0, 1, 2, 3, 4]]).dataSync();
          expect(v[0]).toBeCloseTo((a ** 4 * Math.sqrt(5)) / 96, 6);
        }
      });
    });
    it(`${name}: the corner simplex (origin and unit vectors) has volume 1/k!`, () => {
      withPath(kernel, () => {
        for (const k of [1, 2, 4, 6]) {
          const pts = [new Array(k).fill(0), ...Array.from({ length: k }, (_, i) => regular(k - 1, Math.SQRT2)[i]!)];
          const v = simplexVolumes(tf.tensor2d(pts), [Array.from({ length: k + 1 }, (_, i) => i)]).dataSync();
          let f = 1;
          for (let i = 2; i <= k; i++) f *= i;
          expect(v[0]).toBeCloseTo(1 / f, 6);
        }
      });
    });
    it(`${name}: a repeated point or a flat simplex has volume 0; squared gives V²`, () => {
      withPath(kernel, () => {
        const pts = tf.tensor2d([
          [0, 0, 0, 0],
          [1, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 1, 0],
          [0, 0, 0, 1],
          [2, 0, 0, 0],
        ]);
        const v = simplexVolumes(pts, [
          [0, 1, 2, 3, 1],
          [0, 1, 5, 2, 3],
          [0, 1, 2, 3, 4],
        ]).dataSync();
        expect(v[0]).toBe(0);
        expect(v[1]).toBe(0);
        expect(v[2]).toBeCloseTo(1 / 24, 6);
        const v2 = simplexVolumes(pts, [[0, 1, 2, 3, 4]], { squared: true }).dataSync();
        expect(v2[0]).toBeCloseTo(1 / 576, 8);
      });
    });
    it(`${name}: an index outside [0, N) in a tensor gives NaN for that simplex only`, () => {
      withPath(kernel, () => {
        const pts = tf.tensor2d(regular(2, 1));
        const v = simplexVolumes(
          pts,
          tf.tensor2d(
            [
              [0, 1, 2],
              [0, 1, 3],
              [-1, 0, 1],
            ],
            undefined,
            'int32',
          ),
        ).dataSync();
        expect(v[0]).toBeCloseTo(Math.sqrt(3) / 4, 6);
        expect(v[1]).toBeNaN();
        expect(v[2]).toBeNaN();
      });
    });
  }
});

describe('float32 volumes against the float64 Cayley–Menger path (same simplices)', () => {
  const n = 600;
  const dim = 128;
  let data: Float32Array;
  beforeAll(() => {
    const x = sampleSphere(n, dim, { seed: 1 });
    data = x.dataSync() as Float32Array;
    x.dispose();
  });

  // Measured: worst relative V² error 5e-7 (k = 4) to 1.2e-6 (k = 9) on S^127, both paths; asserted with margin.
  for (const vertices of [2, 3, 5, 8, 10, 11]) {
    it(`k + 1 = ${vertices}: relative V² error < 1e-5 on both paths`, () => {
      const idx = sampleSimplexIndices(n, 200, vertices, createRng(vertices));
      const x = tf.tensor2d(data, [n, dim]);
      const s = tf.tensor2d(idx, [200, vertices], 'int32');
      const composed = withPath(false, () => simplexVolumes(x, s, { squared: true }).dataSync());
      const fused = withPath(true, () => simplexVolumes(x, s, { squared: true }).dataSync());
      expect(Math.max(...relErrors(data, dim, idx, vertices, composed))).toBeLessThan(1e-5);
      expect(Math.max(...relErrors(data, dim, idx, vertices, fused))).toBeLessThan(1e-5);
      tf.dispose([x, s]);
    });
  }

  it('near-degenerate pentachora (height ~0.1): relative V² error < 1e-3 (measured 8e-5)', () => {
    const rng = createRng(9);
    const count = 100;
    const pts = new Float32Array(count * 5 * dim);
    for (let s = 0; s < count; s++) {
      for (let v = 0; v < 5; v++) {
        const o = (s * 5 + v) * dim;
        let norm = 0;
        for (let t = 0; t < dim; t++) {
          pts[o + t] = v < 4 ? rng.normal() : pts[o - dim + t]! + (0.1 * rng.normal()) / Math.sqrt(dim);
          norm += pts[o + t]! ** 2;
        }
        for (let t = 0; t < dim; t++) pts[o + t] = pts[o + t]! / Math.sqrt(norm);
      }
    }
    const idx = Int32Array.from({ length: count * 5 }, (_, i) => i);
    for (const kernel of [false, true]) {
      const v2 = withPath(kernel, () =>
        simplexVolumes(tf.tensor2d(pts, [count * 5, dim]), tf.tensor2d(idx, [count, 5], 'int32'), {
          squared: true,
        }).dataSync(),
      );
      expect(Math.max(...relErrors(pts, dim, idx, 5, v2))).toBeLessThan(1e-3);
    }
  });

  it('pentachoronCVOnDevice without the kernel on a host backend is pentachoronCVAsync itself', async () => {
    const x = tf.tensor2d(data, [n, dim]);
    expect(await pentachoronCVOnDevice(x, { seed: 4 })).toEqual(await pentachoronCVAsync(x, { seed: 4 }));
    x.dispose();
  });

  for (const [name, kernel] of PATHS) {
    it(`${kernel ? name : 'no kernel (float64 here)'}: pentachoronCVOnDevice = pentachoronCVAsync on the same simplices (relative CV error < 1e-4)`, async () => {
      const x = tf.tensor2d(data, [n, dim]);
      for (const options of [
        {},
        { samples: 1000, pool: Infinity, seed: 2 },
        { samples: 300, vertices: 4, pool: 100 },
      ]) {
        const ours = await withPathAsync(kernel, () => pentachoronCVOnDevice(x, options));
        const ref = await pentachoronCVAsync(x, options);
        expect(ours.valid).toBe(ref.valid);
        expect(ours.total).toBe(ref.total);
        expect(Math.abs(ours.cv - ref.cv) / ref.cv).toBeLessThan(1e-4);
        expect(Math.abs(ours.meanVolume - ref.meanVolume) / ref.meanVolume).toBeLessThan(1e-5);
      }
      // an Rng is consumed exactly as geometry consumes it
      const a = await withPathAsync(kernel, () => pentachoronCVOnDevice(x, { rng: createRng(11) }));
      const b = await pentachoronCVAsync(x, { rng: createRng(11) });
      expect(Math.abs(a.cv - b.cv) / b.cv).toBeLessThan(1e-4);
      x.dispose();
    });
  }

  it('leaks no tensors', async () => {
    const x = tf.tensor2d(data, [n, dim]);
    const before = tf.memory().numTensors;
    for (const kernel of [false, true]) {
      await withPathAsync(kernel, () => pentachoronCVOnDevice(x));
      withPath(kernel, () => simplexVolumes(x, [[0, 1, 2, 3, 4]]).dispose());
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('composedSimplexVolumeSquared', () => {
  it('is what simplexVolumes(…, { squared }) runs without the kernel', () => {
    const x = sampleSphere(50, 16, { seed: 3 }) as tf.Tensor2D;
    const s = tf.tensor2d(sampleSimplexIndices(50, 20, 5, createRng(1)), [20, 5], 'int32');
    expect(Array.from(composedSimplexVolumeSquared(x, s).dataSync())).toEqual(
      Array.from(simplexVolumes(x, s, { squared: true }).dataSync()),
    );
  });
});

describe('bad input errors name the function and the argument', () => {
  let x: tf.Tensor2D;
  beforeAll(() => {
    x = tf.tensor2d(regular(4, 1));
  });
  afterAll(() => x.dispose());
  it('simplexVolumes', () => {
    expect(() => simplexVolumes([[0, 1]] as never, [[0, 1]])).toThrow(/simplexVolumes: 'points' must be a tf.Tensor/);
    expect(() => simplexVolumes(tf.tensor3d([[[1]]]) as never, [[0]])).toThrow(
      /simplexVolumes: 'points' must have shape \[N, D\]/,
    );
    expect(() => simplexVolumes(tf.cast(x, 'int32') as tf.Tensor2D, [[0, 1]])).toThrow(
      /simplexVolumes: 'points' must have dtype float32/,
    );
    expect(() => simplexVolumes(x, tf.tensor2d([[0, 1]]))).toThrow(/simplexVolumes: 'simplices' must have dtype int32/);
    expect(() => simplexVolumes(x, tf.tensor1d([0, 1], 'int32') as never)).toThrow(
      /simplexVolumes: 'simplices' must have shape \[S, k\+1\]/,
    );
    expect(() => simplexVolumes(x, [[0, 1, 9]])).toThrow(
      /simplexVolumes: 'simplices\[0\]\[2\]' must be an integer in \[0, 4\]/,
    );
    expect(() => simplexVolumes(x, [[0, 1], [2]])).toThrow(/simplexVolumes: 'simplices' must have shape \[S, 2\]/);
    expect(() => simplexVolumes(x, [[0]])).toThrow(/simplexVolumes: 'simplices' .*too few points for a simplex/);
    expect(() => simplexVolumes(x, 'abc' as never)).toThrow(/simplexVolumes: 'simplices' must be an int32 tf.Tensor2D/);
    expect(() => simplexVolumes(x, [[0, 1]], { threshold: -1 })).toThrow(/simplexVolumes: 'threshold'/);
  });
  it('pentachoronCVOnDevice', async () => {
    await expect(pentachoronCVOnDevice(x, { samples: 1 })).rejects.toThrow(/pentachoronCVOnDevice: 'samples'/);
    await expect(pentachoronCVOnDevice(x, { pool: 3 })).rejects.toThrow(/pentachoronCVOnDevice: 'pool'/);
    await expect(pentachoronCVOnDevice(x, { vertices: 6 })).rejects.toThrow(
      /pentachoronCVOnDevice: 'points' .*too few points for a 5-simplex/,
    );
    await expect(pentachoronCVOnDevice(x, { rng: {} as never })).rejects.toThrow(/pentachoronCVOnDevice: 'rng'/);
    await expect(pentachoronCVOnDevice(x, { minValid: 1 })).rejects.toThrow(/pentachoronCVOnDevice: 'minValid'/);
    const bad = tf.tensor2d([...regular(4, 1), [NaN, 0, 0, 0, 0]]);
    await expect(withPathAsync(true, () => pentachoronCVOnDevice(bad, { samples: 50 }))).rejects.toThrow(
      /pentachoronCVOnDevice: 'points' must be finite: \d+ of 50 sampled simplices/,
    );
    // without the kernel on a host backend: geometry's float64 path and its NonFiniteError
    await expect(pentachoronCVOnDevice(bad, { samples: 50 })).rejects.toThrow(/'x' has 1 non-finite value/);
    bad.dispose();
  });
  it('pentachoronCVOnDevice refuses samples above 10^6 (issue 26: no unbounded work)', async () => {
    await expect(pentachoronCVOnDevice(x, { samples: 1e9 })).rejects.toThrow(
      /^pentachoronCVOnDevice: 'samples' must be an integer in \[2, 1000000\]/,
    );
  });
});
