import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { assertFloatTensor } from '@geolip/geometry/checks';
import {
  ClassEmbedding,
  Conv2d,
  ConvResBlock,
  Downsample,
  FeedForward,
  GroupNorm,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  TimeEmbedding,
  Upsample,
  toRng,
} from '@geolip/nn';
import type { InitSeed } from '@geolip/nn';

import { validateGlfmConfig } from './config.js';
import type { GlfmConfig, GlfmVariant } from './config.js';
import { ConstellationRelay, PatchConstellation } from './constellation.js';

/** SiLU, elementwise. */
function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

/**
 * 2×2 average pooling, stride 2, as reshape + mean (`[B, H, W, C]` → `[B, H/2, W/2, C]`, H and W even). tf.avgPool
 * is avoided: inside the training step on the wasm backend it gave non-finite gradients to unrelated weights.
 */
function meanPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const rows = tf.mean(tf.reshape(x, [b * (h / 2), 2, w, c]), 1); // [B·H/2, W, C]
    return tf.reshape(tf.mean(tf.reshape(rows, [b * (h / 2), w / 2, 2, c]), 2), [b, h / 2, w / 2, c]) as tf.Tensor4D;
  });
}

/** conv_in → res(c1) → down → res(c1→c2) → down → res(c2→Cb): `[B, H, W, C]` → `[B, H/4, W/4, Cb]`. */
class Encoder extends Module {
  private readonly convIn: Conv2d;
  private readonly res0: ConvResBlock;
  private readonly down0: Downsample;
  private readonly res1: ConvResBlock;
  private readonly down1: Downsample;
  private readonly res2: ConvResBlock;

  constructor(c: GlfmConfig, seed: InitSeed) {
    super();
    const [c1, c2] = c.levelChannels;
    const opts = { groups: c.groups, condDim: c.encoderConditioning ? c.condDim : undefined, seed };
    this.convIn = this.addModule('conv_in', new Conv2d(c.channels, c1, 3, { padding: 1, seed }));
    this.res0 = this.addModule('res0', new ConvResBlock(c1, c1, opts));
    this.down0 = this.addModule('down0', new Downsample(c1, { seed }));
    this.res1 = this.addModule('res1', new ConvResBlock(c1, c2, opts));
    this.down1 = this.addModule('down1', new Downsample(c2, { seed }));
    this.res2 = this.addModule('res2', new ConvResBlock(c2, c.bottleneckChannels, opts));
  }

  /** The bottleneck features `[B, s, s, Cb]` and the full- and half-resolution features (the U-Net skips). */
  forward(x: tf.Tensor4D, cond?: tf.Tensor2D): { features: tf.Tensor4D; skips: [tf.Tensor4D, tf.Tensor4D] } {
    return tf.tidy(() => {
      const full = this.res0.forward(this.convIn.forward(x), cond);
      const half = this.res1.forward(this.down0.forward(full), cond);
      return {
        features: this.res2.forward(this.down1.forward(half), cond),
        skips: [full, half] as [tf.Tensor4D, tf.Tensor4D],
      };
    });
  }
}

/**
 * res(Cb→c2) → up → res(c2→c1) → up → res(c1) → GroupNorm → SiLU → conv_out:
 * `[B, s, s, Cb]` → `[B, 4s, 4s, C]`.
 * With U-Net skips the encoder's half- and full-resolution features are concatenated (channels) before the
 * second and third res blocks, whose inputs double.
 */
class Decoder extends Module {
  private readonly res0: ConvResBlock;
  private readonly up0: Upsample;
  private readonly res1: ConvResBlock;
  private readonly up1: Upsample;
  private readonly res2: ConvResBlock;
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;
  private readonly xtQuarter: Conv2d | null = null;
  private readonly xtHalf: Conv2d | null = null;
  private readonly xtFull: Conv2d | null = null;

