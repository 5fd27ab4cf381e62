import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { assertFloatTensor, assertInteger, bindShapes } from '@geolip/geometry/checks';

import { Module, toRng, uniformInit } from '../module.js';
import type { InitSeed } from '../module.js';

/**
 * **Image layout: NHWC here, NCHW in PyTorch.**
 *
 * Every image tensor in `@geolip/nn` is channels-last, `[B, H, W, C]` (tfjs's native layout). PyTorch
 * is channels-first, `[B, C, H, W]`. Weights convert automatically: a conv weight is stored here as
 * tfjs's `[kh, kw, in, out]` and {@link Module.stateDict} / {@link Module.loadStateDict} read and write
 * PyTorch's `[out, in, kh, kw]` (layout `'conv2d'`). **Activations do not convert**: when comparing
 * with PyTorch, transpose images yourself (`x.permute(0, 2, 3, 1)` on the PyTorch side, or
 * `tf.transpose(x, [0, 3, 1, 2])` here).
 */
export const IMAGE_LAYOUT = 'NHWC' as const;

/** Zero padding of {@link Conv2d}: `'same'` (stride 1 only, as PyTorch) or a symmetric count per side. */
export type Conv2dPadding = 'same' | number;

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  /** Stride in both spatial directions (≥ 1). Default 1. */
  stride?: number;
  /**
   * Zero padding. A number p pads p rows/columns on every side (PyTorch `padding=p`); `'same'` keeps
   * H and W (PyTorch `padding='same'`: total k − 1 per axis, the odd one at the bottom/right; stride 1
   * only). Default 0.
   */
  padding?: Conv2dPadding;
  /** Learn a per-output-channel bias. Default `true`. */
  bias?: boolean;
  /** Seeds the initialization. Default 0. */
  seed?: InitSeed;
}

/** `[top, bottom, left, right]` zero padding. */
type Pads = readonly [number, number, number, number];

