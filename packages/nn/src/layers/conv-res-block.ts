import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { assertFloatTensor, assertInteger, bindShapes } from '@geolip/geometry/checks';

import { Module, toRng } from '../module.js';
import type { InitSeed } from '../module.js';
import { silu } from './conditioning.js';
import { Conv2d } from './conv2d.js';
import { GroupNorm } from './group-norm.js';
import { Linear } from './linear.js';

/** How {@link ConvResBlock} injects its conditioning vector. */
export type CondMode = 'add' | 'scale_shift';

/** The conditioning modes {@link ConvResBlock} accepts. */
export const COND_MODES: readonly CondMode[] = Object.freeze(['add', 'scale_shift']);

/** Options of {@link ConvResBlock}. */
export interface ConvResBlockOptions {
  /** G of both group norms; must divide inC and outC. Default 32 (guided-diffusion's GroupNorm32). */
  groups?: number;
  /** Width of the conditioning vector (time + class embedding). Omit for an unconditioned block. */
  condDim?: number;
  /** Default `'add'`. See {@link ConvResBlock}. */
  condMode?: CondMode;
  /** Only `'silu'` for now. Default `'silu'`. */
  activation?: 'silu';
  /** Group-norm eps. Default 1e-5. */
  eps?: number;
  /** Seeds the initialization. Default 0. */
  seed?: InitSeed;
}

/**
 * The residual block of diffusion U-Nets (DDPM / guided-diffusion `ResBlock`, dropout 0), on NHWC images:
 *
 *     h = conv1(SiLU(norm1(x)))                                  3×3, padding 1, inC → outC
 *     'add':          h = h + cond_proj(SiLU(c))[:, None, None, :]
 *                     h = conv2(SiLU(norm2(h)))
 *     'scale_shift':  [scale, shift] = split(cond_proj(SiLU(c)), 2)   (scale first)
 *                     h = conv2(SiLU(norm2(h) · (1 + scale) + shift))  (FiLM)
 *     out = skip(x) + h                  skip = 1×1 conv when inC ≠ outC, else identity
 *
 * Without `condDim` the conditioning line is skipped and `forward(x)` takes no `cond`.
 *
 * Parameter names, in order (a PyTorch module defined in `test/fixtures/gen_conv_fixtures.py`;
 * **[INFER]: spec §12 does not give the author's names**): `norm1.{weight,bias}`,
 * `conv1.{weight,bias}`, `cond_proj.{weight,bias}` (`[outC or 2·outC, condDim]` in PyTorch),
 * `norm2.{weight,bias}`, `conv2.{weight,bias}`, `skip.{weight,bias}` (only when inC ≠ outC).
 *
 * Count: 2·inC + (9·inC·outC + outC) + [condDim·k·outC + k·outC, k = 1 or 2] + 2·outC
 * + (9·outC² + outC) + [inC·outC + outC].
 *
 * **Layout: NHWC `[B, H, W, C]`; PyTorch is NCHW.** See {@link IMAGE_LAYOUT}.
 *
 * @example
 * const block = new ConvResBlock(64, 128, { groups: 32, condDim: 256, condMode: 'scale_shift' });
 * block.forward(tf.zeros([2, 16, 16, 64]) as tf.Tensor4D, tf.zeros([2, 256]) as tf.Tensor2D).shape; // [2, 16, 16, 128]
 */