  constructor(c: GlfmConfig, seed: InitSeed) {
    super();
    const [c1, c2] = c.levelChannels;
    const opts = { groups: c.groups, condDim: c.decoderConditioning ? c.condDim : undefined, seed };
    this.res0 = this.addModule('res0', new ConvResBlock(c.bottleneckChannels, c2, opts));
    this.up0 = this.addModule('up0', new Upsample(c2, { seed }));
    const k = c.decoderSkips ? 2 : 1;
    this.res1 = this.addModule('res1', new ConvResBlock(k * c2, c1, opts));
    this.up1 = this.addModule('up1', new Upsample(c1, { seed }));
    this.res2 = this.addModule('res2', new ConvResBlock(k * c1, c1, opts));
    // x_t enters through a 3×3 conv (C → the width at that resolution) added to the decoder's features.
    if (c.decoderXt === 'pyramid') {
      this.xtQuarter = this.addModule(
        'xt_quarter',
        new Conv2d(c.channels, c.bottleneckChannels, 3, { padding: 1, seed }),
      );
      this.xtHalf = this.addModule('xt_half', new Conv2d(c.channels, c2, 3, { padding: 1, seed }));
    }
    if (c.decoderXt !== 'none')
      this.xtFull = this.addModule('xt_full', new Conv2d(c.channels, c1, 3, { padding: 1, seed }));
    this.normOut = this.addModule('norm_out', new GroupNorm(c.groups, c1));
    this.convOut = this.addModule('conv_out', new Conv2d(c1, c.channels, 3, { padding: 1, seed }));
  }

  /**
   * @param xt - x_t `[B, 4s, 4s, C]` when `decoderXt` is not `'none'` (`'full'`: conv'd and added before the last
   *   res block; `'pyramid'`: also average-pooled ×4 and ×2, conv'd and added before the first two).
   */
  forward(
    z: tf.Tensor4D,
    cond?: tf.Tensor2D,
    skips?: readonly [tf.Tensor4D, tf.Tensor4D],
    xt?: tf.Tensor4D,
  ): tf.Tensor4D {
    return tf.tidy(() => {
      const withSkip = (h: tf.Tensor4D, skip: tf.Tensor4D | undefined): tf.Tensor4D =>
        skip ? tf.concat([h, skip], 3) : h;
      const plus = (h: tf.Tensor4D, conv: Conv2d | null, x: tf.Tensor4D | undefined): tf.Tensor4D =>
        conv && x ? (tf.add(h, conv.forward(x)) as tf.Tensor4D) : h;
      const half = this.xtHalf && xt ? meanPool2(xt) : undefined;
      const quarter = this.xtQuarter && half ? meanPool2(half) : undefined;
      let h = this.res0.forward(plus(z, this.xtQuarter, quarter), cond);
      h = this.res1.forward(withSkip(plus(this.up0.forward(h), this.xtHalf, half), skips?.[1]), cond);
      h = this.res2.forward(withSkip(plus(this.up1.forward(h), this.xtFull, xt), skips?.[0]), cond);
      return this.convOut.forward(silu(this.normOut.forward(h)));
    });
  }
}

/** Generator block of v4 (spec §12.3): x + Linear(GELU(Linear(LN x))), hidden `mult·dim`. */
class GeneratorBlock extends Module {
  private readonly norm: LayerNorm;
  private readonly mlp: FeedForward;

  constructor(dim: number, mult: number, seed: InitSeed) {
    super();
    this.norm = this.addModule('norm', new LayerNorm(dim));
    this.mlp = this.addModule('mlp', new FeedForward(dim, mult * dim, { activation: 'gelu', seed }));
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(x, this.mlp.forward(this.norm.forward(x))));
  }
}

/** The encoder's outputs ({@link GlfmModel.encode}): bottleneck features and the full- / half-resolution maps. */
export interface GlfmEncoderOutput {
  /** `[B, s, s, Cb]` the encoder output (s = H/4), what the bottleneck reads. */
  features: tf.Tensor4D;
  /** `[B, H, W, c1]` the full-resolution feature map (a U-Net skip when `decoderSkips`). */
  full: tf.Tensor4D;
  /** `[B, H/2, W/2, c2]` the half-resolution feature map (a U-Net skip when `decoderSkips`). */
  half: tf.Tensor4D;
}

/** Everything {@link GlfmModel.forwardDetailed} computes (new tensors, owned by the caller). */
export interface GlfmForwardResult {
  /** `[B, H, W, C]` predicted velocity. */
  velocity: tf.Tensor4D;
  /** `[B, s, s, Cb]` encoder output (s = H/4). */
  features: tf.Tensor4D;
  /** `[B, s, s, Cb]` what the decoder receives (the bottleneck output). */
  latent: tf.Tensor4D;
  /** v4: `[B, 2·P·K·A]` the address (coarse ‖ fine); v1–v3: `[B·s·s, P·K·A]` the per-pixel triangulation. */
  triangulation: tf.Tensor2D;
}

