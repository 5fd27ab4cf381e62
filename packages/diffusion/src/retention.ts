import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, createRng } from '@geolip/geometry';
import { LayerNorm, MultiHeadAttention, toRng } from '@geolip/nn';

import { ConstellationRelay } from './constellation.js';
import { seededNormal } from './flow-matching.js';

/** A layer of a retention stack: `[B, S, D]` → `[B, S, D]` (inside a tidy of the caller). */
export type RetentionLayer = (x: tf.Tensor3D) => tf.Tensor3D;

/**
 * Signal retention along a stack of layers [INFER reading of the card's "relay retention at depth 16: 99.4% vs 7.4%
 * for attention"; geolip-core's relay docstring: "99.4% cos fidelity at depth 16"]: with x_0 the input and
 * x_d = layer_d(x_{d−1}),
 *
 *     retention(d) = mean over the B·S tokens of cos(x_0[token], x_d[token])
 *
 * @param x - `[B, S, D]` float32 input signal.
 * @param layers - the stack, applied in order.
 * @returns retention(1) … retention(L) (a zero-norm token counts as cosine 0).
 * @throws {ShapeError} If `x` is not rank 3. @throws {InvalidArgumentError} If a layer changes the shape.
 *
 * @example
 * // x = [1, 0]; a layer adding [0, 1]: cos = 1/√2.
 * retentionCurve(tf.tensor3d([[[1, 0]]]), [(x) => tf.add(x, tf.tensor1d([0, 1]))]); // [0.7071…]
 */
export function retentionCurve(x: tf.Tensor3D, layers: readonly RetentionLayer[]): number[] {
  const op = 'retentionCurve';
  if (!(x instanceof tf.Tensor) || x.rank !== 3) throw new ShapeError(op, 'x', '[B, S, D]', x?.shape ?? []);
  const out: number[] = [];
  let h = tf.clone(x);
  const [b, s, d] = x.shape;
  const x0 = tf.reshape(x, [b * s, d]);
  const n0 = tf.norm(x0, 'euclidean', 1);
  try {
    for (const [i, layer] of layers.entries()) {
      const next = tf.tidy(() => layer(h));
      h.dispose();
      h = next;
      if (h.shape.join() !== x.shape.join()) {
        throw new InvalidArgumentError(
          op,
          `layers[${i}]`,
          `must keep the shape [${x.shape.join(', ')}], gave [${h.shape.join(', ')}]`,
        );
      }
      const cos = tf.tidy(() => {
        const hd = tf.reshape(h, [b * s, d]);
        const den = tf.mul(n0, tf.norm(hd, 'euclidean', 1));
        const c = tf.where(tf.greater(den, 0), tf.div(tf.sum(tf.mul(x0, hd), 1), tf.maximum(den, 1e-30)), 0);
        return tf.mean(c);
      });
      out.push(cos.dataSync()[0]!);
      cos.dispose();
    }
  } finally {
    tf.dispose([h, x0, n0]);
  }
  return out;
}

/** Options of {@link relayRetention}. */
export interface RelayRetentionOptions {
  /** L, the number of stacked layers (the card: 16). Default 16. */
  depth?: number;
  /** D, the token width (a multiple of `patchDim`). Default 256 (16 patches on S^15, the card's width). */
  dim?: number;
  /** S, tokens per sequence (what attention mixes). Default 64 (the card's 8×8 pixels). */
  tokens?: number;
  /** B, sequences. Default 4. */
  batch?: number;
  /** Heads of the attention layers. Default 8. */
  heads?: number;
  /** Patch width of the relay (S^(patchDim−1)). Default 16. */
  patchDim?: number;
  /** Anchors per patch of the relay. Default 16. */
  anchorsPerPatch?: number;
  /** Initial pre-sigmoid gate of every relay layer. Default −3 (σ ≈ 0.047, spec §12.2). */
  gateInit?: number;
  /** Seed of the signal (standard normal) and of every layer's initialization. Default 0. */
  seed?: number;
}

/** What {@link relayRetention} returns: retention(1 … L) of each stack, all on the same signal. */
export interface RelayRetention {
  depth: number;
  dim: number;
  tokens: number;
  batch: number;
  /** x ← x + σ(g)·Relay(x) per token (the gated relay residual; `ConstellationRelay`, fresh weights per layer). */
  relay: number[];
  /** x ← MHA(x): attention put in the relay's place, no residual (a drop-in replacement of the layer). */
  attention: number[];
  /** x ← x + MHA(LN(x)): a pre-LN attention residual (a transformer block without its MLP). */
  attentionResidual: number[];
}

