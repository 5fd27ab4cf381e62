/**
 * `DualStreamViT`: the Dual-Stream ViT of the seed card (spec §9, §10.4): a patch embedding split into a geo
 * stream (with the KSimplex feature layer) and a std stream joined by cross-attention, independent pooled sphere
 * embeddings fused by normalized addition, a constellation, a patchwork, a classifier and an independent geo
 * classifier. Presets {@link DUAL_STREAM_V1}, {@link DUAL_STREAM_V5}, {@link DUAL_STREAM_V5_BIDIR} and
 * {@link DUAL_STREAM_V6}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Constellation, Patchwork, geometricAutograd } from '@geolip/anchors';
import type { GeometricAutogradOptions } from '@geolip/anchors';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import {
  Container,
  Conv2d,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  PositionEmbedding,
  TransformerEncoderLayer,
  gelu,
  normalInit,
  toRng,
} from '@geolip/nn';

import { checkPositiveIntegers, describeValue, l2Normalize } from '../models/internal.js';
import { CrossBlock, DualStreamBlock } from './blocks.js';

/** Sizes of a {@link DualStreamViT}. Images are NHWC `[B, imageSize, imageSize, channels]`. */
export interface DualStreamViTConfig {
  /** H = W of the input images. */
  imageSize: number;
  /** Patch size p (the patch conv's kernel and stride); must divide imageSize. */
  patchSize: number;
  /** C: input channels (1 for Fashion-MNIST, 3 for CIFAR). */
  channels: number;
  /** Width of the patch embedding (384 on the card). */
  embedDim: number;
  /** Width of each stream (192 on the card). */
  streamDim: number;
  /** Attention heads of every block (8 on the card). */
  heads: number;
  /** DualStreamBlocks (geo stream with KSimplex). */
  dualBlocks: number;
  /** CrossBlocks after them (v6: 6). May be 0. */
  crossBlocks: number;
  /** Standard pre-norm blocks after fusing the streams (v1: 4). 0 = no fusion (v6). */
  fusedBlocks: number;
  /** Width of the fused blocks (v1: 256). Required when fusedBlocks > 0. */
  fusedDim?: number;
  /** Width of the three sphere embeddings (v1: 128, v6: 256). */
  outDim: number;
  /** Constellation anchors A. */
  anchors: number;
  /** Patchwork compartments (must divide anchors). */
  compartments: number;
  /** Width of each compartment. */
  compartmentDim: number;
  /** Hidden width of the classifier MLP. */
  classifierHidden: number;
  /** Classes. */
  classes: number;
  /** FFN width multiplier of every block. Default 4. */
  ffMult?: number;
  /** k of the KSimplex layers. Default 4. */
  k?: number;
  /** Vertex dimension of the KSimplex layers. Default 8. */
  vertexDim?: number;
  /** Dropout of the classifier MLP in training. Default 0. */
  dropout?: number;
  /** Anchor dropout of the constellation in training (the v5 card: 0.10). Default 0. */
  anchorDropout?: number;
  /** LayerNorm epsilon. Default 1e-5. */
  eps?: number;
}

/**
 * v1 of the card (spec §9.2, §9.4) on CIFAR-shaped input (32 × 32 × 3, patch 4 → 64 tokens): 2 dual blocks at
 * 192, fusion to 256 and 4 fused blocks, 128-d embeddings, 64 anchors, patchwork 8 × 64, classifier hidden 512
 * [INFER]. 6,387,856 parameters (the card prints 6,296,582; its geo stream, std stream, fused blocks and
 * constellation counts are reproduced exactly, the rest of its layout is unknown).
 */
export const DUAL_STREAM_V1: Readonly<DualStreamViTConfig> = Object.freeze({
  imageSize: 32,
  patchSize: 4,
  channels: 3,
  embedDim: 384,
  streamDim: 192,
  heads: 8,
  dualBlocks: 2,
  crossBlocks: 0,
  fusedBlocks: 4,
  fusedDim: 256,
  outDim: 128,
  anchors: 64,
  compartments: 8,
  compartmentDim: 64,
  classifierHidden: 512,
  classes: 10,
});