/**
 * The class-conditional GLFM velocity network v_θ(x_t, t, c) of spec §12, in one of four variants:
 *
 *     features h = Encoder(x_t)                               [B, s, s, Cb], s = H/4
 *     cond = TimeEmbedding(t) + ClassEmbedding(c)             [B, condDim]
 *     v1 regulator:  z = h + σ(g)·Relay(h)                    relay per pixel; gate σ(g) starts at σ(−3)
 *     v2 skip:       z = Skip(flatten h) + σ(g)·Relay(h)      Skip = Linear(s²Cb, s²Cb), unconstrained
 *                    (`gateMode` 'convex': (1 − σ)·base + σ·Relay; 'bypass': σ·base + (1 − σ)·Relay)
 *     v3 pure:       z = Relay(h)                             the decoder sees only triangulation-derived values
 *     v4 GLFM:       address = [tri_coarse(proj(mean_pixels h)), agg_pixels tri_fine(proj'(h))]
 *                    g = Fuse(address ‖ temb ‖ cemb ‖ [t, 1 − t]);  g = 4 × ResBlock(g);
 *                    z = reshape(Linear(g))
 *     v = Decoder(z, cond [, x_t] [, U-Net skips])            [B, H, W, C]   (x_t: `decoderXt`, 'full' in v4's
 *                                                             preset; skips: `decoderSkips`, a departure for v4)
 *
 * Images are NHWC (`[B, H, W, C]`, the layout of `@geolip/nn`). Parameters are named as registered:
 * `time_embed.*`, `class_embed.weight`, `encoder.*`, `relay.*` / `skip.*` (v1–v3), `coarse_proj.*`,
 * `fine_proj.*`, `coarse.anchors`, `fine.anchors`, `fuse.*`, `generator.N.*`, `gen_out.*` (v4),
 * `decoder.*`. {@link glfmParamCount} gives the count without building the model.
 *
 * @example
 * const model = new GlfmModel(glfmPreset('v4', { imageSize: 28 }));
 * const v = model.forward(tf.zeros([2, 28, 28, 1]), tf.tensor1d([0.5, 0.9]), tf.tensor1d([3, 7], 'int32'));
 */
export class GlfmModel extends Module {
  readonly config: GlfmConfig;
  private readonly timeEmbed: TimeEmbedding;
  private readonly classEmbed: ClassEmbedding;
  private readonly encoder: Encoder;
  private readonly decoder: Decoder;
  /** v1–v3: the per-pixel relay. */
  readonly relay: ConstellationRelay | null = null;
  private readonly skip: Linear | null = null;
  private readonly coarseProj: Linear | null = null;
  private readonly fineProj: Linear | null = null;
  /** v4: the coarse (pooled) and fine (per-pixel) constellations. */
  readonly coarse: PatchConstellation | null = null;
  readonly fine: PatchConstellation | null = null;
  private readonly fuse: Linear | null = null;
  private readonly generator: ModuleList<GeneratorBlock> | null = null;
  private readonly genOut: Linear | null = null;

