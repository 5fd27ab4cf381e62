import { assertInteger, assertNumber } from '../checks/assert-shape.js';

/**
 * A small, fast, seedable pseudo-random generator (xoshiro128**, seeded through splitmix32).
 *
 * Every GeoLIP sampler takes a `seed` so runs are reproducible; PyTorch's streams cannot be
 * matched bit for bit (spec §14.4), so tests compare statistics, not draws.
 *
 * @example
 * const rng = createRng(42);
 * rng.uniform(); // in [0, 1)
 * rng.normal();  // standard normal
 */
export interface Rng {
  /** Uniform in [0, 1) with 32 bits of randomness. */
  uniform(): number;
  /** Standard normal (Box–Muller, both values used). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** `k` distinct integers drawn uniformly from [0, n), in random order (partial Fisher–Yates). */
  choose(n: number, k: number, scratch?: Int32Array): Int32Array;
  /** The internal state, for checkpoints. */
  state(): [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Creates a seeded generator. The same seed gives the same stream on every platform.
 * @param seed - any finite number; non-integers are truncated (`seed >>> 0` after mixing the high bits).
 * @param state - a state previously returned by {@link Rng.state}, to resume a stream.
 */
export function createRng(seed = 0, state?: readonly [number, number, number, number]): Rng {
  assertNumber('createRng', 'seed', seed);
  let s0: number, s1: number, s2: number, s3: number;
  if (state) {
    [s0, s1, s2, s3] = state.map((v) => v >>> 0) as [number, number, number, number];
  } else {
    const mix = splitmix32((seed >>> 0) ^ Math.floor(seed / 4294967296));
    s0 = mix();
    s1 = mix();
    s2 = mix();
    s3 = mix();
  }
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  let spare: number | null = null;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };

  const rng: Rng = {
    uniform: () => nextU32() / 4294967296,
    normal: () => {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = rng.uniform();
      const v = rng.uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int: (n: number) => Math.floor(rng.uniform() * n),
    choose: (n: number, k: number, scratch?: Int32Array) => {
      assertInteger('Rng.choose', 'k', k, 0, n);
      // Sparse partial Fisher–Yates: O(k) time and memory, whatever n is.
      const out = new Int32Array(k);
      const swapped = new Map<number, number>();
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(rng.uniform() * (n - i));
        const vj = swapped.get(j) ?? j;
        const vi = swapped.get(i) ?? i;
        out[i] = vj;
        swapped.set(j, vi);
      }
      if (scratch) scratch.set(out);
      return out;
    },
    state: () => [s0, s1, s2, s3],
  };
  return rng;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