/**
 * v5 of the card: the v1 topology (spec §9.4: "v1–v5 topology … 2 DualStreamBlocks, then the streams are fused …,
 * then 4 standard fused blocks at 256-d") with the v5 config's anchor dropout 0.10. Same parameters as v1.
 */
export const DUAL_STREAM_V5: Readonly<DualStreamViTConfig> = Object.freeze({ ...DUAL_STREAM_V1, anchorDropout: 0.1 });

/**
 * v5-bidir of the card (spec §9.4: "the v5-bidir variant used 2 dual + 4 cross blocks"): v5 with the 4 fused blocks
 * replaced by 4 bidirectional CrossBlocks at 192 and no fusion; the v1–v5 head (128-d embeddings, 64 anchors,
 * patchwork 8 × 64, classifier input 512 + 128 + 128 = 768, hidden 512 [INFER]). 7,869,328 parameters (7,851,280
 * at 28 × 28 × 1).
 */
export const DUAL_STREAM_V5_BIDIR: Readonly<DualStreamViTConfig> = Object.freeze({
  ...withoutFusedDim(DUAL_STREAM_V5),
  crossBlocks: 4,
  fusedBlocks: 0,
});

function withoutFusedDim(c: Readonly<DualStreamViTConfig>): DualStreamViTConfig {
  const { fusedDim: _unused, ...rest } = c;
  return rest;
}

/**
 * v6 of the card (spec §9.4): 3 dual blocks + 6 cross blocks at 192, no fusion, 256-d embeddings, 128 anchors,
 * patchwork 16 × 128, classifier hidden 1024 [INFER]. 14,241,870 parameters (the card says "~16.9M"; spec §9.4:
 * not reproduced).
 */
export const DUAL_STREAM_V6: Readonly<DualStreamViTConfig> = Object.freeze({
  imageSize: 32,
  patchSize: 4,
  channels: 3,
  embedDim: 384,
  streamDim: 192,
  heads: 8,
  dualBlocks: 3,
  crossBlocks: 6,
  fusedBlocks: 0,
  outDim: 256,
  anchors: 128,
  compartments: 16,
  compartmentDim: 128,
  classifierHidden: 1024,
  classes: 10,
});

/** The card's geometric autograd for v5/v6 (spec §7): tangential 1.0, separation 0.1, on all three embeddings. */
export const DUAL_STREAM_AUTOGRAD: Readonly<GeometricAutogradOptions> = Object.freeze({
  tangential: 1,
  separation: 0.1,
});

/** Options of the {@link DualStreamViT} constructor. */
export interface DualStreamViTOptions {
  /** Seeds every initialization. Default 0. */
  seed?: number;
}

/** Options of {@link DualStreamViT.forward}. */
export interface DualStreamViTForwardOptions {
  /** Training mode: classifier dropout and anchor dropout (when configured). Default false. */
  training?: boolean;
  /**
   * Geometric autograd (spec §7) on geo_emb, std_emb and emb, against the constellation's anchors:
   * identity forward, reshaped gradient. Absent (default): off. The card's setting is {@link DUAL_STREAM_AUTOGRAD}.
   */
  autograd?: GeometricAutogradOptions;
}

/** What {@link DualStreamViT.forward} returns: new tensors the caller disposes. */
export interface DualStreamViTOutput {
  /** `[B, classes]` from the classifier on concat(patchwork, geo_emb, std_emb). */
  logits: tf.Tensor2D;
  /** `[B, classes]` from the independent geo classifier on geo_emb. */
  geoLogits: tf.Tensor2D;
  /** `[B, outDim]` unit rows, normalize(geo_emb + std_emb). */
  emb: tf.Tensor2D;
  /** `[B, outDim]` unit rows. */
  geoEmb: tf.Tensor2D;
  /** `[B, outDim]` unit rows. */
  stdEmb: tf.Tensor2D;
  /** `[B, anchors]` 1 − cos(emb, anchors) (dropped anchors 0 in training with anchor dropout). */
  triangulation: tf.Tensor2D;
  /** `[dualBlocks]` per dual block, the fraction of geo tokens whose KSimplex simplex has V² > 0. */
  cmValidity: tf.Tensor1D;
  /** `[dualBlocks, B, T]` V² of every KSimplex simplex (for the CM loss, spec §8.7). */
  cmVolumeSquared: tf.Tensor3D;
}