  /**
   * @param config - from {@link glfmPreset} (or a full {@link GlfmConfig}).
   * @throws {InvalidArgumentError} On an invalid config (unknown variant, bad sizes), naming the field.
   */
  constructor(config: GlfmConfig) {
    super();
    const c = validateGlfmConfig(config, 'GlfmModel');
    this.config = c;
    const rng = toRng(c.seed);
    this.timeEmbed = this.addModule(
      'time_embed',
      new TimeEmbedding(c.timeDim, c.condDim, { timeScale: c.timeScale, seed: rng }),
    );
    this.classEmbed = this.addModule('class_embed', new ClassEmbedding(c.numClasses, c.condDim, { seed: rng }));
    this.encoder = this.addModule('encoder', new Encoder(c, rng));
    const patches = c.bottleneckChannels / c.patchDim;
    const flat = this.latentSize * this.latentSize * c.bottleneckChannels;
    const pc = { patches, patchDim: c.patchDim, anchorsPerPatch: c.anchorsPerPatch, phases: c.phases, seed: rng };
    if (c.variant === 'v4') {
      const cb = c.bottleneckChannels;
      this.coarseProj = this.addModule('coarse_proj', new Linear(cb, cb, { seed: rng }));
      this.fineProj = this.addModule('fine_proj', new Linear(cb, cb, { seed: rng }));
      this.coarse = this.addModule('coarse', new PatchConstellation(pc));
      this.fine = this.addModule('fine', new PatchConstellation(pc));
      const fuseIn = this.coarse.outputDim + this.fine.outputDim + 2 * c.condDim + 2;
      this.fuse = this.addModule('fuse', new Linear(fuseIn, c.generatorDim, { seed: rng }));
      const blocks: GeneratorBlock[] = [];
      for (let i = 0; i < c.generatorBlocks; i++) blocks.push(new GeneratorBlock(c.generatorDim, c.generatorMult, rng));
      this.generator = this.addModule('generator', new ModuleList(blocks));
      this.genOut = this.addModule('gen_out', new Linear(c.generatorDim, flat, { seed: rng }));
    } else {
      const gateInit = c.variant === 'v3' ? null : c.gateInit;
      this.relay = this.addModule('relay', new ConstellationRelay({ ...pc, hidden: c.relayHidden, gateInit }));
      if (c.variant === 'v2') this.skip = this.addModule('skip', new Linear(flat, flat, { seed: rng }));
    }
    this.decoder = this.addModule('decoder', new Decoder(c, rng));
  }

  get variant(): GlfmVariant {
    return this.config.variant;
  }

  /** s = H/4, the side of the bottleneck grid. */
  get latentSize(): number {
    return this.config.imageSize / 4;
  }

  /** The model's constellations by name (`relay` for v1–v3; `coarse`, `fine` for v4). */
  constellations(): Record<string, PatchConstellation> {
    if (this.relay) return { relay: this.relay.constellation };
    return { coarse: this.coarse!, fine: this.fine! };
  }

  /**
   * The predicted velocity.
   * @param x - `[B, H, W, C]` float32 x_t, H = W = `config.imageSize`, C = `config.channels`.
   * @param t - `[B]` float32 times in [0, 1].
   * @param labels - `[B]` int32 class labels in [0, numClasses).
   * @returns `[B, H, W, C]`.
   * @throws {ShapeError} If an input has the wrong shape (e.g. a 32×32 image for a 28×28 preset).
   * @throws {InvalidArgumentError} On a wrong dtype.
   */
  forward(x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D): tf.Tensor4D {
    const r = this.forwardDetailed(x, t, labels, 'GlfmModel.forward');
    tf.dispose([r.features, r.latent, r.triangulation]);
    return r.velocity;
  }

  /** {@link forward} that also returns the encoder features, the bottleneck output and the triangulation. */
  forwardDetailed(
    x: tf.Tensor4D,
    t: tf.Tensor1D,
    labels: tf.Tensor1D,
    op = 'GlfmModel.forwardDetailed',
  ): GlfmForwardResult {
    this.assertLive('forward');
    this.checkInputs(op, x, t, labels);
    const c = this.config;
    return tf.tidy(() => {
      const cond = c.encoderConditioning ? this.condition(t, labels).cond : undefined;
      return { ...this.afterEncoder(x, t, labels, this.encoder.forward(x, cond)) };
    });
  }

  /**
   * The encoder stage alone: its bottleneck features `[B, s, s, Cb]` and its full- and half-resolution feature maps
   * (what U-Net skips would carry). With {@link forwardFromEncoder} it splits {@link forwardDetailed} at the
   * encoder's output, so a test can differentiate the velocity with respect to each encoder feature map.
   * @throws {ShapeError} If an input has the wrong shape.
   */
  encode(x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D): GlfmEncoderOutput {
    this.assertLive('encode');
    this.checkInputs('GlfmModel.encode', x, t, labels);
    const c = this.config;
    return tf.tidy(() => {
      const { features, skips } = this.encoder.forward(
        x,
        c.encoderConditioning ? this.condition(t, labels).cond : undefined,
      );
      return { features, full: skips[0], half: skips[1] };
    });
  }

