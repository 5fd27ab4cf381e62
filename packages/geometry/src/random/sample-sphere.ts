import * as tf from '@tensorflow/tfjs-core';

import { assertInteger } from '../checks/assert-shape.js';
import { InvalidArgumentError } from '../errors.js';
import { createRng, type Rng } from './rng.js';

export interface SampleSphereOptions {
  /** Seed of the generator. Default 0 (so calls are reproducible unless asked otherwise). */
  seed?: number;
  /** An existing generator to draw from instead (its stream advances). Takes precedence over `seed`. */
  rng?: Rng;
}

/** Most values `sampleSphere` draws (n·d): 2³⁰ (4 GiB as float32, 8 GiB while drawn in float64). */
const MAX_SAMPLE_ENTRIES = 2 ** 30;

/** `n·d` float64 values: n points drawn uniformly on S^{d−1} (Gaussian, then normalized), row-major. */
export function sampleSphereData(n: number, d: number, rng: Rng): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let norm = 0;
    do {
      norm = 0;
      for (let j = 0; j < d; j++) {
        const g = rng.normal();
        out[o + j] = g;
        norm += g * g;
      }
    } while (norm === 0);
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < d; j++) out[o + j]! *= inv;
  }
  return out;
}

/**
 * `n` points drawn uniformly (Haar measure) on the unit sphere S^{d−1}: standard Gaussian vectors,
 * normalized. Drawn in float64 from a seeded generator, returned as a float32 tensor.
 *
 * @param n - number of points (≥ 1).
 * @param d - ambient dimension D (≥ 1; S^{D−1}).
 * @returns `[n, d]` unit rows.
 *
 * @throws {InvalidArgumentError} if `n` or `d` is not a positive integer, or `n·d` exceeds 2³⁰ values.
 *
 * @example
 * const x = sampleSphere(512, 16, { seed: 1 }); // random points on S^15
 */
export function sampleSphere(n: number, d: number, options: SampleSphereOptions = {}): tf.Tensor2D {
  assertInteger('sampleSphere', 'n', n, 1);
  assertInteger('sampleSphere', 'd', d, 1);
  if (n * d > MAX_SAMPLE_ENTRIES) {
    throw new InvalidArgumentError(
      'sampleSphere',
      'n',
      `× d = ${n} × ${d} = ${n * d} values exceeds the ${MAX_SAMPLE_ENTRIES} a float32 tensor can hold`,
    );
  }
  const rng = options.rng ?? createRng(options.seed ?? 0);
  return tf.tensor2d(Float32Array.from(sampleSphereData(n, d, rng)), [n, d], 'float32');
}