export class ConvResBlock extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly groups: number;
  readonly condDim: number | null;
  readonly condMode: CondMode;
  private readonly norm1: GroupNorm;
  private readonly conv1: Conv2d;
  private readonly condProj: Linear | null;
  private readonly norm2: GroupNorm;
  private readonly conv2: Conv2d;
  private readonly skip: Conv2d | null;

  /**
   * @param inChannels - inC ≥ 1, divisible by `groups`.
   * @param outChannels - outC ≥ 1, divisible by `groups`.
   * @throws {InvalidArgumentError} On a bad size, `groups` not dividing inC or outC, an unknown
   *   `condMode` or `activation`.
   */
  constructor(inChannels: number, outChannels: number, options: ConvResBlockOptions = {}) {
    super();
    const op = 'ConvResBlock';
    this.inChannels = assertInteger(op, 'inChannels', inChannels, 1);
    this.outChannels = assertInteger(op, 'outChannels', outChannels, 1);
    this.groups = assertInteger(op, 'groups', options.groups ?? 32, 1);
    for (const [name, c] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const) {
      if (c % this.groups !== 0)
        throw new InvalidArgumentError(op, 'groups', `must divide ${name} (${c}), got ${this.groups}`);
    }
    this.condDim = options.condDim === undefined ? null : assertInteger(op, 'condDim', options.condDim, 1);
    this.condMode = options.condMode ?? 'add';
    if (!COND_MODES.includes(this.condMode)) {
      throw new InvalidArgumentError(
        op,
        'condMode',
        `must be one of ${COND_MODES.map((m) => `'${m}'`).join(', ')}, got ${String(this.condMode)}`,
      );
    }
    const activation = options.activation ?? 'silu';
    if (activation !== 'silu')
      throw new InvalidArgumentError(op, 'activation', `must be 'silu', got ${String(activation)}`);
    const eps = options.eps ?? 1e-5;

    const rng = toRng(options.seed);
    this.norm1 = this.addModule('norm1', new GroupNorm(this.groups, inChannels, { eps }));
    this.conv1 = this.addModule('conv1', new Conv2d(inChannels, outChannels, 3, { padding: 1, seed: rng }));
    const condWidth = this.condMode === 'scale_shift' ? 2 * outChannels : outChannels;
    this.condProj =
      this.condDim === null ? null : this.addModule('cond_proj', new Linear(this.condDim, condWidth, { seed: rng }));
    this.norm2 = this.addModule('norm2', new GroupNorm(this.groups, outChannels, { eps }));
    this.conv2 = this.addModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1, seed: rng }));
    this.skip =
      inChannels === outChannels ? null : this.addModule('skip', new Conv2d(inChannels, outChannels, 1, { seed: rng }));
  }

  /**
   * @param x - `[B, H, W, inC]` float32 (NHWC).
   * @param cond - `[B, condDim]` float32; required exactly when the block was built with `condDim`.
   * @returns `[B, H, W, outC]`.
   * @throws {ShapeError} If `x` is not `[B, H, W, inC]` or `cond` not `[B, condDim]` with the same B.
   * @throws {InvalidArgumentError} If `cond` is missing on a conditioned block, or given to an unconditioned one.
   */
  forward(x: tf.Tensor4D, cond?: tf.Tensor2D): tf.Tensor4D {
    const op = 'ConvResBlock.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x);
    const shapes = bindShapes(op);
    shapes.check('x', x, ['B', 'H', 'W', this.inChannels]);
    if (this.condProj === null) {
      if (cond !== undefined)
        throw new InvalidArgumentError(op, 'cond', 'was given, but the block was built without condDim');
    } else {
      if (cond === undefined)
        throw new InvalidArgumentError(op, 'cond', `is required: the block was built with condDim ${this.condDim}`);
      assertFloatTensor(op, 'cond', cond);
      shapes.check('cond', cond, ['B', this.condDim!]);
    }
    return tf.tidy(() => {
      let h: tf.Tensor4D = this.conv1.forward(silu(this.norm1.forward(x)));
      if (this.condProj !== null) {
        const e = this.condProj.forward(silu(cond!));
        const c = this.outChannels;
        if (this.condMode === 'add') {
          h = tf.add(h, tf.reshape(e, [-1, 1, 1, c]));
          h = this.norm2.forward(h);
        } else {
          const scale = tf.reshape(tf.slice(e, [0, 0], [-1, c]), [-1, 1, 1, c]);
          const shift = tf.reshape(tf.slice(e, [0, c], [-1, c]), [-1, 1, 1, c]);
          h = tf.add(tf.mul(this.norm2.forward(h), tf.add(scale, 1)), shift);
        }
      } else {
        h = this.norm2.forward(h);
      }
      h = this.conv2.forward(silu(h));
      const skip = this.skip === null ? x : this.skip.forward(x);
      return tf.add(skip, h);
    });
  }
}