/**
 * The card's "relay retention at depth 16 vs attention" [INFER: the card gives no procedure; see the package README]:
 * {@link retentionCurve} of one standard-normal signal `[B, S, D]` through three stacks of `depth` untrained layers,
 * each layer freshly initialized from `seed`: the gated constellation relay (`ConstellationRelay` with `gateInit`,
 * the v1 pattern z = h + σ(g)·Relay(h), per token), attention in its place (`MultiHeadAttention` of @geolip/nn,
 * PyTorch's initialization), and a pre-LN attention residual.
 *
 * @throws {InvalidArgumentError} If a size is not a positive integer, `dim` is not a multiple of `patchDim`, or
 *   `heads` does not divide `dim`.
 */
export function relayRetention(options: RelayRetentionOptions = {}): RelayRetention {
  const op = 'relayRetention';
  const int = (name: keyof RelayRetentionOptions, v: number, min: number): number => {
    if (!Number.isInteger(v) || v < min)
      throw new InvalidArgumentError(op, name, `must be an integer >= ${min}, got ${v}`);
    return v;
  };
  const depth = int('depth', options.depth ?? 16, 1);
  const dim = int('dim', options.dim ?? 256, 1);
  const tokens = int('tokens', options.tokens ?? 64, 1);
  const batch = int('batch', options.batch ?? 4, 1);
  const heads = int('heads', options.heads ?? 8, 1);
  const patchDim = int('patchDim', options.patchDim ?? 16, 2);
  const anchorsPerPatch = int('anchorsPerPatch', options.anchorsPerPatch ?? 16, 2);
  const seed = options.seed ?? 0;
  const gateInit = options.gateInit ?? -3;
  if (!Number.isFinite(gateInit)) throw new InvalidArgumentError(op, 'gateInit', `must be finite, got ${gateInit}`);
  if (dim % patchDim !== 0)
    throw new InvalidArgumentError(op, 'dim', `must be a multiple of patchDim (${patchDim}), got ${dim}`);
  if (dim % heads !== 0) throw new InvalidArgumentError(op, 'heads', `must divide dim (${dim}), got ${heads}`);

  const rng = toRng(seed);
  // The signal from the package's seeded normal draw (tf.randomNormal treats seed 0 as unseeded).
  const x = seededNormal([batch, tokens, dim], createRng(seed)) as tf.Tensor3D;
  const relays: ConstellationRelay[] = [];
  const attns: MultiHeadAttention[] = [];
  const norms: LayerNorm[] = [];
  try {
    for (let i = 0; i < depth; i++) {
      relays.push(
        new ConstellationRelay({
          patches: dim / patchDim,
          patchDim,
          anchorsPerPatch,
          phases: [0, 1 / 3, 2 / 3],
          gateInit,
          seed: rng,
        }),
      );
      attns.push(new MultiHeadAttention(dim, heads, { seed: rng }));
      norms.push(new LayerNorm(dim));
    }
    const relayLayers: RetentionLayer[] = relays.map((r) => (h) => {
      const flat = tf.reshape(h, [batch * tokens, dim]) as tf.Tensor2D;
      const out = r.forward(flat);
      const z = tf.add(flat, tf.mul(out.output, r.gateTensor()!));
      tf.dispose([out.output, out.triangulation]);
      return tf.reshape(z, [batch, tokens, dim]) as tf.Tensor3D;
    });
    const attnLayers: RetentionLayer[] = attns.map((a) => (h) => a.forward(h));
    const residualLayers: RetentionLayer[] = attns.map(
      (a, i) => (h) => tf.add(h, a.forward(norms[i]!.forward(h))) as tf.Tensor3D,
    );
    return {
      depth,
      dim,
      tokens,
      batch,
      relay: retentionCurve(x, relayLayers),
      attention: retentionCurve(x, attnLayers),
      attentionResidual: retentionCurve(x, residualLayers),
    };
  } finally {
    x.dispose();
    for (const m of [...relays, ...attns, ...norms]) m.dispose();
  }
}