/**
 * The Dual-Stream ViT (spec §9.2–§9.4). With N = (imageSize / patchSize)² tokens, S = streamDim:
 *
 *     x      = patch_embed(images) + pos_embed               [B, N, embedDim]   (Conv2d, kernel = stride = p)
 *     g, s   = geo_proj(x), std_proj(x)                       [B, N, S] each
 *     g, s   = DualStreamBlock × dualBlocks, CrossBlock × crossBlocks
 *     g, s   = geo_norm(g), std_norm(s)
 *     no fusion (v6):  pooled_g = mean_n g,  pooled_s = mean_n s
 *     fusion (v1):     f = fuse(concat(g, s))  [B, N, F];  f = fused_blocks(f);  f = fused_norm(f)
 *                      pooled_g = mean_n g,  pooled_s = mean_n f
 *     geo_emb = normalize(geo_output_proj(pooled_g))          geo_output_proj = Linear → LayerNorm
 *     std_emb = normalize(output_proj(pooled_s))              output_proj = Linear → LayerNorm   [INFER]
 *     emb     = normalize(geo_emb + std_emb)
 *     tri     = 1 − emb·Âᵀ;  pw = Patchwork(tri)
 *     logits     = classifier(concat(pw, geo_emb, std_emb))   Linear → GELU → LayerNorm → Dropout → Linear
 *     geoLogits  = geo_classifier(geo_emb)                    Linear(outDim → classes)
 *
 * With `forward(x, { autograd })`, geometric autograd (spec §7) is applied to geo_emb and std_emb right after
 * their normalization and to emb after its own.
 *
 * [INFER] choices: the v1 fusion is concat → Linear(2S → F) on the normalized streams, and the fused stream
 * plays the std role (its pooled output feeds output_proj); mean pooling; output_proj has a LayerNorm like
 * geo_output_proj; the classifier's hidden width; the position table N(0, 0.02²). See the README for the
 * parameter derivation.
 *
 * Parameter names (`stateDict()`, PyTorch layout): `patch_embed.*` (Conv2d, `[out, in, p, p]`),
 * `pos_embed.weight` `[N, embedDim]`, `geo_proj.*`, `std_proj.*`, `dual_blocks.{i}.*`, `cross_blocks.{i}.*`
 * (see {@link CrossBlock}), `geo_norm.*`, `std_norm.*`, `fuse.*`, `fused_blocks.{i}.*` (PyTorch
 * `nn.TransformerEncoderLayer`, norm_first), `fused_norm.*`, `geo_output_proj.{0,1}.*`, `output_proj.{0,1}.*`,
 * `constellation.anchors`, `patchwork.compartments.{k}.{0,2,3}.*`, `classifier.{0,2,4}.*`, `geo_classifier.*`.
 * `getWeights()` (what an optimizer sees) holds the patchwork's stacked variables as `patchwork.stacked.*`; the
 * `Patchwork` child (an `nn` `Module`) maps them to its per-compartment state-dict names itself.
 *
 * @example
 * // Fashion-MNIST: 49 tokens
 * const model = new DualStreamViT({ ...DUAL_STREAM_V1, imageSize: 28, channels: 1 }, { seed: 0 });
 * const out = model.forward(images, { training: true, autograd: DUAL_STREAM_AUTOGRAD });
 * out.logits; out.geoLogits; out.cmValidity; // [B, 10], [B, 10], [2]
 */
