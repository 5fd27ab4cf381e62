import * as tf from '@tensorflow/tfjs-core';
import { assertFloatTensor, assertInteger, bindShapes } from '@geolip/geometry/checks';

import { Module } from '../module.js';
import type { InitSeed } from '../module.js';
import { Conv2d } from './conv2d.js';

/** Options of {@link Downsample} and {@link Upsample}. */
export interface ResampleOptions {
  /** Seeds the conv's initialization. Default 0. */
  seed?: InitSeed;
}

/**
 * Halves H and W with a learned 3×3 convolution, stride 2, padding 1 (guided-diffusion
 * `Downsample(use_conv=True)`): `[B, H, W, C]` → `[B, ⌈H/2⌉, ⌈W/2⌉, C]`.
 *
 * Parameters: `conv.weight` (PyTorch `[C, C, 3, 3]`), `conv.bias` `[C]`. Count 9·C² + C.
 *
 * **Layout: NHWC; PyTorch is NCHW.** Odd H or W is accepted (as PyTorch: ⌈H/2⌉ rows); note that an
 * {@link Upsample} after it then gives H + 1, not H.
 *
 * @example
 * new Downsample(32).forward(tf.zeros([1, 16, 16, 32]) as tf.Tensor4D).shape; // [1, 8, 8, 32]
 */
export class Downsample extends Module {
  readonly channels: number;
  private readonly conv: Conv2d;

  /** @param channels - C ≥ 1 (in and out). */
  constructor(channels: number, options: ResampleOptions = {}) {
    super();
    this.channels = assertInteger('Downsample', 'channels', channels, 1);
    this.conv = this.addModule(
      'conv',
      new Conv2d(channels, channels, 3, { stride: 2, padding: 1, seed: options.seed }),
    );
  }

  /**
   * @param x - `[B, H, W, C]` float32.
   * @returns `[B, ⌈H/2⌉, ⌈W/2⌉, C]`.
   * @throws {ShapeError} If `x` is not rank 4 with C channels.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const op = 'Downsample.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x);
    bindShapes(op).check('x', x, ['B', 'H', 'W', this.channels]);
    return this.conv.forward(x);
  }
}

/**
 * Doubles H and W: nearest-neighbour ×2 (each pixel repeated in a 2×2 block, PyTorch
 * `F.interpolate(x, scale_factor=2, mode='nearest')`) then a 3×3 convolution, padding 1
 * (guided-diffusion `Upsample(use_conv=True)`): `[B, H, W, C]` → `[B, 2H, 2W, C]`.
 *
 * Parameters: `conv.weight` (PyTorch `[C, C, 3, 3]`), `conv.bias` `[C]`. Count 9·C² + C.
 *
 * **Layout: NHWC; PyTorch is NCHW.**
 *
 * @remarks The repeat is a reshape + broadcast multiply by ones (gradient = a sum over each 2×2
 * block) rather than `tf.image.resizeNearestNeighbor`, so it is exact and differentiable on every backend.
 *
 * @example
 * new Upsample(32).forward(tf.zeros([1, 8, 8, 32]) as tf.Tensor4D).shape; // [1, 16, 16, 32]
 */
export class Upsample extends Module {
  readonly channels: number;
  private readonly conv: Conv2d;

  /** @param channels - C ≥ 1 (in and out). */
  constructor(channels: number, options: ResampleOptions = {}) {
    super();
    this.channels = assertInteger('Upsample', 'channels', channels, 1);
    this.conv = this.addModule('conv', new Conv2d(channels, channels, 3, { padding: 1, seed: options.seed }));
  }

  /**
   * @param x - `[B, H, W, C]` float32.
   * @returns `[B, 2H, 2W, C]`.
   * @throws {ShapeError} If `x` is not rank 4 with C channels.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const op = 'Upsample.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x);
    bindShapes(op).check('x', x, ['B', 'H', 'W', this.channels]);
    return tf.tidy(() => this.conv.forward(upsampleNearest2x(x)));
  }
}

/** `[B, H, W, C]` → `[B, 2H, 2W, C]`, each pixel repeated in a 2×2 block. No checks. @internal */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    // [B·H, 1, W, 1, C] · ones[1, 2, 1, 2, 1]: a broadcast multiply, whose gradient (a sum over the
    // broadcast axes) exists on every backend; broadcastTo's gradient is a Tile gradient, which tfjs
    // implements only up to rank 4.
    const repeated = tf.mul(tf.reshape(x, [b * h, 1, w, 1, c]), tf.ones([1, 2, 1, 2, 1]));
    return tf.reshape(repeated, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}