  /**
   * Everything after the encoder, from given encoder outputs ({@link encode}); `x` is x_t, which reaches the decoder
   * only where {@link GlfmConfig.decoderXt} says. `forwardDetailed(x, …)` equals
   * `forwardFromEncoder(x, …, encode(x, …))`.
   * @throws {ShapeError} If an input has the wrong shape.
   */
  forwardFromEncoder(
    x: tf.Tensor4D,
    t: tf.Tensor1D,
    labels: tf.Tensor1D,
    encoded: GlfmEncoderOutput,
  ): GlfmForwardResult {
    const op = 'GlfmModel.forwardFromEncoder';
    this.assertLive('forwardFromEncoder');
    this.checkInputs(op, x, t, labels);
    const c = this.config;
    const s = this.latentSize;
    const [b] = x.shape;
    const want: [string, tf.Tensor4D, number[]][] = [
      ['encoded.features', encoded.features, [b, s, s, c.bottleneckChannels]],
      ['encoded.full', encoded.full, [b, 4 * s, 4 * s, c.levelChannels[0]]],
      ['encoded.half', encoded.half, [b, 2 * s, 2 * s, c.levelChannels[1]]],
    ];
    for (const [name, tensor, shape] of want) {
      if (!(tensor instanceof tf.Tensor) || tensor.shape.join() !== shape.join())
        throw new ShapeError(op, name, `[${shape.join(', ')}]`, tensor instanceof tf.Tensor ? tensor.shape : []);
    }
    return tf.tidy(() => ({
      ...this.afterEncoder(x, t, labels, { features: encoded.features, skips: [encoded.full, encoded.half] }),
    }));
  }

  /** Time and class embeddings and their sum (inside a tidy of the caller). */
  private condition(t: tf.Tensor1D, labels: tf.Tensor1D): { temb: tf.Tensor2D; cemb: tf.Tensor2D; cond: tf.Tensor2D } {
    const temb = this.timeEmbed.forward(t);
    const cemb = this.classEmbed.forward(labels);
    return { temb, cemb, cond: tf.add(temb, cemb) as tf.Tensor2D };
  }

  /**
   * The bottleneck and the decoder (inside a tidy of the caller). v4 (spec §12.1): ADDRESS from the encoder
   * features, CONDITION (fuse), GENERATE (blocks → latent → decoder); the decoder receives the encoder's feature maps
   * only as U-Net skips (`decoderSkips`), x_t only as `decoderXt` asks.
   */
  private afterEncoder(
    x: tf.Tensor4D,
    t: tf.Tensor1D,
    labels: tf.Tensor1D,
    encoded: { features: tf.Tensor4D; skips: [tf.Tensor4D, tf.Tensor4D] },
  ): GlfmForwardResult {
    const c = this.config;
    const { features, skips } = encoded;
    if (this.relay) {
      const cond = this.condition(t, labels).cond;
      const paths = this.relayPaths(features);
      const latent =
        paths.base === null ? paths.constellation : (tf.add(paths.base, paths.constellation) as tf.Tensor4D);
      const velocity = this.decoder.forward(
        latent,
        c.decoderConditioning ? cond : undefined,
        c.decoderSkips ? skips : undefined,
        c.decoderXt === 'none' ? undefined : x,
      );
      // tf.tidy keeps returned tensors; an input passed through (features from the caller) is returned as a clone.
      return { velocity, features: tf.clone(features), latent, triangulation: paths.triangulation };
    }
    const triangulation = this.addressOf(features);
    const { velocity, latent } = this.generateStages(x, t, labels, triangulation, c.decoderSkips ? skips : undefined);
    return { velocity, features: tf.clone(features), latent, triangulation };
  }

  /**
   * v4 stage 1, ADDRESS (spec §12.1): `[tri_coarse(proj(mean_pixels h)) ‖ agg_pixels tri_fine(proj'(h))]` of the
   * encoder features h.
   * @param features - `[B, s, s, Cb]` the encoder output ({@link encode}).
   * @returns `[B, 2·P·K·A]` (1,536 at the card's Cb = 256).
   * @throws {InvalidArgumentError} For v1–v3 (they have no address). @throws {ShapeError} On a wrong shape.
   */
  address(features: tf.Tensor4D): tf.Tensor2D {
    const op = 'GlfmModel.address';
    this.assertLive('address');
    if (this.config.variant !== 'v4') throw new InvalidArgumentError(op, 'variant', `is v4 only, got ${this.variant}`);
    const s = this.latentSize;
    const cb = this.config.bottleneckChannels;
    if (!(features instanceof tf.Tensor) || features.rank !== 4 || features.shape.slice(1).join() !== [s, s, cb].join())
      throw new ShapeError(
        op,
        'features',
        `[B, ${s}, ${s}, ${cb}]`,
        features instanceof tf.Tensor ? features.shape : [],
      );
    return tf.tidy(() => this.addressOf(features));
  }