export class DualStreamViT extends Module {
  readonly config: Readonly<Required<Omit<DualStreamViTConfig, 'fusedDim'>> & { fusedDim: number }>;
  /** N, the number of patch tokens. */
  readonly numTokens: number;
  /** The anchors (owned by the model). */
  readonly constellation: Constellation;
  /** The compartments (owned by the model). */
  readonly patchworkLayer: Patchwork;
  readonly patchEmbed: Conv2d;
  readonly posEmbed: PositionEmbedding;
  readonly geoProj: Linear;
  readonly stdProj: Linear;
  readonly dualBlocks: ModuleList<DualStreamBlock>;
  readonly crossBlocks: ModuleList<CrossBlock>;
  private readonly geoNorm: LayerNorm;
  private readonly stdNorm: LayerNorm;
  private readonly fuse: Linear | null = null;
  readonly fusedBlocks: ModuleList<TransformerEncoderLayer> | null = null;
  private readonly fusedNorm: LayerNorm | null = null;
  private readonly geoOut: [Linear, LayerNorm];
  private readonly stdOut: [Linear, LayerNorm];
  private readonly cls0: Linear;
  private readonly cls2: LayerNorm;
  private readonly cls4: Linear;
  readonly geoClassifier: Linear;

  /**
   * @throws {InvalidArgumentError} naming `config.<key>` for a size that is not a positive integer (blocks may
   *   be 0), a patch size that does not divide the image size, heads not dividing a width, anchors not a
   *   multiple of compartments, a missing fusedDim, or a dropout outside [0, 1).
   */
  constructor(config: DualStreamViTConfig = DUAL_STREAM_V1, options: DualStreamViTOptions = {}) {
    super();
    const op = 'DualStreamViT';
    if (config === null || typeof config !== 'object')
      throw new InvalidArgumentError(op, 'config', `must be an object, got ${describeValue(config)}`);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describeValue(options)}`);
    checkPositiveIntegers(op, config, [
      'imageSize',
      'patchSize',
      'channels',
      'embedDim',
      'streamDim',
      'heads',
      'outDim',
      'anchors',
      'compartments',
      'compartmentDim',
      'classifierHidden',
      'classes',
    ]);
    for (const key of ['dualBlocks', 'crossBlocks', 'fusedBlocks'] as const) {
      const v = config[key] as unknown;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new InvalidArgumentError(op, `config.${key}`, `must be an integer >= 0, got ${String(v)}`);
    }
    const c = {
      ffMult: 4,
      k: 4,
      vertexDim: 8,
      dropout: 0,
      anchorDropout: 0,
      eps: 1e-5,
      ...config,
      fusedDim: config.fusedDim ?? 0,
    };
    checkPositiveIntegers(op, c, ['ffMult', 'k', 'vertexDim']);
    if (c.imageSize % c.patchSize !== 0)
      throw new InvalidArgumentError(
        op,
        'config.patchSize',
        `must divide config.imageSize=${c.imageSize}, got ${c.patchSize}`,
      );
    if (c.streamDim % c.heads !== 0)
      throw new InvalidArgumentError(op, 'config.heads', `must divide config.streamDim=${c.streamDim}, got ${c.heads}`);
    if (c.fusedBlocks > 0) {
      checkPositiveIntegers(op, c, ['fusedDim']);
      if (c.fusedDim % c.heads !== 0)
        throw new InvalidArgumentError(op, 'config.heads', `must divide config.fusedDim=${c.fusedDim}, got ${c.heads}`);
    }
    if (c.anchors % c.compartments !== 0)
      throw new InvalidArgumentError(
        op,
        'config.anchors',
        `must be a multiple of config.compartments=${c.compartments}, got ${c.anchors}`,
      );
    for (const key of ['dropout', 'anchorDropout'] as const) {
      if (typeof c[key] !== 'number' || !(c[key] >= 0 && c[key] < 1))
        throw new InvalidArgumentError(op, `config.${key}`, `must be in [0, 1), got ${String(c[key])}`);
    }
    if (typeof c.eps !== 'number' || !(c.eps > 0))
      throw new InvalidArgumentError(op, 'config.eps', `must be a positive number, got ${String(c.eps)}`);
    this.config = Object.freeze(c);
    const seed = options.seed ?? 0;
    const rng = toRng(seed);
    const { eps } = c;
    const S = c.streamDim;
    const side = c.imageSize / c.patchSize;
    this.numTokens = side * side;

    this.patchEmbed = this.addModule(
      'patch_embed',
      new Conv2d(c.channels, c.embedDim, c.patchSize, { stride: c.patchSize, seed: rng }),
    );
    this.posEmbed = this.addModule('pos_embed', new PositionEmbedding(this.numTokens, c.embedDim, { seed: rng }));
    tf.tidy(() => this.posEmbed.weight.assign(normalInit([this.numTokens, c.embedDim], 0.02, rng) as tf.Tensor2D));
    this.geoProj = this.addModule('geo_proj', new Linear(c.embedDim, S, { seed: rng }));
    this.stdProj = this.addModule('std_proj', new Linear(c.embedDim, S, { seed: rng }));
    const blockOpts = { heads: c.heads, ffDim: c.ffMult * S, eps, seed: rng };
    this.dualBlocks = this.addModule('dual_blocks', new ModuleList<DualStreamBlock>());
    for (let i = 0; i < c.dualBlocks; i++)
      this.dualBlocks.append(new DualStreamBlock(S, { ...blockOpts, k: c.k, vertexDim: c.vertexDim }));
    this.crossBlocks = this.addModule('cross_blocks', new ModuleList<CrossBlock>());
    for (let i = 0; i < c.crossBlocks; i++) this.crossBlocks.append(new CrossBlock(S, blockOpts));
    this.geoNorm = this.addModule('geo_norm', new LayerNorm(S, { eps }));
    this.stdNorm = this.addModule('std_norm', new LayerNorm(S, { eps }));
    let pooledStdDim = S;
    if (c.fusedBlocks > 0) {
      const F = c.fusedDim;
      this.fuse = this.addModule('fuse', new Linear(2 * S, F, { seed: rng }));
      const fused = this.addModule('fused_blocks', new ModuleList<TransformerEncoderLayer>());
      for (let i = 0; i < c.fusedBlocks; i++)
        fused.append(new TransformerEncoderLayer(F, c.heads, c.ffMult * F, { normFirst: true, eps, seed: rng }));
      this.fusedBlocks = fused;
      this.fusedNorm = this.addModule('fused_norm', new LayerNorm(F, { eps }));
      pooledStdDim = F;
    }
    const geoOut = this.addModule('geo_output_proj', new Container());
    this.geoOut = [
      geoOut.add('0', new Linear(S, c.outDim, { seed: rng })),
      geoOut.add('1', new LayerNorm(c.outDim, { eps })),
    ];
    const stdOut = this.addModule('output_proj', new Container());
    this.stdOut = [
      stdOut.add('0', new Linear(pooledStdDim, c.outDim, { seed: rng })),
      stdOut.add('1', new LayerNorm(c.outDim, { eps })),
    ];
    this.constellation = this.addModule(
      'constellation',
      new Constellation({ anchors: c.anchors, dim: c.outDim, seed: seed + 1, dropout: c.anchorDropout }),
    );
    this.patchworkLayer = this.addModule(
      'patchwork',
      new Patchwork({
        anchors: c.anchors,
        compartments: c.compartments,
        compartmentDim: c.compartmentDim,
        seed: seed + 2,
      }),
    );
    const classifier = this.addModule('classifier', new Container());
    this.cls0 = classifier.add(
      '0',
      new Linear(this.patchworkLayer.outputDim + 2 * c.outDim, c.classifierHidden, { seed: rng }),
    );
    this.cls2 = classifier.add('2', new LayerNorm(c.classifierHidden, { eps }));
    this.cls4 = classifier.add('4', new Linear(c.classifierHidden, c.classes, { seed: rng }));
    this.geoClassifier = this.addModule('geo_classifier', new Linear(c.outDim, c.classes, { seed: rng }));
  }

  /**
   * @param images - `[B, imageSize, imageSize, channels]` float32, NHWC (PyTorch is NCHW: transpose when comparing).
   * @returns see {@link DualStreamViTOutput}.
   * @throws {ShapeError} naming `images` if it is not `[B, H, W, C]` with the configured H = W and C (a
   *   grayscale image fed to an RGB model, or the wrong size).
   * @throws {InvalidArgumentError} if `images` is not a float32 tensor or `options` is not an object.
   */
  forward(images: tf.Tensor4D, options: DualStreamViTForwardOptions = {}): DualStreamViTOutput {
    const op = 'DualStreamViT.forward';
    this.assertLive('forward');
    const c = this.config;
    if (!(images instanceof tf.Tensor))
      throw new InvalidArgumentError(op, 'images', `must be a tf.Tensor, got ${describeValue(images)}`);
    const expected = `[B, H=${c.imageSize}, W=${c.imageSize}, C=${c.channels}] (NHWC)`;
    if (
      images.rank !== 4 ||
      images.shape[1] !== c.imageSize ||
      images.shape[2] !== c.imageSize ||
      images.shape[3] !== c.channels
    ) {
      throw new ShapeError(op, 'images', expected, images.shape);
    }
    if (images.dtype !== 'float32')
      throw new InvalidArgumentError(op, 'images', `must have dtype float32, got ${images.dtype}`);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describeValue(options)}`);
    const training = options.training ?? false;
    const autograd = options.autograd;
    return tf.tidy(() => {
      const B = images.shape[0];
      const patches = tf.reshape(this.patchEmbed.forward(images), [B, this.numTokens, c.embedDim]) as tf.Tensor3D;
      const x = this.posEmbed.addTo(patches);
      let g = this.geoProj.forward(x);
      let s = this.stdProj.forward(x);
      const validity: tf.Scalar[] = [];
      const vol2: tf.Tensor2D[] = [];
      for (const block of this.dualBlocks) {
        const r = block.forward(g, s);
        [g, s] = [r.geo, r.std];
        validity.push(r.validity);
        vol2.push(r.volumeSquared);
      }
      for (const block of this.crossBlocks) ({ geo: g, std: s } = block.forward(g, s));
      g = this.geoNorm.forward(g);
      s = this.stdNorm.forward(s);
      if (this.fusedBlocks !== null) {
        let f = this.fuse!.forward(tf.concat([g, s], 2) as tf.Tensor3D);
        for (const layer of this.fusedBlocks) f = layer.forward(f);
        s = this.fusedNorm!.forward(f);
      }
      const ga = (e: tf.Tensor2D): tf.Tensor2D =>
        autograd === undefined ? e : geometricAutograd(e, this.constellation, autograd);
      const geoEmb = ga(l2Normalize(this.geoOut[1].forward(this.geoOut[0].forward(tf.mean(g, 1) as tf.Tensor2D))));
      const stdEmb = ga(l2Normalize(this.stdOut[1].forward(this.stdOut[0].forward(tf.mean(s, 1) as tf.Tensor2D))));
      const emb = ga(l2Normalize(tf.add(geoEmb, stdEmb) as tf.Tensor2D));
      const triangulation = this.constellation.triangulate(emb, { training });
      const pw = this.patchworkLayer.apply(triangulation);
      let h = this.cls2.forward(gelu(this.cls0.forward(tf.concat([pw, geoEmb, stdEmb], 1) as tf.Tensor2D)));
      if (training && c.dropout > 0) h = tf.dropout(h, c.dropout) as tf.Tensor2D;
      const logits = this.cls4.forward(h);
      const geoLogits = this.geoClassifier.forward(geoEmb);
      const cmValidity = validity.length > 0 ? (tf.stack(validity) as tf.Tensor1D) : (tf.zeros([0]) as tf.Tensor1D);
      const cmVolumeSquared =
        vol2.length > 0 ? (tf.stack(vol2) as tf.Tensor3D) : (tf.zeros([0, B, this.numTokens]) as tf.Tensor3D);
      return { logits, geoLogits, emb, geoEmb, stdEmb, triangulation, cmValidity, cmVolumeSquared };
    });
  }
}