/**
 * 2-D convolution over NHWC images (PyTorch `nn.Conv2d`, channels-last):
 *
 *     y[b, i, j, o] = bias[o] + Σ_{u, v, c} xpad[b, i·s + u, j·s + v, c] · W[u, v, c, o]
 *
 * (cross-correlation, as PyTorch and tfjs). Parameters:
 * - `weight`: here `[kh, kw, in, out]`, PyTorch `[out, in, kh, kw]` (layout `'conv2d'`);
 * - `bias`: `[out]` (when `bias` is on).
 *
 * Initialization is PyTorch's default: kaiming-uniform with a = √5, i.e. `U(±1/√fanIn)` with
 * fanIn = in·kh·kw, for the weight and the bias (our seeded generator: distribution as PyTorch,
 * values not).
 *
 * **Layout: inputs and outputs are NHWC `[B, H, W, C]`; PyTorch is NCHW.** See {@link IMAGE_LAYOUT}.
 *
 * @remarks
 * - A numeric padding runs as `tf.pad` then a `'valid'` convolution, so outputs match PyTorch for
 *   every stride (tfjs's own `'same'` with stride > 1 pads differently from any PyTorch setting).
 *   Output size: ⌊(H + 2p − kh) / s⌋ + 1.
 * - Gradients: the weight gradient is computed from kh·kw strided slices and matmuls (a
 *   `tf.customGrad`, {@link conv2dComposedGrad}; first-order only), not by tfjs's
 *   `Conv2DBackpropFilter` kernel: wasm lacks that kernel (tfjs 4.22), and where it exists it is
 *   slow. Measured: 391 of 443 ms of a GLFM v1 training step of 128 on the H100's webgpu
 *   (`tools/perf/glfm-profile.mjs`), and 5–10× slower than the composed gradient on cpu
 *   (`npm run bench:nn:conv-grad`).
 * - O(B·H'·W'·kh·kw·in·out); one new tensor, intermediates disposed.
 *
 * @example
 * const conv = new Conv2d(3, 8, 3, { padding: 1, seed: 0 });
 * const y = conv.forward(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D); // [2, 32, 32, 8]
 * conv.paramCount(); // 8·3·3·3 + 8 = 224
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  /** `[kh, kw]`. */
  readonly kernelSize: readonly [number, number];
  readonly stride: number;
  readonly padding: Conv2dPadding;
  /** `[kh, kw, in, out]`. */
  readonly weight: tf.Variable;
  /** `[out]`, or `null` without bias. */
  readonly bias: tf.Variable | null;
  private readonly pads: Pads;

  /**
   * @param inChannels - C_in ≥ 1.
   * @param outChannels - C_out ≥ 1.
   * @param kernelSize - k (square) or `[kh, kw]`, each ≥ 1.
   * @throws {InvalidArgumentError} On a non-integer or out-of-range size, stride or padding, or
   *   `padding: 'same'` with stride > 1 (PyTorch refuses it too).
   */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly [number, number],
    options: Conv2dOptions = {},
  ) {
    super();
    const op = 'Conv2d';
    this.inChannels = assertInteger(op, 'inChannels', inChannels, 1);
    this.outChannels = assertInteger(op, 'outChannels', outChannels, 1);
    const k = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    if (!Array.isArray(k) || k.length !== 2) {
      throw new InvalidArgumentError(op, 'kernelSize', `must be an integer or [kh, kw], got ${String(kernelSize)}`);
    }
    const kh = assertInteger(op, 'kernelSize', k[0], 1);
    const kw = assertInteger(op, 'kernelSize', k[1], 1);
    this.kernelSize = [kh, kw];
    this.stride = assertInteger(op, 'stride', options.stride ?? 1, 1);
    const padding = options.padding ?? 0;
    if (padding === 'same') {
      if (this.stride !== 1)
        throw new InvalidArgumentError(
          op,
          'padding',
          `'same' requires stride 1 (as PyTorch), got stride ${this.stride}`,
        );
      this.pads = [
        Math.floor((kh - 1) / 2),
        kh - 1 - Math.floor((kh - 1) / 2),
        Math.floor((kw - 1) / 2),
        kw - 1 - Math.floor((kw - 1) / 2),
      ];
    } else if (typeof padding === 'number') {
      const p = assertInteger(op, 'padding', padding, 0);
      this.pads = [p, p, p, p];
    } else {
      throw new InvalidArgumentError(op, 'padding', `must be 'same' or an integer >= 0, got ${String(padding)}`);
    }
    this.padding = padding;

    const rng = toRng(options.seed);
    const bound = 1 / Math.sqrt(inChannels * kh * kw);
    this.weight = this.addParameter('weight', uniformInit([kh, kw, inChannels, outChannels], bound, rng), 'conv2d');
    this.bias = (options.bias ?? true) ? this.addParameter('bias', uniformInit([outChannels], bound, rng)) : null;
  }

  /** Output `[H', W']` for an input of `[H, W]` (before any check). */
  outputSize(height: number, width: number): [number, number] {
    const [pt, pb, pl, pr] = this.pads;
    const [kh, kw] = this.kernelSize;
    return [
      Math.floor((height + pt + pb - kh) / this.stride) + 1,
      Math.floor((width + pl + pr - kw) / this.stride) + 1,
    ];
  }

  /**
   * @param x - `[B, H, W, in]` float32 (NHWC).
   * @returns `[B, H', W', out]` with H' = ⌊(H + pads − kh) / stride⌋ + 1 (H' = H for `'same'`).
   * @throws {ShapeError} If `x` is not rank 4 with `in` channels, or is smaller than the kernel after padding.
   * @throws {InvalidArgumentError} If `x` is not a float32 tensor.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const op = 'Conv2d.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x);
    bindShapes(op).check('x', x, ['B', 'H', 'W', this.inChannels]);
    const [oh, ow] = this.outputSize(x.shape[1], x.shape[2]);
    if (oh < 1 || ow < 1) {
      throw new ShapeError(
        op,
        'x',
        `[B, H, W, ${this.inChannels}] with H + padding >= ${this.kernelSize[0]} ` +
          `and W + padding >= ${this.kernelSize[1]}`,
        x.shape,
      );
    }
    return tf.tidy(() => {
      const y = conv2dNhwc(x, this.weight as tf.Tensor4D, this.stride, this.pads);
      return (this.bias ? tf.add(y, this.bias) : y) as tf.Tensor4D;
    });
  }
}

/**
 * Pads `x` by `pads` (`[top, bottom, left, right]`) and convolves `'valid'` with stride `stride`.
 * No checks (callers validate). The gradient is {@link conv2dComposedGrad}'s on every backend.
 * @internal
 */