  /**
   * v4 stages 2 and 3, CONDITION and GENERATE, from the address: `g = Fuse(address ‖ temb ‖ cemb ‖ [t, 1 − t])`,
   * the generator blocks, `z = reshape(Linear(g))`, `v = Decoder(z, cond)`. No encoder feature map is an argument:
   * `x` (x_t) is read only where {@link GlfmConfig.decoderXt} says. With `decoderSkips` this is not v4's forward
   * (the skips are missing) and it throws.
   * @param x - `[B, H, W, C]` x_t; `t` `[B]`; `labels` `[B]` int32 (as {@link forward}).
   * @param address - `[B, 2·P·K·A]` ({@link address}).
   * @returns `{ velocity, latent }` (new tensors, owned by the caller).
   * @throws {InvalidArgumentError} For v1–v3 or with `decoderSkips`. @throws {ShapeError} On a wrong shape.
   */
  generateFromAddress(
    x: tf.Tensor4D,
    t: tf.Tensor1D,
    labels: tf.Tensor1D,
    address: tf.Tensor2D,
  ): { velocity: tf.Tensor4D; latent: tf.Tensor4D } {
    const op = 'GlfmModel.generateFromAddress';
    this.assertLive('generateFromAddress');
    const c = this.config;
    if (c.variant !== 'v4') throw new InvalidArgumentError(op, 'variant', `is v4 only, got ${c.variant}`);
    if (c.decoderSkips)
      throw new InvalidArgumentError(op, 'decoderSkips', 'must be false (the U-Net skips need the encoder features)');
    this.checkInputs(op, x, t, labels);
    const width = this.coarse!.outputDim + this.fine!.outputDim;
    if (!(address instanceof tf.Tensor) || address.shape.join() !== [x.shape[0], width].join())
      throw new ShapeError(
        op,
        'address',
        `[${x.shape[0]}, ${width}]`,
        address instanceof tf.Tensor ? address.shape : [],
      );
    return tf.tidy(() => ({ ...this.generateStages(x, t, labels, address, undefined) }));
  }

  /** v4 ADDRESS (inside a tidy of the caller). */
  private addressOf(features: tf.Tensor4D): tf.Tensor2D {
    const c = this.config;
    const [b, s, , cb] = features.shape;
    const pooled = tf.mean(features, [1, 2]) as tf.Tensor2D;
    const coarse = this.coarse!.triangulate(this.coarseProj!.forward(pooled));
    const pixels = tf.reshape(features, [b * s * s, cb]) as tf.Tensor2D;
    const finePix = tf.reshape(this.fine!.triangulate(this.fineProj!.forward(pixels)), [b, s * s, -1]);
    const fine = (c.fineAggregate === 'mean' ? tf.mean(finePix, 1) : tf.max(finePix, 1)) as tf.Tensor2D;
    return tf.concat([coarse, fine], 1);
  }

  /** v4 CONDITION + GENERATE (inside a tidy of the caller); `skips` only when `decoderSkips`. */
  private generateStages(
    x: tf.Tensor4D,
    t: tf.Tensor1D,
    labels: tf.Tensor1D,
    address: tf.Tensor2D,
    skips: [tf.Tensor4D, tf.Tensor4D] | undefined,
  ): { velocity: tf.Tensor4D; latent: tf.Tensor4D } {
    const c = this.config;
    const b = x.shape[0];
    const s = this.latentSize;
    const { temb, cemb, cond } = this.condition(t, labels);
    const t2 = tf.reshape(t, [b, 1]);
    const noiseLevel = tf.concat([t2, tf.sub(1, t2)], 1);
    let g = this.fuse!.forward(tf.concat([address, temb, cemb, noiseLevel], 1) as tf.Tensor2D);
    for (const block of this.generator!) g = block.forward(g);
    const latent = tf.reshape(this.genOut!.forward(g), [b, s, s, c.bottleneckChannels]) as tf.Tensor4D;
    const velocity = this.decoder.forward(
      latent,
      c.decoderConditioning ? cond : undefined,
      skips,
      c.decoderXt === 'none' ? undefined : x,
    );
    return { velocity, latent };
  }

