/** Types and attribute readers shared by the WebGPU and the reference implementations of `./names.ts`. */
import type * as tf from '@tensorflow/tfjs-core';

export type Attrs = Record<string, unknown>;
export type KernelFn = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: Attrs }) => tf.TensorInfo;

/** `[rows, cols]` of a tensor seen as `[N, D]` over its last axis. */
export function rowsCols(t: tf.TensorInfo): [number, number] {
  const cols = t.shape[t.shape.length - 1] ?? 1;
  const n = t.shape.reduce((a, c) => a * c, 1);
  return [cols === 0 ? 0 : n / cols, cols];
}

/** The `eps` attribute of the layer-norm kernels (default 1e-5). */
export const epsOf = (attrs?: Attrs): number => (attrs?.eps === undefined ? 1e-5 : Number(attrs.eps));

/** The `approximate` attribute of the GELU kernels. */
export const approxOf = (attrs?: Attrs): 'none' | 'tanh' => (attrs?.approximate === 'tanh' ? 'tanh' : 'none');

/** The `heads` attribute of the attention kernels. */
export const headsOf = (attrs?: Attrs): number => Number(attrs?.heads);