function conv2dNhwc(x: tf.Tensor4D, weight: tf.Tensor4D, stride: number, pads: Pads): tf.Tensor4D {
  return tf.tidy(() => {
    const [pt, pb, pl, pr] = pads;
    const xp =
      pt + pb + pl + pr === 0
        ? x
        : tf.pad(x, [
            [0, 0],
            [pt, pb],
            [pl, pr],
            [0, 0],
          ]);
    return conv2dComposedGrad(xp, weight, stride);
  });
}

/**
 * A `'valid'` convolution whose gradient avoids the `Conv2DBackpropFilter` kernel (missing on wasm,
 * slow on cpu and webgpu):
 * - ∂x: `conv2dTranspose(dy, W)` (kernel `Conv2DBackpropInput`, present on wasm);
 * - ∂W[u, v] = xᵤᵥᵀ · dy, where xᵤᵥ = x[:, u :: s, v :: s, :] (strided slice, the output grid's
 *   taps for offset (u, v)) flattened to `[B·H'·W', in]` and dy to `[B·H'·W', out]`.
 * Forward is the plain `tf.conv2d`. First-order gradients only.
 * @internal Exported for the tests, which compare it with tfjs's gradient on cpu.
 */
export function conv2dComposedGrad(x: tf.Tensor4D, weight: tf.Tensor4D, stride: number): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xin = args[0] as tf.Tensor4D;
    const w = args[1] as tf.Tensor4D;
    const save = args[2] as tf.GradSaveFunc;
    save([xin, w]);
    return {
      value: tf.conv2d(xin, w, stride, 'valid'),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const xs = saved[0] as tf.Tensor4D;
        const ws = saved[1] as tf.Tensor4D;
        const [b, h, wd, cin] = xs.shape;
        const [kh, kw, , cout] = ws.shape;
        const [, oh, ow] = dy.shape;
        const dx = tf.conv2dTranspose(dy, ws, [b, h, wd, cin], stride, 'valid');
        // On wasm (tfjs 4.22) a reshape of dy here, disposed when this gradient returns, corrupted dy for its other
        // consumers (a graph where dy also flows to a matMul's gradient read NaN or garbage; issue 23,
        // tools/diffusion/v4-grad-check.mjs): there the reshape reads a copy.
        const dyFlat = tf.reshape(tf.getBackend() === 'wasm' ? tf.add(dy, 0) : dy, [b * oh * ow, cout]) as tf.Tensor2D;
        const taps: tf.Tensor2D[] = [];
        for (let u = 0; u < kh; u++) {
          for (let v = 0; v < kw; v++) {
            const patch = tf.stridedSlice(
              xs,
              [0, u, v, 0],
              [b, u + (oh - 1) * stride + 1, v + (ow - 1) * stride + 1, cin],
              [1, stride, stride, 1],
            );
            taps.push(tf.matMul(tf.reshape(patch, [b * oh * ow, cin]) as tf.Tensor2D, dyFlat, true, false));
          }
        }
        const dw = tf.reshape(tf.stack(taps), [kh, kw, cin, cout]);
        return [dx, dw];
      },
    };
  });
  return f(x, weight) as tf.Tensor4D;
}