  /**
   * v1–v3: the two terms of the bottleneck, z = base + constellation, as weighted by {@link GlfmConfig.gateMode}
   * (`base` null for v3). Inside a tidy of the caller.
   */
  private relayPaths(features: tf.Tensor4D): {
    base: tf.Tensor4D | null;
    constellation: tf.Tensor4D;
    triangulation: tf.Tensor2D;
  } {
    const c = this.config;
    const [b, s, , cb] = features.shape;
    const relay = this.relay!.forward(tf.reshape(features, [b * s * s, cb]) as tf.Tensor2D);
    const r = tf.reshape(relay.output, [b, s, s, cb]) as tf.Tensor4D;
    if (c.variant === 'v3') return { base: null, constellation: r, triangulation: relay.triangulation };
    const gate = this.relay!.gateTensor()!;
    const base =
      c.variant === 'v1'
        ? features
        : (tf.reshape(this.skip!.forward(tf.reshape(features, [b, s * s * cb])), [b, s, s, cb]) as tf.Tensor4D);
    const [baseWeight, relayWeight] =
      c.gateMode === 'relay'
        ? [null, gate]
        : c.gateMode === 'convex'
          ? [tf.sub(1, gate), gate]
          : [gate, tf.sub(1, gate)];
    return {
      base: baseWeight === null ? base : (tf.mul(base, baseWeight) as tf.Tensor4D),
      constellation: tf.mul(r, relayWeight) as tf.Tensor4D,
      triangulation: relay.triangulation,
    };
  }

  /**
   * v1 / v2: the two weighted terms whose sum is the bottleneck output z (what the decoder receives), for the
   * routing fraction (`routingFraction` of the analysis); null for v3 and v4.
   *
   *     relay:  base = h_or_skip,            constellation = σ(g)·R
   *     convex: base = (1 − σ(g))·h_or_skip, constellation = σ(g)·R
   *     bypass: base = σ(g)·h_or_skip,       constellation = (1 − σ(g))·R
   *
   * @param x - `[B, H, W, C]` x_t; `t` `[B]`; `labels` `[B]` int32 (as {@link forward}).
   * @returns `{ base, constellation }`, each `[B, s, s, Cb]` (new tensors, owned by the caller).
   * @throws {ShapeError} If an input has the wrong shape.
   */
  bottleneckPaths(
    x: tf.Tensor4D,
    t: tf.Tensor1D,
    labels: tf.Tensor1D,
  ): { base: tf.Tensor4D; constellation: tf.Tensor4D } | null {
    const op = 'GlfmModel.bottleneckPaths';
    this.assertLive('bottleneckPaths');
    this.checkInputs(op, x, t, labels);
    const c = this.config;
    if (c.variant !== 'v1' && c.variant !== 'v2') return null;
    return tf.tidy(() => {
      const cond = tf.add(this.timeEmbed.forward(t), this.classEmbed.forward(labels)) as tf.Tensor2D;
      const { features } = this.encoder.forward(x, c.encoderConditioning ? cond : undefined);
      const { base, constellation } = this.relayPaths(features);
      return { base: base!, constellation };
    });
  }

  private checkInputs(op: string, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D): void {
    const c = this.config;
    assertFloatTensor(op, 'x', x);
    if (x.rank !== 4 || x.shape[1] !== c.imageSize || x.shape[2] !== c.imageSize || x.shape[3] !== c.channels) {
      throw new ShapeError(
        op,
        'x',
        `[B, ${c.imageSize}, ${c.imageSize}, ${c.channels}] ` +
          `(NHWC, the ${c.imageSize}×${c.imageSize}×${c.channels} images of this config)`,
        x.shape,
      );
    }
    const b = x.shape[0];
    assertFloatTensor(op, 't', t);
    if (t.rank !== 1 || t.shape[0] !== b) throw new ShapeError(op, 't', `[B=${b}]`, t.shape);
    if (!(labels instanceof tf.Tensor)) throw new InvalidArgumentError(op, 'labels', 'must be an int32 tf.Tensor1D');
    if (labels.rank !== 1 || labels.shape[0] !== b) throw new ShapeError(op, 'labels', `[B=${b}]`, labels.shape);
    if (labels.dtype !== 'int32')
      throw new InvalidArgumentError(op, 'labels', `must have dtype int32, got ${labels.dtype}`);
  }
}
